#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonx.h"
#include "spec.h"
#include "valid.h"
#include "unit.h"

#define DOCKER "/usr/bin/docker"

/* One word for an Environment= line: "NAME=VALUE", quoted, with \ " and %
 * escaped (caller frees). */
static char *
env_word(const char *name, const char *value)
{
	struct paas_buf b = PAAS_BUF_INIT;
	const char *p;

	paas_buf_addf(&b, "\"%s=", name);
	for (p = value; *p; p++) {
		/* $${ in a Servicefile is a literal ${ (not a secret). */
		if (p[0] == '$' && p[1] == '$' && p[2] == '{')
			p++;
		if (*p == '\\' || *p == '"')
			paas_buf_add(&b, "\\", 1);
		if (*p == '%')
			paas_buf_add(&b, "%", 1);
		paas_buf_add(&b, p, 1);
	}
	paas_buf_adds(&b, "\"");
	return paas_buf_detach(&b, NULL);
}

static int
plain_word(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("._/:=@,+-", *s)))
			return 0;
	return 1;
}

/* One word for an Exec line: as is when it is plain, otherwise quoted with
 * \ " % and $ escaped (caller frees). */
static char *
exec_word(const char *arg)
{
	struct paas_buf b = PAAS_BUF_INIT;
	const char *p;

	if (plain_word(arg) && arg[0] != '-' && arg[0] != '@' && arg[0] != '+' &&
	    arg[0] != ':' && arg[0] != '!')
		return paas_xstrdup(arg);
	paas_buf_adds(&b, "\"");
	for (p = arg; *p; p++) {
		if (*p == '\\' || *p == '"')
			paas_buf_add(&b, "\\", 1);
		else if (*p == '%')
			paas_buf_add(&b, "%", 1);
		else if (*p == '$')
			paas_buf_add(&b, "$", 1);
		paas_buf_add(&b, p, 1);
	}
	paas_buf_adds(&b, "\"");
	return paas_buf_detach(&b, NULL);
}

/* Append " WORD", escaped. */
static void
word(struct paas_buf *b, const char *arg)
{
	char *w = exec_word(arg);

	paas_buf_addf(b, " %s", w);
	free(w);
}

static void
render_service(const json_t *spec, const char *dep, const char *name, const json_t *svc,
    struct paas_buf *u)
{
	json_t *env, *secret, *v, *health = json_object_get(svc, "health");
	const json_t *res = json_object_get(svc, "resources");
	const char *k, *image = json_string_value(json_object_get(svc, "image"));
	const char *restart = json_string_value(json_object_get(svc, "restart"));
	int global = json_is_true(json_object_get(svc, "global"));
	const char *inst = global ? "%H" : "%i";
	const char **names;
	char hash[17];
	struct paas_buf cname = PAAS_BUF_INIT, img = PAAS_BUF_INIT;
	size_t i, n;

	env = paas_spec_service_env(spec, svc, &secret);
	paas_spec_service_version(spec, dep, name, hash);
	paas_buf_addf(&cname, "%s-%s-%s", dep, name, inst);
	if (image)
		paas_buf_adds(&img, image);
	else
		paas_buf_addf(&img, "paas/%s-%s:latest", dep, name);

