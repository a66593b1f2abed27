#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "hold.h"
#include "jsonx.h"
#include "keys.h"

struct paas_hold {
	json_t *last;		/* key -> server, as etcd had it at the last merge */
	json_t *held;		/* key -> {"server", "since", "lease"} */
	json_t *back;		/* host -> {"lease", "seen"}: its agent's registration */
	long long unwell_at;	/* 0: etcd never found failing */
	struct paas_lease *own;	/* the router's, or NULL */
	long long due;
};

struct paas_hold *
paas_hold_new(void)
{
	struct paas_hold *h = paas_xmalloc(sizeof(*h));

	memset(h, 0, sizeof(*h));

	h->last = json_object();
	h->held = json_object();
	h->back = json_object();
	h->due = LLONG_MAX;
	return h;
}

void
paas_hold_free(struct paas_hold *h)
{
	if (h == NULL)
		return;
	json_decref(h->last);
	json_decref(h->held);
	json_decref(h->back);
	free(h);
}

void
paas_hold_unwell(struct paas_hold *h)
{
	h->unwell_at = paas_now_ms();
}

void
paas_hold_own_lease(struct paas_hold *h, struct paas_lease *own)
{
	h->own = own;
}

/* Whether the router's own lease is gone too. */
static int
own_lapsed(struct paas_hold *h, struct paas_etcd *e)
{
	struct paas_err err = PAAS_ERR_INIT;
	int64_t ttl;

	if (h->own == NULL)
		return 0;
	if (h->own->id && paas_etcd_lease_keepalive(e, h->own->id, &ttl, &err) == 0)
		return 0;
	if (h->own->id && err.status != PAAS_EFAILED)
		return 0;
	h->own->id = 0;
	return 1;
}

long long
paas_hold_due(const struct paas_hold *h)
{
	return json_object_size(h->held) ? h->due : LLONG_MAX;
}

/* The agents registered at rev: lease -> host, and host -> lease. */
static int
agents_at(struct paas_etcd *e, int64_t rev, json_t *by_lease, json_t *by_host,
    struct paas_err *err)
{
	struct paas_kv_list l;
	size_t i;

	if (paas_etcd_range_at(e, PAAS_AGENTS_PREFIX, 0, 0, rev, &l, err) < 0)
		return -1;
	for (i = 0; i < l.n; i++) {
		const char *host = paas_key_tail(l.kvs[i].key, PAAS_AGENTS_PREFIX);
		char id[32];

		if (host == NULL || l.kvs[i].lease == 0)
			continue;
		snprintf(id, sizeof(id), "%" PRId64, l.kvs[i].lease);
		json_object_set_new(by_lease, id, json_string(host));
		json_object_set_new(by_host, host, json_integer(l.kvs[i].lease));
	}
	paas_kv_list_free(&l);
	return 0;
}

/* The drain marks at rev, as the last part of the announcement keys they
 * stand for. */
static int
drains_at(struct paas_etcd *e, int64_t rev, json_t *out, struct paas_err *err)
{
	struct paas_kv_list l;
	size_t i;

	if (paas_etcd_range_at(e, PAAS_DRAIN_PREFIX, 0, 0, rev, &l, err) < 0)
		return -1;
	for (i = 0; i < l.n; i++) {
		const char *c = paas_key_tail(l.kvs[i].key, PAAS_DRAIN_PREFIX), *a;
		char *id;
		int n;

		if (c == NULL)
			continue;
		a = paas_announce_id(c, &n);
		id = paas_xstrndup(a, (size_t)n);
		json_object_set_new(out, id, json_true());
		free(id);
	}
	paas_kv_list_free(&l);
	return 0;
}

