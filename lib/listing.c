/*
 * Listings for people and scripts: the deployments of the cluster, and the
 * instances of one (paas-deploy list, paas-deploy ps).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "etcd.h"
#include "hosts.h"
#include "jsonx.h"
#include "keys.h"
#include "listing.h"
#include "release.h"
#include "target.h"
#include "valid.h"

#define HOST_TIMEOUT_MS	5000

int
paas_listing_deployments(const char *etcd, json_t **out, struct paas_err *err)
{
	struct paas_etcd *e;
	struct paas_kv_list l, m;
	const char *prev = NULL;
	size_t i, j, plen = strlen(PAAS_DEPLOYMENTS_PREFIX);
	int rc = -1;

	*out = NULL;
	if ((e = paas_etcd_new(etcd, NULL, err)) == NULL)
		return -1;
	if (paas_etcd_range(e, PAAS_DEPLOYMENTS_PREFIX, 0, 1, &l, err) < 0)
		goto out;
	if (paas_etcd_range(e, PAAS_MAINTENANCE_PREFIX, 0, 1, &m, err) < 0) {
		paas_kv_list_free(&l);
		goto out;
	}
	*out = json_array();
	for (i = 0; i < l.n; i++) {
		const char *tail = l.kvs[i].key + plen;
		size_t n = strcspn(tail, "/");
		char dep[128];
		json_t *rec = NULL, *o, *svc, *counts;
		const char *k;
		int64_t cur = 0, mod, total = 0;

		if (n == 0 || n >= sizeof(dep) || (prev && strncmp(prev, tail, n) == 0 &&
		    prev[n] == '/'))
			continue;
		prev = tail;
		memcpy(dep, tail, n);
		dep[n] = '\0';
		if (!paas_valid_name(dep))
			continue;
		counts = json_object();
		/* A damaged record is named in the list, not the end of it. */
		if (paas_release_current(e, dep, &cur, &rec, &mod, err) < 0) {
			json_decref(counts);
			if (err->status == PAAS_EUNAVAIL) {
				json_decref(*out);
				*out = NULL;
				goto out_list;
			}
			json_array_append_new(*out, json_pack("{s:s, s:s, s:s}", "kind", "deployment",
			    "deployment", dep, "error", err->msg));
			paas_err_clear(err);
			continue;
		}
		if (cur == 0) {
			json_decref(counts);
			json_decref(rec);
			continue;
		}
		json_object_foreach(json_object_get(json_object_get(rec, "spec"), "services"), k, svc) {
			json_int_t c = json_is_true(json_object_get(svc, "global")) ? 1 :
			    json_integer_value(json_object_get(svc, "instances"));

			json_object_set_new(counts, k, json_integer(c));
			total += c;
		}
		o = json_pack("{s:s, s:s, s:I, s:O?, s:O?, s:O?, s:o, s:I}", "kind", "deployment",
		    "deployment", dep, "release", (json_int_t)cur,
		    "release_kind", json_object_get(rec, "kind"),
		    "time", json_object_get(rec, "time"), "user", json_object_get(rec, "user"),
		    "services", counts, "instances", (json_int_t)total);
		json_object_set_new(o, "maintenance", json_false());
		for (j = 0; j < m.n; j++)
			if (strcmp(paas_key_tail(m.kvs[j].key, PAAS_MAINTENANCE_PREFIX), dep) == 0)
				json_object_set_new(o, "maintenance", json_true());
		json_array_append_new(*out, o);
		json_decref(rec);
	}
	rc = 0;
out_list:
	paas_kv_list_free(&l);
	paas_kv_list_free(&m);
out:
	paas_etcd_free(e);
	return rc;
}

/* The last part of each announcement's key of dep (paas_announce_id:
 * 12 of a container ID, a fleet unit's VERSION8-ID-RELEASE) -> healthy. */
