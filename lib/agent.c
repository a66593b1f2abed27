#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "buf.h"
#include "clock.h"
#include "docker.h"
#include "etcd.h"
#include "fleet.h"
#include "health.h"
#include "hosts.h"
#include "jobs.h"
#include "jsonx.h"
#include "keys.h"
#include "labels.h"
#include "lease.h"
#include "record.h"
#include "valid.h"

#define FIRST_PROBE_MS	20	/* until an instance first passes: it is waited for */
#define MAX_PARALLEL	64	/* probes at once */

struct inst {
	char *cid, *key, *dep, *svc, *id, *version;
	char *aid;			/* announced as: its fleet unit, else cid */
	int64_t release;
	json_t *ports;			/* {"8000": 30001} */
	json_t *port;			/* host port of the service's first port, or null */
	json_t *health;			/* the service's check, or NULL */
	int healthy, ever, fails, drained, seen;
	long long next_probe;
	char *announced;		/* the value in etcd; NULL: not there */
	int probe_rc;
	struct paas_err last;
};

struct agent {
	const struct paas_agent_opts *o;
	struct paas_etcd *e;
	json_t *hosts, *host;
	char *addr;
	struct paas_docker *d;
	json_t *services;		/* "DEP/N/SVC" -> service object or null */
	struct inst **v;
	size_t n;
	struct paas_lease lease;
	int docker_down;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int dirty;
	json_t *dead;			/* {ID: true}: died, whatever the list says */
	struct paas_jobs *jobs;		/* the host's share of the jobs */
};

#define say(a, ...)	paas_logf((a)->o->log, (a)->o->arg, __VA_ARGS__)

static void
inst_free(struct inst *i)
{
	free(i->cid);
	free(i->aid);
	free(i->key);
	free(i->dep);
	free(i->svc);
	free(i->id);
	free(i->version);
	json_decref(i->ports);
	json_decref(i->port);
	json_decref(i->health);
	free(i->announced);
	free(i);
}

/* The service as its release recorded it, cached (releases do not change
 * what they run): *out NULL when the release has no such service.  -1 when
 * etcd cannot be asked: the caller tries again later. */
static int
service_of(struct agent *a, const char *dep, int64_t release, const char *svc,
    const json_t **out)
{
	char key[512], *ek;
	struct paas_kv kv;
	struct paas_err err = PAAS_ERR_INIT;
	const json_t *cached;
	json_t *rec, *s = NULL;
	int found;

	*out = NULL;
	snprintf(key, sizeof(key), "%s/%" PRId64 "/%s", dep, release, svc);
	if ((cached = json_object_get(a->services, key)) != NULL) {
		*out = json_is_null(cached) ? NULL : cached;
		return 0;
	}
	ek = paas_key_release(dep, release);
	if (paas_etcd_get(a->e, ek, &kv, &found, NULL, &err) < 0) {
		free(ek);
		return -1;		/* not cached: asked again next time */
	}
	free(ek);
	if (found) {
		rec = json_loadb(kv.value, kv.value_len, 0, NULL);
		s = json_object_get(json_object_get(json_object_get(rec, "spec"), "services"), svc);
		if (json_is_object(s))
			json_incref(s);
		else
			s = NULL;
		json_decref(rec);
	}
	paas_kv_clear(&kv);
	json_object_set_new(a->services, key, s ? s : json_null());
	*out = s;
	return 0;
}

