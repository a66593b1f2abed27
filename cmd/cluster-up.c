/*
 * paas-cluster up / down: a one-machine cluster.  A private etcd (unless
 * one is given), a private image registry (unless one is given or none
 * is wanted), the local Docker registered as host "local", its agent
 * and a router (paas-route watch, which runs HAProxy), each a background
 * process with a pid file and a log in the state directory:
 *
 *   DIR/cluster.json      what up was given: etcd, ports, docker
 *   DIR/etcd/             the private etcd's data
 *   DIR/etcd-auth/ROLE    the private etcd's users (access.h), 0600
 *   DIR/secrets.key       the key of the secrets store (secrets.h), 0600
 *   DIR/ca/               the cluster's CA (pki.h): ca.crt, ca.key (0600)
 *   DIR/registry/         the registry's config.yml, TLS key and certificate,
 *                         htpasswd and data/
 *   DIR/registry-auth     the deployer's registry credentials, 0600
 *   DIR/{etcd,registry,agent,router}.{pid,log}
 *   DIR/route/            haproxy.cfg, haproxy.pid, master.sock, stats.sock
 *
 * up starts what is not running and leaves alone what is; down stops
 * everything and keeps the data, so the next up serves the same
 * deployments (their containers keep running in Docker meanwhile).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access.h"
#include "clock.h"
#include "docker.h"
#include "file.h"
#include "hosts.h"
#include "keys.h"
#include "registry.h"
#include "buf.h"
#include "paas-cluster.h"
#include "cluster-up.h"
#include "daemon.h"
#include "etcd.h"
#include "valid.h"
#include "state.h"
#include "ssh.h"

#define STOP_MS		10000


char *
path_in(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

int
mkdir_p(const char *path, mode_t mode, struct paas_err *err)
{
	char *copy = paas_xstrdup(path), *p;

	for (p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(copy, mode) < 0 && errno != EEXIST)
		goto fail;
	free(copy);
	return 0;
fail:
	paas_err_set(err, PAAS_EFAILED, "cannot create %s: %s", copy, strerror(errno));
	free(copy);
	return -1;
}

/* The last n lines of a log, on one line, for an error message. */
static void
log_tail(const char *path, int n, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	char *lines[16] = { 0 }, *line = NULL;
	size_t cap = 0, i, k = 0, used = 0;

	out[0] = '\0';
	if (f == NULL)
		return;
	if (n > 16)
		n = 16;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		free(lines[k % (size_t)n]);
		lines[k % (size_t)n] = paas_xstrdup(line);
		k++;
	}
	free(line);
	fclose(f);
	for (i = k > (size_t)n ? k - (size_t)n : 0; i < k; i++) {
		const char *l = lines[i % (size_t)n];
		int w = snprintf(out + used, size - used, "%s%s", used ? " | " : "", l);

		if (w < 0 || (size_t)w >= size - used)
			break;
		used += (size_t)w;
	}
	for (i = 0; i < (size_t)n; i++)
		free(lines[i]);
}

void
report(const struct up *u, const char *component, const char *state, pid_t pid,
    const char *detail)
{
	if (paas_out_is_table(u->fmt)) {
		printf("%-8s %-10s", component, state);
		if (pid)
			printf(" pid %-8ld", (long)pid);
		printf("%s%s\n", detail ? " " : "", detail ? detail : "");
		fflush(stdout);
	} else {
		json_t *o = json_pack("{s:s, s:s, s:s}", "kind", "component", "component", component,
		    "state", state);

		if (pid)
			json_object_set_new(o, "pid", json_integer(pid));
		if (detail)
			json_object_set_new(o, "detail", json_string(detail));
		paas_out_json(o);
		json_decref(o);
	}
}

/* Our own executable's directory, to find paas-route beside it. */
char *
sibling(const char *name)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *p;

	if (n <= 0)
		return paas_xstrdup(name);
	self[n] = '\0';
	p = path_in(dirname(self), name);
	if (access(p, X_OK) == 0)
		return p;
	free(p);
	return paas_xstrdup(name);
}

/* Wait until the process is ready (ready() returns 1), failing early with
 * its log when it is gone. */
static int
await(const struct up *u, const char *what, const char *pidfile, const char *prog_name,
    const char *logfile, long ms, int (*ready)(const struct up *, void *), void *arg,
    struct paas_err *err)
{
	long long until = paas_now_ms() + ms;
	char tail[600];

