#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "deploy.h"
#include "docker.h"
#include "etcd.h"
#include "health.h"
#include "jsonx.h"
#include "out.h"
#include "route.h"
#include "spec.h"
#include "valid.h"
#include "state.h"

#define DOCKER_TIMEOUT_MS	60000
#define PROBE_EVERY_MS		100	/* until the first pass; see health_deadline() */
#define SETTLE_MS		1000	/* running this long counts as healthy without a check */
#define LOG_LINES		10
#define ANNOUNCE_MS		10000	/* for the host's agent to announce a healthy instance */
#define ROUTER_MS		10000	/* for the routers to serve a change */
#define DRAIN_MS		2000	/* default: in-flight requests finish */
#define NPORTS			(PAAS_PORT_MAX - PAAS_PORT_MIN + 1)

struct host {
	const json_t *obj;		/* borrowed from run.hosts_json */
	const char *name;
	char *addr;			/* where its published ports answer */
	struct paas_docker *d;
	long long cpu_cap, mem_cap;	/* 0: no limit */
	long long cpu_used, mem_used;	/* by the containers that stay */
	json_t *count;			/* {SERVICE: instances of ours that stay or come} */
	unsigned char ports[(NPORTS + 7) / 8];
	int agent;			/* an agent announces here: -1 not asked yet */
};

enum fate { F_REMOVE, F_KEEP };

struct ctr {
	char *id, *name, *service, *instance, *version;
	int64_t release;
	int running;
	json_t *ports;			/* {"8000": 30001} */
	struct host *h;
	enum fate fate;
	int claimed;			/* an action removes it */
};

struct action {
	const char *service;
	const json_t *svc;
	char *instance;
	char version[17];
	struct host *h;			/* where the new container goes */
	struct ctr *keep;		/* a current container to check, not start */
	struct ctr **old;		/* containers this instance replaces */
	size_t nold;
	json_t *ports;			/* picked host ports {"8000": 30001} */
	char *id, *cname;
	long long t_start, next_probe, next_inspect, deadline;
	int done;
	struct paas_err last;
};

struct run {
	const struct paas_deploy_opts *o;
	struct paas_etcd *e;
	struct paas_lock *lock;
	json_t *hosts_json;
	struct host *hosts;
	size_t nhosts;
	struct ctr *ctrs;
	size_t nctrs;
	struct action *acts;
	size_t nacts;
	const json_t *spec;
	int64_t release;
	long long t0;
	int started, stopped;
	struct action *failed;		/* the instance that did not become healthy */
	const char *user;
	char holder[512];		/* user@host pid N */
	json_t *routes;			/* {DOMAIN: route} the spec gives this deployment */
};

/* ev is stolen. */
static void
emit(struct run *r, json_t *ev)
{
	json_object_set_new(ev, "deployment", json_string(r->o->deployment));
	if (r->o->event)
		r->o->event(ev, r->o->arg);
	json_decref(ev);
}

static char *
dep_key(const char *dep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *
dep_key(const char *dep, const char *fmt, ...)
{
	struct paas_buf b = PAAS_BUF_INIT;
	char *tail;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&tail, fmt, ap) < 0)
		abort();
	va_end(ap);
	paas_buf_addf(&b, PAAS_PREFIX "deployments/%s/%s", dep, tail);
	free(tail);
	return paas_buf_detach(&b, NULL);
}

static char *
instance_key(const char *dep, const char *svc, const char *id)
{
	struct paas_buf b = PAAS_BUF_INIT;

	paas_buf_addf(&b, PAAS_PREFIX "instances/%s/", dep);
	if (svc)
		paas_buf_addf(&b, "%s/%s", svc, id);
	return paas_buf_detach(&b, NULL);
}

/* *out gets the JSON at key, or NULL when there is none. */
static int
get_json(struct paas_etcd *e, const char *key, json_t **out, int64_t *mod,
    struct paas_err *err)
{
	struct paas_kv kv;
	int found;

	*out = NULL;
	if (mod)
		*mod = 0;
	if (paas_etcd_get(e, key, &kv, &found, NULL, err) < 0)
		return -1;
	if (!found)
		return 0;
	if (mod)
		*mod = kv.mod_revision;
	*out = json_loadb(kv.value, kv.value_len, JSON_DECODE_ANY, NULL);
	paas_kv_clear(&kv);
	if (*out == NULL)
		return paas_err_set(err, PAAS_EFAILED, "etcd key %s does not hold JSON", key);
	return 0;
}

static int
put_json(struct paas_etcd *e, const char *key, const json_t *v, int64_t *rev,
    struct paas_err *err)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	int rc = paas_etcd_put(e, key, s, strlen(s), 0, rev, err);

	free(s);
	return rc;
}

/* Hosts ------------------------------------------------------------------ */

static int
load_hosts(struct run *r, struct paas_err *err)
{
	size_t i;

	if (paas_host_list(r->e, &r->hosts_json, err) < 0)
		return -1;
	for (i = 0; r->o->skip_hosts && i < json_array_size(r->hosts_json); ) {
		const char *name = json_string_value(json_object_get(json_array_get(r->hosts_json, i),
		    "name"));
		size_t k;

		for (k = 0; r->o->skip_hosts[k] && strcmp(r->o->skip_hosts[k], name ? name : ""); k++)
			;
		if (r->o->skip_hosts[k])
			json_array_remove(r->hosts_json, i);
		else
			i++;
	}
	r->nhosts = json_array_size(r->hosts_json);
	r->hosts = calloc(r->nhosts ? r->nhosts : 1, sizeof(*r->hosts));
	if (r->hosts == NULL)
		abort();
	for (i = 0; i < r->nhosts; i++) {
		struct host *h = &r->hosts[i];

		h->obj = json_array_get(r->hosts_json, i);
		h->name = json_string_value(json_object_get(h->obj, "name"));
		h->addr = paas_host_address(h->obj);
		h->cpu_cap = json_integer_value(json_object_get(h->obj, "cpu_milli"));
		h->mem_cap = json_integer_value(json_object_get(h->obj, "memory_bytes"));
		h->count = json_object();
		h->agent = -1;
		if ((h->d = paas_host_docker(h->obj, DOCKER_TIMEOUT_MS, err)) == NULL)
			return paas_err_wrap(err, "host %s", h->name);
	}
	return 0;
}

static void
port_mark(struct host *h, long long port)
{
	if (port >= PAAS_PORT_MIN && port <= PAAS_PORT_MAX)
		h->ports[(port - PAAS_PORT_MIN) / 8] |= 1u << ((port - PAAS_PORT_MIN) % 8);
}

static long long
port_pick(struct host *h)
{
	long long p;

	for (p = PAAS_PORT_MIN; p <= PAAS_PORT_MAX; p++)
		if (!(h->ports[(p - PAAS_PORT_MIN) / 8] & (1u << ((p - PAAS_PORT_MIN) % 8)))) {
			port_mark(h, p);
			return p;
		}
	return 0;
}

static long long
label_num(const json_t *labels, const char *k)
{
	const char *s = json_string_value(json_object_get(labels, k));

	return s ? strtoll(s, NULL, 10) : 0;
}

static void
ctr_free(struct ctr *c)
{
	free(c->id);
	free(c->name);
	free(c->service);
	free(c->instance);
	free(c->version);
	json_decref(c->ports);
}

/* Every paas container on every host: ours become r->ctrs; everyone's ports
 * and running resources count against the host. */
static int
observe(struct run *r, struct paas_err *err)
{
	static const char *const label[] = { "paas.deployment", NULL };
	size_t i, j, k;

	for (i = 0; i < r->nctrs; i++)
		ctr_free(&r->ctrs[i]);
	free(r->ctrs);
	r->ctrs = NULL;
	r->nctrs = 0;
	for (i = 0; i < r->nhosts; i++) {
		struct host *h = &r->hosts[i];
		json_t *list, *c;

		memset(h->ports, 0, sizeof(h->ports));
		h->cpu_used = h->mem_used = 0;
		json_object_clear(h->count);
		if (paas_docker_containers(h->d, label, 1, &list, err) < 0)
			return paas_err_wrap(err, "host %s", h->name);
		json_array_foreach(list, j, c) {
			const json_t *labels = json_object_get(c, "Labels"), *p;
			const char *dep = json_string_value(json_object_get(labels, "paas.deployment"));
			const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
			int running = !strcmp(json_string_value(json_object_get(c, "State")) ?
			    json_string_value(json_object_get(c, "State")) : "", "running");
			struct ctr *x;

			json_array_foreach(json_object_get(c, "Ports"), k, p)
				port_mark(h, json_integer_value(json_object_get(p, "PublicPort")));
			if (dep == NULL || strcmp(dep, r->o->deployment) != 0) {
				if (running) {
					h->cpu_used += label_num(labels, "paas.cpu_milli");
					h->mem_used += label_num(labels, "paas.memory_bytes");
				}
				continue;
			}
			r->ctrs = paas_xrealloc(r->ctrs, (r->nctrs + 1) * sizeof(*r->ctrs));
			x = &r->ctrs[r->nctrs++];
			memset(x, 0, sizeof(*x));
			x->id = paas_xstrdup(json_string_value(json_object_get(c, "Id")) ?
			    json_string_value(json_object_get(c, "Id")) : "");
			x->name = paas_xstrdup(name ? name + (*name == '/') : x->id);
			x->service = paas_xstrdup(json_string_value(json_object_get(labels, "paas.service")) ?
			    json_string_value(json_object_get(labels, "paas.service")) : "");
			x->instance = paas_xstrdup(json_string_value(json_object_get(labels, "paas.instance")) ?
			    json_string_value(json_object_get(labels, "paas.instance")) : "");
			x->version = paas_xstrdup(json_string_value(json_object_get(labels, "paas.version")) ?
			    json_string_value(json_object_get(labels, "paas.version")) : "");
			x->release = label_num(labels, "paas.release");
			x->running = running;
			x->h = h;
			x->ports = json_object();
			json_array_foreach(json_object_get(c, "Ports"), k, p) {
				char pp[16];

				if (!json_integer_value(json_object_get(p, "PublicPort")))
					continue;
				snprintf(pp, sizeof(pp), "%lld",
				    (long long)json_integer_value(json_object_get(p, "PrivatePort")));
				json_object_set(x->ports, pp, json_object_get(p, "PublicPort"));
			}
		}
		json_decref(list);
	}
	return 0;
}