static struct inst *
inst_new(struct agent *a, const json_t *c)
{
	const json_t *labels = json_object_get(c, "Labels"), *p, *svc;
	const char *cid = json_string_value(json_object_get(c, "Id"));
	struct paas_labels l;
	const char *dep, *sname, *id, *ver, *rel, *unit;
	struct inst *i;
	size_t k;
	char pk[16];

	paas_labels_read(labels, &l);
	dep = l.deployment;
	sname = l.service;
	id = l.instance;
	ver = l.version;
	rel = l.release;
	unit = l.unit;
	if (!cid || strlen(cid) < 12 || !dep || !paas_valid_name(dep) || !sname ||
	    !paas_valid_name(sname) || !id || !paas_valid_label(id) || !ver ||
	    !paas_valid_label(ver) || !rel || atoll(rel) <= 0)
		return NULL;
	/* Without its check an instance would be announced healthy unchecked. */
	if (service_of(a, dep, atoll(rel), sname, &svc) < 0)
		return NULL;
	i = calloc(1, sizeof(*i));
	if (i == NULL)
		abort();
	i->cid = paas_xstrdup(cid);
	/* A fleet unit's container is announced under the unit's name: the
	 * name paas-deploy knows it by, wherever fleet runs it. */
	i->aid = paas_xstrdup(unit && paas_fleet_valid_unit(unit) ? unit : cid);
	i->dep = paas_xstrdup(dep);
	i->svc = paas_xstrdup(sname);
	i->id = paas_xstrdup(id);
	i->version = paas_xstrdup(ver);
	i->release = atoll(rel);
	i->key = paas_key_announce(dep, sname, id, i->aid);
	i->ports = json_object();
	json_array_foreach(json_object_get(c, "Ports"), k, p) {
		json_int_t pub = json_integer_value(json_object_get(p, "PublicPort"));
		const char *type = json_string_value(json_object_get(p, "Type"));

		if (pub > 0 && type && strcmp(type, "tcp") == 0) {
			snprintf(pk, sizeof(pk), "%lld",
			    (long long)json_integer_value(json_object_get(p, "PrivatePort")));
			json_object_set_new(i->ports, pk, json_integer(pub));
		}
	}
	if (svc && json_array_size(json_object_get(svc, "ports"))) {
		snprintf(pk, sizeof(pk), "%lld",
		    (long long)json_integer_value(json_array_get(json_object_get(svc, "ports"), 0)));
		p = json_object_get(i->ports, pk);
		i->port = p ? json_incref((json_t *)p) : json_null();
	} else {
		/* Unknown release: the lowest published port. */
		size_t n;
		const char **keys = paas_json_keys(i->ports, &n);
		long best = 0;

		for (k = 0; k < n; k++)
			if (best == 0 || atol(keys[k]) < best)
				best = atol(keys[k]);
		free(keys);
		snprintf(pk, sizeof(pk), "%ld", best);
		p = json_object_get(i->ports, pk);
		i->port = p ? json_incref((json_t *)p) : json_null();
	}
	if (svc && json_is_object(json_object_get(svc, "health")))
		i->health = json_incref(json_object_get(svc, "health"));
	else
		i->healthy = i->ever = 1;	/* running is all it promises */
	i->next_probe = paas_now_ms();
	return i;
}

static struct inst *
find(struct agent *a, const char *cid)
{
	size_t k;

	for (k = 0; k < a->n; k++)
		if (strcmp(a->v[k]->cid, cid) == 0)
			return a->v[k];
	return NULL;
}

static void
withdraw(struct agent *a, struct inst *i)
{
	struct paas_err err = PAAS_ERR_INIT;

	if (i->announced && paas_etcd_delete(a->e, i->key, 0, NULL, &err) < 0)
		say(a, "cannot withdraw %s: %s", i->key, err.msg);
}

/* Instances whose container died: withdrawn at once, before the list. */
static void
reap_dead(struct agent *a)
{
	size_t k, j;

	pthread_mutex_lock(&a->mu);
	for (k = j = 0; k < a->n; k++) {
		if (!json_object_get(a->dead, a->v[k]->cid)) {
			a->v[j++] = a->v[k];
			continue;
		}
		pthread_mutex_unlock(&a->mu);
		withdraw(a, a->v[k]);
		if (a->v[k]->announced)
			say(a, "withdrew %s (container died)", a->v[k]->key);
		inst_free(a->v[k]);
		pthread_mutex_lock(&a->mu);
	}
	a->n = j;
	pthread_mutex_unlock(&a->mu);
}