	for (;;) {
		/* Ready, and still ours: not another process on the same port. */
		if (ready(u, arg) == 1 && paas_daemon_alive(pidfile, prog_name))
			return 0;
		if (!paas_daemon_alive(pidfile, prog_name)) {
			/* Exited: one more look, it may have gone after being ready. */
			log_tail(logfile, 4, tail, sizeof(tail));
			return paas_err_set(err, PAAS_EFAILED, "%s exited; the end of %s: %s", what,
			    logfile, tail[0] ? tail : "(empty)");
		}
		if (paas_now_ms() >= until) {
			log_tail(logfile, 4, tail, sizeof(tail));
			return paas_err_set(err, PAAS_EFAILED, "%s did not become ready in %ld s; the "
			    "end of %s: %s", what, ms / 1000, logfile, tail[0] ? tail : "(empty)");
		}
		paas_sleep_ms(100);
	}
}

static int
etcd_ready(const struct up *u, void *arg)
{
	struct paas_http_opts ho = { .connect_timeout_ms = 500, .timeout_ms = 1000 };
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_etcd *e = paas_etcd_new(u->etcd, &ho, &err);
	int ok;

	(void)arg;
	if (e == NULL)
		return 0;
	ok = paas_etcd_health(e, &err) == 0;
	paas_etcd_free(e);
	return ok;
}

static int
key_ready(const struct up *u, void *arg)
{
	struct paas_http_opts ho = { .connect_timeout_ms = 500, .timeout_ms = 1000 };
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_etcd *e = paas_etcd_new(u->etcd, &ho, &err);
	struct paas_kv kv;
	int found = 0;

	if (e == NULL)
		return 0;
	if (paas_etcd_get(e, arg, &kv, &found, NULL, &err) == 0)
		paas_kv_clear(&kv);
	paas_etcd_free(e);
	return found;
}

static int
conf_int(const json_t *conf, const char *k, int dflt)
{
	json_t *v = json_object_get(conf, k);

	return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}


/* systemd: the components as the units make install puts in place
 * (paas-NAME.service), their settings in /etc/default/paas-NAME. ------- */

#define DEFAULTS_DIR	"/etc/default"

/* systemctl VERB... paas-NAME.service (NULL-terminated verbs): 0, or -1
 * with its words in err. */
static int
systemctl(const char *name, struct paas_err *err, ...)
{
	struct paas_buf out = PAAS_BUF_INIT;
	char unit[64], *argv[8];
	const char *v;
	va_list ap;
	int n = 0, st;

	snprintf(unit, sizeof(unit), "paas-%s.service", name);
	argv[n++] = "systemctl";
	va_start(ap, err);
	while ((v = va_arg(ap, const char *)) != NULL && n < 6)
		argv[n++] = (char *)v;
	va_end(ap);
	argv[n++] = unit;
	argv[n] = NULL;
	if ((st = paas_run_cmd(argv, &out, err)) > 0) {
		paas_buf_rstrip(&out, "\n ");
		paas_err_set(err, PAAS_EFAILED, "systemctl %s %s: %s", argv[1], unit,
		    out.len ? out.data : "failed");
	}
	paas_buf_free(&out);
	return st == 0 ? 0 : -1;
}

static int
unit_active(const char *name)
{
	struct paas_err err = PAAS_ERR_INIT;

	return systemctl(name, &err, "is-active", "--quiet", NULL) == 0;
}

static pid_t
unit_pid(const char *name)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_buf out = PAAS_BUF_INIT;
	char unit[64];
	char *argv[] = { "systemctl", "show", "--property=MainPID", "--value", unit, NULL };
	pid_t pid = 0;

	snprintf(unit, sizeof(unit), "paas-%s.service", name);
	if (paas_run_cmd(argv, &out, &err) == 0 && out.data)
		pid = (pid_t)atol(out.data);
	paas_buf_free(&out);
	/* Active with no main process yet: still a "yes". */
	return pid > 0 ? pid : 1;
}

/* A value for a unit's EnvironmentFile that its ExecStart expands as
 * words: no space, quote, backslash, dollar or control character. */
static int
env_word(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || strchr("\"'\\$`;", *s) || *s == 0x7f)
			return 0;
	return 1;
}

static int
env_add(struct paas_buf *b, const char *var, const char *value, struct paas_err *err)
{
	if (!env_word(value))
		return paas_err_set(err, PAAS_EINVAL, "--systemd: %.200s (for %s) may not hold "
		    "spaces, quotes, backslashes or $", value, var);
	paas_buf_addf(b, "%s=%s\n", var, value);
	return 0;
}

/*
 * What argv says, as the unit's settings: etcd's flags as its ETCD_*
 * variables; the registry's configuration file; the agent's and the
 * router's endpoints, state directory and flags.
 */