static json_t *
announced(struct paas_etcd *e, const char *dep, struct paas_err *err)
{
	struct paas_kv_list l;
	char *prefix = paas_key_announce(dep, NULL, NULL, NULL);
	json_t *m;
	size_t i;

	if (paas_etcd_range(e, prefix, 0, 0, &l, err) < 0) {
		free(prefix);
		return NULL;
	}
	free(prefix);
	m = json_object();
	for (i = 0; i < l.n; i++) {
		json_t *v = json_loadb(l.kvs[i].value, l.kvs[i].value_len, 0, NULL);
		const char *seg = strrchr(l.kvs[i].key, '/');

		if (seg)
			json_object_set_new(m, seg + 1,
			    json_boolean(json_is_true(json_object_get(v, "healthy"))));
		json_decref(v);
	}
	paas_kv_list_free(&l);
	return m;
}

/* By service, then instance (numbers as numbers), then host. */
static int
cmp_instance(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	const char *xs = json_string_value(json_object_get(x, "service"));
	const char *ys = json_string_value(json_object_get(y, "service"));
	const char *xi = json_string_value(json_object_get(x, "instance"));
	const char *yi = json_string_value(json_object_get(y, "instance"));
	int c = strcmp(xs ? xs : "", ys ? ys : "");

	if (c)
		return c;
	if (xi && yi && strlen(xi) != strlen(yi))
		return strlen(xi) < strlen(yi) ? -1 : 1;
	if ((c = strcmp(xi ? xi : "", yi ? yi : "")))
		return c;
	return strcmp(json_string_value(json_object_get(x, "host")),
	    json_string_value(json_object_get(y, "host")));
}

static void
sort_instances(json_t *a)
{
	size_t n = json_array_size(a), i;
	json_t **v = paas_xmalloc((n ? n : 1) * sizeof(*v));

	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(a, i));
	qsort(v, n, sizeof(*v), cmp_instance);
	json_array_clear(a);
	for (i = 0; i < n; i++)
		json_array_append_new(a, v[i]);
	free(v);
}

int
paas_listing_ps(const char *etcd, const char *dep, json_t **out, json_t **unreachable,
    struct paas_err *err)
{
	struct paas_etcd *e;
	struct paas_target *t = NULL;
	json_t *hosts = NULL, *ann = NULL, *rec = NULL, *h;
	int64_t cur = 0;
	time_t now = time(NULL);
	size_t i, j;
	int rc = -1;

	*out = *unreachable = NULL;
	if (!paas_valid_name(dep))
		return paas_err_set(err, PAAS_EINVAL, "invalid deployment name '%.64s'", dep);
	if ((e = paas_etcd_new(etcd, NULL, err)) == NULL)
		return -1;
	if (paas_release_require(e, dep, &cur, &rec, err) < 0)
		goto out;
	if (paas_host_list(e, &hosts, err) < 0 || (ann = announced(e, dep, err)) == NULL ||
	    (t = paas_target_hosts(hosts, HOST_TIMEOUT_MS, err)) == NULL)
		goto out;
	*out = json_array();
	*unreachable = json_array();
	json_array_foreach(hosts, i, h) {
		struct paas_err e2 = PAAS_ERR_INIT;
		const char *hn = json_string_value(json_object_get(h, "name"));
		char *akey = paas_key_agent(hn);
		struct paas_kv kv;
		int agent = 0;
		json_t *list, *c;

		if (paas_etcd_get(e, akey, &kv, &agent, NULL, &e2) == 0 && agent)
			paas_kv_clear(&kv);
		free(akey);
		/* A fleet host's agents are its machines' (a Global unit). */
		agent |= paas_host_is_fleet(h);
		if (t->ops->list(t, i, &list, &e2) < 0) {
			json_array_append_new(*unreachable, json_pack("{s:s, s:s, s:s}", "kind", "host",
			    "host", hn, "error", e2.msg));
			continue;
		}
		json_array_foreach(list, j, c) {
			const char *id = json_string_value(json_object_get(c, "id"));
			json_int_t created = json_integer_value(json_object_get(c, "created"));
			json_t *health, *o;
			char ts[32] = "";
			const char *aid;
			int alen;

			if (strcmp(json_string_value(json_object_get(c, "deployment")), dep))
				continue;
			if (created > 0) {
				time_t ct = (time_t)created;
				struct tm tm;

				gmtime_r(&ct, &tm);
				strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
			}
			/* Health as its host's agent announced it; null without
			 * an agent (nothing checks it from outside). */
			aid = paas_announce_id(id ? id : "", &alen);
			health = !agent ? json_null() :
			    json_boolean(json_is_true(json_object_getn(ann, aid, (size_t)alen)));
			o = json_pack("{s:s, s:s, s:O?, s:O?, s:s, s:O?, s:O?, s:b, s:o, s:O?, s:s#, s:O?}",
			    "kind", "instance", "deployment", dep, "service", json_object_get(c, "service"),
			    "instance", json_object_get(c, "instance"), "host", hn,
			    "release", json_object_get(c, "release"), "state", json_object_get(c, "state"),
			    "running", json_is_true(json_object_get(c, "running")), "healthy", health,
			    "ports", json_object_get(c, "ports"), "id", id ? id : "",
			    (int)(id ? (strlen(id) < 12 || strchr(id, '@') ? strlen(id) : 12) : 0), "name",
			    json_object_get(c, "name"));
			if (ts[0]) {
				json_object_set_new(o, "created", json_string(ts));
				json_object_set_new(o, "age_s", json_integer(now > (time_t)created ?
				    (json_int_t)(now - (time_t)created) : 0));
			}
			json_array_append_new(*out, o);
		}
		json_decref(list);
	}
	sort_instances(*out);
	rc = 0;
out:
	paas_target_free(t);
	json_decref(hosts);
	json_decref(ann);
	json_decref(rec);
	paas_etcd_free(e);
	if (rc < 0) {
		json_decref(*out);
		json_decref(*unreachable);
		*out = *unreachable = NULL;
	}
	return rc;
}

