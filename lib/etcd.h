/*
 * etcd v3 client through the JSON gateway (/v3/...).  Keys and values are
 * byte strings (base64 on the wire, done here).  Revisions and lease IDs are
 * int64 (strings on the wire).  Requests fail over between the endpoints
 * given at creation, as paas_http does.
 */
#ifndef PAAS_ETCD_H
#define PAAS_ETCD_H

#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "http.h"

struct paas_etcd;

struct paas_kv {
	char *key;		/* NUL-terminated */
	char *value;		/* NUL-terminated, may hold other NULs: use value_len */
	size_t value_len;
	int64_t create_revision, mod_revision, version, lease;
};

struct paas_kv_list {
	struct paas_kv *kvs;
	size_t n;
	int64_t revision;	/* the store revision the list was read at */
};

/*
 * Authentication (etcd users and roles, paas(7) SECURITY): credentials are
 * read from a file of one line USER:PASSWORD, open to its owner alone (else
 * PAAS_EINVAL); every client made after the call authenticates with them,
 * once per process, and again when etcd forgets the token.  path NULL: no
 * authentication.  Neither the password nor the token ever reaches a message.
 */
int paas_etcd_auth_load(const char *path, struct paas_err *err);
/* The user of the loaded credentials, or NULL (borrowed). */
const char *paas_etcd_auth_user(void);

/* endpoints: comma-separated http(s) URLs.  Returns a client the caller frees
 * with paas_etcd_free(), or NULL with err set. */
struct paas_etcd *paas_etcd_new(const char *endpoints,
    const struct paas_http_opts *opts, struct paas_err *err);
void paas_etcd_free(struct paas_etcd *e);
/* The transport, for fan-out with paas_http_multi() (borrowed). */
struct paas_http *paas_etcd_http(struct paas_etcd *e);

/* One call of the gateway not wrapped here (auth administration): POST req
 * (consumed) to path ("/v3/auth/user/add"); *out, if not NULL, gets the
 * answer.  Sent once. */
int paas_etcd_call(struct paas_etcd *e, const char *path, json_t *req, json_t **out,
    struct paas_err *err);

/* The end of the range of keys that start with prefix, *len bytes (caller
 * frees). */
char *paas_etcd_prefix_end(const char *prefix, size_t *len);

void paas_kv_clear(struct paas_kv *kv);
void paas_kv_list_free(struct paas_kv_list *l);

/* *found is 0 when the key does not exist (kv then zeroed).  kv is the
 * caller's to clear.  rev, if not NULL, gets the store revision. */
int paas_etcd_get(struct paas_etcd *e, const char *key, struct paas_kv *kv,
    int *found, int64_t *rev, struct paas_err *err);

/* Every key under prefix, in key order, read at one revision in pages of
 * page_size keys (0: 1000).  keys_only leaves values empty.  out is the
 * caller's to free. */
int paas_etcd_range(struct paas_etcd *e, const char *prefix, size_t page_size,
    int keys_only, struct paas_kv_list *out, struct paas_err *err);
/* The same at store revision at (0: now), so that two ranges read one
 * snapshot. */
int paas_etcd_range_at(struct paas_etcd *e, const char *prefix, size_t page_size,
    int keys_only, int64_t at, struct paas_kv_list *out, struct paas_err *err);

/* 1 once key exists, 0 when it still does not after ms (asked every
 * 300 ms; an etcd that does not answer is a key not there yet). */
int paas_etcd_wait_key(struct paas_etcd *e, const char *key, long ms);
/* lease 0: none.  rev, if not NULL, gets the revision of the write. */
int paas_etcd_put(struct paas_etcd *e, const char *key, const char *value,
    size_t len, int64_t lease, int64_t *rev, struct paas_err *err);
/* The same with v (borrowed) as compact JSON, keys sorted: the form every
 * record of keys.h is stored in. */
int paas_etcd_put_json(struct paas_etcd *e, const char *key, const json_t *v,
    int64_t lease, int64_t *rev, struct paas_err *err);

/* Deletes key, or every key under it when prefix is set. */
int paas_etcd_delete(struct paas_etcd *e, const char *key, int prefix,
    int64_t *deleted, struct paas_err *err);

/* Transactions: if every compare holds, the success ops run, else the failure
 * ops.  The results of range ops are not returned; use compare-and-swap. */