static int
unit_settings(const struct up *u, const struct component *c, char *const argv[],
    struct paas_buf *b, struct paas_err *err)
{
	size_t i;

	paas_buf_addf(b, "# Written by paas-cluster up --systemd: %s's settings.\n", c->what);
	if (strcmp(c->name, "etcd") == 0) {
		for (i = 1; argv[i] && argv[i + 1]; i += 2) {
			char var[64];
			size_t k;

			snprintf(var, sizeof(var), "ETCD_%s", argv[i] + 2);
			for (k = 5; var[k]; k++)
				var[k] = var[k] == '-' ? '_' : (char)toupper((unsigned char)var[k]);
			if (env_add(b, var, argv[i + 1], err) < 0)
				return -1;
		}
		return 0;
	}
	if (strcmp(c->name, "registry") == 0)
		return env_add(b, "PAAS_REGISTRY_CONFIG", argv[2], err);
	/* SELF --etcd ENDPOINTS agent|watch FLAGS... */
	if (env_add(b, "PAAS_ETCD", argv[2], err) < 0 || env_add(b, "PAAS_STATE_DIR", u->dir, err) < 0)
		return -1;
	paas_buf_addf(b, "%s_ARGS=\"", strcmp(c->name, "agent") == 0 ? "AGENT" : "ROUTER");
	for (i = 4; argv[i]; i++) {
		if (!env_word(argv[i]))
			return paas_err_set(err, PAAS_EINVAL, "--systemd: %.200s may not hold spaces, "
			    "quotes, backslashes or $", argv[i]);
		paas_buf_addf(b, "%s%s", i > 4 ? " " : "", argv[i]);
	}
	paas_buf_adds(b, "\"\n");
	return 0;
}

/* launch() under systemd: the settings written, the unit enabled and
 * started, then waited for as a process would be. */
static int
unit_launch(const struct up *u, const struct component *c, char *const argv[],
    struct paas_err *err)
{
	struct paas_buf b = PAAS_BUF_INIT;
	long long until = paas_now_ms() + c->ready_ms;
	char path[128];
	int rc = -1;

	snprintf(path, sizeof(path), "%s/paas-%s", DEFAULTS_DIR, c->name);
	if (unit_settings(u, c, argv, &b, err) < 0 ||
	    paas_file_replace(path, b.data, b.len, 0644, err) < 0 ||
	    systemctl(c->name, err, "enable", "--quiet", NULL) < 0 ||
	    systemctl(c->name, err, "restart", NULL) < 0)
		goto out;
	for (;;) {
		if (c->ready(u, c->arg) == 1 && unit_active(c->name))
			break;
		if (systemctl(c->name, err, "is-failed", "--quiet", NULL) == 0) {
			paas_err_set(err, PAAS_EFAILED, "%s failed under systemd: journalctl -u "
			    "paas-%s.service says why", c->what, c->name);
			goto out;
		}
		paas_err_clear(err);
		if (paas_now_ms() >= until) {
			paas_err_set(err, PAAS_EFAILED, "%s did not become ready in %ld s: "
			    "journalctl -u paas-%s.service says why", c->what, c->ready_ms / 1000,
			    c->name);
			goto out;
		}
		paas_sleep_ms(100);
	}
	report(u, c->name, "started", unit_pid(c->name), c->detail);
	rc = 0;
out:
	paas_buf_free(&b);
	return rc;
}

/* Before --systemd's first step: systemd runs here, and has every unit. */
static int
systemd_check(const struct up *u, struct paas_err *err)
{
	static const char *const all[] = { "etcd", "registry", "agent", "router" };
	const char *reg = json_string_value(json_object_get(u->conf, "registry"));
	size_t i;

	if (access("/run/systemd/system", F_OK) != 0)
		return paas_err_set(err, PAAS_EFAILED, "--systemd: systemd does not run this "
		    "machine (no /run/systemd/system)");
	if (!env_word(u->dir))
		return paas_err_set(err, PAAS_EINVAL, "--systemd: the state directory %.200s may "
		    "not hold spaces, quotes, backslashes or $", u->dir);
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if ((i == 0 && !u->private_etcd) ||
		    (i == 1 && (reg == NULL || strcmp(reg, "managed") != 0)))
			continue;
		if (systemctl(all[i], err, "cat", NULL) < 0)
			return paas_err_set(err, PAAS_EFAILED, "--systemd: unit paas-%s.service is "
			    "not installed (make install puts it in PREFIX/lib/systemd/system)",
			    all[i]);
	}
	return 0;
}

