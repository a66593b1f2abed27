/*
 * etcd's cluster calls: members, status, health.  See etcd.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "etcd-int.h"
#include "etcd.h"

static char *
join_urls(json_t *a)
{
	struct paas_buf b = PAAS_BUF_INIT;
	size_t i;

	for (i = 0; i < json_array_size(a); i++) {
		if (i)
			paas_buf_adds(&b, ",");
		paas_buf_adds(&b, json_string_value(json_array_get(a, i)) ?
		    json_string_value(json_array_get(a, i)) : "");
	}
	return paas_buf_detach(&b, NULL);
}

int
paas_etcd_members(struct paas_etcd *e, struct paas_member_list *out,
    struct paas_err *err)
{
	json_t *o, *ms;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (etcd_call(e, "/v3/cluster/member/list", json_object(), 1, &o, err) < 0)
		return -1;
	out->cluster_id = etcd_u64(json_object_get(o, "header"), "cluster_id");
	ms = json_object_get(o, "members");
	out->n = json_array_size(ms);
	out->m = calloc(out->n ? out->n : 1, sizeof(*out->m));
	if (out->m == NULL)
		abort();
	for (i = 0; i < out->n; i++) {
		json_t *m = json_array_get(ms, i);
		const char *name = json_string_value(json_object_get(m, "name"));

		out->m[i].id = etcd_u64(m, "ID");
		out->m[i].name = paas_xstrdup(name ? name : "");
		out->m[i].peer_urls = join_urls(json_object_get(m, "peerURLs"));
		out->m[i].client_urls = join_urls(json_object_get(m, "clientURLs"));
		out->m[i].learner = json_is_true(json_object_get(m, "isLearner"));
	}
	json_decref(o);
	return 0;
}

void
paas_member_list_free(struct paas_member_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->m[i].name);
		free(l->m[i].peer_urls);
		free(l->m[i].client_urls);
	}
	free(l->m);
	memset(l, 0, sizeof(*l));
}

static json_t *
u64str(uint64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%" PRIu64, v);
	return json_string(s);
}

int
paas_etcd_member_remove(struct paas_etcd *e, uint64_t id, struct paas_err *err)
{
	json_t *o;

	if (etcd_call(e, "/v3/cluster/member/remove", json_pack("{s:o}", "ID", u64str(id)), 0, &o, err) < 0)
		return -1;
	json_decref(o);
	return 0;
}

int
paas_etcd_member_add(struct paas_etcd *e, const char *peer_urls, uint64_t *id,
    struct paas_err *err)
{
	json_t *urls = json_array(), *o;
	const char *p, *q;

	for (p = peer_urls; *p; p = *q ? q + 1 : q) {
		q = strchr(p, ',');
		if (q == NULL)
			q = p + strlen(p);
		if (q > p)
			json_array_append_new(urls, json_stringn(p, (size_t)(q - p)));
	}
	if (etcd_call(e, "/v3/cluster/member/add", json_pack("{s:o}", "peerURLs", urls), 0, &o, err) < 0)
		return -1;
	*id = etcd_u64(json_object_get(o, "member"), "ID");
	json_decref(o);
	return 0;
}

int
paas_etcd_defragment(struct paas_etcd *e, struct paas_err *err)
{
	json_t *o;

	if (etcd_call(e, "/v3/maintenance/defragment", json_object(), 1, &o, err) < 0)
		return -1;
	json_decref(o);
	return 0;
}

int
paas_etcd_status(struct paas_etcd *e, struct paas_etcd_status *st,
    struct paas_err *err)
{
	json_t *o;
	const char *v;

	memset(st, 0, sizeof(*st));
	if (etcd_call(e, "/v3/maintenance/status", json_object(), 1, &o, err) < 0)
		return -1;
	v = json_string_value(json_object_get(o, "version"));
	snprintf(st->version, sizeof(st->version), "%s", v ? v : "");
	st->member_id = etcd_u64(json_object_get(o, "header"), "member_id");
	st->leader = etcd_u64(o, "leader");
	st->db_size = etcd_i64(o, "dbSize");
	st->revision = etcd_i64(json_object_get(o, "header"), "revision");
	st->raft_term = etcd_i64(o, "raftTerm");
	json_decref(o);
	return 0;
}

int
paas_etcd_health(struct paas_etcd *e, struct paas_err *err)
{
	struct paas_http_req hr = { 0 };
	struct paas_http_resp resp;
	json_t *o;
	int ok;

	hr.method = "GET";
	hr.path = "/health";
	hr.idempotent = 1;
	if (paas_http_do(e->http, &hr, &resp, err) < 0)
		return -1;
	o = json_loadb(resp.body, resp.len, 0, NULL);
	ok = resp.status == 200 && o &&
	    strcmp(json_string_value(json_object_get(o, "health")) ?
	    json_string_value(json_object_get(o, "health")) : "", "true") == 0;
	json_decref(o);
	paas_http_resp_free(&resp);
	if (!ok)
		return paas_err_set(err, PAAS_EUNAVAIL, "etcd at %s is not healthy",
		    paas_http_endpoint(e->http));
	return 0;
}
