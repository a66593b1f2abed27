/*
 * paas-route: HAProxy in front of the cluster, configured from etcd.
 *
 *   render   the configuration, to standard output
 *   apply    render, check with haproxy -c on a staged file, rename into
 *            place, reload through the master CLI; no change, no reload
 *   watch    apply now and again on every change of the routes or the
 *            announcements (bursts coalesced), starting HAProxy if none
 *            runs; publishes the etcd revision its HAProxy serves under
 *            /paas/v1/routers/NAME so that paas-deploy can wait for it
 */
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "etcd.h"
#include "haproxy.h"
#include "route.h"
#include "valid.h"
#include "state.h"

#define DEFAULT_CONFIG	"/var/lib/paas/route/haproxy.cfg"

static const char *prog = "paas-route";
static volatile sig_atomic_t stopping;

struct conf {
	const char *etcd;
	char *config, *master, *stats, *pidfile;
	const char *haproxy, *tls_dir, *name;
	int port, https_port, hard_stop, coalesce_ms, ttl;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: %s [--etcd endpoints] render [options]\n"
	    "       %s [--etcd endpoints] apply [options]\n"
	    "       %s [--etcd endpoints] watch [options] [--name name] [--coalesce-ms ms] [--ttl s]\n"
	    "options: [--config file] [--master-socket path] [--stats-socket path]\n"
	    "         [--port n] [--https-port n] [--tls-dir dir] [--hard-stop-after s]\n"
	    "         [--haproxy path] [--pid-file file]\n", prog, prog, prog);
}

static int
fail(struct paas_err *err)
{
	fprintf(stderr, "%s: %s\n", prog, err->msg);
	return err->status ? err->status : PAAS_EFAILED;
}

static int __attribute__((format(printf, 1, 2)))
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(stderr);
	return PAAS_EINVAL;
}

static void __attribute__((format(printf, 1, 2)))
logf_(const char *fmt, ...)
{
	char when[32];
	va_list ap;

	paas_utc_now(when, sizeof(when));
	fprintf(stderr, "%s %s: ", when, prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* path next to the configuration file (caller frees). */
static char *
beside(const char *config, const char *name)
{
	char *copy = paas_xstrdup(config), *out;

	if (asprintf(&out, "%s/%s", dirname(copy), name) < 0)
		abort();
	free(copy);
	return out;
}

static int
parse(int argc, char **argv, struct conf *c, int watch)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "master-socket", required_argument, NULL, 'm' },
		{ "stats-socket", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "https-port", required_argument, NULL, 'P' },
		{ "tls-dir", required_argument, NULL, 'T' },
		{ "hard-stop-after", required_argument, NULL, 'H' },
		{ "haproxy", required_argument, NULL, 'x' },
		{ "name", required_argument, NULL, 'n' },
		{ "coalesce-ms", required_argument, NULL, 'C' },
		{ "ttl", required_argument, NULL, 'l' },
		{ "pid-file", required_argument, NULL, 'i' },
		{ "etcd", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = getenv("PAAS_ROUTE_CONFIG"), *env = getenv("PAAS_ROUTE_PORT");
	const char *master = NULL, *stats = NULL, *pidfile = NULL;
	int ch;

	c->port = geteuid() == 0 ? 80 : 8080;
	c->https_port = geteuid() == 0 ? 443 : 8443;
	c->hard_stop = 30;
	c->coalesce_ms = 50;
	c->ttl = 10;
	if (env && *env && paas_parse_int(env, 1, 65535, &c->port) < 0)
		return bad_usage("PAAS_ROUTE_PORT=%.32s: expected a port, 1-65535", env);
	optind = 0;
	argv[0] = (char *)prog;		/* getopt's messages name the command */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e': c->etcd = optarg; break;
		case 'c': config = optarg; break;
		case 'm': master = optarg; break;
		case 's': stats = optarg; break;
		case 'i': pidfile = optarg; break;
		case 'x': c->haproxy = optarg; break;
		case 'T': c->tls_dir = optarg; break;
		case 'p':
			if (paas_parse_int(optarg, 1, 65535, &c->port) < 0)
				return bad_usage("--port %.32s: expected a port, 1-65535", optarg);
			break;
		case 'P':
			if (paas_parse_int(optarg, 1, 65535, &c->https_port) < 0)
				return bad_usage("--https-port %.32s: expected a port, 1-65535", optarg);
			break;
		case 'H':
			if (paas_parse_int(optarg, 1, 86400, &c->hard_stop) < 0)
				return bad_usage("--hard-stop-after %.32s: expected seconds, 1-86400", optarg);
			break;
		case 'C':
			if (!watch || paas_parse_int(optarg, 0, 10000, &c->coalesce_ms) < 0)
				return bad_usage("--coalesce-ms: watch only, 0-10000");
			break;
		case 'l':
			if (!watch || paas_parse_int(optarg, 2, 3600, &c->ttl) < 0)
				return bad_usage("--ttl: watch only, 2-3600 seconds");
			break;
		case 'n':
			if (!watch || !paas_valid_label(optarg))
				return bad_usage("--name: watch only; letters, digits, . _ -");
			c->name = optarg;
			break;
		default:
			usage(stderr);
			return PAAS_EINVAL;
		}
	}
	if (optind != argc)
		return bad_usage("unexpected argument '%.64s'", argv[optind]);
	if (c->tls_dir && c->tls_dir[0] != '/')
		return bad_usage("--tls-dir %.64s: expected an absolute path", c->tls_dir);
	if (config == NULL || !*config)
		config = DEFAULT_CONFIG;
	if (strpbrk(config, "\n\r \t\"'") || (stats && strpbrk(stats, "\n\r \t\"'")) ||
	    (c->tls_dir && strpbrk(c->tls_dir, "\n\r \t\"'")))
		return bad_usage("%s", "paths may not hold spaces, quotes or newlines");
	c->config = paas_xstrdup(config);
	c->master = master ? paas_xstrdup(master) : beside(config, "master.sock");
	c->stats = stats ? paas_xstrdup(stats) : beside(config, "stats.sock");
	c->pidfile = pidfile ? paas_xstrdup(pidfile) : beside(config, "haproxy.pid");
	return 0;
}