/* Whether c runs already (and say so). */
int
running(const struct up *u, const struct component *c)
{
	char *pidfile;
	pid_t pid;

	if (u->systemd) {
		pid = unit_active(c->name) ? unit_pid(c->name) : 0;
		if (pid)
			report(u, c->name, "running", pid, c->detail);
		return pid != 0;
	}
	if (asprintf(&pidfile, "%s/%s.pid", u->dir, c->name) < 0)
		abort();
	pid = paas_daemon_alive(pidfile, c->prog);
	free(pidfile);
	if (pid)
		report(u, c->name, "running", pid, c->detail);
	return pid != 0;
}

/* Start argv as c, wait until it is ready, and say so. */
int
launch(const struct up *u, const struct component *c, char *const argv[], struct paas_err *err)
{
	char *pidfile, *log;
	pid_t pid;
	int rc = -1;

	if (u->systemd)
		return unit_launch(u, c, argv, err);
	if (asprintf(&pidfile, "%s/%s.pid", u->dir, c->name) < 0 ||
	    asprintf(&log, "%s/%s.log", u->dir, c->name) < 0)
		abort();
	if (paas_daemon_start(argv, log, pidfile, &pid, err) == 0 &&
	    await(u, c->what, pidfile, c->prog, log, c->ready_ms, c->ready, c->arg, err) == 0) {
		report(u, c->name, "started", pid, c->detail);
		rc = 0;
	}
	free(pidfile);
	free(log);
	return rc;
}

static int
start_etcd(struct up *u, int port, int peer, struct paas_err *err)
{
	const struct component c = { "etcd", "etcd", "etcd", u->etcd, 20000, etcd_ready, NULL };
	char *data, client[64], peers[64], cluster[80];
	int rc;

	if (running(u, &c))
		return 0;
	if (etcd_ready(u, NULL))
		return paas_err_set(err, PAAS_EFAILED, "an etcd that is not this cluster's already "
		    "answers at %s: give up another --etcd-port, or use it with PAAS_ETCD", u->etcd);
	data = path_in(u->dir, "etcd");
	snprintf(client, sizeof(client), "http://127.0.0.1:%d", port);
	snprintf(peers, sizeof(peers), "http://127.0.0.1:%d", peer);
	snprintf(cluster, sizeof(cluster), "paas=%s", peers);
	{
		char *argv[] = { "etcd", "--name", "paas", "--data-dir", data,
		    "--listen-client-urls", client, "--advertise-client-urls", client,
		    "--listen-peer-urls", peers, "--initial-advertise-peer-urls", peers,
		    "--initial-cluster", cluster, "--initial-cluster-token", "paas-local",
		    /* The passwords are 192 random bits: a slow hash adds nothing
		     * to them, and would cost every command ~70 ms to log in. */
		    "--bcrypt-cost", "4", NULL };

		rc = mkdir_p(data, 0700, err) < 0 ? -1 : launch(u, &c, argv, err);
	}
	free(data);
	return rc;
}

/* The private etcd with authentication on (access.h); this process then
 * acts as its root. */
int
secure_etcd(struct up *u, struct paas_err *err)
{
	char *dir = path_in(u->dir, "etcd-auth"), *root = path_in(dir, "root");
	int on = paas_access_enabled(u->etcd, err), rc = -1;

	if (on < 0)
		goto out;
	if (on) {
		if ((rc = paas_etcd_auth_load(root, err)) < 0)
			paas_err_wrap(err, "etcd at %s asks for a user", u->etcd);
		goto out;
	}
	if ((rc = paas_access_setup(u->etcd, dir, err)) == 0)
		report(u, "etcd", "secured", 0, "users root, deployer, agent, router, check");
out:
	free(dir);
	free(root);
	return rc;
}

/* The key of the secrets store, made once. */
int
secrets_key(struct up *u, struct paas_err *err)
{
	char *p = path_in(u->dir, "secrets.key");
	unsigned char key[32];
	int rc = 0;

	if (access(p, F_OK) != 0) {
		if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
			rc = paas_err_set(err, PAAS_EFAILED, "no random bytes: %s", strerror(errno));
		else if ((rc = paas_file_replace(p, key, sizeof(key), 0600, err)) == 0)
			report(u, "secrets", "added", 0, p);
		explicit_bzero(key, sizeof(key));
	}
	free(p);
	return rc;
}