/* Planning --------------------------------------------------------------- */

static long long
count_on(const struct host *h, const char *svc)
{
	return json_integer_value(json_object_get(h->count, svc));
}

static void
count_add(struct host *h, const char *svc, const json_t *s)
{
	const json_t *res = json_object_get(s, "resources");

	json_object_set_new(h->count, svc, json_integer(count_on(h, svc) + 1));
	h->cpu_used += json_integer_value(json_object_get(res, "cpu_milli"));
	h->mem_used += json_integer_value(json_object_get(res, "memory_bytes"));
}

static long long
count_all(const struct host *h)
{
	const char *k;
	json_t *v;
	long long n = 0;

	json_object_foreach((json_t *)h->count, k, v)
		n += json_integer_value(v);
	return n;
}

/* Why service svc cannot go on h (appended to why), or 0 when it can. */
static int
unfit(const struct run *r, const struct host *h, const char *name, const json_t *svc,
    struct paas_buf *why)
{
	const json_t *labels = json_object_get(h->obj, "labels"), *v, *o;
	const json_t *res = json_object_get(svc, "resources");
	const char *k, *has;
	long long cpu = json_integer_value(json_object_get(res, "cpu_milli"));
	long long mem = json_integer_value(json_object_get(res, "memory_bytes"));
	size_t n0 = why->len;

	json_object_foreach((json_t *)json_object_get(svc, "constraints"), k, v) {
		has = json_string_value(json_object_get(labels, k));
		if (has == NULL)
			paas_buf_addf(why, ", wants %s=%s, has no %s", k, json_string_value(v), k);
		else if (strcmp(has, json_string_value(v)) != 0)
			paas_buf_addf(why, ", wants %s=%s, has %s=%s", k, json_string_value(v), k, has);
	}
	json_object_foreach((json_t *)json_object_get(r->spec, "services"), k, o) {
		if (count_on(h, k) == 0)
			continue;
		if (paas_json_has(json_object_get(svc, "conflicts"), k))
			paas_buf_addf(why, ", runs %s (conflicts)", k);
		else if (paas_json_has(json_object_get(o, "conflicts"), name))
			paas_buf_addf(why, ", runs %s, which conflicts with %s", k, name);
	}
	if (h->cpu_cap && cpu && h->cpu_used + cpu > h->cpu_cap)
		paas_buf_addf(why, ", needs %lld milli-CPUs, %lld of %lld free", cpu,
		    h->cpu_cap > h->cpu_used ? h->cpu_cap - h->cpu_used : 0, h->cpu_cap);
	if (h->mem_cap && mem && h->mem_used + mem > h->mem_cap)
		paas_buf_addf(why, ", needs %lld MiB of memory, %lld of %lld MiB free", mem >> 20,
		    h->mem_cap > h->mem_used ? (h->mem_cap - h->mem_used) >> 20 : 0, h->mem_cap >> 20);
	return why->len > n0;
}

/* Whether x is a better home than best for an instance of svc: the host
 * the instance ran on (prefer), then fewest of the service, then fewest of
 * the deployment; hosts come in name order, so ties go to the first. */
static int
better(const struct host *x, const struct host *best, const struct host *prefer,
    const char *svc)
{
	if ((x == prefer) != (best == prefer))
		return x == prefer;
	if (count_on(x, svc) != count_on(best, svc))
		return count_on(x, svc) < count_on(best, svc);
	return count_all(x) < count_all(best);
}

/* Container ports published: the service's, and the health check's. */
static json_t *
pick_ports(struct host *h, const json_t *svc, struct paas_err *err)
{
	const json_t *health = json_object_get(svc, "health"), *p;
	json_t *ports = json_object();
	const char *k;
	char pp[16];
	size_t i;

	json_array_foreach(json_object_get(svc, "ports"), i, p) {
		snprintf(pp, sizeof(pp), "%lld", (long long)json_integer_value(p));
		json_object_set_new(ports, pp, json_integer(port_pick(h)));
	}
	if (json_is_object(health)) {
		snprintf(pp, sizeof(pp), "%lld", (long long)json_integer_value(json_object_get(health, "port")));
		if (!json_object_get(ports, pp))
			json_object_set_new(ports, pp, json_integer(port_pick(h)));
	}
	json_object_foreach(ports, k, p)
		if (json_integer_value(p) == 0) {
			json_decref(ports);
			paas_err_set(err, PAAS_EFAILED, "host %s has no free port in %d-%d", h->name,
			    PAAS_PORT_MIN, PAAS_PORT_MAX);
			return NULL;
		}
	return ports;
}

static struct action *
add_action(struct run *r, const char *service, const json_t *svc, const char *instance,
    const char *version)
{
	struct action *a;

	r->acts = paas_xrealloc(r->acts, (r->nacts + 1) * sizeof(*r->acts));
	a = &r->acts[r->nacts++];
	memset(a, 0, sizeof(*a));
	a->service = service;
	a->svc = svc;
	a->instance = paas_xstrdup(instance);
	memcpy(a->version, version, 17);
	return a;
}

static void
actions_free(struct run *r)
{
	size_t i;

	for (i = 0; i < r->nacts; i++) {
		free(r->acts[i].instance);
		free(r->acts[i].old);
		free(r->acts[i].id);
		free(r->acts[i].cname);
		json_decref(r->acts[i].ports);
	}
	free(r->acts);
	r->acts = NULL;
	r->nacts = 0;
}

/* The instance IDs a service wants: "1".."N", or for a global service the
 * names of the hosts its constraints allow. */
static json_t *
wanted_ids(struct run *r, const json_t *svc)
{
	json_t *ids = json_array();
	long long i, n = json_integer_value(json_object_get(svc, "instances"));

	if (json_is_true(json_object_get(svc, "global"))) {
		for (i = 0; i < (long long)r->nhosts; i++) {
			const json_t *labels = json_object_get(r->hosts[i].obj, "labels"), *v;
			const char *k;
			int ok = 1;

			json_object_foreach((json_t *)json_object_get(svc, "constraints"), k, v)
				if (!json_equal(json_object_get(labels, k), v))
					ok = 0;
			if (ok)
				json_array_append_new(ids, json_string(r->hosts[i].name));
		}
		return ids;
	}
	for (i = 1; i <= n; i++)
		json_array_append_new(ids, json_sprintf("%lld", i));
	return ids;
}

static int
plan(struct run *r, struct paas_err *err)
{
	const json_t *services = json_object_get(r->spec, "services");
	size_t nnames, i, j, k;
	const char **names = paas_json_keys(json_object_get(r->spec, "services"), &nnames);
	json_t **ids = paas_xmalloc((nnames ? nnames : 1) * sizeof(*ids));
	char (*versions)[17] = paas_xmalloc((nnames ? nnames : 1) * sizeof(*versions));
	int rc = -1;

	actions_free(r);
	for (i = 0; i < r->nctrs; i++) {
		r->ctrs[i].fate = F_REMOVE;
		r->ctrs[i].claimed = 0;
	}
	/* First what stays, so that placing sees every service's instances. */
	for (i = 0; i < nnames; i++) {
		const json_t *svc = json_object_get(services, names[i]);

		ids[i] = wanted_ids(r, svc);
		paas_spec_service_version(r->spec, r->o->deployment, names[i], versions[i]);
		for (j = 0; j < json_array_size(ids[i]); j++) {
			const char *id = json_string_value(json_array_get(ids[i], j));

			for (k = 0; k < r->nctrs; k++) {
				struct ctr *c = &r->ctrs[k];

				if (c->fate == F_REMOVE && c->running && !strcmp(c->service, names[i]) &&
				    !strcmp(c->instance, id) && !strcmp(c->version, versions[i])) {
					c->fate = F_KEEP;
					count_add(c->h, names[i], svc);
					break;
				}
			}
		}
	}
	for (i = 0; i < nnames; i++) {
		const json_t *svc = json_object_get(services, names[i]);

		for (j = 0; j < json_array_size(ids[i]); j++) {
			const char *id = json_string_value(json_array_get(ids[i], j));
			struct ctr *keep = NULL, *prefer = NULL;
			struct action *a;
			struct host *best = NULL;
			struct paas_buf why = PAAS_BUF_INIT;
			size_t nold = 0, h;

			for (k = 0; k < r->nctrs; k++) {
				struct ctr *c = &r->ctrs[k];

				if (strcmp(c->service, names[i]) || strcmp(c->instance, id))
					continue;
				if (c->fate == F_KEEP && !strcmp(c->version, versions[i]))
					keep = c;
				else if (c->fate == F_REMOVE) {
					nold++;
					if (c->running && prefer == NULL)
						prefer = c;
				}
			}
			if (keep && nold == 0)
				continue;
			a = add_action(r, names[i], svc, id, versions[i]);
			a->old = paas_xmalloc((nold ? nold : 1) * sizeof(*a->old));
			for (k = 0; k < r->nctrs; k++) {
				struct ctr *c = &r->ctrs[k];

				if (!strcmp(c->service, names[i]) && !strcmp(c->instance, id) &&
				    c->fate == F_REMOVE) {
					a->old[a->nold++] = c;
					c->claimed = 1;
				}
			}
			if (keep) {
				a->keep = keep;
				a->h = keep->h;
				continue;
			}
			for (h = 0; h < r->nhosts; h++) {
				struct host *x = &r->hosts[h];
				size_t n0 = why.len;

				if (json_is_true(json_object_get(svc, "global")) && strcmp(x->name, id))
					continue;
				paas_buf_addf(&why, "; %s", x->name);
				if (unfit(r, x, names[i], svc, &why)) {
					/* "; a, wants role=web" -> "; a: wants role=web" */
					why.data[n0 + 2 + strlen(x->name)] = ':';
					continue;
				}
				why.len = n0;
				why.data[n0] = '\0';
				if (best == NULL || better(x, best, prefer ? prefer->h : NULL, names[i]))
					best = x;
			}
			if (best == NULL) {
				paas_err_set(err, PAAS_EFAILED, "cannot place %s instance %s: %s", names[i], id,
				    why.len > 2 ? why.data + 2 : "no host");
				paas_buf_free(&why);
				goto out;
			}
			paas_buf_free(&why);
			a->h = best;
			count_add(best, names[i], svc);
			if ((a->ports = pick_ports(best, svc, err)) == NULL)
				goto out;
		}
	}
	rc = 0;
out:
	for (i = 0; i < nnames; i++)
		json_decref(ids[i]);
	free(ids);
	free(versions);
	free(names);
	return rc;
}

