#include <arpa/inet.h>
#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <netdb.h>
#include <libgen.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "certs.h"
#include "clock.h"
#include "etcd.h"
#include "file.h"
#include "haproxy.h"
#include "hold.h"
#include "keys.h"
#include "lease.h"
#include "route.h"
#include "router.h"
#include "valid.h"

#define RETRY_MS	5000	/* after a refused configuration */
#define HAP_CHECK_MS	200	/* is HAProxy still there? */
#define RUNTIME_MAX	64	/* servers withdrawn or added ahead of a reload */
#define SLOW_MS		2000	/* a lease refresh this slow: etcd is unwell */

#define say(o, ...)	paas_logf((o)->log, (o)->arg, __VA_ARGS__)

/* What HAProxy would refuse the whole file for, found before it is asked:
 * a certificate it cannot read, an address it cannot resolve.  Each is
 * left out and named in skipped. */
static void
precheck(json_t *routes, json_t *servers, json_t *skipped, const char *status_socket)
{
	const char *domain;
	json_t *v;
	void *tmp;
	size_t i;

	json_object_foreach_safe(routes, tmp, domain, v) {
		const char *tls = json_string_value(json_object_get(v, "tls"));
		struct stat st;

		if (tls == NULL)
			continue;
		if (stat(tls, &st) < 0 || !S_ISREG(st.st_mode) || access(tls, R_OK) < 0) {
			json_array_append_new(skipped, json_sprintf("route %s: certificate %.200s: %s",
			    domain, tls, S_ISREG(st.st_mode) || errno ? strerror(errno) :
			    "not a regular file"));
			json_object_del(routes, domain);
		}
	}
	for (i = 0; i < json_array_size(servers); ) {
		const json_t *x = json_array_get(servers, i);
		const char *a = json_string_value(json_object_get(x, "address"));
		struct addrinfo hints, *res = NULL;
		unsigned char buf[sizeof(struct in6_addr)];
		int rc;

		if (a == NULL || inet_pton(AF_INET, a, buf) == 1 || inet_pton(AF_INET6, a, buf) == 1 ||
		    (status_socket && strcmp(a, status_socket) == 0)) {
			i++;
			continue;
		}
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		if ((rc = getaddrinfo(a, NULL, &hints, &res)) == 0) {
			freeaddrinfo(res);
			i++;
			continue;
		}
		json_array_append_new(skipped, json_sprintf("%.200s: address %.100s does not "
		    "resolve: %s", json_string_value(json_object_get(x, "key")) ?
		    json_string_value(json_object_get(x, "key")) : "an announcement", a,
		    gai_strerror(rc)));
		json_array_remove(servers, i);
	}
}

static int
render(const struct paas_router_opts *o, json_t *routes, const json_t *servers, char **cfg,
    json_t *skipped, struct paas_err *err)
{
	struct paas_haproxy_opts ho = { o->port, o->tls_dir, o->https_port, o->stats,
	    o->hard_stop, o->status_socket, o->acme_socket, NULL };
	char *list = o->cert_dir ? paas_path_join(o->cert_dir, "crt-list") : NULL;
	json_t *v;
	int rc;

	/* The store's certificates, as the router last wrote them. */
	ho.crt_list = list && access(list, R_OK) == 0 ? list : NULL;
	rc = paas_haproxy_render(routes, servers, &ho, cfg, &v, err);
	free(list);
	if (rc < 0)
		return -1;
	json_array_extend(skipped, v);
	json_decref(v);
	return 0;
}

/* The store's certificates into the router's directory (certs.h), and
 * those that changed into the running worker, when it has the crt-list
 * already (the first one comes with the reload that adds it). */
