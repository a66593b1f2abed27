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
	struct paas_kv_list l;
	const char *prev = NULL;
	size_t i, plen = strlen(PAAS_DEPLOYMENTS_PREFIX);
	int rc = -1;

	*out = NULL;
	if ((e = paas_etcd_new(etcd, NULL, err)) == NULL)
		return -1;
	if (paas_etcd_range(e, PAAS_DEPLOYMENTS_PREFIX, 0, 1, &l, err) < 0)
		goto out;
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
		json_array_append_new(*out, o);
		json_decref(rec);
	}
	rc = 0;
out_list:
	paas_kv_list_free(&l);
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