static int
plan_empty(const struct run *r)
{
	size_t i;

	if (r->nacts)
		return 0;
	for (i = 0; i < r->nctrs; i++)
		if (r->ctrs[i].fate == F_REMOVE)
			return 0;
	return 1;
}

static json_t *
plan_event(const struct run *r)
{
	json_t *start = json_array(), *stop = json_array();
	size_t i;

	for (i = 0; i < r->nacts; i++)
		if (!r->acts[i].keep)
			json_array_append_new(start, json_pack("{s:s, s:s, s:s, s:O}", "service",
			    r->acts[i].service, "instance", r->acts[i].instance, "host",
			    r->acts[i].h->name, "ports", r->acts[i].ports));
	for (i = 0; i < r->nctrs; i++)
		if (r->ctrs[i].fate == F_REMOVE)
			json_array_append_new(stop, json_pack("{s:s, s:s, s:s, s:s}", "service",
			    r->ctrs[i].service, "instance", r->ctrs[i].instance, "host",
			    r->ctrs[i].h->name, "container", r->ctrs[i].name));
	return json_pack("{s:s, s:I, s:o, s:o}", "event", "plan", "release", (json_int_t)r->release,
	    "start", start, "stop", stop);
}

/* Before anything starts: every image on the hosts it goes to (pulled if
 * missing), every ${VAR} set.  *images gets {SERVICE: {HOST: IMAGE_ID}}. */
static int
prepare(struct run *r, json_t **images, struct paas_err *err)
{
	size_t i;

	*images = json_object();
	for (i = 0; i < r->nacts; i++) {
		struct action *a = &r->acts[i];
		const char *image = json_string_value(json_object_get(a->svc, "image"));
		json_t *env, *v, *per, *info = NULL;
		const char *k;
		int rc = 0;

		if (a->keep)
			continue;
		/* The service's image and environment once, its image per host. */
		if ((per = json_object_get(*images, a->service)) == NULL) {
			if (image == NULL) {
				paas_err_set(err, PAAS_EINVAL, "service %s: building from git is not "
				    "supported by paas-deploy yet: build and push the image, then give it "
				    "as image", a->service);
				goto fail;
			}
			env = paas_spec_service_env(r->spec, a->svc, NULL);
			json_object_foreach(env, k, v) {
				char *x, what[300];

				snprintf(what, sizeof(what), "service %s: env %s", a->service, k);
				if ((rc = paas_spec_expand(what, json_string_value(v), &x, err)) < 0)
					break;
				free(x);
			}
			json_decref(env);
			if (rc < 0)
				goto fail;
			json_object_set_new(*images, a->service, per = json_object());
		}
		if (json_object_get(per, a->h->name))
			continue;
		if (paas_docker_image_inspect(a->h->d, image, &info, err) < 0)
			goto fail;
		if (info == NULL) {
			if (paas_docker_image_pull(a->h->d, image, err) < 0) {
				paas_err_wrap(err, "image %s is not on host %s and cannot be pulled", image,
				    a->h->name);
				goto fail;
			}
			if (paas_docker_image_inspect(a->h->d, image, &info, err) < 0)
				goto fail;
		}
		json_object_set(per, a->h->name, json_object_get(info, "Id"));
		json_decref(info);
	}
	return 0;
fail:
	json_decref(*images);
	*images = NULL;
	return -1;
}

/* Rolling out ------------------------------------------------------------ */

static json_t *
container_config(struct run *r, struct action *a, struct paas_err *err)
{
	const json_t *svc = a->svc, *res = json_object_get(svc, "resources"), *v;
	json_t *env = paas_spec_service_env(r->spec, svc, NULL), *envl = json_array();
	json_t *labels, *exposed = json_object(), *bindings = json_object(), *mounts = json_array();
	json_t *hc, *cfg;
	const char *k, **names;
	size_t i, n;
	char rel[32];

	json_array_append_new(envl, json_sprintf("PAAS_DEPLOYMENT=%s", r->o->deployment));
	json_array_append_new(envl, json_sprintf("PAAS_SERVICE=%s", a->service));
	json_array_append_new(envl, json_sprintf("PAAS_INSTANCE=%s", a->instance));
	json_array_append_new(envl, json_sprintf("PAAS_HOST=%s", a->h->name));
	json_array_append_new(envl, json_sprintf("PAAS_RELEASE=%" PRId64, r->release));
	json_array_append_new(envl, json_sprintf("PAAS_ETCD=%s", r->o->etcd));
	names = paas_json_keys(env, &n);
	for (i = 0; i < n; i++) {
		char *x;

		if (paas_spec_expand(names[i], json_string_value(json_object_get(env, names[i])), &x,
		    err) < 0) {
			free(names);
			json_decref(env);
			json_decref(envl);
			json_decref(exposed);
			json_decref(bindings);
			json_decref(mounts);
			return NULL;
		}
		json_array_append_new(envl, json_sprintf("%s=%s", names[i], x));
		free(x);
	}
	free(names);
	json_decref(env);
	snprintf(rel, sizeof(rel), "%" PRId64, r->release);
	labels = json_pack("{s:s, s:s, s:s, s:s, s:s}", "paas.deployment", r->o->deployment,
	    "paas.service", a->service, "paas.instance", a->instance, "paas.release", rel,
	    "paas.version", a->version);
	if (json_integer_value(json_object_get(res, "cpu_milli")))
		json_object_set_new(labels, "paas.cpu_milli", json_sprintf("%lld",
		    (long long)json_integer_value(json_object_get(res, "cpu_milli"))));
	if (json_integer_value(json_object_get(res, "memory_bytes")))
		json_object_set_new(labels, "paas.memory_bytes", json_sprintf("%lld",
		    (long long)json_integer_value(json_object_get(res, "memory_bytes"))));
	json_object_foreach(a->ports, k, v) {
		char *pk;

		if (asprintf(&pk, "%s/tcp", k) < 0)
			abort();
		json_object_set_new(exposed, pk, json_object());
		json_object_set_new(bindings, pk, json_pack("[{s:o}]", "HostPort",
		    json_sprintf("%lld", (long long)json_integer_value(v))));
		free(pk);
	}
	json_object_foreach((json_t *)json_object_get(svc, "volumes"), k, v)
		json_array_append_new(mounts, json_pack("{s:s, s:s++++, s:s}", "Type", "volume",
		    "Source", r->o->deployment, "-", a->service, "-", k, "Target", json_string_value(v)));
	hc = json_pack("{s:o, s:b, s:{s:s}, s:o}", "PortBindings", bindings, "Init", 1,
	    "RestartPolicy", "Name", json_string_value(json_object_get(svc, "restart")),
	    "Mounts", mounts);
	if (json_integer_value(json_object_get(res, "memory_bytes")))
		json_object_set(hc, "Memory", json_object_get(res, "memory_bytes"));
	if (json_integer_value(json_object_get(res, "cpu_milli")))
		json_object_set_new(hc, "NanoCpus",
		    json_integer(json_integer_value(json_object_get(res, "cpu_milli")) * 1000000));
	cfg = json_pack("{s:s, s:o, s:o, s:o, s:o}", "Image",
	    json_string_value(json_object_get(svc, "image")), "Env", envl, "Labels", labels,
	    "ExposedPorts", exposed, "HostConfig", hc);
	if (json_array_size(json_object_get(svc, "cmd")))
		json_object_set(cfg, "Cmd", json_object_get(svc, "cmd"));
	return cfg;
}

static json_t *
instance_value(const struct host *h, const char *name, const char *id,
    int64_t release, const char *version, const json_t *ports)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:O}", "host", h->name, "address", h->addr,
	    "container", name, "id", id, "release", (json_int_t)release, "version", version,
	    "ports", ports);
}

static int
start_instance(struct run *r, struct action *a, struct paas_err *err)
{
	struct paas_buf name = PAAS_BUF_INIT;
	json_t *cfg = NULL;
	int attempt, rc = -1;

	paas_buf_addf(&name, "%s.%s.%s.%.8s", r->o->deployment, a->service, a->instance, a->version);
	for (attempt = 0; attempt < 5; attempt++) {
		json_decref(cfg);
		if ((cfg = container_config(r, a, err)) == NULL)
			goto out;
		if (paas_docker_create(a->h->d, name.data, cfg, &a->id, err) < 0) {
			struct paas_err e2 = PAAS_ERR_INIT;

			/* A run killed while Docker was creating it leaves the name
			 * taken by a container we have not seen: it is ours. */
			if (strstr(err->msg, "is already in use") == NULL ||
			    paas_docker_remove(a->h->d, name.data, 1, &e2) < 0)
				goto wrap;
			paas_err_clear(err);
			continue;
		}
		if (paas_docker_start(a->h->d, a->id, err) == 0)
			break;
		/* Something outside Docker may hold a port the plan picked. */
		if (strstr(err->msg, "already allocated") == NULL &&
		    strstr(err->msg, "address already in use") == NULL)
			goto wrap;
		{
			struct paas_err ignore = PAAS_ERR_INIT;
			json_t *ports;

			paas_docker_remove(a->h->d, a->id, 1, &ignore);
			free(a->id);
			a->id = NULL;
			if ((ports = pick_ports(a->h, a->svc, err)) == NULL)
				goto out;
			json_decref(a->ports);
			a->ports = ports;
			paas_err_clear(err);
		}
	}
	if (attempt == 5)
		goto wrap;
	a->cname = paas_buf_detach(&name, NULL);
	a->t_start = paas_now_ms();
	a->next_probe = a->t_start;
	a->next_inspect = a->t_start + 500;
	r->started++;
	emit(r, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s#, s:O, s:I}", "event", "start", "service",
	    a->service, "instance", a->instance, "host", a->h->name, "container", a->cname,
	    "id", a->id, 12, "ports", a->ports, "release", (json_int_t)r->release));
	rc = 0;
	goto out;