static void
certs_apply(struct paas_etcd *e, const struct paas_router_opts *o, int running,
    json_t *skipped)
{
	static const char *const kinds[] = { "added", "changed", "removed" };
	struct paas_err e2 = PAAS_ERR_INIT;
	json_t *changed = NULL, *v;
	char *list = NULL, *live = NULL, *lp = paas_path_join(o->cert_dir, "crt-list");
	size_t n, k, i;

	if (paas_certs_materialize(e, o->cert_dir, &list, &changed, skipped, &e2) < 0) {
		say(o, "certificates: %s", e2.msg);
		goto out;
	}
	for (k = n = 0; k < 3; k++)
		n += json_array_size(json_object_get(changed, kinds[k]));
	if (n == 0 || !running || paas_read_file(o->config, 1 << 24, &live, &n, &e2) < 0 ||
	    strstr(live, lp) == NULL)
		goto out;
	for (k = 0; k < 3; k++)
		json_array_foreach(json_object_get(changed, kinds[k]), i, v) {
			paas_err_clear(&e2);
			if (paas_haproxy_cert_update(o->master, lp, json_string_value(v), (int)k,
			    &e2) < 0)
				say(o, "certificate %s %s: %s", json_string_value(v), kinds[k], e2.msg);
			else
				say(o, "certificate %s %s, in the running worker", json_string_value(v),
				    kinds[k]);
		}
out:
	free(live);
	free(list);
	free(lp);
	json_decref(changed);
}

/* HAProxy may quote a line of the file: a password hash ("$id$salt$...")
 * never leaves the file. */
static void
redact(char *msg)
{
	char *p = msg, *q;

	while ((p = strchr(p, '$')) != NULL) {
		if (p[1] == '\0' || strchr(p + 1, '$') == NULL || p[1] == '$') {
			p++;
			continue;
		}
		for (q = p; *q && *q != ' ' && *q != '\'' && *q != '"'; q++)
			*q = '*';
		p = q;
	}
}

/* HAProxy refused the whole file for a reason nobody foresaw: each route is
 * tried alone, and those it refuses are left out. */
static int
isolate(const struct paas_router_opts *o, json_t *routes, const json_t *servers,
    json_t *skipped, struct paas_err *err)
{
	const char *domain;
	json_t *v, *junk = json_array(), *none = json_object();
	struct paas_err e0 = PAAS_ERR_INIT;
	void *tmp;
	int left = 0;
	char *cfg0;

	/* Refused without any route: the router's own settings are at fault,
	 * and no route is to blame. */
	if (render(o, none, servers, &cfg0, junk, err) < 0 ||
	    paas_haproxy_check(o->haproxy, cfg0, o->config, &e0) < 0) {
		free(cfg0);
		json_decref(none);
		json_decref(junk);
		return 0;
	}
	free(cfg0);
	json_decref(none);
	json_object_foreach_safe(routes, tmp, domain, v) {
		json_t *one = json_object();
		struct paas_err e2 = PAAS_ERR_INIT;
		char *cfg;

		json_object_set(one, domain, v);
		if (render(o, one, servers, &cfg, junk, err) < 0) {
			json_decref(one);
			json_decref(junk);
			return -1;
		}
		if (paas_haproxy_check(o->haproxy, cfg, o->config, &e2) < 0) {
			redact(e2.msg);
			json_array_append_new(skipped, json_sprintf("route %s: haproxy refuses it: %s",
			    domain, e2.msg));
			json_object_del(routes, domain);
			left++;
		}
		free(cfg);
		json_decref(one);
	}
	json_decref(junk);
	return left;
}

/* The status page's route and its one server, the status server's Unix
 * socket, in place of what etcd has for that domain or deployment. */
static void
add_status(const struct paas_router_opts *o, json_t *routes, json_t *servers, json_t *skipped)
{
	const char *domain;
	json_t *v;
	void *tmp;
	size_t i;

	json_object_foreach_safe(routes, tmp, domain, v)
		if (strcmp(domain, o->status_domain) == 0 ||
		    strcmp(json_string_value(json_object_get(v, "deployment")) ?
		    json_string_value(json_object_get(v, "deployment")) : "", PAAS_STATUS_DEPLOYMENT) == 0) {
			json_array_append_new(skipped, json_sprintf("route %s: left out: the "
			    "router's status page takes %s", domain, strcmp(domain,
			    o->status_domain) == 0 ? "this domain" : "deployment " PAAS_STATUS_DEPLOYMENT));
			json_object_del(routes, domain);
		}
	for (i = 0; i < json_array_size(servers); )
		if (strcmp(json_string_value(json_object_get(json_array_get(servers, i),
		    "deployment")) ? json_string_value(json_object_get(json_array_get(servers, i),
		    "deployment")) : "", PAAS_STATUS_DEPLOYMENT) == 0)
			json_array_remove(servers, i);
		else
			i++;
	json_object_set_new(routes, o->status_domain, json_pack("{s:s, s:s, s:n, s:O, s:b, s:n, "
	    "s:n}", "deployment", PAAS_STATUS_DEPLOYMENT, "service", "status", "port", "auth",
	    o->status_users, "sticky", 0, "health", "tls"));
	json_array_append_new(servers, json_pack("{s:s, s:s, s:s, s:s, s:i, s:b}", "deployment",
	    PAAS_STATUS_DEPLOYMENT, "service", "status", "instance", "1", "address",
	    o->status_socket, "port", 0, "healthy", 1));
}

