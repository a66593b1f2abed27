/*
 * What etcd.c shares with etcd-watch.c and etcd-cluster.c, internal to
 * them: the client, the authentication headers, the JSON helpers.
 */
#ifndef PAAS_ETCD_INT_H
#define PAAS_ETCD_INT_H

#include <signal.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "etcd.h"
#include "http.h"

struct paas_etcd {
	struct paas_http *http;
	volatile sig_atomic_t *cancel;
	char *user, *password;	/* NULL: no authentication */
	int64_t code;		/* the gRPC code of the last error etcd gave */
};

/* The token header (and extra, a header line, or NULL) for a request of e:
 * hdr gets them, tok the token used (to drop it when etcd forgets it). */
int etcd_auth_headers(struct paas_etcd *e, const char *extra, char *hdr, size_t size, char *tok,
    size_t toksize, struct paas_err *err);
/* tok is no longer known to etcd: the next request asks for another. */
void etcd_token_drop(const char *tok);
/* key and range_end of a range request (the prefix's when prefix). */
void etcd_set_range(json_t *req, const char *key, int prefix);
/* A kv object of the gateway into kv. */
int etcd_parse_kv(json_t *o, struct paas_kv *kv, struct paas_err *err);
/* An error etcd gave (gRPC code, message) as ours. */
int etcd_auth_error(struct paas_etcd *e, int64_t code, const char *msg, struct paas_err *err);
/* The error of a gateway answer o (HTTP status) into err. */
int etcd_gateway_error(struct paas_etcd *e, json_t *o, long status, struct paas_err *err);
/* POST req (stolen) to path; *out the answer (caller decrefs). */
int etcd_call(struct paas_etcd *e, const char *path, json_t *req, int idempotent, json_t **out,
    struct paas_err *err);
/* int64 fields arrive as strings (or, from some versions, as numbers). */
int64_t etcd_i64(json_t *o, const char *name);
uint64_t etcd_u64(json_t *o, const char *name);
json_t *etcd_i64str(int64_t v);

#endif
