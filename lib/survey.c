#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "hosts.h"
#include "certs.h"
#include "jobs.h"
#include "keys.h"
#include "labels.h"
#include "record.h"
#include "release.h"
#include "registry.h"
#include "survey.h"
#include "docker.h"
#include "fleet.h"
#include "target.h"
#include "etcd.h"
#include "http.h"
#include "jsonx.h"

#define DEFAULT_TIMEOUT_MS	10000

static long
left(long long deadline)
{
	long long l = deadline - paas_now_ms();

	return l > 50 ? (long)l : 50;
}

static struct paas_etcd *
etcd_client(const char *endpoints, long long deadline, struct paas_err *err)
{
	struct paas_http_opts ho = { 0 };

	ho.timeout_ms = left(deadline);
	ho.connect_timeout_ms = ho.timeout_ms < 2000 ? ho.timeout_ms : 2000;
	return paas_etcd_new(endpoints, &ho, err);
}

/* The members, each asked for its status and health at once.  Returns the
 * healthy members' client URLs, comma-separated (caller frees), or NULL. */
static char *
members(struct paas_etcd *e, long long deadline, json_t *report)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_member_list ml;
	json_t *etcd = json_object_get(report, "etcd"), *ms = json_object_get(report, "members");
	struct paas_http_job *jobs;
	struct paas_buf ok = PAAS_BUF_INIT;
	uint64_t leader = 0;
	size_t i, healthy = 0;

	if (paas_etcd_members(e, &ml, &err) < 0) {
		json_object_set_new(etcd, "error", json_string(err.msg));
		return NULL;
	}
	if (ml.n == 0) {
		/* A member cut off from the others answers with an empty list. */
		json_object_set_new(etcd, "error", json_sprintf("no quorum: %s lists no members",
		    paas_http_endpoint(paas_etcd_http(e))));
		paas_member_list_free(&ml);
		return NULL;
	}
	jobs = calloc(2 * ml.n + 1, sizeof(*jobs));
	if (jobs == NULL)
		abort();
	for (i = 0; i < ml.n; i++) {
		struct paas_http_opts ho = { 0 };
		char *url = paas_xstrndup(ml.m[i].client_urls, strcspn(ml.m[i].client_urls, ","));
		int k;

		ho.timeout_ms = left(deadline);
		ho.connect_timeout_ms = ho.timeout_ms;
		for (k = 0; k < 2 && *url; k++) {
			struct paas_http_job *j = &jobs[2 * i + k];

			j->client = paas_http_new("etcd", url, &ho, &j->err);
			j->req.method = k ? "GET" : "POST";
			j->req.path = k ? "/health" : "/v3/maintenance/status";
			j->req.body = k ? NULL : "{}";
			j->req.len = k ? 0 : 2;
			j->req.idempotent = 1;
		}
		free(url);
	}
	/* A member added but not started has no client URL yet: its jobs
	 * have no client and paas_http_multi skips them. */
	paas_http_multi(jobs, 2 * ml.n, left(deadline));
	for (i = 0; i < ml.n; i++) {
		struct paas_http_job *st = &jobs[2 * i], *h = &jobs[2 * i + 1];
		json_t *m, *sj = NULL;
		char id[20];
		int good;

		snprintf(id, sizeof(id), "%" PRIx64, ml.m[i].id);
		m = json_pack("{s:s, s:s, s:s, s:s, s:b}", "id", id, "name", ml.m[i].name ?
		    ml.m[i].name : "", "client_urls", ml.m[i].client_urls ? ml.m[i].client_urls : "",
		    "peer_urls", ml.m[i].peer_urls ? ml.m[i].peer_urls : "", "learner", ml.m[i].learner);
		good = h->client && h->rc == 0 && h->resp.status == 200 && h->resp.body &&
		    strstr(h->resp.body, "\"true\"") != NULL;
		if (st->client && st->rc == 0 && st->resp.status == 200)
			sj = json_loadb(st->resp.body, st->resp.len, 0, NULL);
		if (sj) {
			const char *l = json_string_value(json_object_get(sj, "leader"));
			const char *db = json_string_value(json_object_get(sj, "dbSize"));
			const char *used = json_string_value(json_object_get(sj, "dbSizeInUse"));

			if (l && strtoull(l, NULL, 10))
				leader = strtoull(l, NULL, 10);
			json_object_set(m, "version", json_object_get(sj, "version"));
			json_object_set_new(m, "db_size", json_integer(db ? strtoll(db, NULL, 10) : 0));
			json_object_set_new(m, "db_size_in_use", json_integer(used ?
			    strtoll(used, NULL, 10) : 0));
			json_decref(sj);
		}
		json_object_set_new(m, "healthy", json_boolean(good));
		if (!good) {
			const char *why = !st->client && !h->client ? "no client URL (not started yet)" :
			    h->rc < 0 ? h->err.msg : st->rc < 0 ? st->err.msg : "health: not true";
			json_object_set_new(m, "error", json_string(why));
		} else {
			healthy++;
			if (ok.len)
				paas_buf_adds(&ok, ",");
			paas_buf_add(&ok, ml.m[i].client_urls, strcspn(ml.m[i].client_urls, ","));
		}
		json_array_append_new(ms, m);
		paas_http_resp_free(&st->resp);
		paas_http_resp_free(&h->resp);
		paas_http_free(st->client);
		paas_http_free(h->client);
	}
	for (i = 0; i < ml.n; i++) {
		char id[20];

		snprintf(id, sizeof(id), "%" PRIx64, ml.m[i].id);
		json_object_set_new(json_array_get(ms, i), "leader",
		    json_boolean(leader && ml.m[i].id == leader));
		if (leader && ml.m[i].id == leader)
			json_object_set_new(etcd, "leader_name", json_string(ml.m[i].name));
	}
	json_object_set_new(etcd, "members", json_integer((json_int_t)ml.n));
	json_object_set_new(etcd, "members_healthy", json_integer((json_int_t)healthy));
	json_object_set_new(etcd, "quorum", json_boolean(healthy > ml.n / 2));
	free(jobs);
	if (healthy <= ml.n / 2) {
		json_object_set_new(etcd, "error", json_sprintf("no quorum: %zu of %zu members "
		    "healthy", healthy, ml.n));
		paas_member_list_free(&ml);
		paas_buf_free(&ok);
		return NULL;
	}
	paas_member_list_free(&ml);
	return paas_buf_detach(&ok, NULL);
}