wrap:
	paas_err_wrap(err, "cannot start %s instance %s on host %s", a->service, a->instance,
	    a->h->name);
out:
	json_decref(cfg);
	paas_buf_free(&name);
	return rc;
}

/* Routing ---------------------------------------------------------------- */

/* The routes of spec's domains that point at this deployment, auth hashes
 * read from the environment ({DOMAIN: route}, route.h).  A domain another
 * deployment routes is a conflict. */
static int
routes_of(struct run *r, const json_t *spec, json_t **out, struct paas_err *err)
{
	const json_t *domains = json_object_get(spec, "domains"), *d, *v;
	struct paas_kv_list l;
	json_t *routes = json_object();
	const char *name, *user;
	size_t i;

	*out = NULL;
	json_object_foreach((json_t *)domains, name, d) {
		const char *svcname = json_string_value(json_object_get(d, "service"));
		const json_t *svc = json_object_get(json_object_get(spec, "services"), svcname);
		const json_t *port = json_object_get(d, "port"), *health;
		json_t *auth = json_object();

		if (strcmp(json_string_value(json_object_get(d, "deployment")), r->o->deployment) != 0) {
			json_decref(auth);
			continue;
		}
		if (svc == NULL) {
			json_decref(auth);
			json_decref(routes);
			return paas_err_set(err, PAAS_EINVAL, "domain %s: no service %s in this "
			    "Servicefile", name, svcname);
		}
		if (!json_is_integer(port))
			port = json_array_get(json_object_get(svc, "ports"), 0);
		json_object_foreach(json_object_get(d, "auth"), user, v) {
			char what[400], *x;

			snprintf(what, sizeof(what), "domain %s: auth %s", name, user);
			if (paas_spec_expand(what, json_string_value(v), &x, err) < 0) {
				json_decref(auth);
				json_decref(routes);
				return -1;
			}
			json_object_set_new(auth, user, json_string(x));
			free(x);
		}
		health = json_object_get(json_object_get(svc, "health"), "http");
		json_object_set_new(routes, name, json_pack("{s:s, s:s, s:O, s:o, s:O, s:O, s:O}",
		    "deployment", r->o->deployment, "service", svcname,
		    "port", port ? port : json_null(), "auth", auth,
		    "sticky", json_object_get(d, "sticky"),
		    "health", json_is_string(health) ? health : json_null(),
		    "tls", json_object_get(d, "tls")));
	}
	if (paas_etcd_range(r->e, PAAS_ROUTES_PREFIX, 0, 0, &l, err) < 0) {
		json_decref(routes);
		return -1;
	}
	for (i = 0; i < l.n; i++) {
		const char *dom = l.kvs[i].key + strlen(PAAS_ROUTES_PREFIX);
		json_t *have = json_loadb(l.kvs[i].value, l.kvs[i].value_len, 0, NULL);
		const char *owner = json_string_value(json_object_get(have, "deployment"));

		if (json_object_get(routes, dom) && owner && strcmp(owner, r->o->deployment) != 0) {
			paas_err_set(err, PAAS_EFAILED, "domain %s is routed to deployment %s: change or "
			    "destroy that one first", dom, owner);
			json_decref(have);
			paas_kv_list_free(&l);
			json_decref(routes);
			return -1;
		}
		json_decref(have);
	}
	paas_kv_list_free(&l);
	*out = routes;
	return 0;
}

static void wait_routers(struct run *r, int64_t rev, const char *why);

/* Make etcd's routes of this deployment want (NULL: none), then wait for
 * the routers to serve them.  The values hold password hashes: they are
 * written, never reported. */
static int
sync_routes(struct run *r, const json_t *want, struct paas_err *err)
{
	struct paas_kv_list l;
	json_t *same = json_array(), *written = json_array(), *gone = json_array(), *v;
	const char *dom, **names = NULL;
	int64_t rev = 0;
	size_t i, n;
	int rc = -1;

	if (paas_etcd_range(r->e, PAAS_ROUTES_PREFIX, 0, 0, &l, err) < 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		json_t *have = json_loadb(l.kvs[i].value, l.kvs[i].value_len, 0, NULL);
		const char *owner = json_string_value(json_object_get(have, "deployment"));

		dom = l.kvs[i].key + strlen(PAAS_ROUTES_PREFIX);
		if (owner && strcmp(owner, r->o->deployment) == 0) {
			if ((v = json_object_get(want, dom)) == NULL) {
				if (paas_etcd_delete(r->e, l.kvs[i].key, 0, NULL, err) < 0) {
					json_decref(have);
					paas_kv_list_free(&l);
					goto out;
				}
				json_array_append_new(gone, json_string(dom));
			} else if (json_equal(have, v))
				json_array_append_new(same, json_string(dom));
		}
		json_decref(have);
	}
	paas_kv_list_free(&l);
	names = paas_json_keys(want, &n);
	for (i = 0; i < n; i++) {
		char *key;
		int prc;

		if (paas_json_has(same, names[i]))
			continue;
		if (asprintf(&key, PAAS_ROUTES_PREFIX "%s", names[i]) < 0)
			abort();
		prc = put_json(r->e, key, json_object_get(want, names[i]), &rev, err);
		free(key);
		if (prc < 0)
			goto out;
		json_array_append_new(written, json_string(names[i]));
	}
	if (json_array_size(written) || json_array_size(gone)) {
		emit(r, json_pack("{s:s, s:O, s:O}", "event", "routes", "set", written,
		    "removed", gone));
		/* Deletions alone: the store's revision now covers them. */
		if (rev == 0) {
			struct paas_kv kv;
			int found;

			if (paas_etcd_get(r->e, PAAS_ROUTES_PREFIX, &kv, &found, &rev, err) < 0)
				goto out;
			paas_kv_clear(&kv);
		}
		wait_routers(r, rev, "routes");
	}
	rc = 0;
out:
	free(names);
	json_decref(same);
	json_decref(written);
	json_decref(gone);
	return rc;
}

/* Does an agent announce on host h?  Asked once per run. */
static int
has_agent(struct run *r, struct host *h)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_kv kv;
	char *key;
	int found = 0;

	if (h->agent >= 0)
		return h->agent;
	if (asprintf(&key, PAAS_AGENTS_PREFIX "%s", h->name) < 0)
		abort();
	if (paas_etcd_get(r->e, key, &kv, &found, NULL, &err) == 0)
		paas_kv_clear(&kv);
	free(key);
	return h->agent = found;
}

/* Wait until every registered router serves etcd revision rev.  A router
 * that does not keep up is reported, not waited for forever. */
static void
wait_routers(struct run *r, int64_t rev, const char *why)
{
	long long t0 = paas_now_ms();
	int64_t min;
	size_t n;

	for (;;) {
		struct paas_err err = PAAS_ERR_INIT;

		if (paas_routers_applied(r->e, &min, &n, &err) == 0 && (n == 0 || min >= rev)) {
			if (n)
				emit(r, json_pack("{s:s, s:s, s:I, s:I, s:I}", "event", "served", "what",
				    why, "routers", (json_int_t)n, "revision", (json_int_t)rev,
				    "ms", (json_int_t)(paas_now_ms() - t0)));
			return;
		}
		if (paas_now_ms() - t0 >= ROUTER_MS) {
			emit(r, json_pack("{s:s, s:s}", "event", "warning", "message", err.msg[0] ?
			    err.msg : "a router has not applied the change within 10 s; carrying on"));
			return;
		}
		paas_sleep_ms(20);
	}
}

static void
announce_key(char *buf, size_t size, const char *dep, const char *svc, const char *inst,
    const char *id)
{
	snprintf(buf, size, PAAS_ANNOUNCE_PREFIX "%s/%s/%s/%.12s", dep, svc, inst, id);
}

/* A new instance is in service once its host's agent has announced it
 * healthy and the routers serve that. */
static int
wait_announced(struct run *r, struct action *a, struct paas_err *err)
{
	long long t0 = paas_now_ms();
	char key[512];

	if (a->keep || a->id == NULL || !has_agent(r, a->h))
		return 0;
	announce_key(key, sizeof(key), r->o->deployment, a->service, a->instance, a->id);
	for (;;) {
		struct paas_kv kv;
		int found = 0, healthy = 0;
		int64_t rev = 0;

		if (paas_etcd_get(r->e, key, &kv, &found, NULL, err) < 0)
			return -1;
		if (found) {
			json_t *v = json_loadb(kv.value, kv.value_len, 0, NULL);

			healthy = json_is_true(json_object_get(v, "healthy"));
			rev = kv.mod_revision;
			json_decref(v);
			paas_kv_clear(&kv);
		}
		if (healthy) {
			emit(r, json_pack("{s:s, s:s, s:s, s:s, s:I}", "event", "announced", "service",
			    a->service, "instance", a->instance, "host", a->h->name,
			    "ms", (json_int_t)(paas_now_ms() - t0)));
			wait_routers(r, rev, "start");
			return 0;
		}
		if (paas_now_ms() - t0 >= ANNOUNCE_MS) {
			r->failed = a;
			paas_err_set(&a->last, PAAS_EFAILED, "the agent on host %s did not announce it "
			    "healthy within %d s", a->h->name, ANNOUNCE_MS / 1000);
			return paas_err_set(err, PAAS_EFAILED, "%s instance %s on host %s: %s",
			    a->service, a->instance, a->h->name, a->last.msg);
		}
		paas_sleep_ms(20);
	}
}