/* Table rows ------------------------------------------------------------ */

static const char *const head_deployment[] = { "DEPLOYMENT", "RELEASE", "KIND", "TIME", "USER",
    "INSTANCES", "SERVICES", NULL };
static const char *const head_instance[] = { "SERVICE", "INSTANCE", "HOST", "RELEASE", "STATE",
    "HEALTH", "PORTS", "AGE", "CONTAINER", NULL };
static const char *const head_release[] = { "RELEASE", "KIND", "TIME", "USER", "STATUS", "FROM",
    "GIT", NULL };
static const char *const head_config[] = { "NAME", "KEPT", "ENV OF", "AUTH OF", NULL };
static const char *const head_job[] = { "SERVICE", "SCHEDULE", "TIMEZONE", "NEXT", "LAST DUE",
    "LAST STATE", "MISSED", NULL };
static const char *const head_job_run[] = { "DUE", "TIME", "HOST", "STATE", "EXIT", "STARTED",
    "ENDED", NULL };

const char *const *
paas_listing_head(const char *kind, size_t *ncol)
{
	const char *const *h = strcmp(kind, "deployment") == 0 ? head_deployment :
	    strcmp(kind, "instance") == 0 ? head_instance : strcmp(kind, "release") == 0 ?
	    head_release : strcmp(kind, "config") == 0 ? head_config : strcmp(kind, "job") == 0 ?
	    head_job : strcmp(kind, "job_run") == 0 ? head_job_run : NULL;

	for (*ncol = 0; h && h[*ncol]; (*ncol)++)
		;
	return h;
}

/* "3m", "2h", "5d": how long ago. */
static json_t *
age(const json_t *v)
{
	long long s = json_integer_value(v);

	if (!json_is_integer(v))
		return json_string("-");
	if (s < 120)
		return json_sprintf("%llds", s);
	if (s < 7200)
		return json_sprintf("%lldm", s / 60);
	return s < 172800 ? json_sprintf("%lldh", s / 3600) : json_sprintf("%lldd", s / 86400);
}

/* The members of o joined with ",": an array's strings; an object's
 * KEY=N, or for what "ports" N->KEY; "-" when none. */