/* A fleet cluster registered as host h: its machines (each with an agent
 * or not), paas's units and their states; each unit of an instance
 * becomes a container as Docker would list it (paas_host, Labels, State,
 * and as Id its unit's name). */
static json_t *
fleet_host(const json_t *h, long long deadline, const json_t *agents, json_t *containers)
{
	const char *name = json_string_value(json_object_get(h, "name"));
	json_t *o = json_pack("{s:s, s:O, s:O, s:s}", "name", name, "fleet",
	    json_object_get(h, "fleet"), "labels", json_object_get(h, "labels"), "version", "fleet");
	json_t *machines = NULL, *insts = NULL, *m, *x, *ms, *us;
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_fleet *f;
	size_t i, running = 0;
	int all_agents = 1;

	if ((f = paas_host_fleet(h, left(deadline), &err)) == NULL ||
	    paas_fleet_machines(f, &machines, &err) < 0 ||
	    paas_fleet_instances(f, &insts, &err) < 0) {
		json_object_set_new(o, "reachable", json_false());
		json_object_set_new(o, "error", json_string(err.msg));
		goto out;
	}
	json_object_set_new(o, "reachable", json_true());
	ms = json_array();
	json_array_foreach(machines, i, m) {
		char an[128];
		int agent;

		snprintf(an, sizeof(an), "%s-%s", name, paas_json_str(m, "id", ""));
		agent = json_object_get(agents, an) != NULL;
		all_agents &= agent;
		json_array_append_new(ms, json_pack("{s:O, s:O, s:O, s:b}", "id", json_object_get(m,
		    "id"), "address", json_object_get(m, "primaryIP"), "metadata",
		    json_object_get(m, "metadata"), "agent", agent));
	}
	json_object_set_new(o, "machines", ms);
	us = json_array();
	json_array_foreach(insts, i, x) {
		const char *state = paas_json_str(x, "state", "");

		running += strcmp(state, "active") == 0;
		json_array_append_new(us, json_pack("{s:O, s:O, s:s, s:O}", "name",
		    json_object_get(x, "id"), "desired", json_object_get(x, "desired"), "state", state,
		    "machine", json_object_get(x, "machine")));
		/* As Docker would list it, with the unit's name as its ID. */
		json_array_append_new(containers, json_pack("{s:O, s:{s:O, s:O, s:O}, s:s, s:s}",
		    "Id", json_object_get(x, "id"), "Labels", PAAS_LABEL_DEPLOYMENT,
		    json_object_get(x, "deployment"), PAAS_LABEL_SERVICE, json_object_get(x, "service"),
		    PAAS_LABEL_INSTANCE, json_object_get(x, "instance"), "State",
		    strcmp(state, "active") == 0 ? "running" : state, "paas_host", name));
	}
	json_object_set_new(o, "units", us);
	json_object_set_new(o, "containers", json_integer((json_int_t)json_array_size(insts)));
	json_object_set_new(o, "containers_running", json_integer((json_int_t)running));
	json_object_set_new(o, "agent", json_boolean(all_agents && json_array_size(machines)));
out:
	json_decref(machines);
	json_decref(insts);
	paas_fleet_free(f);
	return o;
}