/* The host's running containers of ours, against what we know. */
static void
reconcile(struct agent *a)
{
	static const char *const labels[] = { PAAS_LABEL_DEPLOYMENT, NULL };
	struct paas_err err = PAAS_ERR_INIT;
	json_t *list, *c, *dead;
	size_t k, j;

	if (paas_docker_containers(a->d, labels, 0, &list, &err) < 0) {
		if (!a->docker_down)
			say(a, "docker: %s; keeping what is announced, health checks go on", err.msg);
		a->docker_down = 1;
		return;
	}
	if (a->docker_down)
		say(a, "docker answers again");
	a->docker_down = 0;
	for (k = 0; k < a->n; k++)
		a->v[k]->seen = 0;
	pthread_mutex_lock(&a->mu);
	dead = json_deep_copy(a->dead);
	pthread_mutex_unlock(&a->mu);
	json_array_foreach(list, k, c) {
		const char *cid = json_string_value(json_object_get(c, "Id"));
		const char *state = json_string_value(json_object_get(c, "State"));
		struct inst *i;

		if (cid == NULL || state == NULL || strcmp(state, "running") != 0)
			continue;
		if (json_object_get(dead, cid)) {
			json_object_set_new(dead, cid, json_false());	/* still listed */
			continue;
		}
		if ((i = find(a, cid)) == NULL) {
			if ((i = inst_new(a, c)) == NULL)
				continue;
			a->v = paas_xrealloc(a->v, (a->n + 1) * sizeof(*a->v));
			a->v[a->n++] = i;
		}
		i->seen = 1;
	}
	json_decref(list);
	/* Died and no longer listed as running: nothing to remember. */
	{
		const char *cid;
		json_t *v;

		pthread_mutex_lock(&a->mu);
		json_object_foreach(dead, cid, v)
			if (json_is_true(v))
				json_object_del(a->dead, cid);
		pthread_mutex_unlock(&a->mu);
		json_decref(dead);
	}
	for (k = j = 0; k < a->n; k++) {
		if (a->v[k]->seen) {
			a->v[j++] = a->v[k];
			continue;
		}
		withdraw(a, a->v[k]);
		if (a->v[k]->announced)
			say(a, "withdrew %s (container gone)", a->v[k]->key);
		inst_free(a->v[k]);
	}
	a->n = j;
}

struct probe {
	struct agent *a;
	struct inst *i;
	pthread_t t;
};

static void *
probe_one(void *arg)
{
	struct probe *p = arg;
	struct inst *i = p->i;
	const json_t *h = i->health;
	char pk[16];
	int port;

	snprintf(pk, sizeof(pk), "%lld", (long long)json_integer_value(json_object_get(h, "port")));
	port = (int)json_integer_value(json_object_get(i->ports, pk));
	paas_err_clear(&i->last);
	if (port <= 0)
		i->probe_rc = paas_err_set(&i->last, PAAS_EFAILED, "port %s is not published", pk);
	else
		i->probe_rc = paas_health_probe(p->a->addr, port, h,
		    json_integer_value(json_object_get(h, "timeout_ms")), &i->last);
	return NULL;
}

static void
probe_due(struct agent *a)
{
	struct probe *jobs = paas_xmalloc((a->n ? a->n : 1) * sizeof(*jobs));
	size_t k, nj = 0, s;
	long long now = paas_now_ms();

	for (k = 0; k < a->n; k++)
		if (a->v[k]->health && !a->v[k]->drained && now >= a->v[k]->next_probe) {
			jobs[nj].a = a;
			jobs[nj].i = a->v[k];
			nj++;
		}
	for (s = 0; s < nj; s += MAX_PARALLEL) {
		size_t e = s + MAX_PARALLEL < nj ? s + MAX_PARALLEL : nj;

		for (k = s; k < e; k++)
			if (pthread_create(&jobs[k].t, NULL, probe_one, &jobs[k]) != 0)
				probe_one(&jobs[k]), jobs[k].t = 0;
		for (k = s; k < e; k++)
			if (jobs[k].t)
				pthread_join(jobs[k].t, NULL);
	}
	now = paas_now_ms();
	for (k = 0; k < nj; k++) {
		struct inst *i = jobs[k].i;
		long long every = json_integer_value(json_object_get(i->health, "interval_ms"));
		long long retries = json_integer_value(json_object_get(i->health, "retries"));

		if (i->probe_rc == 0) {
			if (!i->healthy)
				say(a, "%s.%s.%s healthy", i->dep, i->svc, i->id);
			i->fails = 0;
			i->healthy = i->ever = 1;
		} else if (++i->fails >= (retries > 0 ? retries : 1) && i->healthy) {
			i->healthy = 0;
			say(a, "%s.%s.%s unhealthy: %s", i->dep, i->svc, i->id, i->last.msg);
		}
		if (every <= 0)
			every = 1000;
		i->next_probe = now + (i->ever ? every : (every < FIRST_PROBE_MS ? every : FIRST_PROBE_MS));
	}
	free(jobs);
}