#define MAINTENANCE_PAGE	"<!doctype html>\n<title>Down for maintenance</title>\n" \
	"<h1>Down for maintenance</h1>\n<p>This site is being worked on and will be back " \
	"shortly.</p>\n"

/* Each route of a deployment in maintenance gets the file of its page
 * beside the configuration (named after its content: a new page is a new
 * line of the file, so HAProxy reads it again); pages no route uses go. */
static void
maintenance_pages(const struct paas_router_opts *o, json_t *routes, json_t *skipped)
{
	char *copy = paas_xstrdup(o->config), *dir = dirname(copy), *pat;
	json_t *used = json_object(), *v;
	const char *domain;
	glob_t g;
	size_t i;

	json_object_foreach(routes, domain, v) {
		const json_t *m = json_object_get(v, "maintenance");
		const char *page = json_string_value(json_object_get(m, "page"));
		struct paas_err e2 = PAAS_ERR_INIT;
		char hash[17], *path;
		struct stat st;

		if (!json_is_object(m))
			continue;
		page = page ? page : MAINTENANCE_PAGE;
		paas_hash_hex(page, strlen(page), hash);
		if (asprintf(&path, "%s/maintenance-%s.html", dir, hash) < 0)
			abort();
		if (stat(path, &st) < 0 && paas_file_replace(path, page, strlen(page), 0644, &e2) < 0) {
			json_array_append_new(skipped, json_sprintf("route %s: maintenance page: %s",
			    domain, e2.msg));
			json_object_del(v, "maintenance");
		} else {
			json_object_set_new(used, path, json_true());
			json_object_set_new(v, "maintenance", json_string(path));
		}
		free(path);
	}
	if (asprintf(&pat, "%s/maintenance-*.html", dir) < 0)
		abort();
	if (glob(pat, 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++)
			if (json_object_get(used, g.gl_pathv[i]) == NULL)
				unlink(g.gl_pathv[i]);
		globfree(&g);
	}
	free(pat);
	free(copy);
	json_decref(used);
}

/* Read etcd and render; *routes and *servers (caller decrefs) are what was
 * rendered, for isolate(). */
static int
read_render(struct paas_etcd *e, const struct paas_router_opts *o, json_t **routes,
    json_t **servers, char **cfg, int64_t *rev, json_t *skipped, struct paas_err *err)
{
	const char *domain;
	json_t *v;
	void *tmp;

	*cfg = NULL;
	if (paas_route_read(e, routes, servers, rev, skipped, err) < 0)
		return -1;
	if (o->hold && rev) {
		json_t *said = json_array(), *line;
		size_t i;
		int rc = paas_hold_merge(o->hold, e, *rev, *servers, said, err);

		json_array_foreach(said, i, line)
			say(o, "%s", json_string_value(line));
		json_decref(said);
		if (rc < 0)
			return -1;
	}
	if (o->status_domain)
		add_status(o, *routes, *servers, skipped);
	maintenance_pages(o, *routes, skipped);
	json_object_foreach_safe(*routes, tmp, domain, v) {
		struct paas_err e2 = PAAS_ERR_INIT;

		if (paas_haproxy_check_route(domain, v, &e2) < 0) {
			json_array_append_new(skipped, json_string(e2.msg));
			json_object_del(*routes, domain);
		}
	}
	precheck(*routes, *servers, skipped, o->status_socket);
	return render(o, *routes, *servers, cfg, skipped, err);
}

int
paas_router_render(struct paas_etcd *e, const struct paas_router_opts *o, char **cfg,
    int64_t *rev, json_t **skipped, struct paas_err *err)
{
	json_t *routes = NULL, *servers = NULL;
	int rc;

	*skipped = json_array();
	rc = read_render(e, o, &routes, &servers, cfg, rev, *skipped, err);
	json_decref(routes);
	json_decref(servers);
	return rc;
}