enum paas_cmp_target { PAAS_CMP_MOD, PAAS_CMP_CREATE, PAAS_CMP_VERSION, PAAS_CMP_VALUE };
enum paas_cmp_result { PAAS_CMP_EQUAL, PAAS_CMP_NOT_EQUAL, PAAS_CMP_LESS, PAAS_CMP_GREATER };
struct paas_cmp {
	const char *key;
	enum paas_cmp_target target;
	enum paas_cmp_result result;
	int64_t number;		/* for MOD, CREATE, VERSION */
	const char *value;	/* for VALUE */
	size_t value_len;
};
enum paas_op_type { PAAS_OP_PUT, PAAS_OP_DELETE, PAAS_OP_DELETE_PREFIX };
struct paas_op {
	enum paas_op_type type;
	const char *key;
	const char *value;
	size_t value_len;
	int64_t lease;
};
int paas_etcd_txn(struct paas_etcd *e, const struct paas_cmp *cmp, size_t ncmp,
    const struct paas_op *success, size_t nsuccess,
    const struct paas_op *failure, size_t nfailure,
    int *succeeded, int64_t *rev, struct paas_err *err);

/* Put value only if key's mod_revision is still mod_rev (0: only if the key
 * does not exist).  *won says whether this write happened. */
int paas_etcd_cas(struct paas_etcd *e, const char *key, const char *value,
    size_t len, int64_t mod_rev, int64_t lease, int *won, struct paas_err *err);

/* Leases.  keepalive sets *ttl to the remaining TTL; a lease that has already
 * expired fails with PAAS_EFAILED ("lease ... expired"). */
int paas_etcd_lease_grant(struct paas_etcd *e, int64_t ttl, int64_t *id,
    struct paas_err *err);
int paas_etcd_lease_keepalive(struct paas_etcd *e, int64_t id, int64_t *ttl,
    struct paas_err *err);
int paas_etcd_lease_revoke(struct paas_etcd *e, int64_t id, struct paas_err *err);

/*
 * Watch.  fn is called for every event in revision order, exactly once each,
 * however many times the stream breaks: after a lost connection or a member
 * failure the watch is made again on the next reachable endpoint from the
 * revision after the last one delivered.  fn returns non-zero to stop (the
 * watch then returns 0).  If the start revision has been compacted away the
 * watch fails with PAAS_EFAILED and *compacted (if not NULL) is set to the
 * compaction revision: the caller must re-read and watch again from there.
 * Without an endpoint for retry_ms (0: 30000) it gives up with PAAS_EUNAVAIL.
 * opts.cancel also stops it.
 */
enum paas_event_type { PAAS_EVENT_PUT, PAAS_EVENT_DELETE };
struct paas_event {
	enum paas_event_type type;
	struct paas_kv kv;		/* borrowed for the duration of the call */
};
typedef int (*paas_watch_fn)(const struct paas_event *ev, void *arg);
struct paas_watch_opts {
	const char *key;
	int prefix;
	int64_t start_revision;		/* 0: from now */
	long retry_ms;
	int64_t *compacted;
	const char *end;		/* not NULL: the keys from key up to (not) end */
};
int paas_etcd_watch(struct paas_etcd *e, const struct paas_watch_opts *opts,
    paas_watch_fn fn, void *arg, struct paas_err *err);

/* Cluster. */
struct paas_member {
	uint64_t id;
	char *name;
	char *peer_urls;	/* comma-separated */
	char *client_urls;	/* comma-separated */
	int learner;
};
struct paas_member_list {
	struct paas_member *m;
	size_t n;
	uint64_t cluster_id;
};
int paas_etcd_members(struct paas_etcd *e, struct paas_member_list *out,
    struct paas_err *err);
void paas_member_list_free(struct paas_member_list *l);
int paas_etcd_member_remove(struct paas_etcd *e, uint64_t id, struct paas_err *err);
/* Adds a member with the given peer URLs (comma-separated); *id gets its ID. */
int paas_etcd_member_add(struct paas_etcd *e, const char *peer_urls,
    uint64_t *id, struct paas_err *err);

/* The status of the endpoint the client uses now. */
struct paas_etcd_status {
	char version[32];
	uint64_t member_id, leader;
	int64_t db_size, revision, raft_term;
};
/* Defragment the member e's first endpoint names (it pauses while it
 * rewrites its database file without the space compaction freed). */
int paas_etcd_defragment(struct paas_etcd *e, struct paas_err *err);
int paas_etcd_status(struct paas_etcd *e, struct paas_etcd_status *st,
    struct paas_err *err);
/* 0 when the current endpoint answers /health with "true". */
int paas_etcd_health(struct paas_etcd *e, struct paas_err *err);

#endif
