#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonx.h"
#include "spec.h"
#include "valid.h"
#include "unit.h"

#define DOCKER "/usr/bin/docker"
/* fleet reads unit files with go-systemd, which refuses a line of 2048
 * bytes or more (systemd itself takes longer ones): long Exec lines are
 * continued ("\\" at the end of a line) every LINE_SOFT bytes, and a line
 * that cannot be split is refused at LINE_MAX. */
#define LINE_SOFT 1000
#define LINE_MAX_FLEET 2047

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

/* The length of the last line of b so far. */
static size_t
line_len(const struct paas_buf *b)
{
	const char *nl;

	if (b->len == 0)
		return 0;
	nl = memrchr(b->data, '\n', b->len);
	return nl ? b->len - (size_t)(nl - b->data) - 1 : b->len;
}

/* Append " W" (W already escaped) to an Exec line, continuing it on the
 * next line when this one has LINE_SOFT bytes. */
static void
raw_word(struct paas_buf *b, const char *w)
{
	if (line_len(b) + 1 + strlen(w) > LINE_SOFT && line_len(b) > 0)
		paas_buf_adds(b, " \\\n\t");
	else
		paas_buf_adds(b, " ");
	paas_buf_adds(b, w);
}

/* Append " WORD", escaped. */
static void
word(struct paas_buf *b, const char *arg)
{
	char *w = exec_word(arg);

	raw_word(b, w);
	free(w);
}

/* The first line of u longer than fleet takes, or NULL. */
static const char *
long_line(const char *u, size_t *len)
{
	const char *p = u, *nl;

	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if ((size_t)(nl - p) > LINE_MAX_FLEET) {
			*len = (size_t)(nl - p);
			return p;
		}
		if (*nl == '\0')
			break;
	}
	return NULL;
}

static void
render_service(const json_t *spec, const char *dep, const char *name, const json_t *svc,
    struct paas_buf *u)
{
	json_t *env, *secret, *v;
	const json_t *res = json_object_get(svc, "resources");
	const char *k, *image = json_string_value(json_object_get(svc, "image"));
	const char *restart = json_string_value(json_object_get(svc, "restart"));
	int global = json_is_true(json_object_get(svc, "global"));
	const char *inst = global ? "%H" : "%i";
	const char **names;
	char hash[17];
	struct paas_buf cname = PAAS_BUF_INIT, img = PAAS_BUF_INIT, ex = PAAS_BUF_INIT;
	struct paas_buf tmp = PAAS_BUF_INIT;
	size_t i, n;

	env = paas_spec_service_env(spec, svc, &secret);
	paas_spec_service_version(spec, dep, name, hash);
	paas_buf_addf(&cname, "%s-%s-%s", dep, name, inst);
	if (image)
		paas_buf_adds(&img, image);
	else
		paas_buf_addf(&img, "paas/%s-%s:latest", dep, name);