int
paas_router_haproxy_running(const struct paas_router_opts *o)
{
	struct paas_err err = PAAS_ERR_INIT;

	return paas_haproxy_cli(o->master, "show proc", NULL, &err) == 0;
}

int
paas_router_apply(struct paas_etcd *e, const struct paas_router_opts *o, int start,
    int64_t *rev, int *changed, json_t **skipped, struct paas_err *err)
{
	struct paas_haproxy_install_opts io = { o->config, o->haproxy, NULL, 0, NULL };
	json_t *routes = NULL, *servers = NULL;
	int running = paas_router_haproxy_running(o), refused = 0, rc = -1;
	char *cfg = NULL;

	*changed = 0;
	*skipped = json_array();
	if (o->cert_dir)
		certs_apply(e, o, running, *skipped);
	if (read_render(e, o, &routes, &servers, &cfg, rev, *skipped, err) < 0)
		goto out;
	io.sock = running ? o->master : NULL;
	io.refused = &refused;
	/* The servers that went get no new request from now on, and the
	 * ones that came are served, before the check and the reload. */
	if (running) {
		struct paas_haproxy_runtime hr;

		paas_haproxy_runtime_update(o->master, o->config, cfg, RUNTIME_MAX, &hr);
		if (hr.complete && o->served)
			o->served(o->served_arg, *rev, *skipped);
	}
	if (paas_haproxy_install(&io, cfg, changed, err) < 0) {
		struct paas_err e2 = PAAS_ERR_INIT;

		/* Refused as a whole: the routes HAProxy refuses alone go, and
		 * the rest is served. */
		if (!refused || isolate(o, routes, servers, *skipped, &e2) <= 0)
			goto out;
		free(cfg);
		paas_err_clear(err);
		if (render(o, routes, servers, &cfg, *skipped, err) < 0 ||
		    paas_haproxy_install(&io, cfg, changed, err) < 0)
			goto out;
	}
	if (!running && start) {
		if (paas_haproxy_spawn(o->haproxy, o->config, o->master, o->pidfile, err) < 0)
			goto out;
		*changed = 1;
	}
	rc = 0;
out:
	free(cfg);
	json_decref(routes);
	json_decref(servers);
	return rc;
}

/* The watch thread tells the main loop that routes or announcements
 * changed; the main loop applies. */
struct watcher {
	const struct paas_router_opts *o;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int pending;			/* a change not applied yet */
	int64_t start;			/* watch from here */
	int64_t seen;			/* last revision delivered */
};