/* Why a held server goes now, or NULL. */
static const char *
let_go(struct paas_hold *h, const char *key, const json_t *rec, const json_t *now_keys,
    const json_t *drains, const json_t *by_host, long long now)
{
	const char *host = paas_json_str(json_object_get(rec, "server"), "host", "");
	const json_t *lease = json_object_get(by_host, host);
	const char *last = strrchr(key, '/');
	long long since = json_integer_value(json_object_get(rec, "since")), at;

	if (json_object_get(now_keys, key))
		return "announced again";
	if (last && json_object_get(drains, last + 1))
		return "drained by a deploy";
	if (lease && json_integer_value(lease) != json_integer_value(json_object_get(rec, "lease"))) {
		at = json_integer_value(json_object_get(json_object_get(h->back, host), "seen"));
		if (now - at >= PAAS_HOLD_GRACE_MS)
			return "its agent registered again without it";
		if (at + PAAS_HOLD_GRACE_MS < h->due)
			h->due = at + PAAS_HOLD_GRACE_MS;
	}
	if (now - since >= PAAS_HOLD_MAX_MS)
		return "held for its longest";
	if (since + PAAS_HOLD_MAX_MS < h->due)
		h->due = since + PAAS_HOLD_MAX_MS;
	return NULL;
}

int
paas_hold_merge(struct paas_hold *h, struct paas_etcd *e, int64_t rev, json_t *servers,
    json_t *said, struct paas_err *err)
{
	json_t *now_keys = json_object(), *by_lease = json_object(), *by_host = json_object();
	json_t *drains = json_object(), *last = json_object(), *s;
	long long now = paas_now_ms();
	int missing = 0, asked = 0, suspect, rc = -1;
	const char *k, *host;
	void *tmp;
	size_t i;

	json_array_foreach(servers, i, s)
		if (json_string_value(json_object_get(s, "key"))) {
			json_object_set_new(now_keys, paas_json_str(s, "key", ""), json_true());
			json_object_set_new(last, paas_json_str(s, "key", ""), json_deep_copy(s));
		}
	json_object_foreach(h->last, k, s)
		if (json_object_get(now_keys, k) == NULL)
			missing = 1;
	suspect = h->unwell_at && now - h->unwell_at < PAAS_HOLD_SUSPECT_MS;
	if ((missing || json_object_size(h->held)) &&
	    (agents_at(e, rev, by_lease, by_host, err) < 0 || drains_at(e, rev, drains, err) < 0))
		goto out;
	/* An agent seen under a new lease: when, for its grace. */
	json_object_foreach(by_host, host, s) {
		json_t *b = json_object_get(h->back, host);

		if (b == NULL || !json_equal(json_object_get(b, "lease"), s))
			json_object_set_new(h->back, host, json_pack("{s:O, s:I}", "lease", s,
			    "seen", (json_int_t)now));
	}
	json_object_foreach(h->last, k, s) {
		char id[32];

		if (json_object_get(now_keys, k) || json_object_get(h->held, k) ||
		    json_integer_value(json_object_get(s, "lease")) == 0)
			continue;
		snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(json_object_get(s, "lease")));
		if (json_object_get(by_lease, id))
			continue;		/* withdrawn by its live agent, or a deploy */
		if (!suspect && !asked) {
			asked = 1;
			if (own_lapsed(h, e)) {
				paas_hold_unwell(h);
				suspect = 1;
			}
		}
		if (!suspect)
			continue;
		json_object_set_new(h->held, k, json_pack("{s:O, s:I, s:O}", "server", s,
		    "since", (json_int_t)now, "lease", json_object_get(s, "lease")));
		json_array_append_new(said, json_sprintf("holding %s: its lease lapsed while etcd "
		    "was failing; served until its agent announces again, a deploy drains it, "
		    "or %d s", k, PAAS_HOLD_MAX_MS / 1000));
	}
	h->due = LLONG_MAX;
	json_object_foreach_safe(h->held, tmp, k, s) {
		const char *why = let_go(h, k, s, now_keys, drains, by_host, now);
		json_t *v;

		if (why) {
			if (strcmp(why, "announced again"))
				json_array_append_new(said, json_sprintf("let go of %s: %s", k, why));
			json_object_del(h->held, k);
			continue;
		}
		v = json_deep_copy(json_object_get(s, "server"));
		json_object_set_new(v, "held", json_true());
		json_array_append_new(servers, v);
	}
	json_decref(h->last);
	h->last = last;
	last = NULL;
	rc = 0;
out:
	json_decref(last);
	json_decref(now_keys);
	json_decref(by_lease);
	json_decref(by_host);
	json_decref(drains);
	return rc;
}