/* Every host asked for its version and its paas containers at once. */
static int
hosts(struct paas_etcd *e, long long deadline, json_t *report, json_t *agents,
    json_t **containers, struct paas_err *err)
{
	static const char filter[] = "{\"label\":[\"" PAAS_LABEL_DEPLOYMENT "\"]}";
	json_t *list, *h, *out = json_object_get(report, "hosts");
	struct paas_http_job *jobs;
	struct paas_docker **ds;
	char *vpath = paas_docker_path("/version"), *cpath, *esc = paas_http_escape(filter);
	size_t i, n;

	if (paas_host_list(e, &list, err) < 0) {
		free(vpath);
		free(esc);
		return -1;
	}
	{
		char *p;

		if (asprintf(&p, "/containers/json?all=1&filters=%s", esc) < 0)
			abort();
		cpath = paas_docker_path(p);
		free(p);
	}
	n = json_array_size(list);
	jobs = calloc(2 * n + 1, sizeof(*jobs));
	ds = calloc(2 * n + 1, sizeof(*ds));
	if (jobs == NULL || ds == NULL)
		abort();
	*containers = json_array();
	json_array_foreach(list, i, h) {
		int k;

		for (k = 0; k < 2; k++) {
			struct paas_http_job *j = &jobs[2 * i + k];

			if (paas_host_is_fleet(h)) {
				j->rc = -1;
				continue;
			}
			if ((ds[2 * i + k] = paas_host_docker(h, left(deadline), &j->err)) == NULL) {
				j->rc = -1;
				continue;
			}
			j->client = paas_docker_http(ds[2 * i + k]);
			j->req.method = "GET";
			j->req.path = k ? cpath : vpath;
			j->req.idempotent = 1;
		}
	}
	/* A host whose client could not be made keeps its rc and err. */
	paas_http_multi(jobs, 2 * n, left(deadline));
	json_array_foreach(list, i, h) {
		struct paas_http_job *v = &jobs[2 * i], *c = &jobs[2 * i + 1];
		const char *name = json_string_value(json_object_get(h, "name"));
		json_t *o = json_pack("{s:s, s:O, s:O, s:b}", "name", name, "docker",
		    json_object_get(h, "docker"), "labels", json_object_get(h, "labels"),
		    "agent", json_object_get(agents, name) != NULL);
		json_t *vj = NULL, *cj = NULL, *ctr;
		size_t k, running = 0;

		if (paas_host_is_fleet(h)) {
			json_decref(o);
			json_array_append_new(out, fleet_host(h, deadline, agents, *containers));
			continue;
		}
		if (v->rc == 0 && v->resp.status == 200)
			vj = json_loadb(v->resp.body, v->resp.len, 0, NULL);
		if (c->rc == 0 && c->resp.status == 200)
			cj = json_loadb(c->resp.body, c->resp.len, 0, NULL);
		if (vj && json_is_array(cj)) {
			json_object_set_new(o, "reachable", json_true());
			json_object_set(o, "version", json_object_get(vj, "Version"));
			json_array_foreach(cj, k, ctr) {
				const char *state = json_string_value(json_object_get(ctr, "State"));

				if (state && strcmp(state, "running") == 0)
					running++;
				json_object_set_new(ctr, "paas_host", json_string(name));
				json_array_append(*containers, ctr);
			}
			json_object_set_new(o, "containers", json_integer((json_int_t)json_array_size(cj)));
			json_object_set_new(o, "containers_running", json_integer((json_int_t)running));
		} else {
			const struct paas_http_job *bad = v->rc < 0 ? v : c;
			json_t *msg;

			if (bad->rc < 0)
				msg = json_string(bad->err.msg);
			else
				msg = json_sprintf("docker answered HTTP %ld", bad->resp.status);
			json_object_set_new(o, "reachable", json_false());
			json_object_set_new(o, "error", msg);
		}
		json_array_append_new(out, o);
		json_decref(vj);
		json_decref(cj);
		paas_http_resp_free(&v->resp);
		paas_http_resp_free(&c->resp);
	}
	for (i = 0; i < 2 * n; i++)
		paas_docker_free(ds[i]);
	free(ds);
	free(jobs);
	free(vpath);
	free(cpath);
	free(esc);
	json_decref(list);
	return 0;
}