static void
conf_free(struct conf *c)
{
	free(c->config);
	free(c->master);
	free(c->stats);
	free(c->pidfile);
}

/* Read etcd and render.  Routes that would not render and announcements
 * that are not well-formed are left out with a warning, so that one bad
 * value never holds back the others. */
static int
render(struct paas_etcd *e, const struct conf *c, char **out, int64_t *rev,
    struct paas_err *err)
{
	struct paas_haproxy_opts o = { c->port, c->tls_dir, c->https_port, c->stats, c->hard_stop };
	json_t *routes, *servers, *skipped = json_array(), *v;
	const char *domain;
	void *tmp;
	size_t i;
	int rc;

	if (paas_route_read(e, &routes, &servers, rev, skipped, err) < 0) {
		json_decref(skipped);
		return -1;
	}
	json_object_foreach_safe(routes, tmp, domain, v) {
		struct paas_err e2 = PAAS_ERR_INIT;

		if (paas_haproxy_check_route(domain, v, &e2) < 0) {
			json_array_append_new(skipped, json_string(e2.msg));
			json_object_del(routes, domain);
		}
	}
	rc = paas_haproxy_render(routes, servers, &o, out, &v, err);
	if (rc == 0) {
		json_array_extend(skipped, v);
		json_decref(v);
	}
	json_array_foreach(skipped, i, v)
		fprintf(stderr, "%s: warning: left out: %s\n", prog, json_string_value(v));
	json_decref(skipped);
	json_decref(routes);
	json_decref(servers);
	return rc;
}

static int
cmd_render(struct paas_etcd *e, const struct conf *c)
{
	struct paas_err err = PAAS_ERR_INIT;
	char *cfg;

	if (render(e, c, &cfg, NULL, &err) < 0)
		return fail(&err);
	fputs(cfg, stdout);
	free(cfg);
	if (fflush(stdout) == EOF)
		return PAAS_EFAILED;
	return 0;
}

/* Is a master listening on c->master? */
static int
haproxy_running(const struct conf *c)
{
	struct paas_err err = PAAS_ERR_INIT;

	return paas_haproxy_cli(c->master, "show proc", NULL, &err) == 0;
}

/* Render and put in place; reload the running HAProxy, or with start set,
 * start one when none runs. */
static int
apply(struct paas_etcd *e, const struct conf *c, int start, int64_t *rev, int *changed,
    struct paas_err *err)
{
	struct paas_haproxy_install_opts o = { c->config, c->haproxy, NULL, 0 };
	int running = haproxy_running(c), rc;
	char *cfg;

	if (render(e, c, &cfg, rev, err) < 0)
		return -1;
	o.sock = running ? c->master : NULL;
	rc = paas_haproxy_install(&o, cfg, changed, err);
	free(cfg);
	if (rc < 0)
		return -1;
	if (!running && start) {
		if (paas_haproxy_spawn(c->haproxy, c->config, c->master, c->pidfile, err) < 0)
			return -1;
		*changed = 1;
	}
	return 0;
}