static char *
value_of(struct agent *a, const struct inst *i)
{
	json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:O, s:s, s:I, s:b}",
	    "deployment", i->dep, "service", i->svc, "instance", i->id, "container", i->cid,
	    "host", json_string_value(json_object_get(a->host, "name")), "address", a->addr,
	    "port", i->port, "ports", i->ports, "version", i->version,
	    "release", (json_int_t)i->release, "healthy", i->healthy);
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(v);
	return s;
}

/* Write what changed; a container being drained is not written again. */
/*
 * A container the cluster no longer wants: its instance's record names
 * another container of the same version on another host whose agent is
 * alive.  That is what a host brings back after `check --repair` placed
 * its instances elsewhere; during a rollout the new container has another
 * version, and a replacement for a host that is down finds no agent there.
 */
static int
surplus(struct agent *a, const struct inst *i, char **why)
{
	struct paas_err err = PAAS_ERR_INIT;
	char *key = paas_key_instance(i->dep, i->svc, i->id), *akey = NULL;
	const char *me = json_string_value(json_object_get(a->host, "name"));
	const char *rid, *rhost, *rver;
	struct paas_kv kv;
	json_t *rec = NULL;
	int found = 0, alive = 0;

	*why = NULL;
	if (paas_etcd_get(a->e, key, &kv, &found, NULL, &err) < 0 || !found)
		goto out;
	paas_record_parse(key, kv.value, kv.value_len, &rec, &err);
	paas_kv_clear(&kv);
	rid = json_string_value(json_object_get(rec, "id"));
	rhost = json_string_value(json_object_get(rec, "host"));
	rver = json_string_value(json_object_get(rec, "version"));
	if (rec == NULL || strcmp(rid, i->aid) == 0 || strcmp(rhost, me) == 0 ||
	    strcmp(rver, i->version) != 0)
		goto out;
	akey = paas_key_agent(rhost);
	if (paas_etcd_get(a->e, akey, &kv, &alive, NULL, &err) == 0 && alive) {
		paas_kv_clear(&kv);
		if (asprintf(why, "%s names container %.12s on host %s, whose agent runs", key, rid,
		    rhost) < 0)
			abort();
	}
out:
	json_decref(rec);
	free(akey);
	free(key);
	return *why != NULL;
}

static void
announce(struct agent *a)
{
	size_t k;

	if (a->lease.id == 0)
		return;
	for (k = 0; k < a->n; k++) {
		struct inst *i = a->v[k];
		struct paas_err err = PAAS_ERR_INIT;
		char *drain, *val;
		int ok, rc;

		if (i->drained)
			continue;
		val = value_of(a, i);
		if (i->announced && strcmp(i->announced, val) == 0) {
			free(val);
			continue;
		}
		if (i->announced == NULL) {
			char *why;

			if (surplus(a, i, &why)) {
				struct paas_err e2 = PAAS_ERR_INIT;

				say(a, "%s.%s.%s (container %.12s) is surplus: %s; not announced, removed",
				    i->dep, i->svc, i->id, i->cid, why);
				i->drained = 1;
				if (paas_docker_remove(a->d, i->cid, 1, &e2) < 0)
					say(a, "cannot remove %.12s: %s", i->cid, e2.msg);
				free(why);
				free(val);
				continue;
			}
		}
		drain = paas_key_drain(i->aid);
		{
			struct paas_cmp cmp = { drain, PAAS_CMP_VERSION, PAAS_CMP_EQUAL, 0, NULL, 0 };
			struct paas_op put = { PAAS_OP_PUT, i->key, val, strlen(val), a->lease.id };
			struct paas_op del = { PAAS_OP_DELETE, i->key, NULL, 0, 0 };

			rc = paas_etcd_txn(a->e, &cmp, 1, &put, 1, &del, 1, &ok, NULL, &err);
		}
		free(drain);
		if (rc < 0) {
			say(a, "cannot announce %s: %s", i->key, err.msg);
			free(val);
			return;		/* etcd trouble: the keepalive sorts it out */
		}
		if (!ok) {
			i->drained = 1;
			free(i->announced);
			i->announced = NULL;
			free(val);
			say(a, "%s.%s.%s is being drained by a deploy: not announced", i->dep, i->svc,
			    i->id);
			continue;
		}
		if (i->announced == NULL)
			say(a, "announced %s (%s)", i->key, i->healthy ? "healthy" : "not healthy yet");
		free(i->announced);
		i->announced = val;
	}
}

/* etcd against what we believe: a key of this host we do not want goes,
 * one that is missing or different is written again. */