/* Before an announced container stops: its announcement goes (and a
 * drain mark, bound to our lock's lease, keeps the agent from writing it
 * again), the routers stop sending it requests, and the ones in flight
 * get drain_ms to finish. */
static int
withdraw(struct run *r, struct ctr *c, struct paas_err *err)
{
	char key[512], drain[256], val[64];
	struct paas_kv kv;
	int found = 0, ok;
	int64_t rev = 0;
	long long drain_ms = r->o->drain_ms ? r->o->drain_ms : DRAIN_MS;

	if (drain_ms < 0 || !c->running || !has_agent(r, c->h))
		return 0;
	announce_key(key, sizeof(key), r->o->deployment, c->service, c->instance, c->id);
	snprintf(drain, sizeof(drain), PAAS_DRAIN_PREFIX "%s", c->id);
	snprintf(val, sizeof(val), "{\"since\":%ld}", (long)time(NULL));
	if (paas_etcd_get(r->e, key, &kv, &found, NULL, err) < 0)
		return -1;
	if (found)
		paas_kv_clear(&kv);
	{
		struct paas_op ops[2] = {
			{ PAAS_OP_PUT, drain, val, strlen(val), paas_lock_lease(r->lock) },
			{ PAAS_OP_DELETE, key, NULL, 0, 0 },
		};

		if (paas_etcd_txn(r->e, NULL, 0, ops, 2, NULL, 0, &ok, &rev, err) < 0)
			return paas_err_wrap(err, "cannot withdraw %s", c->name);
	}
	if (!found)
		return 0;
	emit(r, json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", "withdrawn", "service", c->service,
	    "instance", c->instance, "host", c->h->name, "container", c->name));
	wait_routers(r, rev, "stop");
	paas_sleep_ms(drain_ms);
	return 0;
}

static int
remove_ctr(struct run *r, struct ctr *c, int drop_key, struct paas_err *err)
{
	int timeout = r->o->stop_timeout > 0 ? r->o->stop_timeout : 10;

	if (withdraw(r, c, err) < 0)
		return -1;
	if (c->running && paas_docker_stop(c->h->d, c->id, timeout, err) < 0)
		return paas_err_wrap(err, "cannot stop %s on host %s", c->name, c->h->name);
	if (paas_docker_remove(c->h->d, c->id, 1, err) < 0)
		return paas_err_wrap(err, "cannot remove %s on host %s", c->name, c->h->name);
	if (drop_key) {
		char *key = instance_key(r->o->deployment, c->service, c->instance);
		int rc = paas_etcd_delete(r->e, key, 0, NULL, err);

		free(key);
		if (rc < 0)
			return -1;
	}
	r->stopped++;
	emit(r, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "event", "stop", "service", c->service,
	    "instance", c->instance, "host", c->h->name, "container", c->name,
	    "release", (json_int_t)c->release));
	c->running = 0;
	return 0;
}

static long long
health_deadline(const json_t *health)
{
	if (!json_is_object(health))
		return SETTLE_MS + 5000;
	return json_integer_value(json_object_get(health, "start_period_ms")) +
	    json_integer_value(json_object_get(health, "retries")) *
	    json_integer_value(json_object_get(health, "interval_ms")) +
	    json_integer_value(json_object_get(health, "timeout_ms"));
}

/* Has the container stopped?  Sets err to say how. */
static int
exited(struct paas_docker *d, const char *id, struct paas_err *err)
{
	json_t *info = NULL;
	const json_t *st;
	int gone;

	if (paas_docker_inspect(d, id, &info, err) < 0)
		return 0;
	if (info == NULL) {
		paas_err_set(err, PAAS_EFAILED, "the container is gone");
		return 1;
	}
	st = json_object_get(info, "State");
	gone = !json_is_true(json_object_get(st, "Running")) ||
	    json_is_true(json_object_get(st, "Restarting"));
	if (gone)
		paas_err_set(err, PAAS_EFAILED, "the container exited with status %lld",
		    (long long)json_integer_value(json_object_get(st, "ExitCode")));
	json_decref(info);
	return gone;
}

static int
wait_healthy(struct run *r, struct action **batch, size_t n, struct paas_err *err)
{
	size_t i, left = n;
	long long now;

	for (i = 0; i < n; i++) {
		struct action *a = batch[i];

		if (a->keep) {
			a->t_start = paas_now_ms();
			a->next_probe = a->t_start;
			a->next_inspect = a->t_start;
		}
		a->deadline = a->t_start + health_deadline(json_object_get(a->svc, "health"));
		a->done = 0;
		paas_err_clear(&a->last);
	}
	while (left) {
		long long next = paas_now_ms() + 1000;

		for (i = 0; i < n; i++) {
			struct action *a = batch[i];
			const json_t *health = json_object_get(a->svc, "health");
			struct paas_docker *d = a->h->d;
			const char *id = a->keep ? a->keep->id : a->id;
			const json_t *ports = a->keep ? a->keep->ports : a->ports;
			long long every = PROBE_EVERY_MS;
			int ok = -1;

			if (a->done)
				continue;
			now = paas_now_ms();
			if (now >= a->next_inspect) {
				if (exited(d, id, &a->last))
					goto unhealthy;
				a->next_inspect = now + 500;
			}
			if (now >= a->next_probe) {
				if (json_is_object(health)) {
					char pp[16];
					int hp;

					snprintf(pp, sizeof(pp), "%lld",
					    (long long)json_integer_value(json_object_get(health, "port")));
					hp = (int)json_integer_value(json_object_get(ports, pp));
					if (json_integer_value(json_object_get(health, "interval_ms")) < every)
						every = json_integer_value(json_object_get(health, "interval_ms"));
					paas_err_clear(&a->last);
					ok = paas_health_probe(a->h->addr, hp, health,
					    json_integer_value(json_object_get(health, "timeout_ms")), &a->last);
				} else if (now - a->t_start >= SETTLE_MS) {
					ok = exited(d, id, &a->last) ? -1 : 0;
					if (ok < 0)
						goto unhealthy;
				}
				a->next_probe = paas_now_ms() + every;
			}
			if (ok == 0) {
				a->done = 1;
				left--;
				emit(r, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "event", "healthy",
				    "service", a->service, "instance", a->instance, "host", a->h->name,
				    "container", a->keep ? a->keep->name : a->cname,
				    "ms", (json_int_t)(paas_now_ms() - a->t_start)));
				continue;
			}
			if (paas_now_ms() >= a->deadline) {
				if (a->last.msg[0] == '\0')
					paas_err_set(&a->last, PAAS_EFAILED, "no check passed");
				goto unhealthy;
			}
			if (a->next_probe < next)
				next = a->next_probe;
			if (a->next_inspect < next)
				next = a->next_inspect;
			if (a->deadline < next)
				next = a->deadline;
			continue;
unhealthy:
			r->failed = a;
			return paas_err_set(err, PAAS_EFAILED, "%s instance %s on host %s did not become "
			    "healthy within %.1f s: %s", a->service, a->instance, a->h->name,
			    (paas_now_ms() - a->t_start) / 1000.0, a->last.msg);
		}
		if (left)
			paas_sleep_ms(next - paas_now_ms());
	}
	return 0;
}

/* The failing instance's last log lines go into the event and the message;
 * then its container goes (unless it is one a crashed run left running). */
static char *
report_unhealthy(struct run *r)
{
	struct action *a = r->failed;
	struct paas_buf logs = PAAS_BUF_INIT;
	struct paas_err ignore = PAAS_ERR_INIT;
	const char *id = a->keep ? a->keep->id : a->id;
	json_t *lines = json_array();
	char *line, *save = NULL;

	if (paas_docker_logs(a->h->d, id, LOG_LINES, &logs, &ignore) == 0 && logs.len) {
		for (line = strtok_r(logs.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			struct paas_buf p = PAAS_BUF_INIT;

			paas_buf_add_printable(&p, line);
			json_array_append_new(lines, json_string(p.data));
			paas_buf_free(&p);
		}
	}
	emit(r, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O}", "event", "unhealthy", "service",
	    a->service, "instance", a->instance, "host", a->h->name, "container",
	    a->keep ? a->keep->name : a->cname, "error", a->last.msg, "logs", lines));
	paas_buf_reset(&logs);
	if (json_array_size(lines)) {
		size_t i;

		paas_buf_adds(&logs, "; its last log lines:");
		for (i = 0; i < json_array_size(lines); i++)
			paas_buf_addf(&logs, "\n  %s", json_string_value(json_array_get(lines, i)));
	}
	json_decref(lines);
	if (!a->keep && a->id)
		paas_docker_remove(a->h->d, a->id, 1, &ignore);
	return paas_buf_detach(&logs, NULL);
}

static int
lock_ok(struct run *r, struct paas_err *err)
{
	if (r->lock && !paas_lock_held(r->lock))
		return paas_err_set(err, PAAS_EUNAVAIL, "lost the lock of deployment %s (etcd did not "
		    "hear from us for its TTL); stopping here, the next run carries on", r->o->deployment);
	return 0;
}