/* The kvs under prefix as {KEY-after-prefix: value}; *maxmod gets the
 * highest mod revision seen (if not NULL). */
static int
read_prefix(struct paas_etcd *e, const char *prefix, json_t **out, int64_t *maxmod,
    int64_t *rev, json_t *damaged, struct paas_err *err)
{
	struct paas_kv_list l;
	size_t i;

	if (paas_etcd_range(e, prefix, 0, 0, &l, err) < 0)
		return -1;
	*out = json_object();
	for (i = 0; i < l.n; i++) {
		struct paas_err e2 = PAAS_ERR_INIT;
		json_t *v;

		if (maxmod && l.kvs[i].mod_revision > *maxmod)
			*maxmod = l.kvs[i].mod_revision;
		if (paas_record_parse(l.kvs[i].key, l.kvs[i].value, l.kvs[i].value_len, &v, &e2) < 0) {
			if (damaged)
				json_array_append_new(damaged, json_pack("{s:s, s:s}", "key",
				    l.kvs[i].key, "error", e2.msg));
			continue;
		}
		json_object_set_new(*out, l.kvs[i].key + strlen(prefix), v);
	}
	if (rev)
		*rev = l.revision;
	paas_kv_list_free(&l);
	return 0;
}

static json_t *
service_entry(json_t *svcs, const char *dep, const char *svc)
{
	char key[300];
	json_t *s;

	snprintf(key, sizeof(key), "%s/%s", dep, svc);
	if ((s = json_object_get(svcs, key)) == NULL) {
		s = json_pack("{s:s, s:s, s:n, s:i, s:i, s:i, s:i, s:[], s:b}", "deployment", dep,
		    "service", svc, "release", "instances_desired", 0, "instances_running", 0,
		    "instances_announced", 0, "instances_healthy", 0, "down_hosts", "deploying", 0);
		json_object_set_new(svcs, key, s);
	}
	return s;
}

static void
bump(json_t *o, const char *k)
{
	json_object_set_new(o, k, json_integer(json_integer_value(json_object_get(o, k)) + 1));
}