static void
sync_keys(struct agent *a)
{
	struct paas_err err = PAAS_ERR_INIT;
	const char *me = json_string_value(json_object_get(a->host, "name"));
	struct paas_kv_list l;
	size_t k, j;

	if (a->lease.id == 0 || paas_etcd_range(a->e, PAAS_ANNOUNCE_PREFIX, 0, 0, &l, &err) < 0)
		return;
	for (k = 0; k < a->n; k++)
		a->v[k]->seen = 0;
	for (k = 0; k < l.n; k++) {
		json_t *v = json_loadb(l.kvs[k].value, l.kvs[k].value_len, 0, NULL);
		const char *h = json_string_value(json_object_get(v, "host"));
		struct inst *i = NULL;

		if (h && strcmp(h, me) == 0) {
			for (j = 0; j < a->n; j++)
				if (strcmp(a->v[j]->key, l.kvs[k].key) == 0)
					i = a->v[j];
			if (i == NULL) {
				paas_err_clear(&err);
				paas_etcd_delete(a->e, l.kvs[k].key, 0, NULL, &err);
			} else {
				i->seen = 1;
				if (i->announced == NULL || l.kvs[k].lease != a->lease.id ||
				    l.kvs[k].value_len != strlen(i->announced) ||
				    memcmp(l.kvs[k].value, i->announced, l.kvs[k].value_len)) {
					free(i->announced);
					i->announced = NULL;
				}
			}
		}
		json_decref(v);
	}
	for (k = 0; k < a->n; k++)
		if (!a->v[k]->seen && a->v[k]->announced) {
			free(a->v[k]->announced);
			a->v[k]->announced = NULL;
		}
	paas_kv_list_free(&l);
}

static int
register_agent(struct agent *a, struct paas_err *err)
{
	char when[32], *key;
	json_t *v;
	size_t k;
	int rc;

	if (paas_lease_grant(&a->lease, a->e, err) < 0)
		return -1;
	paas_utc_now(when, sizeof(when));
	v = json_pack("{s:s, s:I, s:s, s:I}", "host", json_string_value(json_object_get(a->host,
	    "name")), "pid", (json_int_t)getpid(), "since", when, "ttl", (json_int_t)a->lease.ttl);
	key = paas_key_agent(json_string_value(json_object_get(a->host, "name")));
	rc = paas_etcd_put_json(a->e, key, v, a->lease.id, NULL, err);
	json_decref(v);
	free(key);
	if (rc < 0) {
		struct paas_err e2 = PAAS_ERR_INIT;

		paas_lease_revoke(&a->lease, a->e, &e2);
		return -1;
	}
	/* Everything goes again under the new lease. */
	for (k = 0; k < a->n; k++) {
		free(a->v[k]->announced);
		a->v[k]->announced = NULL;
	}
	return 0;
}

static int
on_docker_event(json_t *ev, void *arg)
{
	struct agent *a = arg;

	const char *action = json_string_value(json_object_get(ev, "Action"));
	const char *id = json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID"));

	pthread_mutex_lock(&a->mu);
	/* The container list may still call a container that just died
	 * running: the event is the word to trust. */
	if (action && id && strcmp(action, "die") == 0)
		json_object_set_new(a->dead, id, json_true());
	else if (action && id && strcmp(action, "start") == 0)
		json_object_del(a->dead, id);
	a->dirty = 1;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return *a->o->stop != 0;
}

static void *
events_thread(void *arg)
{
	static const char *const labels[] = { PAAS_LABEL_DEPLOYMENT, NULL };
	struct agent *a = arg;
	int complained = 0;

	while (!*a->o->stop) {
		struct paas_err err = PAAS_ERR_INIT;
		struct paas_docker *d = paas_host_docker_cancel(a->host, 0, a->o->stop, &err);
		int k;

		if (d) {
			/* Whatever happened while the stream was down. */
			on_docker_event(NULL, a);
			if (paas_docker_events(d, labels, 0, on_docker_event, a, &err) == 0)
				complained = 0;
			paas_docker_free(d);
		}
		if (*a->o->stop)
			break;
		if (!complained++)
			say(a, "docker events: %s; the timer keeps reconciling", err.msg);
		for (k = 0; k < 10 && !*a->o->stop; k++)
			usleep(100000);
	}
	return NULL;
}