/* Record the instances that stay and drop the keys of those that went. */
static int
record_instances(struct run *r, struct paas_err *err)
{
	struct paas_kv_list l;
	char *prefix = instance_key(r->o->deployment, NULL, NULL);
	json_t *want = json_object(), *v;
	const char *k;
	size_t i;
	int rc = -1;

	for (i = 0; i < r->nctrs; i++) {
		struct ctr *c = &r->ctrs[i];
		char *key;

		if (c->fate != F_KEEP)
			continue;
		key = instance_key(r->o->deployment, c->service, c->instance);
		json_object_set_new(want, key, instance_value(c->h, c->name, c->id, c->release,
		    c->version, c->ports));
		free(key);
	}
	for (i = 0; i < r->nacts; i++) {
		struct action *a = &r->acts[i];
		char *key;

		if (a->keep || a->id == NULL)
			continue;
		key = instance_key(r->o->deployment, a->service, a->instance);
		json_object_set_new(want, key, instance_value(a->h, a->cname, a->id, r->release,
		    a->version, a->ports));
		free(key);
	}
	if (paas_etcd_range(r->e, prefix, 0, 0, &l, err) < 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		json_t *have = json_loadb(l.kvs[i].value, l.kvs[i].value_len, 0, NULL);
		json_t *w = json_object_get(want, l.kvs[i].key);

		if (w == NULL) {
			if (paas_etcd_delete(r->e, l.kvs[i].key, 0, NULL, err) < 0) {
				json_decref(have);
				paas_kv_list_free(&l);
				goto out;
			}
		} else if (json_equal(have, w))
			json_object_del(want, l.kvs[i].key);
		json_decref(have);
	}
	paas_kv_list_free(&l);
	json_object_foreach(want, k, v)
		if (put_json(r->e, k, v, NULL, err) < 0)
			goto out;
	rc = 0;
out:
	json_decref(want);
	free(prefix);
	return rc;
}

static int
rollout(struct run *r, struct paas_err *err)
{
	size_t nnames, s, i, j;
	const char **names = paas_json_keys(json_object_get(r->spec, "services"), &nnames);
	struct action **batch = paas_xmalloc((r->nacts ? r->nacts : 1) * sizeof(*batch));
	int rc = -1;

	for (s = 0; s < nnames; s++) {
		const json_t *svc = json_object_get(json_object_get(r->spec, "services"), names[s]);
		const json_t *update = json_object_get(svc, "update");
		size_t parallel = (size_t)json_integer_value(json_object_get(update, "parallel"));
		int stop_first = !strcmp(json_string_value(json_object_get(update, "order")), "stop-first");
		long long delay = json_integer_value(json_object_get(update, "delay_ms"));
		size_t nb = 0, first = 1;

		if (parallel == 0)
			parallel = 1;
		for (i = 0; i <= r->nacts; i++) {
			struct action *a = i < r->nacts ? &r->acts[i] : NULL;

			if (a && strcmp(a->service, names[s]) != 0)
				continue;
			if (a)
				batch[nb++] = a;
			if (nb < parallel && a)
				continue;
			if (nb == 0)
				break;
			if (!first && delay)
				paas_sleep_ms(delay);
			first = 0;
			if (lock_ok(r, err) < 0)
				goto out;
			for (j = 0; j < nb; j++) {
				size_t k;

				/* Stopped leftovers hold the name; running old ones wait
				 * for their replacement unless the order is stop-first. */
				for (k = 0; k < batch[j]->nold; k++)
					if ((stop_first || !batch[j]->old[k]->running) &&
					    remove_ctr(r, batch[j]->old[k], stop_first, err) < 0)
						goto out;
				if (!batch[j]->keep && start_instance(r, batch[j], err) < 0)
					goto out;
			}
			if (wait_healthy(r, batch, nb, err) < 0)
				goto out;
			for (j = 0; j < nb; j++)
				if (wait_announced(r, batch[j], err) < 0)
					goto out;
			for (j = 0; j < nb; j++) {
				struct action *b = batch[j];
				size_t k;

				if (!b->keep) {
					char *key = instance_key(r->o->deployment, b->service, b->instance);
					json_t *v = instance_value(b->h, b->cname, b->id, r->release,
					    b->version, b->ports);
					int prc = put_json(r->e, key, v, NULL, err);

					free(key);
					json_decref(v);
					if (prc < 0)
						goto out;
				}
				for (k = 0; k < b->nold; k++)
					if (b->old[k]->running && remove_ctr(r, b->old[k], 0, err) < 0)
						goto out;
			}
			nb = 0;
		}
		/* Instances the service no longer wants. */
		for (i = 0; i < r->nctrs; i++) {
			struct ctr *c = &r->ctrs[i];

			if (c->fate == F_REMOVE && !c->claimed && !strcmp(c->service, names[s]) &&
			    (lock_ok(r, err) < 0 || remove_ctr(r, c, 1, err) < 0))
				goto out;
		}
	}
	/* Services the spec no longer has. */
	for (i = 0; i < r->nctrs; i++) {
		struct ctr *c = &r->ctrs[i];

		if (c->fate == F_REMOVE && !c->claimed &&
		    !json_object_get(json_object_get(r->spec, "services"), c->service) &&
		    (lock_ok(r, err) < 0 || remove_ctr(r, c, 1, err) < 0))
			goto out;
	}
	rc = record_instances(r, err);
out:
	free(batch);
	free(names);
	return rc;
}

/* Releases --------------------------------------------------------------- */

static int
release_num(const char *key)
{
	const char *p = strrchr(key, '/');

	return p ? atoi(p + 1) : 0;
}

/* The highest release number recorded (0: none). */
static int
last_release(struct run *r, int64_t *n, struct paas_err *err)
{
	char *prefix = dep_key(r->o->deployment, "releases/");
	struct paas_kv_list l;
	size_t i;

	*n = 0;
	if (paas_etcd_range(r->e, prefix, 0, 1, &l, err) < 0) {
		free(prefix);
		return -1;
	}
	for (i = 0; i < l.n; i++)
		if (release_num(l.kvs[i].key) > *n)
			*n = release_num(l.kvs[i].key);
	paas_kv_list_free(&l);
	free(prefix);
	return 0;
}

/* *rec gets release n's record, or NULL when it is not there. */
static int
read_release(struct run *r, int64_t n, json_t **rec, struct paas_err *err)
{
	char *key = dep_key(r->o->deployment, "releases/%" PRId64, n);
	int rc = get_json(r->e, key, rec, NULL, err);

	free(key);
	return rc;
}

/* The current release: *n (0: none), its record and the pointer's
 * mod_revision for a compare-and-swap. */
static int
current_release(struct run *r, int64_t *n, json_t **rec, int64_t *mod, struct paas_err *err)
{
	char *key = dep_key(r->o->deployment, "release");
	json_t *v = NULL;
	int rc;

	*n = 0;
	*rec = NULL;
	rc = get_json(r->e, key, &v, mod, err);
	free(key);
	if (rc < 0)
		return -1;
	if (v == NULL)
		return 0;
	*n = json_is_integer(v) ? json_integer_value(v) :
	    json_is_string(v) ? strtoll(json_string_value(v), NULL, 10) : 0;
	json_decref(v);
	if (*n > 0 && read_release(r, *n, rec, err) < 0)
		return -1;
	if (*n > 0 && *rec == NULL)
		return paas_err_set(err, PAAS_EFAILED, "deployment %s: release %" PRId64 " is current "
		    "but not recorded", r->o->deployment, *n);
	return 0;
}

/* Point the deployment at release n (0: at none), writing rec first when
 * given; the pointer must still be at mod (we hold the lock, so a mismatch
 * means someone wrote without it). */
static int
set_current(struct run *r, int64_t n, const json_t *rec, int64_t mod, struct paas_err *err)
{
	char *pkey = dep_key(r->o->deployment, "release"), *rkey = NULL, *rval = NULL;
	struct paas_cmp cmp = { pkey, PAAS_CMP_MOD, PAAS_CMP_EQUAL, mod, NULL, 0 };
	struct paas_op ops[2];
	char num[32];
	size_t nops = 0;
	int ok = 0, rc = -1;

	snprintf(num, sizeof(num), "%" PRId64, n);
	memset(ops, 0, sizeof(ops));
	if (n > 0) {
		ops[nops].type = PAAS_OP_PUT;
		ops[nops].key = pkey;
		ops[nops].value = num;
		ops[nops++].value_len = strlen(num);
	} else {
		ops[nops].type = PAAS_OP_DELETE;
		ops[nops++].key = pkey;
	}
	if (rec) {
		rkey = dep_key(r->o->deployment, "releases/%" PRId64,
		    (int64_t)json_integer_value(json_object_get(rec, "release")));
		rval = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
		ops[nops].type = PAAS_OP_PUT;
		ops[nops].key = rkey;
		ops[nops].value = rval;
		ops[nops++].value_len = strlen(rval);
	}
	if (paas_etcd_txn(r->e, &cmp, 1, ops, nops, NULL, 0, &ok, NULL, err) < 0)
		goto out;
	if (!ok) {
		paas_err_set(err, PAAS_EUNAVAIL, "deployment %s changed under us (another writer without "
		    "the lock)", r->o->deployment);
		goto out;
	}
	rc = 0;
out:
	free(pkey);
	free(rkey);
	free(rval);
	return rc;
}

static void
run_free(struct run *r)
{
	size_t i;

	actions_free(r);
	for (i = 0; i < r->nctrs; i++)
		ctr_free(&r->ctrs[i]);
	free(r->ctrs);
	for (i = 0; i < r->nhosts; i++) {
		paas_docker_free(r->hosts[i].d);
		free(r->hosts[i].addr);
		json_decref(r->hosts[i].count);
	}
	free(r->hosts);
	json_decref(r->hosts_json);
	json_decref(r->routes);
	paas_lock_release(r->lock);
	paas_etcd_free(r->e);
}

static int
begin(struct run *r, const struct paas_deploy_opts *o, struct paas_err *err)
{
	char host[HOST_NAME_MAX + 1] = "";

	memset(r, 0, sizeof(*r));
	r->o = o;
	r->t0 = paas_now_ms();
	if ((r->user = o->user) == NULL) {
		struct passwd *pw = getpwuid(getuid());

		r->user = getenv("USER") ? getenv("USER") : pw ? pw->pw_name : "unknown";
	}
	if (gethostname(host, sizeof(host) - 1) < 0)
		strcpy(host, "localhost");
	snprintf(r->holder, sizeof(r->holder), "%s@%s pid %ld", r->user, host, (long)getpid());
	if (o->deployment == NULL || !paas_valid_name(o->deployment))
		return paas_err_set(err, PAAS_EINVAL, "invalid deployment name '%.64s': use lower-case "
		    "letters, digits and '-', starting with a letter, at most 63",
		    o->deployment ? o->deployment : "");
	if ((r->e = paas_etcd_new(o->etcd, NULL, err)) == NULL)
		return -1;
	if (!o->dry_run) {
		if (paas_lock_acquire(o->etcd, o->deployment, r->holder,
		    o->lock_ttl > 0 ? o->lock_ttl : 15, &r->lock, err) < 0)
			return -1;
		emit(r, json_pack("{s:s, s:s}", "event", "lock", "holder", r->holder));
	}
	return load_hosts(r, err);
}