static int
deployments(struct paas_etcd *e, json_t *report, json_t *containers, json_t *announce,
    json_t *instances, struct paas_err *err)
{
	json_t *svcs = json_object(), *deps = json_object(), *hostinfo = json_object(), *v, *c;
	const char *k;
	size_t i;
	int rc = -1;

	json_array_foreach(json_object_get(report, "hosts"), i, v)
		json_object_set(hostinfo, json_string_value(json_object_get(v, "name")), v);
	/* Desired: the current release's spec; instances of global services. */
	json_object_foreach(instances, k, v) {
		char dep[128];

		if (paas_key_part(k, 0, dep, sizeof(dep)) == 0)
			json_object_set_new(deps, dep, json_true());
	}
	json_array_foreach(containers, i, c) {
		const char *dep = json_string_value(json_object_get(json_object_get(c, "Labels"),
		    PAAS_LABEL_DEPLOYMENT));

		if (dep && strlen(dep) < 128)
			json_object_set_new(deps, dep, json_true());
	}
	json_object_foreach(deps, k, v) {
		char *key;
		struct paas_kv kv = { 0 };
		struct paas_err e3 = PAAS_ERR_INIT;
		int locked = 0;
		int64_t n, mod;
		json_t *rec, *s;
		const char *sk;

		/* A damaged pointer or record is reported, not fatal: the
		 * other deployments are still surveyed. */
		if (paas_release_current(e, k, &n, &rec, &mod, &e3) < 0) {
			if (e3.status == PAAS_EUNAVAIL) {
				*err = e3;
				rc = -1;
				goto out;
			}
			key = paas_key_current(k);
			json_array_append_new(json_object_get(report, "damaged"), json_pack("{s:s, "
			    "s:s}", "key", key, "error", e3.msg));
			free(key);
			continue;
		}
		if (n <= 0)
			continue;
		/* A deploy under way runs one more for a moment. */
		key = paas_key_lock(k);
		rc = paas_etcd_get(e, key, &kv, &locked, NULL, err);
		free(key);
		if (rc < 0) {
			json_decref(rec);
			goto out;
		}
		paas_kv_clear(&kv);
		json_object_foreach(json_object_get(json_object_get(rec, "spec"), "services"), sk, s) {
			json_t *e2 = service_entry(svcs, k, sk);

			json_object_set_new(e2, "deploying", json_boolean(locked));
			json_object_set_new(e2, "release", json_integer(n));
			if (!json_is_true(json_object_get(s, "global")))
				json_object_set(e2, "instances_desired", json_object_get(s, "instances"));
			else
				json_object_set_new(e2, "global", json_true());
		}
		json_decref(rec);
	}
	rc = -1;
	json_object_foreach(instances, k, v) {
		char dep[128], svc[128];
		const char *host = json_string_value(json_object_get(v, "host"));
		json_t *s, *hi;

		if (paas_key_part(k, 0, dep, sizeof(dep)) < 0 ||
		    paas_key_part(k, 1, svc, sizeof(svc)) < 0)
			continue;
		s = service_entry(svcs, dep, svc);
		if (json_is_true(json_object_get(s, "global")))
			bump(s, "instances_desired");
		hi = host ? json_object_get(hostinfo, host) : NULL;
		if (hi && !json_is_true(json_object_get(hi, "reachable")) &&
		    !paas_json_has(json_object_get(s, "down_hosts"), host))
			json_array_append_new(json_object_get(s, "down_hosts"), json_string(host));
	}
	json_object_foreach(announce, k, v) {
		char dep[128], svc[128];
		json_t *s;

		if (paas_key_part(k, 0, dep, sizeof(dep)) < 0 ||
		    paas_key_part(k, 1, svc, sizeof(svc)) < 0)
			continue;
		s = service_entry(svcs, dep, svc);
		bump(s, "instances_announced");
	}
	json_array_foreach(containers, i, c) {
		const json_t *labels = json_object_get(c, "Labels");
		const char *dep = json_string_value(json_object_get(labels, PAAS_LABEL_DEPLOYMENT));
		const char *svc = json_string_value(json_object_get(labels, PAAS_LABEL_SERVICE));
		const char *inst = json_string_value(json_object_get(labels, PAAS_LABEL_INSTANCE));
		const char *state = json_string_value(json_object_get(c, "State"));
		const char *status = json_string_value(json_object_get(c, "Status"));
		const char *id = json_string_value(json_object_get(c, "Id"));
		const char *host = json_string_value(json_object_get(c, "paas_host"));
		json_t *s, *hi, *an;
		char akey[512];

		if (!dep || !svc || !inst || !id || !state || strcmp(state, "running") != 0 ||
		    strlen(dep) >= 128 || strlen(svc) >= 128)
			continue;
		s = service_entry(svcs, dep, svc);
		bump(s, "instances_running");
		hi = json_object_get(hostinfo, host ? host : "");
		if (json_is_true(json_object_get(hi, "agent"))) {
			const char *aid;
			int alen;

			aid = paas_announce_id(id, &alen);
			snprintf(akey, sizeof(akey), "%s/%s/%s/%.*s", dep, svc, inst, alen, aid);
			an = json_object_get(announce, akey);
			if (json_is_true(json_object_get(an, "healthy")))
				bump(s, "instances_healthy");
		} else if (status == NULL || strstr(status, "(unhealthy)") == NULL)
			bump(s, "instances_healthy");
	}
	json_object_foreach(svcs, k, v)
		json_array_append(json_object_get(report, "services"), v);
	rc = 0;
out:
	json_decref(svcs);
	json_decref(deps);
	json_decref(hostinfo);
	return rc;
}