static int
on_event(const struct paas_event *ev, void *arg)
{
	struct watcher *w = arg;
	const char *k = ev->kv.key;

	pthread_mutex_lock(&w->mu);
	w->seen = ev->kv.mod_revision;
	/* Drain marks and agents too: a held server may go (hold.h). */
	if (paas_key_tail(k, PAAS_ROUTES_PREFIX) || paas_key_tail(k, PAAS_ANNOUNCE_PREFIX) ||
	    paas_key_tail(k, PAAS_DRAIN_PREFIX) || paas_key_tail(k, PAAS_AGENTS_PREFIX) ||
	    paas_key_tail(k, PAAS_MAINTENANCE_PREFIX) || paas_key_tail(k, PAAS_CERTS_PREFIX)) {
		w->pending = 1;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return *w->o->stop;
}

static void *
watch_thread(void *arg)
{
	struct watcher *w = arg;
	struct paas_http_opts ho = { 0 };
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_etcd *e;

	ho.cancel = w->o->stop;
	if ((e = paas_etcd_new(w->o->etcd, &ho, &err)) == NULL) {
		say(w->o, "%s", err.msg);
		return NULL;
	}
	while (!*w->o->stop) {
		/* Everything but the secrets, which routers may not read. */
		struct paas_watch_opts wo = { PAAS_PREFIX, 1, 0, 30000, NULL, PAAS_SECRETS_PREFIX };
		int64_t compacted = 0;

		pthread_mutex_lock(&w->mu);
		wo.start_revision = w->seen >= w->start ? w->seen + 1 : w->start;
		pthread_mutex_unlock(&w->mu);
		wo.compacted = &compacted;
		paas_err_clear(&err);
		if (paas_etcd_watch(e, &wo, on_event, w, &err) == 0 || *w->o->stop)
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
		say(w->o, "watch: %s; resuming", err.msg);
		if (!compacted)
			sleep(1);
	}
	paas_etcd_free(e);
	return NULL;
}

/* Register (or refresh) this router under its lease. */
static int
publish(struct paas_etcd *e, const struct paas_router_opts *o, const char *name,
    struct paas_lease *lease, int64_t rev, const json_t *left_out, struct paas_err *err)
{
	char when[32], *key;
	json_t *v;
	int rc;

	if (lease->id == 0 && paas_lease_grant(lease, e, err) < 0)
		return -1;
	paas_utc_now(when, sizeof(when));
	v = json_pack("{s:s, s:I, s:s, s:I, s:s}", "name", name, "pid", (json_int_t)getpid(),
	    "config", o->config, "revision", (json_int_t)rev, "time", when);
	json_object_set_new(v, "left_out", left_out ? json_deep_copy(left_out) : json_array());
	key = paas_key_router(name);
	rc = paas_etcd_put_json(e, key, v, lease->id, NULL, err);
	free(key);
	json_decref(v);
	return rc;
}

/* A revision published as soon as the running worker serves it, ahead
 * of the check and reload: a deploy waiting for it goes on sooner. */
struct early {
	struct paas_etcd *e;
	const struct paas_router_opts *o;
	const char *name;
	struct paas_lease *lease;
	int64_t rev;			/* published early by this apply, or 0 */
	json_t *left_out;		/* with this */
};

static void
served_early(void *arg, int64_t rev, const json_t *skipped)
{
	struct early *x = arg;
	struct paas_err err = PAAS_ERR_INIT;

	if (x->lease->id == 0 || publish(x->e, x->o, x->name, x->lease, rev, skipped, &err) < 0)
		return;
	x->rev = rev;
	json_decref(x->left_out);
	x->left_out = json_deep_copy(skipped);
}

/* Apply, saying what was left out; with start, HAProxy is started if none runs. */
static int
apply_logged(struct paas_etcd *e, const struct paas_router_opts *o, int64_t *rev, int *changed,
    json_t **left_out, struct paas_err *err)
{
	json_t *skipped = NULL, *v;
	size_t i;
	int rc = paas_router_apply(e, o, 1, rev, changed, &skipped, err);

	json_array_foreach(skipped, i, v)
		say(o, "warning: left out: %s", json_string_value(v));
	if (rc == 0) {
		json_decref(*left_out);
		*left_out = skipped;
	} else
		json_decref(skipped);
	return rc;
}

/* Wait up to 200 ms for a change; whether one is pending. */
static int
wait_change(struct watcher *w)
{
	struct timespec until;
	int pending;

	paas_timespec_in(CLOCK_MONOTONIC, 200, &until);
	pthread_mutex_lock(&w->mu);
	if (!w->pending)
		pthread_cond_timedwait(&w->cv, &w->mu, &until);
	pending = w->pending;
	pthread_mutex_unlock(&w->mu);
	return pending;
}

static int
run(struct paas_etcd *e, const struct paas_router_opts *o, const char *name,
    struct watcher *w, struct paas_err *err)
{
	struct paas_lease lease;
	json_t *left_out = NULL;
	struct paas_router_opts oo = *o;
	struct early early = { e, o, name, &lease, 0, NULL };
	pthread_t th;
	int64_t rev = 0, applied;
	long long retry_at = 0, next_check, next_hap = 0;
	int changed, first = 1, hap_down = 0;

	paas_lease_init(&lease, o->ttl);
	oo.hold = paas_hold_new();
	paas_hold_own_lease(oo.hold, &lease);
	/* The first apply must work: a router that starts broken says so. */
	if (apply_logged(e, &oo, &rev, &changed, &left_out, err) < 0) {
		paas_hold_free(oo.hold);
		return -1;
	}
	say(o, "serving %s (etcd revision %" PRId64 ")%s", o->config, rev,
	    changed ? "" : ", unchanged");
	applied = rev;
	if (publish(e, o, name, &lease, applied, left_out, err) < 0) {
		json_decref(left_out);
		paas_hold_free(oo.hold);
		return -1;
	}
	w->start = rev + 1;
	next_check = paas_lease_due(&lease);
	if (pthread_create(&th, NULL, watch_thread, w) != 0) {
		paas_lease_revoke(&lease, e, err);
		json_decref(left_out);
		paas_hold_free(oo.hold);
		return paas_err_set(err, PAAS_EFAILED, "cannot start the watch thread");
	}
	while (!*o->stop) {
		struct paas_err e2 = PAAS_ERR_INIT;
		int pending = wait_change(w);

		if (*o->stop)
			break;
		if (paas_now_ms() >= next_check) {
			long long t0 = paas_now_ms();

			/* etcd failing or slow: a lapse of leases now is its
			 * stall, not lost hosts (hold.h). */
			if (paas_lease_tick(&lease, e, &e2) < 0) {
				say(o, "router lease: %s; registering again", e2.msg);
				paas_hold_unwell(oo.hold);
			} else if (e2.msg[0] || paas_now_ms() - t0 >= SLOW_MS)
				paas_hold_unwell(oo.hold);
			paas_err_clear(&e2);
			if (lease.id == 0 && publish(e, o, name, &lease, applied, left_out, &e2) < 0)
				say(o, "cannot register the router: %s", e2.msg);
			next_check = paas_now_ms() + lease.ttl * 1000LL / 3;
			if (paas_lease_due(&lease) < next_check)
				next_check = paas_lease_due(&lease);
		}
		/* An HAProxy that died is started again at once: its master CLI
		 * is asked every HAP_CHECK_MS (a connect on a unix socket). */
		if (paas_now_ms() >= next_hap) {
			if (paas_router_haproxy_running(o))
				hap_down = 0;
			else {
				if (!hap_down)
					say(o, "no HAProxy answers on %s: starting one", o->master);
				hap_down = 1;
				pending = 1;
			}
			next_hap = paas_now_ms() + (hap_down ? 1000 : HAP_CHECK_MS);
		}
		if (!pending && !(retry_at && paas_now_ms() >= retry_at) &&
		    paas_now_ms() < paas_hold_due(oo.hold))
			continue;
		/* Coalesce a burst: the first change of a quiet period goes
		 * out at once; the ones that follow wait for the window. */
		if (!first && o->coalesce_ms > 0)
			paas_sleep_ms(o->coalesce_ms);
		pthread_mutex_lock(&w->mu);
		w->pending = 0;
		pthread_mutex_unlock(&w->mu);
		paas_err_clear(&e2);
		oo.served = served_early;
		oo.served_arg = &early;
		early.rev = 0;
		if (apply_logged(e, &oo, &rev, &changed, &left_out, &e2) < 0) {
			say(o, "%s", e2.msg);
			paas_hold_unwell(oo.hold);
			retry_at = paas_now_ms() + RETRY_MS;
			first = 0;
			continue;
		}
		retry_at = 0;
		if (changed)
			say(o, "applied etcd revision %" PRId64, rev);
		applied = rev;
		/* Published already, the same, once the worker served it. */
		if ((early.rev != rev || !json_equal(early.left_out, left_out)) &&
		    publish(e, o, name, &lease, applied, left_out, &e2) < 0) {
			say(o, "cannot publish the applied revision: %s", e2.msg);
			lease.id = 0;
		}
		/* A change arriving within the window after this apply is part
		 * of the same burst. */
		pthread_mutex_lock(&w->mu);
		first = !w->pending;
		pthread_mutex_unlock(&w->mu);
	}
	pthread_join(th, NULL);
	{
		struct paas_err e2 = PAAS_ERR_INIT;

		paas_lease_revoke(&lease, e, &e2);
	}
	say(o, "stopped; HAProxy keeps serving %s", o->config);
	paas_hold_free(oo.hold);
	json_decref(left_out);
	json_decref(early.left_out);
	return 0;
}

int
paas_router_run(const struct paas_router_opts *o, struct paas_err *err)
{
	struct watcher w;
	pthread_condattr_t ca;
	struct paas_etcd *e;
	char host[256] = "router", *copy;
	const char *name = o->name;
	int rc;

	if (name == NULL) {
		gethostname(host, sizeof(host) - 1);
		host[strcspn(host, ".")] = '\0';
		name = paas_valid_label(host) ? host : "router";
	}
	if ((e = paas_etcd_new(o->etcd, NULL, err)) == NULL)
		return -1;
	copy = paas_xstrdup(o->config);
	mkdir(dirname(copy), 0755);
	free(copy);
	memset(&w, 0, sizeof(w));
	w.o = o;
	pthread_mutex_init(&w.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cv, &ca);
	rc = run(e, o, name, &w, err);
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cv);
	pthread_condattr_destroy(&ca);
	paas_etcd_free(e);
	return rc;
}