/* Run fn with PAAS_ETCD_AUTH naming role's file when the etcd is ours. */
static int
as_role(struct up *u, const char *role, int (*fn)(struct up *, void *, struct paas_err *),
    void *arg, struct paas_err *err)
{
	char *was = getenv("PAAS_ETCD_AUTH") ? paas_xstrdup(getenv("PAAS_ETCD_AUTH")) : NULL;
	char name[64], *p = NULL;
	int rc;

	if (u->private_etcd) {
		snprintf(name, sizeof(name), "etcd-auth/%s", role);
		p = path_in(u->dir, name);
		setenv("PAAS_ETCD_AUTH", p, 1);
	}
	rc = fn(u, arg, err);
	if (u->private_etcd) {
		if (was)
			setenv("PAAS_ETCD_AUTH", was, 1);
		else
			unsetenv("PAAS_ETCD_AUTH");
	}
	free(was);
	free(p);
	return rc;
}

/* Register the local Docker as host "local", unless it already is. */
static int
register_local(struct up *u, const char *docker, struct paas_err *err)
{
	struct paas_etcd *e = NULL;
	struct paas_docker *d = NULL;
	json_t *host, *have = NULL;
	struct paas_kv kv = { 0 };
	char *key = NULL;
	int found = 0, rc = -1;

	host = json_pack("{s:s, s:s, s:n, s:b, s:{}, s:n, s:n, s:n}", "name", "local",
	    "docker", docker, "tls", "insecure", 0, "labels", "cpu_milli", "memory_bytes",
	    "address");
	if ((d = paas_host_docker(host, 5000, err)) == NULL)
		goto out;
	if (paas_docker_ping(d, err) < 0) {
		paas_err_wrap(err, "the local Docker does not answer (is dockerd running?)");
		err->status = PAAS_EUNAVAIL;
		goto out;
	}
	if ((e = paas_etcd_new(u->etcd, NULL, err)) == NULL ||
	    paas_etcd_get(e, key = paas_key_host("local"), &kv, &found, NULL, err) < 0)
		goto out;
	if (found && (have = json_loadb(kv.value, kv.value_len, 0, NULL)) != NULL) {
		const char *was = json_string_value(json_object_get(have, "docker"));

		if (was && strcmp(was, docker) == 0) {
			report(u, "host", "registered", 0, "local");
			rc = 0;
			goto out;
		}
		paas_err_set(err, PAAS_EFAILED, "host local is registered with Docker at %s, not %s: "
		    "`paas-cluster hosts rm local` first, or give up --docker %s", was ? was : "?",
		    docker, was ? was : "?");
		goto out;
	}
	if (paas_host_put(e, host, 0, err) < 0)
		goto out;
	report(u, "host", "added", 0, "local");
	rc = 0;
out:
	free(key);
	paas_kv_clear(&kv);
	json_decref(host);
	json_decref(have);
	paas_docker_free(d);
	paas_etcd_free(e);
	return rc;
}

static int
start_agent(struct up *u, void *arg, struct paas_err *err)
{
	char *key = paas_key_agent("local"), *self;
	const struct component c = { "agent", "the agent", "paas-cluster", "local", 15000,
	    key_ready, key };
	int rc = 0;

	(void)arg;
	if (running(u, &c))
		goto out;
	self = sibling("paas-cluster");
	{
		char *argv[] = { self, "--etcd", (char *)u->etcd, "agent", "--host", "local", NULL };

		rc = launch(u, &c, argv, err);
	}
	free(self);
out:
	free(key);
	return rc;
}

static int
start_router(struct up *u, void *arg, struct paas_err *err)
{
	int port = *(int *)arg;
	char sport[16], detail[64], *rdir, *cfg, *route, *key = paas_key_router("local");
	const struct component c = { "router", "the router", "paas-route", detail, 15000,
	    key_ready, key };
	int rc;

	snprintf(sport, sizeof(sport), "%d", port);
	snprintf(detail, sizeof(detail), "port %d", port);
	if (running(u, &c)) {
		free(key);
		return 0;
	}
	rdir = path_in(u->dir, "route");
	cfg = path_in(rdir, "haproxy.cfg");
	route = sibling("paas-route");
	{
		char *argv[] = { route, "--etcd", (char *)u->etcd, "watch", "--config", cfg,
		    "--port", sport, "--name", "local", NULL };

		rc = mkdir_p(rdir, 0750, err) < 0 ? -1 : launch(u, &c, argv, err);
	}
	free(rdir);
	free(cfg);
	free(route);
	free(key);
	return rc;
}

json_t *
load_conf(const char *dir, struct up *u)
{
	char *p = path_in(dir, "cluster.json");
	json_t *c = json_load_file(p, 0, NULL);

	free(p);
	if (!json_is_object(c)) {
		json_decref(c);
		c = json_object();
	}
	if (u)
		u->systemd = json_is_true(json_object_get(c, "systemd"));
	return c;
}