static void
routers(json_t *report, json_t *rs, int64_t routing_rev)
{
	json_t *out = json_array(), *v;
	const char *k;

	json_object_foreach(rs, k, v) {
		json_int_t r = json_integer_value(json_object_get(v, "revision"));

		json_t *left = json_object_get(v, "left_out");

		left = json_is_array(left) ? json_incref(left) : json_array();
		json_array_append_new(out, json_pack("{s:s, s:I, s:O, s:b, s:o}", "name", k,
		    "revision", r,
		    "time", json_object_get(v, "time") ? json_object_get(v, "time") : json_null(),
		    "behind", r < routing_rev, "left_out", left));
	}
	json_object_set_new(report, "routers", out);
}

static int64_t
routing_revision(const json_t *report)
{
	return json_integer_value(json_object_get(json_object_get(report, "etcd"),
	    "routing_revision"));
}

int
paas_survey_routers(const char *etcd, long timeout_ms, json_t *report, struct paas_err *err)
{
	long long deadline = paas_now_ms() + (timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS);
	const char *ep = json_string_value(json_object_get(json_object_get(report, "etcd"),
	    "healthy_endpoints"));
	struct paas_etcd *e = etcd_client(ep ? ep : etcd, deadline, err);
	json_t *rs;

	if (e == NULL)
		return -1;
	if (read_prefix(e, PAAS_ROUTERS_PREFIX, &rs, NULL, NULL, NULL, err) < 0) {
		paas_etcd_free(e);
		return -1;
	}
	routers(report, rs, routing_revision(report));
	json_decref(rs);
	paas_etcd_free(e);
	return 0;
}

/* The cluster's registry, and whether it answers. */
/* Every deployment's jobs (jobs.h), as "jobs". */
static void
jobs(struct paas_etcd *e, json_t *report)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_kv_list l;
	json_t *all = json_array(), *one;
	size_t k;

	json_object_set_new(report, "jobs", all);
	if (paas_etcd_range(e, PAAS_DEPLOYMENTS_PREFIX, 0, 1, &l, &err) < 0)
		return;
	for (k = 0; k < l.n; k++) {
		const char *tail = paas_key_tail(l.kvs[k].key, PAAS_DEPLOYMENTS_PREFIX);
		char dep[128], part[16];

		if (paas_key_part(tail, 0, dep, sizeof(dep)) < 0 ||
		    paas_key_part(tail, 1, part, sizeof(part)) < 0 || strcmp(part, "release") ||
		    paas_key_part(tail, 2, part, sizeof(part)) == 0)
			continue;
		paas_err_clear(&err);
		if (paas_jobs_list(e, dep, NULL, &one, &err) == 0) {
			json_array_extend(all, one);
			json_decref(one);
		}
	}
	paas_kv_list_free(&l);
}

static void
registry(struct paas_etcd *e, long long deadline, json_t *report)
{
	struct paas_err err = PAAS_ERR_INIT;
	long left = (long)(deadline - paas_now_ms());
	json_t *reg = NULL, *out;

	if (paas_registry_get(e, &reg, &err) < 0) {
		json_object_set_new(report, "registry", json_pack("{s:s}", "error", err.msg));
		return;
	}
	if (reg == NULL)
		return;
	out = json_pack("{s:O, s:O, s:b}", "address", json_object_get(reg, "address"), "managed",
	    json_object_get(reg, "managed") ? json_object_get(reg, "managed") : json_false(),
	    "reachable", paas_registry_ping(reg, left > 100 ? left : 100, &err) == 0);
	if (err.status)
		json_object_set_new(out, "error", json_string(err.msg));
	json_object_set_new(report, "registry", out);
	json_decref(reg);
}

/* The report with "etcd" and "members" filled; *ok gets the healthy
 * members' client URLs, NULL without quorum. */
static json_t *
survey_etcd(const char *endpoints, long long deadline, char **ok, struct paas_err *err)
{
	json_t *report = json_pack("{s:{s:s, s:i, s:i, s:b, s:n}, s:[], s:[], s:[], s:[], s:[], "
	    "s:[]}", "etcd", "endpoints", endpoints, "members", 0, "members_healthy", 0, "quorum", 0,
	    "leader_name",
	    "members", "hosts", "services", "routes", "routers", "damaged");
	struct paas_etcd *e;

	*ok = NULL;
	if ((e = etcd_client(endpoints, deadline, err)) == NULL) {
		json_decref(report);
		return NULL;
	}
	/* An unreachable member waits out its connection: two fifths of the
	 * time (at least 1 s), so that the hosts have the rest. */
	{
		long long now = paas_now_ms(), mdl = now + (deadline - now) * 2 / 5;

		if (mdl < now + 1000)
			mdl = now + 1000 < deadline ? now + 1000 : deadline;
		*ok = members(e, mdl, report);
	}
	if (*ok != NULL)
		json_object_set_new(json_object_get(report, "etcd"), "healthy_endpoints",
		    json_string(*ok));
	paas_etcd_free(e);
	return report;
}

