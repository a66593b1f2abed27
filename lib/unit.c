#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonx.h"
#include "labels.h"
#include "spec.h"
#include "valid.h"
#include "unit.h"
#include "unittext.h"

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

/* What differs between paas-unitgen's units and an instance paas-deploy
 * submits to fleet. */
struct shape {
	const char *inst;		/* %i, %H, or the instance ID */
	const char *cname;		/* the container's name */
	const struct paas_instance_spec *is;	/* a deployed instance, or NULL */
};

static void
render_service(const json_t *spec, const char *dep, const char *name, const json_t *svc,
    const struct shape *sh, struct paas_buf *u)
{
	json_t *env, *secret, *v;
	const json_t *res = json_object_get(svc, "resources");
	const char *k, *image = json_string_value(json_object_get(svc, "image"));
	const char *restart = json_string_value(json_object_get(svc, "restart"));
	int global = json_is_true(json_object_get(svc, "global"));
	const struct paas_instance_spec *is = sh->is;
	const char *inst = sh->inst;
	const char **names;
	char hash[17];
	struct paas_buf cname = PAAS_BUF_INIT, img = PAAS_BUF_INIT, ex = PAAS_BUF_INIT;
	struct paas_buf tmp = PAAS_BUF_INIT;
	size_t i, n;

	env = paas_spec_service_env(spec, svc, &secret);
	if (is)
		snprintf(hash, sizeof(hash), "%s", is->version);
	else
		paas_spec_service_version(spec, dep, name, NULL, hash);
	paas_buf_adds(&cname, sh->cname);
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
	paas_buf_addf(&tmp, PAAS_LABEL_DEPLOYMENT "=%s", dep);
	raw_word(&ex, tmp.data);
	raw_word(&ex, "--label");
	paas_buf_reset(&tmp);
	paas_buf_addf(&tmp, PAAS_LABEL_SERVICE "=%s", name);
	raw_word(&ex, tmp.data);
	raw_word(&ex, "--label");
	paas_buf_reset(&tmp);
	paas_buf_addf(&tmp, PAAS_LABEL_INSTANCE "=%s", inst);
	raw_word(&ex, tmp.data);
	raw_word(&ex, "--label");
	paas_buf_reset(&tmp);
	paas_buf_addf(&tmp, PAAS_LABEL_VERSION "=%s", hash);
	raw_word(&ex, tmp.data);
	if (is) {
		/* The agent announces it under its unit's name, which stays
		 * when fleet moves it to another machine. */
		raw_word(&ex, "--label");
		paas_buf_reset(&tmp);
		paas_buf_addf(&tmp, PAAS_LABEL_RELEASE "=%lld", (long long)is->release);
		raw_word(&ex, tmp.data);
		raw_word(&ex, "--label " PAAS_LABEL_UNIT "=%n");
		json_object_foreach(json_object_get(svc, "resources"), k, v) {
			paas_buf_reset(&tmp);
			paas_buf_addf(&tmp, PAAS_LABEL_PREFIX "%s=%lld", k, (long long)json_integer_value(v));
			raw_word(&ex, "--label");
			raw_word(&ex, tmp.data);
		}
	}
	raw_word(&ex, "-e PAAS_DEPLOYMENT -e PAAS_SERVICE -e PAAS_INSTANCE -e PAAS_HOST");
	/* Values travel in the environment, never in the command line. */
	for (i = 0; i < n; i++) {
		paas_buf_reset(&tmp);
		paas_buf_addf(&tmp, "-e %s", names[i]);
		raw_word(&ex, tmp.data);
	}
	for (i = 0; i < json_array_size(json_object_get(svc, "ports")); i++) {
		paas_buf_reset(&tmp);
		long long cp = json_integer_value(json_array_get(json_object_get(svc, "ports"), i));
		char pk[24];

		snprintf(pk, sizeof(pk), "%lld", cp);
		paas_buf_reset(&tmp);
		if (is && json_integer_value(json_object_get(is->ports, pk)) > 0)
			paas_buf_addf(&tmp, "-p %lld:%lld",
			    (long long)json_integer_value(json_object_get(is->ports, pk)), cp);
		else
			paas_buf_addf(&tmp, "-p %lld", cp);
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
	if (is) {
		/* What paas-deploy reads back (systemd ignores X- sections). */
		paas_buf_addf(u, "\n[X-Paas]\nDeployment=%s\nService=%s\nInstance=%s\n"
		    "Version=%s\nRelease=%lld\nContainer=%s\n", dep, name, inst, hash,
		    (long long)is->release, cname.data);
		json_object_foreach((json_t *)is->ports, k, v)
			paas_buf_addf(u, "Port=%s:%lld\n", k, (long long)json_integer_value(v));
		json_object_foreach(json_object_get(svc, "resources"), k, v)
			paas_buf_addf(u, "%s=%lld\n", !strcmp(k, "cpu_milli") ? "CpuMilli" :
			    "MemoryBytes", (long long)json_integer_value(v));
	}
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
		{
			struct paas_buf cn = PAAS_BUF_INIT;
			struct shape sh = { global ? "%H" : "%i", NULL, NULL };

			paas_buf_addf(&cn, "%s-%s-%s", deployment, names[i], sh.inst);
			sh.cname = cn.data;
			render_service(spec, deployment, names[i], svc, &sh, &u);
			paas_buf_free(&cn);
		}
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

/* Unit text as fleet's options, read as fleet's unit reader reads a file:
 * a continued value keeps its "\\\n" and the next line as they are. */
static json_t *
unit_options(const char *u)
{
	json_t *opts = json_array();
	const char *p = u, *nl, *eq;
	char *section = NULL;

	while (*p) {
		size_t len;

		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (len && p[0] == '[' && p[len - 1] == ']') {
			free(section);
			section = paas_xstrndup(p + 1, len - 2);
		} else if (len && p[0] != '#' && p[0] != ';' && section &&
		    (eq = memchr(p, '=', len)) != NULL) {
			struct paas_buf v = PAAS_BUF_INIT;
			char *name = paas_xstrndup(p, (size_t)(eq - p));
			const char *vs = eq + 1;
			size_t vl = len - (size_t)(vs - p);

			paas_buf_add(&v, vs, vl);
			while (vl && vs[vl - 1] == '\\' && nl) {
				p = nl + 1;
				nl = strchr(p, '\n');
				vs = p;
				vl = nl ? (size_t)(nl - p) : strlen(p);
				paas_buf_adds(&v, "\n");
				paas_buf_add(&v, vs, vl);
			}
			paas_buf_adds(&v, "");
			json_array_append_new(opts, json_pack("{s:s, s:s, s:s}", "section", section,
			    "name", name, "value", v.data));
			free(name);
			paas_buf_free(&v);
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	free(section);
	return opts;
}

int
paas_unit_instance(const json_t *spec, const struct paas_instance_spec *is, char **name,
    json_t **options, struct paas_err *err)
{
	struct paas_buf u = PAAS_BUF_INIT, cn = PAAS_BUF_INIT;
	struct shape sh = { is->instance, NULL, is };
	const char *ll;
	size_t len;

	*name = NULL;
	*options = NULL;
	if (json_is_true(json_object_get(is->svc, "global")))
		return paas_err_set(err, PAAS_EINVAL, "service %s: a global service cannot run "
		    "on fleet through paas-deploy (paas-unitgen writes its Global unit)", is->service);
	paas_buf_addf(&cn, "%s-%s-%.8s-%s-%lld", is->deployment, is->service, is->version,
	    is->instance, (long long)is->release);
	sh.cname = cn.data;
	render_service(spec, is->deployment, is->service, is->svc, &sh, &u);
	if ((ll = long_line(u.data, &len)) != NULL) {
		paas_err_set(err, PAAS_EINVAL, "service %s: a line of its unit is %zu bytes "
		    "(%.40s...), fleet takes at most %d", is->service, len, ll, LINE_MAX_FLEET);
		paas_buf_free(&u);
		paas_buf_free(&cn);
		return -1;
	}
	if (asprintf(name, "%s-%s@%.8s-%s-%lld.service", is->deployment, is->service,
	    is->version, is->instance, (long long)is->release) < 0)
		abort();
	*options = unit_options(u.data);
	paas_buf_free(&u);
	paas_buf_free(&cn);
	return 0;
}

int
paas_unit_agent(const char *host, const char *etcd, const char *docker, char **name,
    json_t **options, struct paas_err *err)
{
	struct paas_unittext_opts uo = { 0 };
	struct paas_buf u = PAAS_BUF_INIT;

	*name = NULL;
	*options = NULL;
	if (!paas_valid_name(host) || strlen(host) > 30)
		return paas_err_set(err, PAAS_EINVAL, "invalid fleet host name '%.64s': lower-case "
		    "letters, digits and '-', at most 30 (its machines' agents add 33)", host);
	/* Values that reach the unit: no quoting, no specifier, no space. */
	if (etcd == NULL || *etcd == '\0' || strpbrk(etcd, " \t\n\"'\\$`%;") != NULL)
		return paas_err_set(err, PAAS_EINVAL, "etcd endpoints '%.200s' cannot go in a unit",
		    etcd ? etcd : "");
	if (docker && (strncmp(docker, "unix:///", 8) != 0 || strpbrk(docker, " \t\n\"'\\$`%;")))
		return paas_err_set(err, PAAS_EINVAL, "--agent-docker %.64s: expected unix:///path",
		    docker);
	uo.kind = PAAS_UNITTEXT_AGENT;
	uo.place = PAAS_UNITTEXT_FLEET;
	uo.fleet = host;
	uo.etcd = etcd;
	uo.docker = docker;
	paas_unittext(&uo, &u);
	if (asprintf(name, "paas-agent-%s.service", host) < 0)
		abort();
	*options = unit_options(u.data);
	paas_buf_free(&u);
	return 0;
}