int
save_conf(const struct up *u, struct paas_err *err)
{
	char *p = path_in(u->dir, "cluster.json");
	char *s = json_dumps(u->conf, JSON_SORT_KEYS | JSON_INDENT(2));
	int rc;

	rc = paas_file_replace(p, s, strlen(s), 0644, err);
	free(p);
	free(s);
	return rc;
}

static int
port_arg(const char *flag, const char *s, int *out)
{
	if (paas_parse_int(s, 1, 65535, out) < 0) {
		cli_bad_usage("%s %.32s: expected a TCP port, 1-65535", flag, s);
		return -1;
	}
	return 0;
}

int
cmd_up(const struct cluster_ctx *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "docker", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "etcd-port", required_argument, NULL, 'E' },
		{ "etcd-peer-port", required_argument, NULL, 'P' },
		{ "registry-port", required_argument, NULL, 'R' },
		{ "registry-address", required_argument, NULL, 'A' },
		{ "registry", required_argument, NULL, 'X' },
		{ "registry-ca", required_argument, NULL, 'C' },
		{ "no-registry", no_argument, NULL, 'N' },
		{ "systemd", no_argument, NULL, 'S' },
		{ "host", required_argument, NULL, 'H' },
		{ "agent-docker", required_argument, NULL, 'G' },
		{ "accept-new-host-key", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	char *specs[32];
	int nspecs = 0;
	const char *agent_docker = NULL;
	struct paas_err err = PAAS_ERR_INIT;
	const char *dirflag = NULL, *docker = NULL, *ext, *raddr = NULL, *rext = NULL, *rca = NULL;
	int ch, port = 0, eport = 0, pport = 0, rport = 0, noreg = 0, sysd = 0, rc = PAAS_EINVAL;
	char regaddr[300];
	struct up u = { 0 };
	char endpoint[64];

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': dirflag = optarg; break;
		case 'd':
			if (strncmp(optarg, "unix://", 7) != 0 || optarg[7] != '/')
				return cli_bad_usage("--docker %.64s: expected the local socket, "
				    "unix:///PATH", optarg);
			docker = optarg;
			break;
		case 'p': if (port_arg("--port", optarg, &port) < 0) return PAAS_EINVAL; break;
		case 'E': if (port_arg("--etcd-port", optarg, &eport) < 0) return PAAS_EINVAL; break;
		case 'P': if (port_arg("--etcd-peer-port", optarg, &pport) < 0) return PAAS_EINVAL; break;
		case 'R': if (port_arg("--registry-port", optarg, &rport) < 0) return PAAS_EINVAL; break;
		case 'A':
			if (!paas_valid_address(optarg))
				return cli_bad_usage("--registry-address %.64s: expected an IP address of "
				    "this machine", optarg);
			raddr = optarg;
			break;
		case 'X':
			if (!paas_registry_address_ok(optarg))
				return cli_bad_usage("--registry %.64s: expected HOST:PORT", optarg);
			rext = optarg;
			break;
		case 'C': rca = optarg; break;
		case 'N': noreg = 1; break;
		case 'S': sysd = 1; break;
		case 'H':
			if (nspecs == 32)
				return cli_bad_usage("%s", "up: too many --host");
			specs[nspecs++] = optarg;
			break;
		case 'G':
			if (agent_docker_arg(optarg) != 0)
				return PAAS_EINVAL;
			agent_docker = optarg;
			break;
		case 'k': paas_ssh_accept_new(1); break;
		default: usage(stderr); return PAAS_EINVAL;
		}
	}
	if (optind != argc)
		return cli_bad_usage("up: unexpected argument '%.64s'", argv[optind]);
	if (nspecs && (docker || sysd || noreg || rext || rport || raddr || rca))
		return cli_bad_usage("%s", "up --host: no --docker, --systemd or --registry* "
		    "(each host's own Docker and systemd are used; no registry is made)");
	if (!nspecs && agent_docker)
		return cli_bad_usage("%s", "--agent-docker goes with --host");
	if ((noreg && (rext || rport || raddr || rca)) || (rext && (rport || raddr)) ||
	    (rca && !rext))
		return cli_bad_usage("%s", "--no-registry, --registry (with --registry-ca) and "
		    "--registry-port/--registry-address do not go together");
	u.fmt = c->fmt;
	u.dir = paas_state_dir(dirflag);
	if (mkdir_p(u.dir, 0700, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	u.conf = load_conf(u.dir, &u);
	if (nspecs) {
		struct up_hosts_opts ho = { 0 };

		ho.specs = specs;
		ho.n = nspecs;
		ho.etcd_port = eport ? eport : conf_int(u.conf, "etcd_port", 2379);
		ho.peer_port = pport ? pport : conf_int(u.conf, "etcd_peer_port", ho.etcd_port + 1);
		ho.port = port ? port : conf_int(u.conf, "port", 80);
		ho.agent_docker = agent_docker ? agent_docker :
		    json_string_value(json_object_get(u.conf, "agent_docker"));
		if (ho.peer_port == ho.etcd_port) {
			rc = cli_bad_usage("--etcd-peer-port %d: the client port already", ho.peer_port);
			goto out;
		}
		rc = up_hosts(&u, &ho, &err) < 0 ? cli_fail(&err) : 0;
		goto out;
	}
	/* Once a cluster of units, always: its processes are systemd's. */
	if (sysd) {
		u.systemd = 1;
		json_object_set_new(u.conf, "systemd", json_true());
	}
	ext = c->etcd ? c->etcd : getenv("PAAS_ETCD");
	if (ext && *ext == '\0')
		ext = NULL;
	/* The private etcd given back as PAAS_ETCD is still the private one. */
	if (ext && !(json_is_true(json_object_get(u.conf, "private_etcd")) &&
	    json_string_value(json_object_get(u.conf, "etcd")) &&
	    strcmp(ext, json_string_value(json_object_get(u.conf, "etcd"))) == 0)) {
		if (eport || pport) {
			rc = cli_bad_usage("%s", "--etcd-port and --etcd-peer-port are for the private etcd, "
			    "not one given with --etcd or PAAS_ETCD");
			goto out;
		}
		u.etcd = ext;
		json_object_set_new(u.conf, "private_etcd", json_false());
		json_object_del(u.conf, "etcd_port");
		json_object_del(u.conf, "etcd_peer_port");
	} else {
		eport = eport ? eport : conf_int(u.conf, "etcd_port", 2379);
		pport = pport ? pport : conf_int(u.conf, "etcd_peer_port", eport + 1);
		if (pport == eport) {
			rc = cli_bad_usage("--etcd-peer-port %d: the client port already", pport);
			goto out;
		}
		snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", eport);
		u.etcd = endpoint;
		u.private_etcd = 1;
		json_object_set_new(u.conf, "private_etcd", json_true());
		json_object_set_new(u.conf, "etcd_port", json_integer(eport));
		json_object_set_new(u.conf, "etcd_peer_port", json_integer(pport));
	}
	json_object_set_new(u.conf, "etcd", json_string(u.etcd));
	if (docker == NULL)
		docker = json_string_value(json_object_get(u.conf, "docker"));
	if (docker == NULL && getenv("DOCKER_HOST") && strncmp(getenv("DOCKER_HOST"), "unix:///", 8) == 0)
		docker = getenv("DOCKER_HOST");
	json_object_set_new(u.conf, "docker", json_string(docker ? docker : PAAS_LOCAL_DOCKER));
	docker = json_string_value(json_object_get(u.conf, "docker"));
	port = port ? port : conf_int(u.conf, "port", geteuid() == 0 ? 80 : 8080);
	json_object_set_new(u.conf, "port", json_integer(port));
	if (noreg) {
		json_object_set_new(u.conf, "registry", json_string("none"));
		json_object_del(u.conf, "registry_address");
	} else if (rext) {
		json_object_set_new(u.conf, "registry", json_string("external"));
		json_object_set_new(u.conf, "registry_address", json_string(rext));
		if (rca)
			json_object_set_new(u.conf, "registry_ca", json_string(rca));
	} else if (rport || raddr || json_string_value(json_object_get(u.conf, "registry")) == NULL ||
	    strcmp(json_string_value(json_object_get(u.conf, "registry")), "managed") == 0) {
		const char *was = json_string_value(json_object_get(u.conf, "registry_address"));
		char *wasport = was && json_is_string(json_object_get(u.conf, "registry")) &&
		    strcmp(json_string_value(json_object_get(u.conf, "registry")), "managed") == 0 ?
		    strrchr(was, ':') : NULL;
		char *washost = wasport ? paas_xstrndup(was, (size_t)(wasport - was)) : NULL;

		snprintf(regaddr, sizeof(regaddr), "%s:%d", raddr ? raddr : washost ? washost :
		    "127.0.0.1", rport ? rport : wasport ? atoi(wasport + 1) : 5000);
		free(washost);
		json_object_set_new(u.conf, "registry", json_string("managed"));
		json_object_set_new(u.conf, "registry_address", json_string(regaddr));
		json_object_del(u.conf, "registry_ca");
	}
	if ((u.systemd && systemd_check(&u, &err) < 0) || save_conf(&u, &err) < 0 ||
	    (u.private_etcd && (start_etcd(&u, eport, pport, &err) < 0 ||
	    secure_etcd(&u, &err) < 0)) ||
	    (!u.private_etcd && !etcd_ready(&u, NULL) &&
	    paas_err_set(&err, PAAS_EUNAVAIL, "etcd at %s does not answer", u.etcd) < 0) ||
	    secrets_key(&u, &err) < 0 ||
	    up_registry(&u, &err) < 0 ||
	    register_local(&u, docker, &err) < 0 ||
	    as_role(&u, "agent", start_agent, NULL, &err) < 0 ||
	    as_role(&u, "router", start_router, &port, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (paas_out_is_table(u.fmt)) {
		char *dflt = paas_state_dir(NULL);

		printf("\nThe cluster is up; its state is in %s.\n", u.dir);
		if (strcmp(u.etcd, "http://127.0.0.1:2379") != 0)
			printf("Point the commands at its etcd:  export PAAS_ETCD=%s\n", u.etcd);
		if (u.private_etcd && strcmp(dflt, u.dir) != 0)
			printf("and at its credentials:  export PAAS_STATE_DIR=%s\n", u.dir);
		free(dflt);
		printf("Deploy with:  paas-deploy -D NAME Servicefile\n");
	}
	rc = 0;
out:
	json_decref(u.conf);
	free(u.dir);
	return rc;
}

int
stop_one(const struct up *u, const char *component, const char *file, const char *prog_name,
    struct paas_err *err)
{
	char *pidfile;
	pid_t was = 0;
	int rc;

	/* HAProxy is the router unit's child, which it outlives. */
	if (u->systemd && strcmp(component, "haproxy") != 0) {
		was = unit_active(component) ? unit_pid(component) : 0;
		if ((rc = systemctl(component, err, "stop", NULL)) == 0)
			report(u, component, was ? "stopped" : "not-running", was, NULL);
		return rc;
	}
	pidfile = path_in(u->dir, file);
	rc = paas_daemon_stop(pidfile, prog_name, STOP_MS, &was, err);

	if (rc == 0)
		report(u, component, was ? "stopped" : "not-running", was, NULL);
	free(pidfile);
	return rc;
}

int
cmd_down(const struct cluster_ctx *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_err err = PAAS_ERR_INIT;
	const char *dirflag = NULL;
	struct up u = { 0 };
	struct stat st;
	int ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': dirflag = optarg; break;
		default: usage(stderr); return PAAS_EINVAL;
		}
	}
	if (optind != argc)
		return cli_bad_usage("down: unexpected argument '%.64s'", argv[optind]);
	u.fmt = c->fmt;
	u.dir = paas_state_dir(dirflag);
	if (stat(u.dir, &st) < 0) {
		paas_err_set(&err, PAAS_EFAILED, "no cluster here: %s: %s", u.dir, strerror(errno));
		free(u.dir);
		return cli_fail(&err);
	}
	/* The router first, so that HAProxy is not started again under it;
	 * the agent before etcd, so that it can revoke its lease. */
	u.conf = load_conf(u.dir, &u);
	if (json_is_array(json_object_get(u.conf, "hosts"))) {
		rc = down_hosts(&u, &err) < 0 ? cli_fail(&err) : 0;
		json_decref(u.conf);
		free(u.dir);
		return rc;
	}
	rc = stop_one(&u, "router", "router.pid", "paas-route", &err) < 0 ||
	    stop_one(&u, "haproxy", "route/haproxy.pid", "haproxy", &err) < 0 ||
	    stop_one(&u, "agent", "agent.pid", "paas-cluster", &err) < 0 ||
	    (strcmp(str(u.conf, "registry"), "managed") != 0 ? 0 :
	    stop_one(&u, "registry", "registry.pid", "docker-registry", &err) < 0) ||
	    (json_is_false(json_object_get(u.conf, "private_etcd")) ? 0 :
	    stop_one(&u, "etcd", "etcd.pid", "etcd", &err) < 0) ? cli_fail(&err) : 0;
	/* Down stays down: not started again at the next boot. */
	if (rc == 0 && u.systemd) {
		static const char *const all[] = { "router", "agent", "registry", "etcd" };
		size_t i;

		for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			if ((i != 2 || strcmp(str(u.conf, "registry"), "managed") == 0) &&
			    (i != 3 || !json_is_false(json_object_get(u.conf, "private_etcd"))) &&
			    systemctl(all[i], &err, "disable", "--quiet", NULL) < 0)
				paas_err_clear(&err);
	}
	json_decref(u.conf);
	free(u.dir);
	return rc;
}