static int
cmd_apply(struct paas_etcd *e, const struct conf *c)
{
	struct paas_err err = PAAS_ERR_INIT;
	int changed;

	if (apply(e, c, 0, NULL, &changed, &err) < 0)
		return fail(&err);
	if (changed && !haproxy_running(c))
		fprintf(stderr, "%s: %s written; no HAProxy answers on %s, nothing reloaded\n", prog,
		    c->config, c->master);
	else
		fprintf(stderr, "%s: %s\n", prog, changed ? "applied and reloaded" : "unchanged");
	return 0;
}

/* watch ------------------------------------------------------------------ */

struct watcher {
	const char *etcd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int pending;			/* a change not applied yet */
	int64_t start;			/* watch from here */
	int64_t seen;			/* last revision delivered */
	int failed;
};

static int
on_event(const struct paas_event *ev, void *arg)
{
	struct watcher *w = arg;
	const char *k = ev->kv.key;

	pthread_mutex_lock(&w->mu);
	w->seen = ev->kv.mod_revision;
	if (strncmp(k, PAAS_ROUTES_PREFIX, strlen(PAAS_ROUTES_PREFIX)) == 0 ||
	    strncmp(k, PAAS_ANNOUNCE_PREFIX, strlen(PAAS_ANNOUNCE_PREFIX)) == 0) {
		w->pending = 1;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return stopping;
}

static void *
watch_thread(void *arg)
{
	struct watcher *w = arg;
	struct paas_http_opts ho = { 0 };
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_etcd *e;

	ho.cancel = &stopping;
	if ((e = paas_etcd_new(w->etcd, &ho, &err)) == NULL) {
		logf_("%s", err.msg);
		return NULL;
	}
	while (!stopping) {
		struct paas_watch_opts wo = { PAAS_PREFIX, 1, 0, 30000, NULL };
		int64_t compacted = 0;

		pthread_mutex_lock(&w->mu);
		wo.start_revision = w->seen >= w->start ? w->seen + 1 : w->start;
		pthread_mutex_unlock(&w->mu);
		wo.compacted = &compacted;
		paas_err_clear(&err);
		if (paas_etcd_watch(e, &wo, on_event, w, &err) == 0 || stopping)
			break;
		pthread_mutex_lock(&w->mu);
		if (compacted) {
			/* Changes were lost: read everything again. */
			w->start = compacted;
			w->seen = 0;
			w->pending = 1;
			pthread_cond_signal(&w->cv);
		}
		pthread_mutex_unlock(&w->mu);
		logf_("watch: %s; resuming", err.msg);
		if (!compacted)
			sleep(1);
	}
	paas_etcd_free(e);
	return NULL;
}

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Register (or refresh) this router under its lease. */
static int
publish(struct paas_etcd *e, const struct conf *c, const char *name, int64_t *lease,
    int64_t rev, struct paas_err *err)
{
	char when[32], *key, *val;
	json_t *v;
	int rc;

	if (*lease == 0 && paas_etcd_lease_grant(e, c->ttl, lease, err) < 0)
		return -1;
	paas_utc_now(when, sizeof(when));
	v = json_pack("{s:s, s:I, s:s, s:I, s:s}", "name", name, "pid", (json_int_t)getpid(),
	    "config", c->config, "revision", (json_int_t)rev, "time", when);
	val = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	key = paas_key_router(name);
	rc = paas_etcd_put(e, key, val, strlen(val), *lease, NULL, err);
	free(key);
	free(val);
	json_decref(v);
	return rc;
}

static int
cmd_watch(struct paas_etcd *e, const struct conf *c)
{
	struct watcher w = { 0 };
	struct paas_err err = PAAS_ERR_INIT;
	pthread_condattr_t ca;
	pthread_t th;
	char host[HOST_NAME_MAX + 1] = "router";
	const char *name = c->name;
	int64_t lease = 0, rev = 0, applied = -1;
	long long next_keepalive = 0, retry_at = 0;
	int changed, first = 1;
	struct sigaction sa;

	if (name == NULL) {
		gethostname(host, sizeof(host) - 1);
		host[strcspn(host, ".")] = '\0';
		name = paas_valid_label(host) ? host : "router";
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	{
		char *copy = paas_xstrdup(c->config);

		mkdir(dirname(copy), 0755);
		free(copy);
	}
	/* The first apply must work: a router that starts broken says so. */
	if (apply(e, c, 1, &rev, &changed, &err) < 0)
		return fail(&err);
	logf_("serving %s (etcd revision %" PRId64 ")%s", c->config, rev,
	    changed ? "" : ", unchanged");
	applied = rev;
	if (publish(e, c, name, &lease, applied, &err) < 0)
		return fail(&err);
	w.etcd = c->etcd;
	w.start = rev + 1;
	pthread_mutex_init(&w.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cv, &ca);
	if (pthread_create(&th, NULL, watch_thread, &w) != 0) {
		fprintf(stderr, "%s: cannot start the watch thread\n", prog);
		return PAAS_EFAILED;
	}
	next_keepalive = paas_now_ms() + c->ttl * 1000L / 3;
	while (!stopping) {
		struct timespec until;
		int pending;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 200 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&w.mu);
		if (!w.pending)
			pthread_cond_timedwait(&w.cv, &w.mu, &until);
		pending = w.pending;
		pthread_mutex_unlock(&w.mu);
		if (stopping)
			break;
		if (paas_now_ms() >= next_keepalive) {
			int64_t ttl;

			paas_err_clear(&err);
			if (lease && paas_etcd_lease_keepalive(e, lease, &ttl, &err) < 0) {
				logf_("router lease: %s; registering again", err.msg);
				lease = 0;
			}
			if (lease == 0 && publish(e, c, name, &lease, applied, &err) < 0)
				logf_("cannot register the router: %s", err.msg);
			next_keepalive = paas_now_ms() + c->ttl * 1000L / 3;
			/* An HAProxy that died is started again. */
			if (!haproxy_running(c)) {
				logf_("no HAProxy answers on %s: starting one", c->master);
				pending = 1;
			}
		}
		if (!pending && !(retry_at && paas_now_ms() >= retry_at))
			continue;
		/* Coalesce a burst: the first change of a quiet period goes
		 * out at once; the ones that follow wait for the window. */
		if (!first && c->coalesce_ms > 0) {
			struct timespec ts = { c->coalesce_ms / 1000, (c->coalesce_ms % 1000) * 1000000L };

			nanosleep(&ts, NULL);
		}
		pthread_mutex_lock(&w.mu);
		w.pending = 0;
		pthread_mutex_unlock(&w.mu);
		paas_err_clear(&err);
		if (apply(e, c, 1, &rev, &changed, &err) < 0) {
			logf_("%s", err.msg);
			retry_at = paas_now_ms() + 5000;
			first = 0;
			continue;
		}
		retry_at = 0;
		if (changed)
			logf_("applied etcd revision %" PRId64, rev);
		applied = rev;
		if (publish(e, c, name, &lease, applied, &err) < 0) {
			logf_("cannot publish the applied revision: %s", err.msg);
			lease = 0;
		}
		/* A change arriving within the window after this apply is part
		 * of the same burst. */
		pthread_mutex_lock(&w.mu);
		first = !w.pending;
		pthread_mutex_unlock(&w.mu);
	}
	pthread_join(th, NULL);
	if (lease) {
		paas_err_clear(&err);
		paas_etcd_lease_revoke(e, lease, &err);
	}
	logf_("stopped; HAProxy keeps serving %s", c->config);
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cv);
	pthread_condattr_destroy(&ca);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "etcd", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_err err = PAAS_ERR_INIT;
	struct conf c = { 0 };
	struct paas_etcd *e;
	const char *etcd = NULL, *cmd;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+e:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e': etcd = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return PAAS_EINVAL;
		}
	}
	argc -= optind, argv += optind;
	if (argc < 1 || (strcmp(argv[0], "render") && strcmp(argv[0], "apply") &&
	    strcmp(argv[0], "watch"))) {
		usage(stderr);
		return PAAS_EINVAL;
	}
	cmd = argv[0];
	c.etcd = etcd;
	if ((rc = parse(argc, argv, &c, strcmp(cmd, "watch") == 0)) != 0)
		return rc;
	c.etcd = paas_etcd_endpoints(c.etcd);
	if ((e = paas_etcd_new(c.etcd, NULL, &err)) == NULL) {
		conf_free(&c);
		return fail(&err);
	}
	if (strcmp(cmd, "render") == 0)
		rc = cmd_render(e, &c);
	else if (strcmp(cmd, "apply") == 0)
		rc = cmd_apply(e, &c);
	else
		rc = cmd_watch(e, &c);
	paas_etcd_free(e);
	conf_free(&c);
	return rc;
}