/* Observe, plan and roll out r->spec as release r->release. */
static int
converge(struct run *r, struct paas_err *err)
{
	if (observe(r, err) < 0 || plan(r, err) < 0)
		return -1;
	if (!plan_empty(r))
		emit(r, plan_event(r));
	return rollout(r, err);
}

/* After a failed rollout of release `failed` (record rec): put `previous`
 * back, or with none, take everything down; the release is marked failed. */
static void
roll_back(struct run *r, int64_t failed, json_t *rec, int64_t previous, char *outcome,
    size_t size)
{
	struct paas_err e2 = PAAS_ERR_INIT;
	json_t *prev = NULL, *empty = NULL;
	int64_t mod = 0, cur;
	json_t *currec = NULL;

	emit(r, json_pack("{s:s, s:I, s:I}", "event", "rollback", "from", (json_int_t)failed,
	    "to", (json_int_t)previous));
	if (current_release(r, &cur, &currec, &mod, &e2) < 0)
		goto fail;
	json_decref(currec);
	json_object_set_new(rec, "status", json_string("failed"));
	if (previous > 0 && read_release(r, previous, &prev, &e2) < 0)
		goto fail;
	if (set_current(r, prev ? previous : 0, rec, mod, &e2) < 0)
		goto fail;
	if (prev) {
		r->spec = json_object_get(prev, "spec");
		r->release = previous;
	} else {
		empty = json_pack("{s:{}, s:{}, s:{}, s:[]}", "services", "env", "domains", "secret_env");
		r->spec = empty;
	}
	r->failed = NULL;
	if (converge(r, &e2) < 0)
		goto fail;
	json_decref(r->routes);
	r->routes = NULL;
	if (routes_of(r, r->spec, &r->routes, &e2) == 0)
		sync_routes(r, r->routes, &e2);
	if (prev)
		snprintf(outcome, size, "rolled back to release %" PRId64, previous);
	else
		snprintf(outcome, size, "nothing to roll back to: every instance of release %"
		    PRId64 " removed", failed);
	goto out;
fail:
	snprintf(outcome, size, "putting back release %" PRId64 " failed too: %s", previous, e2.msg);
out:
	r->spec = NULL;
	json_decref(prev);
	json_decref(empty);
}

static const char *
failure_action(const struct run *r)
{
	const json_t *svc = r->failed ? r->failed->svc : NULL;
	const char *s = json_string_value(json_object_get(json_object_get(svc, "update"),
	    "failure_action"));

	return s ? s : "rollback";
}

/*
 * The one way a release changes: under the lock, with the current release
 * known (cur, currec, mod), make spec current as a new release of kind
 * `kind` (unless it is the current spec, when a half-done earlier run is
 * finished), and converge.  from: the release a rollback copies.
 */
static int
release_and_converge(struct run *r, const json_t *spec, const char *kind, int64_t from,
    const json_t *images_from, int64_t cur, json_t *currec, int64_t mod, struct paas_err *err)
{
	json_t *images = NULL, *rec = NULL;
	char *a = paas_spec_dump(spec), *b = currec ? paas_spec_dump(json_object_get(currec, "spec")) : NULL;
	int same = b && strcmp(a, b) == 0, rc = -1;
	int64_t last, previous;
	char when[32];

	free(a);
	free(b);
	r->spec = spec;
	if (same)
		r->release = cur;
	else {
		if (last_release(r, &last, err) < 0)
			goto out;
		r->release = last + 1;
	}
	if (observe(r, err) < 0 || plan(r, err) < 0)
		goto out;
	if (same && plan_empty(r)) {
		struct paas_err e2 = PAAS_ERR_INIT;

		/* Routes lost or written by an older version come back; with a
		 * ${VAR} unset they stay as they are. */
		if (!r->o->dry_run && routes_of(r, spec, &r->routes, &e2) == 0)
			sync_routes(r, r->routes, &e2);
		emit(r, json_pack("{s:s, s:I}", "event", "unchanged", "release", (json_int_t)cur));
		rc = 0;
		goto out;
	}
	if (!r->o->dry_run && (prepare(r, &images, err) < 0 ||
	    routes_of(r, spec, &r->routes, err) < 0))
		goto out;
	if (!plan_empty(r) || r->o->dry_run) {
		json_t *ev = plan_event(r);

		json_object_set_new(ev, "dry_run", json_boolean(r->o->dry_run));
		emit(r, ev);
	}
	if (r->o->dry_run) {
		rc = 0;
		goto out;
	}
	paas_utc_now(when, sizeof(when));
	if (same) {
		rec = json_deep_copy(currec);
		previous = json_integer_value(json_object_get(rec, "previous"));
		emit(r, json_pack("{s:s, s:I}", "event", "resume", "release", (json_int_t)cur));
	} else {
		if (images_from)
			json_object_update_missing(images, (json_t *)images_from);
		previous = cur;
		rec = json_pack("{s:I, s:s, s:O, s:O, s:s?, s:s, s:s, s:s}", "release",
		    (json_int_t)r->release, "kind", kind, "spec", spec, "images", images,
		    "git", r->o->git, "time", when, "user", r->user,
		    "status", "ok");
		json_object_set_new(rec, "previous", previous ? json_integer(previous) : json_null());
		json_object_set_new(rec, "from", from ? json_integer(from) : json_null());
		if (set_current(r, r->release, rec, mod, err) < 0)
			goto out;
		emit(r, json_pack("{s:s, s:I, s:s}", "event", "release", "release",
		    (json_int_t)r->release, "kind", kind));
	}
	if (rollout(r, err) == 0 && sync_routes(r, r->routes, err) == 0) {
		emit(r, json_pack("{s:s, s:I, s:i, s:i, s:I}", "event", "done", "release",
		    (json_int_t)r->release, "started", r->started, "stopped", r->stopped,
		    "ms", (json_int_t)(paas_now_ms() - r->t0)));
		rc = 0;
		goto out;
	}
	if (r->failed == NULL)
		goto out;
	{
		char *logs = report_unhealthy(r), outcome[512], *what = paas_xstrdup(err->msg);

		if (strcmp(failure_action(r), "pause") == 0)
			snprintf(outcome, sizeof(outcome), "rollout of release %" PRId64 " paused "
			    "(failure_action: pause)", r->release);
		else
			roll_back(r, r->release, rec, previous, outcome, sizeof(outcome));
		paas_err_set(err, PAAS_EFAILED, "%s; %s%s", what, outcome, logs);
		free(what);
		free(logs);
	}
out:
	json_decref(images);
	json_decref(rec);
	return rc;
}

/* Converge spec under the lock; NULL: the current release's own spec (a
 * resumed rollout; with no release, nothing to do). */
static int
apply_spec(const struct paas_deploy_opts *o, const json_t *spec, struct paas_err *err)
{
	struct run r;
	json_t *currec = NULL;
	int64_t cur, mod;
	int rc = -1;

	if (begin(&r, o, err) < 0 || current_release(&r, &cur, &currec, &mod, err) < 0)
		goto out;
	if (spec == NULL && currec == NULL) {
		emit(&r, json_pack("{s:s, s:I}", "event", "unchanged", "release", (json_int_t)0));
		rc = 0;
		goto out;
	}
	rc = release_and_converge(&r, spec ? spec : json_object_get(currec, "spec"), "deploy", 0,
	    NULL, cur, currec, mod, err);
out:
	json_decref(currec);
	run_free(&r);
	return rc;
}

int
paas_deploy_apply(const struct paas_deploy_opts *o, const json_t *spec,
    struct paas_err *err)
{
	return apply_spec(o, spec, err);
}

int
paas_deploy_repair(const struct paas_deploy_opts *o, struct paas_err *err)
{
	return apply_spec(o, NULL, err);
}

int
paas_deploy_rollback(const struct paas_deploy_opts *o, int64_t n, struct paas_err *err)
{
	struct run r;
	json_t *currec = NULL, *target = NULL;
	int64_t cur, mod, i;
	int rc = -1;

	if (begin(&r, o, err) < 0 || current_release(&r, &cur, &currec, &mod, err) < 0)
		goto out;
	if (cur == 0) {
		paas_err_set(err, PAAS_EFAILED, "deployment %s has no current release", o->deployment);
		goto out;
	}
	for (i = n ? n : cur - 1; i > 0; i--) {
		if (read_release(&r, i, &target, err) < 0)
			goto out;
		if (n || (target && strcmp(json_string_value(json_object_get(target, "status")) ?
		    json_string_value(json_object_get(target, "status")) : "", "failed") != 0))
			break;
		json_decref(target);
		target = NULL;
	}
	if (target == NULL) {
		if (n)
			paas_err_set(err, PAAS_EFAILED, "deployment %s has no release %" PRId64,
			    o->deployment, n);
		else
			paas_err_set(err, PAAS_EFAILED, "deployment %s has no release before %" PRId64
			    " to roll back to", o->deployment, cur);
		goto out;
	}
	/* Never "the same spec as now": a rollback is a release of its own. */
	json_decref(currec);
	currec = NULL;
	rc = release_and_converge(&r, json_object_get(target, "spec"), "rollback", i,
	    json_object_get(target, "images"), cur, NULL, mod, err);
out:
	json_decref(currec);
	json_decref(target);
	run_free(&r);
	return rc;
}

int
paas_deploy_scale(const struct paas_deploy_opts *o, const json_t *counts,
    struct paas_err *err)
{
	struct run r;
	json_t *currec = NULL, *spec = NULL, *v;
	int64_t cur, mod;
	const char *k;
	int rc = -1;