	paas_buf_addf(u, "[Unit]\nDescription=paas %s/%s instance %s\n", dep, name, inst);
	paas_buf_adds(u, "After=docker.service\nRequires=docker.service\n");
	/* Without its secrets file the unit fails once, saying so, instead
	 * of failing to start every RestartSec. */
	if (json_object_size(secret))
		paas_buf_addf(u, "AssertPathExists=/etc/paas/%s/%s.env\n", dep, name);
	paas_buf_adds(u, "\n[Service]\n");
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
	/* A deliberate stop: the container ends on SIGTERM (143), passed on
	 * by Docker's init, so the unit ends "inactive", not "failed". */
	paas_buf_adds(u, "SuccessExitStatus=143\n");
	paas_buf_addf(u, "ExecStartPre=-" DOCKER " rm -f %s\n", cname.data);
	/* The Exec line is built in its own buffer, continued as it grows. */
	paas_buf_addf(&ex, "ExecStart=" DOCKER " run --rm --init --name %s", cname.data);
	raw_word(&ex, "--label");
	paas_buf_reset(&tmp);
	paas_buf_addf(&tmp, "paas.deployment=%s", dep);
	raw_word(&ex, tmp.data);
	raw_word(&ex, "--label");
	paas_buf_reset(&tmp);
	paas_buf_addf(&tmp, "paas.service=%s", name);
	raw_word(&ex, tmp.data);
	raw_word(&ex, "--label");
	paas_buf_reset(&tmp);
	paas_buf_addf(&tmp, "paas.instance=%s", inst);
	raw_word(&ex, tmp.data);
	raw_word(&ex, "--label");
	paas_buf_reset(&tmp);
	paas_buf_addf(&tmp, "paas.version=%s", hash);
	raw_word(&ex, tmp.data);
	raw_word(&ex, "-e PAAS_DEPLOYMENT -e PAAS_SERVICE -e PAAS_INSTANCE -e PAAS_HOST");
	/* Values travel in the environment, never in the command line. */
	for (i = 0; i < n; i++) {
		paas_buf_reset(&tmp);
		paas_buf_addf(&tmp, "-e %s", names[i]);
		raw_word(&ex, tmp.data);
	}
	for (i = 0; i < json_array_size(json_object_get(svc, "ports")); i++) {
		paas_buf_reset(&tmp);
		paas_buf_addf(&tmp, "-p %lld",
		    (long long)json_integer_value(json_array_get(json_object_get(svc, "ports"), i)));
		raw_word(&ex, tmp.data);
	}
	json_object_foreach(json_object_get(svc, "volumes"), k, v) {
		paas_buf_reset(&tmp);
		paas_buf_addf(&tmp, "%s-%s-%s:%s", dep, name, k, json_string_value(v));
		raw_word(&ex, "-v");
		word(&ex, tmp.data);
	}
	/* No Docker health check: the service's check runs from outside
	 * (the host's agent), as everywhere else. */
	if (json_is_integer(json_object_get(res, "cpu_milli"))) {
		long long m = json_integer_value(json_object_get(res, "cpu_milli"));

		paas_buf_reset(&tmp);
		paas_buf_addf(&tmp, "--cpus %lld.%03lld", m / 1000, m % 1000);
		raw_word(&ex, tmp.data);
	}
	if (json_is_integer(json_object_get(res, "memory_bytes"))) {
		paas_buf_reset(&tmp);
		paas_buf_addf(&tmp, "--memory %lld",
		    (long long)json_integer_value(json_object_get(res, "memory_bytes")));
		raw_word(&ex, tmp.data);
	}
	word(&ex, img.data);
	for (i = 0; i < json_array_size(json_object_get(svc, "cmd")); i++)
		word(&ex, json_string_value(json_array_get(json_object_get(svc, "cmd"), i)));
	paas_buf_add(u, ex.data, ex.len);
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
	paas_buf_free(&ex);
	paas_buf_free(&tmp);
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

		const char *ll;
		size_t len;

		count = global ? 1 : (long)json_integer_value(json_object_get(svc, "instances"));
		if (count == 0)
			continue;
		render_service(spec, deployment, names[i], svc, &u);
		if ((ll = long_line(u.data, &len)) != NULL) {
			paas_err_set(err, PAAS_EINVAL, "service %s: a line of its unit is %zu bytes "
			    "(%.40s...), fleet takes at most %d: a value that long belongs in the "
			    "secrets file (${VAR})", names[i], len, ll, LINE_MAX_FLEET);
			paas_buf_free(&u);
			free(names);
			json_decref(*units);
			*units = NULL;
			return -1;
		}
		/* The template, for `fleetctl start DEP-SVC@N.service` of any N. */
		if (!global) {
			paas_buf_addf(&un, "%s-%s@.service", deployment, names[i]);
			json_array_append_new(*units, json_pack("{s:s, s:s#}", "name", un.data,
			    "content", u.data, (int)u.len));
		}
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