/* The agent of a fleet machine: host FLEET-MACHINEID at the machine's
 * primary IP, asked of fleetd there (until it answers: fleetd and the
 * agent may start together). */
static int
fleet_machine_host(struct agent *a, struct paas_err *err)
{
	const char *ep = a->o->fleet_endpoint ? a->o->fleet_endpoint : "unix:///var/run/fleet.sock";
	char mid[64] = "", name[80];
	struct paas_http_opts ho = { 0 };
	struct paas_fleet *f;
	json_t *machines = NULL, *m = NULL;
	FILE *fp;
	size_t k;
	long long t0 = paas_now_ms();
	int rc = -1;

	if ((fp = fopen("/etc/machine-id", "r")) == NULL || fgets(mid, sizeof(mid), fp) == NULL) {
		if (fp)
			fclose(fp);
		return paas_err_set(err, PAAS_EINVAL, "cannot read /etc/machine-id");
	}
	fclose(fp);
	mid[strcspn(mid, "\n")] = '\0';
	snprintf(name, sizeof(name), "%s-%s", a->o->fleet, mid);
	if (strlen(mid) != 32 || !paas_valid_name(name))
		return paas_err_set(err, PAAS_EINVAL, "invalid fleet host name '%.64s' (with the "
		    "machine: %.80s)", a->o->fleet, name);
	ho.timeout_ms = 5000;
	if ((f = paas_fleet_new(ep, &ho, err)) == NULL)
		return -1;
	for (;;) {
		if (paas_fleet_machines(f, &machines, err) == 0) {
			json_array_foreach(machines, k, m)
				if (strcmp(paas_json_str(m, "id", ""), mid) == 0 &&
				    json_string_value(json_object_get(m, "primaryIP")))
					break;
			if (k < json_array_size(machines))
				break;
			json_decref(machines);
			machines = NULL;
			paas_err_set(err, PAAS_EUNAVAIL, "fleet at %s does not list machine %s", ep, mid);
		}
		if (paas_now_ms() - t0 > 60000 || *a->o->stop)
			goto out;
		paas_sleep_ms(500);
	}
	a->hosts = json_array();
	a->host = json_pack("{s:s, s:s, s:n, s:s, s:{}}", "name", name, "docker",
	    a->o->docker ? a->o->docker : PAAS_LOCAL_DOCKER, "tls", "address",
	    json_string_value(json_object_get(m, "primaryIP")), "labels");
	json_array_append_new(a->hosts, a->host);
	rc = 0;
out:
	json_decref(machines);
	paas_fleet_free(f);
	return rc;
}