	if (begin(&r, o, err) < 0 || current_release(&r, &cur, &currec, &mod, err) < 0)
		goto out;
	if (cur == 0) {
		paas_err_set(err, PAAS_EFAILED, "deployment %s has no release: deploy a Servicefile first",
		    o->deployment);
		goto out;
	}
	spec = json_deep_copy(json_object_get(currec, "spec"));
	json_object_foreach((json_t *)counts, k, v) {
		json_t *svc = json_object_get(json_object_get(spec, "services"), k);

		if (svc == NULL) {
			paas_err_set(err, PAAS_EINVAL, "deployment %s has no service %s", o->deployment, k);
			goto out;
		}
		if (json_is_true(json_object_get(svc, "global"))) {
			paas_err_set(err, PAAS_EINVAL, "service %s is global (one per host): it cannot be "
			    "scaled", k);
			goto out;
		}
		json_object_set(svc, "instances", v);
	}
	rc = release_and_converge(&r, spec, "scale", 0, json_object_get(currec, "images"), cur,
	    currec, mod, err);
out:
	json_decref(spec);
	json_decref(currec);
	run_free(&r);
	return rc;
}

int
paas_deploy_destroy(const struct paas_deploy_opts *o, struct paas_err *err)
{
	struct run r;
	json_t *empty = json_pack("{s:{}}", "services");
	char *k1 = NULL, *k2 = NULL, *k3 = NULL;
	int rc = -1;
	size_t i;

	if (begin(&r, o, err) < 0 || observe(&r, err) < 0)
		goto out;
	r.spec = empty;
	if (plan(&r, err) < 0)
		goto out;
	emit(&r, plan_event(&r));
	if (o->dry_run) {
		rc = 0;
		goto out;
	}
	for (i = 0; i < r.nctrs; i++)
		if (remove_ctr(&r, &r.ctrs[i], 0, err) < 0)
			goto out;
	if (sync_routes(&r, NULL, err) < 0)
		goto out;
	k1 = instance_key(o->deployment, NULL, NULL);
	if (asprintf(&k2, PAAS_PREFIX "announce/%s/", o->deployment) < 0 ||
	    asprintf(&k3, PAAS_PREFIX "deployments/%s/", o->deployment) < 0)
		abort();
	if (paas_etcd_delete(r.e, k1, 1, NULL, err) < 0 ||
	    paas_etcd_delete(r.e, k2, 1, NULL, err) < 0 ||
	    paas_etcd_delete(r.e, k3, 1, NULL, err) < 0)
		goto out;
	emit(&r, json_pack("{s:s, s:i, s:I}", "event", "destroyed", "stopped", r.stopped,
	    "ms", (json_int_t)(paas_now_ms() - r.t0)));
	rc = 0;
out:
	free(k1);
	free(k2);
	free(k3);
	json_decref(empty);
	run_free(&r);
	return rc;
}

static int
cmp_release(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "release"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "release"));

	return (x > y) - (x < y);
}

int
paas_deploy_history(const char *etcd, const char *deployment, json_t **releases,
    struct paas_err *err)
{
	struct paas_deploy_opts o = { 0 };
	struct run r;
	struct paas_kv_list l;
	json_t *currec = NULL, **v = NULL;
	int64_t cur, mod;
	char *prefix = NULL;
	size_t i, n = 0;
	int rc = -1;

	*releases = NULL;
	o.etcd = etcd;
	o.deployment = deployment;
	memset(&r, 0, sizeof(r));
	r.o = &o;
	if (!paas_valid_name(deployment)) {
		paas_err_set(err, PAAS_EINVAL, "invalid deployment name '%.64s'", deployment);
		goto out;
	}
	if ((r.e = paas_etcd_new(etcd, NULL, err)) == NULL ||
	    current_release(&r, &cur, &currec, &mod, err) < 0)
		goto out;
	prefix = dep_key(deployment, "releases/");
	if (paas_etcd_range(r.e, prefix, 0, 0, &l, err) < 0)
		goto out;
	v = paas_xmalloc((l.n ? l.n : 1) * sizeof(*v));
	for (i = 0; i < l.n; i++) {
		json_t *x = json_loadb(l.kvs[i].value, l.kvs[i].value_len, 0, NULL);

		if (!json_is_object(x)) {
			json_decref(x);
			continue;
		}
		json_object_del(x, "spec");
		json_object_set_new(x, "current", json_boolean(json_integer_value(
		    json_object_get(x, "release")) == cur));
		v[n++] = x;
	}
	paas_kv_list_free(&l);
	qsort(v, n, sizeof(*v), cmp_release);
	*releases = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(*releases, v[i]);
	rc = 0;
out:
	free(v);
	free(prefix);
	json_decref(currec);
	paas_etcd_free(r.e);
	return rc;
}

static void
text_list(struct paas_buf *b, const json_t *a, const char *verb)
{
	const json_t *x;
	size_t i;

	if (json_array_size(a) == 0)
		return;
	paas_buf_addf(b, "\n  %s:", verb);
	json_array_foreach(a, i, x)
		paas_buf_addf(b, " %s.%s@%s", json_string_value(json_object_get(x, "service")),
		    json_string_value(json_object_get(x, "instance")),
		    json_string_value(json_object_get(x, "host")));
}

void
paas_deploy_print_event(const json_t *ev, void *arg)
{
	const char *e = json_string_value(json_object_get(ev, "event"));
	const char *svc = json_string_value(json_object_get(ev, "service"));
	const char *inst = json_string_value(json_object_get(ev, "instance"));
	const char *host = json_string_value(json_object_get(ev, "host"));
	long long rel = json_integer_value(json_object_get(ev, "release"));
	struct paas_buf b = PAAS_BUF_INIT;

	if (!*(const int *)arg) {
		paas_out_json(ev);
		fflush(stdout);
		return;
	}
	if (!strcmp(e, "unchanged"))
		paas_buf_adds(&b, "No changes.");
	else if (!strcmp(e, "lock"))
		paas_buf_addf(&b, "locked %s as %s", json_string_value(json_object_get(ev, "deployment")),
		    json_string_value(json_object_get(ev, "holder")));
	else if (!strcmp(e, "plan")) {
		paas_buf_addf(&b, "%splan for release %lld: start %zu, stop %zu",
		    json_is_true(json_object_get(ev, "dry_run")) ? "dry run: " : "", rel,
		    json_array_size(json_object_get(ev, "start")),
		    json_array_size(json_object_get(ev, "stop")));
		text_list(&b, json_object_get(ev, "start"), "start");
		text_list(&b, json_object_get(ev, "stop"), "stop ");
	} else if (!strcmp(e, "release"))
		paas_buf_addf(&b, "release %lld (%s)", rel, json_string_value(json_object_get(ev, "kind")));
	else if (!strcmp(e, "resume"))
		paas_buf_addf(&b, "release %lld is current: finishing its rollout", rel);
	else if (!strcmp(e, "start"))
		paas_buf_addf(&b, "%s.%s  started on %s as %s", svc, inst, host,
		    json_string_value(json_object_get(ev, "container")));
	else if (!strcmp(e, "healthy"))
		paas_buf_addf(&b, "%s.%s  healthy after %.1f s", svc, inst,
		    json_integer_value(json_object_get(ev, "ms")) / 1000.0);
	else if (!strcmp(e, "unhealthy"))
		paas_buf_addf(&b, "%s.%s  NOT healthy: %s", svc, inst,
		    json_string_value(json_object_get(ev, "error")));
	else if (!strcmp(e, "stop"))
		paas_buf_addf(&b, "%s.%s  stopped %s on %s", svc, inst,
		    json_string_value(json_object_get(ev, "container")), host);
	else if (!strcmp(e, "rollback"))
		paas_buf_addf(&b, "rolling back from release %lld to %lld",
		    (long long)json_integer_value(json_object_get(ev, "from")),
		    (long long)json_integer_value(json_object_get(ev, "to")));
	else if (!strcmp(e, "done"))
		paas_buf_addf(&b, "release %lld done in %.1f s: %lld started, %lld stopped", rel,
		    json_integer_value(json_object_get(ev, "ms")) / 1000.0,
		    (long long)json_integer_value(json_object_get(ev, "started")),
		    (long long)json_integer_value(json_object_get(ev, "stopped")));
	else if (!strcmp(e, "announced"))
		paas_buf_addf(&b, "%s.%s  announced by the agent on %s", svc, inst, host);
	else if (!strcmp(e, "served"))
		paas_buf_addf(&b, "         %s: %lld router(s) serve revision %lld after %.2f s",
		    json_string_value(json_object_get(ev, "what")),
		    (long long)json_integer_value(json_object_get(ev, "routers")),
		    (long long)json_integer_value(json_object_get(ev, "revision")),
		    json_integer_value(json_object_get(ev, "ms")) / 1000.0);
	else if (!strcmp(e, "withdrawn"))
		paas_buf_addf(&b, "%s.%s  withdrawn from the routers, draining", svc, inst);
	else if (!strcmp(e, "routes")) {
		const json_t *x;
		size_t i;

		paas_buf_adds(&b, "routes:");
		json_array_foreach(json_object_get(ev, "set"), i, x)
			paas_buf_addf(&b, " +%s", json_string_value(x));
		json_array_foreach(json_object_get(ev, "removed"), i, x)
			paas_buf_addf(&b, " -%s", json_string_value(x));
	} else if (!strcmp(e, "warning"))
		paas_buf_addf(&b, "warning: %s", json_string_value(json_object_get(ev, "message")));
	else if (!strcmp(e, "destroyed"))
		paas_buf_addf(&b, "destroyed %s: %lld containers removed",
		    json_string_value(json_object_get(ev, "deployment")),
		    (long long)json_integer_value(json_object_get(ev, "stopped")));
	else
		paas_buf_adds(&b, e);
	printf("%s\n", b.data);
	fflush(stdout);
	paas_buf_free(&b);
}