int
paas_survey_etcd(const struct paas_survey_opts *o, json_t **report, struct paas_err *err)
{
	long long deadline = paas_now_ms() + (o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS);
	char *ok = NULL;

	if ((*report = survey_etcd(o->etcd, deadline, &ok, err)) == NULL)
		return -1;
	free(ok);
	return 0;
}

int
paas_survey(const struct paas_survey_opts *o, json_t **out, struct paas_err *err)
{
	long long deadline = paas_now_ms() + (o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS);
	struct paas_etcd *good = NULL;
	json_t *report = NULL, *agents = NULL, *announce = NULL, *instances = NULL, *routes = NULL;
	json_t *rs = NULL, *containers = NULL, *damaged = NULL, *v;
	struct paas_err e2 = PAAS_ERR_INIT;
	int64_t rmax = 0, rev = 0;
	char *ok = NULL;
	const char *k;
	int rc = -1;

	if ((report = survey_etcd(o->etcd, deadline, &ok, err)) == NULL)
		goto out;
	if (ok == NULL) {
		rc = 0;
		goto out;
	}
	damaged = json_object_get(report, "damaged");
	/* Read from members known to be healthy, under what time is left. */
	if ((good = etcd_client(ok, deadline, &e2)) == NULL ||
	    read_prefix(good, PAAS_AGENTS_PREFIX, &agents, NULL, NULL, damaged, &e2) < 0 ||
	    read_prefix(good, PAAS_ANNOUNCE_PREFIX, &announce, &rmax, NULL, damaged, &e2) < 0 ||
	    read_prefix(good, PAAS_INSTANCES_PREFIX, &instances, NULL, NULL, damaged, &e2) < 0 ||
	    read_prefix(good, PAAS_ROUTES_PREFIX, &routes, &rmax, NULL, damaged, &e2) < 0 ||
	    read_prefix(good, PAAS_ROUTERS_PREFIX, &rs, NULL, &rev, damaged, &e2) < 0 ||
	    hosts(good, deadline, report, agents, &containers, &e2) < 0 ||
	    deployments(good, report, containers, announce, instances, &e2) < 0) {
		json_object_set_new(json_object_get(report, "etcd"), "error", json_string(e2.msg));
		rc = 0;
		goto out;
	}
	json_object_set_new(json_object_get(report, "etcd"), "revision", json_integer(rev));
	json_object_set_new(json_object_get(report, "etcd"), "routing_revision", json_integer(rmax));
	routers(report, rs, rmax);
	registry(good, deadline, report);
	jobs(good, report);
	{
		json_t *certs = NULL;

		if (paas_certs_list(good, &certs, &e2) < 0)
			certs = json_array();
		json_object_set_new(report, "certs", certs);
	}
	json_object_foreach(routes, k, v) {
		const char *dep = json_string_value(json_object_get(v, "deployment"));
		const char *svc = json_string_value(json_object_get(v, "service"));
		size_t servers = 0;
		char prefix[300];
		const char *ak;
		json_t *av;

		snprintf(prefix, sizeof(prefix), "%s/%s/", dep ? dep : "", svc ? svc : "");
		json_object_foreach(announce, ak, av)
			if (strncmp(ak, prefix, strlen(prefix)) == 0 &&
			    json_is_true(json_object_get(av, "healthy")))
				servers++;
		json_array_append_new(json_object_get(report, "routes"), json_pack("{s:s, s:s?, s:s?, "
		    "s:I}", "domain", k, "deployment", dep, "service", svc, "servers",
		    (json_int_t)servers));
	}
	rc = 0;
out:
	if (rc == 0) {
		*out = report;
		report = NULL;
	}
	json_decref(report);
	json_decref(agents);
	json_decref(announce);
	json_decref(instances);
	json_decref(routes);
	json_decref(rs);
	json_decref(containers);
	free(ok);
	paas_etcd_free(good);
	return rc;
}