int
paas_agent_run(const struct paas_agent_opts *o, struct paas_err *err)
{
	struct agent a;
	pthread_condattr_t ca;
	pthread_t evt;
	size_t k;
	long long interval = o->interval_ms > 0 ? o->interval_ms : 2000;
	long long next_list = 0, next_sync, next_grant = 0;
	int rc = -1, started = 0;

	memset(&a, 0, sizeof(a));
	a.o = o;
	paas_lease_init(&a.lease, o->ttl);
	a.services = json_object();
	a.dead = json_object();
	pthread_mutex_init(&a.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a.cv, &ca);
	if (o->fleet) {
		if ((a.e = paas_etcd_new(o->etcd, NULL, err)) == NULL ||
		    fleet_machine_host(&a, err) < 0)
			goto out;
		k = 0;
		goto found;
	}
	if (o->host == NULL || !paas_valid_name(o->host)) {
		paas_err_set(err, PAAS_EINVAL, "invalid host name '%.64s'", o->host ? o->host : "");
		goto out;
	}
	if ((a.e = paas_etcd_new(o->etcd, NULL, err)) == NULL ||
	    paas_host_list(a.e, &a.hosts, err) < 0)
		goto out;
	json_array_foreach(a.hosts, k, a.host)
		if (strcmp(json_string_value(json_object_get(a.host, "name")), o->host) == 0)
			break;
	if (k == json_array_size(a.hosts)) {
		a.host = NULL;
		paas_err_set(err, PAAS_EINVAL, "no host %s is registered (paas-cluster hosts ls)",
		    o->host);
		goto out;
	}
found:
	a.addr = paas_host_address(a.host);
	if (o->docker) {
		/* The host's own engine, reached from the host: the record's
		 * address stays the one instances are checked and served at. */
		json_t *h = json_deep_copy(a.host);

		json_object_set_new(h, "docker", json_string(o->docker));
		json_object_set_new(h, "tls", json_null());
		json_object_set_new(h, "address", json_string(a.addr));
		json_array_set_new(a.hosts, k, h);
		a.host = h;
	}
	if ((a.d = paas_host_docker(a.host, 10000, err)) == NULL)
		goto out;
	if (register_agent(&a, err) < 0)
		goto out;
	a.jobs = paas_jobs_new(json_string_value(json_object_get(a.host, "name")), o->log, o->arg);
	{
		struct paas_docker *fd = paas_host_docker(a.host, 5000, err);

		if (fd == NULL)
			goto out;
		if (paas_jobs_fence(a.jobs, fd, o->stop) < 0) {
			paas_docker_free(fd);
			paas_err_set(err, PAAS_EFAILED, "cannot start the jobs' fence");
			goto out;
		}
	}
	say(&a, "agent for host %s: lease %" PRId64 " (TTL %d s), reconciling every %lld ms",
	    json_string_value(json_object_get(a.host, "name")), a.lease.id, a.lease.ttl, interval);
	if (pthread_create(&evt, NULL, events_thread, &a) != 0) {
		paas_err_set(err, PAAS_EFAILED, "cannot start the events thread");
		goto out;
	}
	started = 1;
	next_sync = 0;
	while (!*o->stop) {
		long long now = paas_now_ms(), wake;
		struct timespec until;
		int dirty;

		pthread_mutex_lock(&a.mu);
		dirty = a.dirty;
		a.dirty = 0;
		pthread_mutex_unlock(&a.mu);
		if (dirty || now >= next_list) {
			reap_dead(&a);
			reconcile(&a);
			next_list = paas_now_ms() + interval;
		}
		probe_due(&a);
		{
			struct paas_err e2 = PAAS_ERR_INIT;

			if (paas_lease_tick(&a.lease, a.e, &e2) < 0)
				say(&a, "lost the lease: %s; announcing again once etcd answers", e2.msg);
		}
		if (a.lease.id == 0 && paas_now_ms() >= next_grant) {
			struct paas_err e2 = PAAS_ERR_INIT;

			if (register_agent(&a, &e2) == 0) {
				say(&a, "registered again: lease %" PRId64, a.lease.id);
				next_sync = 0;
			} else
				next_grant = paas_now_ms() + 1000;
		}
		if (paas_now_ms() >= next_sync) {
			sync_keys(&a);
			next_sync = paas_now_ms() + a.lease.ttl * 1000LL;
		}
		announce(&a);
		paas_jobs_tick(a.jobs, a.e, a.d, &a.lease);
		/* Sleep until the next thing is due, or an event. */
		wake = next_list < paas_lease_due(&a.lease) ? next_list : paas_lease_due(&a.lease);
		for (k = 0; k < a.n; k++)
			if (a.v[k]->health && !a.v[k]->drained && a.v[k]->next_probe < wake)
				wake = a.v[k]->next_probe;
		if (wake > paas_now_ms() + 200)
			wake = paas_now_ms() + 200;
		paas_timespec_in(CLOCK_MONOTONIC, wake - paas_now_ms(), &until);
		pthread_mutex_lock(&a.mu);
		if (!a.dirty && !*o->stop)
			pthread_cond_timedwait(&a.cv, &a.mu, &until);
		pthread_mutex_unlock(&a.mu);
	}
	rc = 0;
out:
	if (started)
		pthread_join(evt, NULL);
	if (a.lease.id) {
		struct paas_err e2 = PAAS_ERR_INIT;

		if (paas_lease_revoke(&a.lease, a.e, &e2) == 0)
			say(&a, "withdrew every announcement of host %s",
			    json_string_value(json_object_get(a.host, "name")));
		else
			say(&a, "could not revoke the lease (%s): the announcements lapse in %d s",
			    e2.msg, a.lease.ttl);
	}
	for (k = 0; k < a.n; k++)
		inst_free(a.v[k]);
	paas_jobs_free(a.jobs);
	free(a.v);
	free(a.addr);
	paas_docker_free(a.d);
	json_decref(a.hosts);
	json_decref(a.services);
	json_decref(a.dead);
	paas_etcd_free(a.e);
	pthread_mutex_destroy(&a.mu);
	pthread_cond_destroy(&a.cv);
	pthread_condattr_destroy(&ca);
	return rc;
}