	paas_buf_addf(u, "[Unit]\nDescription=paas %s/%s instance %s\n", dep, name, inst);
	paas_buf_adds(u, "After=docker.service\nRequires=docker.service\n\n[Service]\n");
	paas_buf_addf(u, "Environment=\"PAAS_DEPLOYMENT=%s\" \"PAAS_SERVICE=%s\" "
	    "\"PAAS_INSTANCE=%s\" \"PAAS_HOST=%%H\"\n", dep, name, inst);
	names = paas_json_keys(env, &n);
	for (i = 0; i < n; i++) {
		char *w;

		if (json_object_get(secret, names[i]))
			continue;
		w = env_word(names[i], json_string_value(json_object_get(env, names[i])));
		paas_buf_addf(u, "Environment=%s\n", w);
		free(w);
	}
	if (json_object_size(secret)) {
		paas_buf_adds(u, "# Secrets, read from this file at start:");
		for (i = 0; i < n; i++)
			if (json_object_get(secret, names[i]))
				paas_buf_addf(u, " %s", names[i]);
		paas_buf_addf(u, "\nEnvironmentFile=/etc/paas/%s/%s.env\n", dep, name);
	}
	paas_buf_addf(u, "Restart=%s\nRestartSec=5\nTimeoutStartSec=0\n",
	    !strcmp(restart, "no") ? "no" : !strcmp(restart, "on-failure") ? "on-failure" : "always");
	paas_buf_addf(u, "ExecStartPre=-" DOCKER " rm -f %s\n", cname.data);
	paas_buf_addf(u, "ExecStart=" DOCKER " run --rm --name %s", cname.data);
	paas_buf_addf(u, " --label paas.deployment=%s --label paas.service=%s"
	    " --label paas.instance=%s --label paas.version=%s", dep, name, inst, hash);
	paas_buf_adds(u, " -e PAAS_DEPLOYMENT -e PAAS_SERVICE -e PAAS_INSTANCE -e PAAS_HOST");
	/* Values travel in the environment, never in the command line. */
	for (i = 0; i < n; i++)
		paas_buf_addf(u, " -e %s", names[i]);
	for (i = 0; i < json_array_size(json_object_get(svc, "ports")); i++)
		paas_buf_addf(u, " -p %lld",
		    (long long)json_integer_value(json_array_get(json_object_get(svc, "ports"), i)));
	json_object_foreach(json_object_get(svc, "volumes"), k, v) {
		struct paas_buf vb = PAAS_BUF_INIT;

		paas_buf_addf(&vb, "%s-%s-%s:%s", dep, name, k, json_string_value(v));
		paas_buf_adds(u, " -v");
		word(u, vb.data);
		paas_buf_free(&vb);
	}
	if (json_is_object(health)) {
		struct paas_buf hc = PAAS_BUF_INIT;
		long long port = json_integer_value(json_object_get(health, "port"));

		if (json_is_string(json_object_get(health, "http")))
			paas_buf_addf(&hc, "wget -q -O /dev/null 'http://127.0.0.1:%lld%s' || exit 1", port,
			    json_string_value(json_object_get(health, "http")));
		else
			paas_buf_addf(&hc, "nc -z 127.0.0.1 %lld || exit 1", port);
		paas_buf_adds(u, " --health-cmd");
		word(u, hc.data);
		paas_buf_addf(u, " --health-interval %lldms --health-timeout %lldms --health-retries %lld"
		    " --health-start-period %lldms",
		    (long long)json_integer_value(json_object_get(health, "interval_ms")),
		    (long long)json_integer_value(json_object_get(health, "timeout_ms")),
		    (long long)json_integer_value(json_object_get(health, "retries")),
		    (long long)json_integer_value(json_object_get(health, "start_period_ms")));
		paas_buf_free(&hc);
	}
	if (json_is_integer(json_object_get(res, "cpu_milli"))) {
		long long m = json_integer_value(json_object_get(res, "cpu_milli"));

		paas_buf_addf(u, " --cpus %lld.%03lld", m / 1000, m % 1000);
	}
	if (json_is_integer(json_object_get(res, "memory_bytes")))
		paas_buf_addf(u, " --memory %lld",
		    (long long)json_integer_value(json_object_get(res, "memory_bytes")));
	word(u, img.data);
	for (i = 0; i < json_array_size(json_object_get(svc, "cmd")); i++)
		word(u, json_string_value(json_array_get(json_object_get(svc, "cmd"), i)));
	paas_buf_addf(u, "\nExecStop=" DOCKER " stop %s\n", cname.data);

	paas_buf_adds(u, "\n[X-Fleet]\n");
	json_object_foreach(json_object_get(svc, "constraints"), k, v)
		paas_buf_addf(u, "MachineMetadata=%s=%s\n", k, json_string_value(v));
	for (i = 0; i < json_array_size(json_object_get(svc, "conflicts")); i++) {
		const char *o = json_string_value(json_array_get(json_object_get(svc, "conflicts"), i));
		const json_t *osvc = json_object_get(json_object_get(spec, "services"), o);

		paas_buf_addf(u, "Conflicts=%s-%s%s.service\n", dep, o,
		    json_is_true(json_object_get(osvc, "global")) ? "" : "@*");
	}
	if (global)
		paas_buf_adds(u, "Global=true\n");
	free(names);
	json_decref(env);
	json_decref(secret);
	paas_buf_free(&cname);
	paas_buf_free(&img);
}

int
paas_unit_render(const json_t *spec, const char *deployment, json_t **units,
    struct paas_err *err)
{
	const json_t *services = json_object_get(spec, "services");
	const char **names;
	size_t i, n;
	long j, count;

	*units = NULL;
	if (!paas_valid_name(deployment))
		return paas_err_set(err, PAAS_EINVAL, "invalid deployment name '%.64s': use lower-case "
		    "letters, digits and '-', starting with a letter, at most 63", deployment);
	names = paas_json_keys(services, &n);
	*units = json_array();
	for (i = 0; i < n; i++) {
		const json_t *svc = json_object_get(services, names[i]);
		struct paas_buf u = PAAS_BUF_INIT, un = PAAS_BUF_INIT;
		int global = json_is_true(json_object_get(svc, "global"));

		count = global ? 1 : (long)json_integer_value(json_object_get(svc, "instances"));
		if (count == 0)
			continue;
		render_service(spec, deployment, names[i], svc, &u);
		for (j = 1; j <= count; j++) {
			paas_buf_reset(&un);
			if (global)
				paas_buf_addf(&un, "%s-%s.service", deployment, names[i]);
			else
				paas_buf_addf(&un, "%s-%s@%ld.service", deployment, names[i], j);
			json_array_append_new(*units, json_pack("{s:s, s:s#}", "name", un.data,
			    "content", u.data, (int)u.len));
		}
		paas_buf_free(&u);
		paas_buf_free(&un);
	}
	free(names);
	return 0;
}