static json_t *
joined(const json_t *o, const char *what)
{
	struct paas_buf b = PAAS_BUF_INIT;
	const char *k;
	json_t *v, *out;
	size_t i;

	if (json_is_array(o))
		json_array_foreach(o, i, v)
			paas_buf_addf(&b, "%s%s", b.len ? "," : "", json_string_value(v));
	else
		json_object_foreach((json_t *)o, k, v) {
			if (strcmp(what, "ports") == 0)
				paas_buf_addf(&b, "%s%lld->%s", b.len ? "," : "",
				    (long long)json_integer_value(v), k);
			else
				paas_buf_addf(&b, "%s%s=%lld", b.len ? "," : "", k,
				    (long long)json_integer_value(v));
		}
	out = json_string(b.len ? b.data : "-");
	paas_buf_free(&b);
	return out;
}

/* r's string under k, or NULL: short, for the rows below. */
static const char *
s_(const json_t *r, const char *k)
{
	return paas_json_str(r, k, NULL);
}

static json_t *
num(const json_t *r, const char *k)
{
	return json_sprintf("%lld", (long long)json_integer_value(json_object_get(r, k)));
}

json_t *
paas_listing_row(const json_t *r)
{
	const char *kind = paas_json_str(r, "kind", "");
	const json_t *h = json_object_get(r, "healthy"), *o = json_object_get(r, "origin");
	json_t *from;

	if (strcmp(kind, "deployment") == 0)
		return json_pack("[s?, o, s?, s?, s?, o, o]", s_(r, "deployment"), num(r, "release"),
		    s_(r, "release_kind"), s_(r, "time"), s_(r, "user"), num(r, "instances"),
		    joined(json_object_get(r, "services"), "services"));
	if (strcmp(kind, "instance") == 0)
		return json_pack("[s?, s?, s?, o, s?, s, o, o, s?]", s_(r, "service"),
		    s_(r, "instance"), s_(r, "host"), num(r, "release"), s_(r, "state"),
		    json_is_null(h) || h == NULL ? "-" : json_is_true(h) ? "healthy" : "unhealthy",
		    joined(json_object_get(r, "ports"), "ports"), age(json_object_get(r, "age_s")),
		    s_(r, "name"));
	if (strcmp(kind, "config") == 0)
		return json_pack("[s?, s, o, o]", s_(r, "name"),
		    json_is_true(json_object_get(r, "kept")) ? "yes" : "no",
		    joined(json_object_get(r, "env_of"), ""), joined(json_object_get(r, "auth_of"), ""));
	if (strcmp(kind, "job") == 0) {
		const json_t *l = json_object_get(r, "last");

		return json_pack("[s?, s?, s?, s, s, s, s]", s_(r, "service"), s_(r, "schedule"),
		    s_(r, "timezone"), paas_json_str(r, "next", "-"), paas_json_str(l, "time", "-"),
		    paas_json_str(l, "state", "-"), paas_json_str(r, "missed_due", "-"));
	}
	if (strcmp(kind, "job_run") == 0)
		return json_pack("[o, s?, s?, s?, o, s, s]", num(r, "due"), s_(r, "time"),
		    s_(r, "host"), s_(r, "state"), json_is_integer(json_object_get(r, "exit_code")) ?
		    num(r, "exit_code") : json_string("-"), paas_json_str(r, "start_time", "-"),
		    paas_json_str(r, "end_time", "-"));
	if (strcmp(kind, "release") != 0)
		return NULL;
	if (json_is_object(o))
		from = json_sprintf("%s:%lld", s_(o, "deployment"),
		    (long long)json_integer_value(json_object_get(o, "release")));
	else
		from = json_is_integer(json_object_get(r, "from")) ? num(r, "from") : json_string("-");
	return json_pack("[o, s?, s?, s?, s?, o, o]", json_sprintf("%s%lld",
	    json_is_true(json_object_get(r, "current")) ? "*" : "",
	    (long long)json_integer_value(json_object_get(r, "release"))), s_(r, "release_kind"),
	    s_(r, "time"), s_(r, "user"), s_(r, "status"), from, s_(r, "git") ?
	    json_sprintf("%.12s", s_(r, "git")) : json_string("-"));
}
