#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "clock.h"
#include "etcd-int.h"
#include "etcd.h"
#include "jsonx.h"
#include "private.h"


/*
 * Authentication.  The credentials of the process (paas_etcd_auth_load) are
 * copied into each client made after; the token etcd gives for them is
 * shared by every client and thread of the process, so that a command
 * authenticates once, and is asked for again when etcd no longer knows it.
 */
static pthread_mutex_t auth_mu = PTHREAD_MUTEX_INITIALIZER;
static char *auth_user, *auth_password;
static char *token, *token_user;	/* the last token and whose it is */

static void
auth_clear(void)
{
	if (auth_password)
		explicit_bzero(auth_password, strlen(auth_password));
	free(auth_user);
	free(auth_password);
	auth_user = auth_password = NULL;
}

int
paas_etcd_auth_load(const char *path, struct paas_err *err)
{
	char *user, *password;

	pthread_mutex_lock(&auth_mu);
	auth_clear();
	pthread_mutex_unlock(&auth_mu);
	if (path == NULL)
		return 0;
	if (paas_private_credentials("etcd credentials", path, &user, &password, err) < 0)
		return -1;
	pthread_mutex_lock(&auth_mu);
	auth_user = user;
	auth_password = password;
	pthread_mutex_unlock(&auth_mu);
	return 0;
}

const char *
paas_etcd_auth_user(void)
{
	return auth_user;
}

/* The token for e's user into tok: the shared one, or a new one. */
static int
token_get(struct paas_etcd *e, char *tok, size_t size, struct paas_err *err)
{
	struct paas_http_req hr = { 0 };
	struct paas_http_resp resp;
	json_t *req, *o;
	const char *t;
	char *body;
	int rc = -1;

	pthread_mutex_lock(&auth_mu);
	if (token && strcmp(token_user, e->user) == 0) {
		snprintf(tok, size, "%s", token);
		pthread_mutex_unlock(&auth_mu);
		return 0;
	}
	pthread_mutex_unlock(&auth_mu);
	req = json_pack("{s:s, s:s}", "name", e->user, "password", e->password);
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	hr.method = "POST";
	hr.path = "/v3/auth/authenticate";
	hr.body = body;
	hr.len = strlen(body);
	hr.idempotent = 1;
	rc = paas_http_do(e->http, &hr, &resp, err);
	explicit_bzero(body, strlen(body));
	free(body);
	if (rc < 0)
		return -1;
	rc = -1;
	o = json_loadb(resp.body, resp.len, 0, NULL);
	t = json_string_value(json_object_get(o, "message"));
	if (t && strstr(t, "authentication is not enabled")) {
		/* An etcd without users (credentials found by default, for
		 * another cluster): nothing to log in to. */
		explicit_bzero(e->password, strlen(e->password));
		free(e->user);
		free(e->password);
		e->user = e->password = NULL;
		tok[0] = '\0';
		rc = 0;
		goto out;
	}
	if ((t = json_string_value(json_object_get(o, "token"))) == NULL || !*t ||
	    strlen(t) >= size || strpbrk(t, "\r\n")) {
		const char *msg = json_string_value(json_object_get(o, "message"));

		paas_err_set(err, PAAS_EUNAVAIL, "etcd at %s: user %s: %s",
		    paas_http_endpoint(e->http), e->user, msg ? msg : "no token in the answer");
		goto out;
	}
	snprintf(tok, size, "%s", t);
	pthread_mutex_lock(&auth_mu);
	free(token);
	free(token_user);
	token = paas_xstrdup(t);
	token_user = paas_xstrdup(e->user);
	pthread_mutex_unlock(&auth_mu);
	rc = 0;
out:
	json_decref(o);
	paas_http_resp_free(&resp);
	return rc;
}

/* etcd no longer knows tok (it expired, or the member restarted). */
void
etcd_token_drop(const char *tok)
{
	pthread_mutex_lock(&auth_mu);
	if (token && strcmp(token, tok) == 0) {
		free(token);
		free(token_user);
		token = token_user = NULL;
	}
	pthread_mutex_unlock(&auth_mu);
}

/* The extra headers of a request: base (or none) and, with a user, the
 * token; tok gets the token used (empty: none). */
int
etcd_auth_headers(struct paas_etcd *e, const char *base, char *hdr, size_t size, char *tok,
    size_t toksize, struct paas_err *err)
{
	tok[0] = '\0';
	if (e->user && token_get(e, tok, toksize, err) < 0)
		return -1;
	if (tok[0] == '\0') {
		snprintf(hdr, size, "%s", base ? base : "");
		return 0;
	}
	snprintf(hdr, size, "%s%sAuthorization: %s", base ? base : "", base ? "\n" : "", tok);
	return 0;
}

struct paas_etcd *
paas_etcd_new(const char *endpoints, const struct paas_http_opts *opts,
    struct paas_err *err)
{
	struct paas_etcd *e;
	struct paas_http *h = paas_http_new("etcd", endpoints, opts, err);

	if (h == NULL)
		return NULL;
	e = paas_xmalloc(sizeof(*e));
	e->http = h;
	e->cancel = opts ? opts->cancel : NULL;
	e->user = e->password = NULL;
	e->code = 0;
	pthread_mutex_lock(&auth_mu);
	if (auth_user) {
		e->user = paas_xstrdup(auth_user);
		e->password = paas_xstrdup(auth_password);
	}
	pthread_mutex_unlock(&auth_mu);
	return e;
}

void
paas_etcd_free(struct paas_etcd *e)
{
	if (e == NULL)
		return;
	paas_http_free(e->http);
	if (e->password)
		explicit_bzero(e->password, strlen(e->password));
	free(e->user);
	free(e->password);
	free(e);
}

struct paas_http *
paas_etcd_http(struct paas_etcd *e)
{
	return e->http;
}

void
paas_kv_clear(struct paas_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void
paas_kv_list_free(struct paas_kv_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		paas_kv_clear(&l->kvs[i]);
	free(l->kvs);
	memset(l, 0, sizeof(*l));
}

/* int64 fields arrive as strings (or, from some versions, as numbers). */
int64_t
etcd_i64(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	if (json_is_integer(v))
		return json_integer_value(v);
	return 0;
}

uint64_t
etcd_u64(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (json_is_string(v))
		return strtoull(json_string_value(v), NULL, 10);
	if (json_is_integer(v))
		return (uint64_t)json_integer_value(v);
	return 0;
}

json_t *
etcd_i64str(int64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return json_string(s);
}

char *
paas_etcd_prefix_end(const char *prefix, size_t *len)
{
	size_t n = strlen(prefix);
	char *end = paas_xstrndup(prefix, n);

	while (n > 0) {
		if ((unsigned char)end[n - 1] < 0xff) {
			end[n - 1]++;
			*len = n;
			return end;
		}
		n--;
	}
	/* All 0xff (or empty): every key from prefix on. */
	end[0] = '\0';
	*len = 1;
	return end;
}

void
etcd_set_range(json_t *req, const char *key, int prefix)
{
	size_t n = strlen(key), elen;
	char *end;

	if (n == 0 && prefix) {
		json_object_set_new(req, "key", paas_json_base64("\0", 1));
		json_object_set_new(req, "range_end", paas_json_base64("\0", 1));
		return;
	}
	json_object_set_new(req, "key", paas_json_base64(key, n));
	if (prefix) {
		end = paas_etcd_prefix_end(key, &elen);
		json_object_set_new(req, "range_end", paas_json_base64(end, elen));
		free(end);
	}
}

int
etcd_parse_kv(json_t *o, struct paas_kv *kv, struct paas_err *err)
{
	const char *k = json_string_value(json_object_get(o, "key"));
	const char *v = json_string_value(json_object_get(o, "value"));
	size_t n;

	memset(kv, 0, sizeof(*kv));
	if (k == NULL || (kv->key = paas_base64_decode(k, &n)) == NULL)
		return paas_err_set(err, PAAS_EFAILED, "etcd sent a key that is not base64");
	if ((kv->value = paas_base64_decode(v ? v : "", &kv->value_len)) == NULL) {
		paas_kv_clear(kv);
		return paas_err_set(err, PAAS_EFAILED, "etcd sent a value that is not base64");
	}
	kv->create_revision = etcd_i64(o, "create_revision");
	kv->mod_revision = etcd_i64(o, "mod_revision");
	kv->version = etcd_i64(o, "version");
	kv->lease = etcd_i64(o, "lease");
	return 0;
}

/* An error etcd gave (gRPC code, message) as ours, saying who asked when
 * it is about authentication. */
int
etcd_auth_error(struct paas_etcd *e, int64_t code, const char *msg, struct paas_err *err)
{
	const char *ep = paas_http_endpoint(e->http);

	e->code = code;
	if (msg == NULL)
		msg = "error without a message";
	if (strstr(msg, "user name is empty"))
		return paas_err_set(err, PAAS_EUNAVAIL, "etcd at %s wants a user: give the file of "
		    "its credentials in PAAS_ETCD_AUTH (paas(7), SECURITY)", ep);
	if (code == 7 || strstr(msg, "permission denied"))
		return paas_err_set(err, PAAS_EFAILED, "etcd at %s: permission denied to user %s",
		    ep, e->user ? e->user : "(none)");
	/* gRPC UNAVAILABLE and DEADLINE_EXCEEDED: no leader, no quorum. */
	return paas_err_set(err, (code == 14 || code == 4) ? PAAS_EUNAVAIL : PAAS_EFAILED,
	    "etcd at %s: %s", ep, msg);
}

/* The gateway's error object, if any, as an error; 0 when there is none. */
int
etcd_gateway_error(struct paas_etcd *e, json_t *o, long status, struct paas_err *err)
{
	json_t *eo = json_object_get(o, "error");
	const char *msg;
	int64_t code;

	if (eo == NULL && status >= 200 && status <= 299)
		return 0;
	msg = json_string_value(json_object_get(o, "message"));
	if (msg == NULL)
		msg = json_is_string(eo) ? json_string_value(eo) :
		    json_string_value(json_object_get(eo, "message"));
	code = etcd_i64(o, "code");
	if (code == 0 && json_is_object(eo))
		code = etcd_i64(eo, "grpc_code");
	return etcd_auth_error(e, code, msg, err);
}

/* POST body to path once; *answered says whether a member answered,
 * *stale whether it did not know our token. */
static int
call_once(struct paas_etcd *e, const char *path, const char *body, int idempotent,
    json_t **out, int *answered, int *stale, struct paas_err *err)
{
	struct paas_http_req hr = { 0 };
	struct paas_http_resp resp = { 0 };
	json_error_t jerr;
	json_t *o = NULL;
	char hdr[600], tok[512];
	int rc = -1;

	*out = NULL;
	*answered = *stale = 0;
	if (etcd_auth_headers(e, NULL, hdr, sizeof(hdr), tok, sizeof(tok), err) < 0)
		return -1;
	if (hdr[0])
		hr.header = hdr;
	hr.method = "POST";
	hr.path = path;
	hr.body = body;
	hr.len = strlen(body);
	hr.idempotent = idempotent;
	if (paas_http_do(e->http, &hr, &resp, err) < 0)
		goto out;
	*answered = 1;
	o = json_loadb(resp.body, resp.len, 0, &jerr);
	if (o == NULL) {
		paas_err_set(err, PAAS_EFAILED, "etcd at %s answered %ld with something not JSON: %.80s",
		    paas_http_endpoint(e->http), resp.status, resp.body);
		goto out;
	}
	if (etcd_gateway_error(e, o, resp.status, err) < 0) {
		if (tok[0] && resp.status == 401) {
			etcd_token_drop(tok);
			*stale = 1;
		}
		goto out;
	}
	*out = o;
	o = NULL;
	rc = 0;
out:
	json_decref(o);
	paas_http_resp_free(&resp);
	return rc;
}

/* POST req (consumed) to path; *out gets the answer object.  A member that
 * answers "unavailable" (no leader, leader changed: an election after a
 * member failure) is asked again, on the next endpoint, for about three
 * seconds, when the request may be sent twice. */
int
etcd_call(struct paas_etcd *e, const char *path, json_t *req, int idempotent,
    json_t **out, struct paas_err *err)
{
	char *body = json_dumps(req, JSON_COMPACT);
	long backoff = 50;
	int rc, answered, stale, tries, reauth = 0;

	json_decref(req);
	if (body == NULL)
		abort();
	for (tries = 0;; tries++) {
		e->code = 0;
		rc = call_once(e, path, body, idempotent, out, &answered, &stale, err);
		/* A token etcd forgot was not used: ask for a new one, once. */
		if (rc < 0 && stale && !reauth++) {
			paas_err_clear(err);
			continue;
		}
		/* Only "no leader" and "deadline exceeded" are worth asking again. */
		if (rc == 0 || !idempotent || !answered || (e->code != 14 && e->code != 4) ||
		    tries >= 6)
			break;
		paas_http_next(e->http);
		paas_sleep_ms(backoff);
		backoff *= 2;
	}
	free(body);
	return rc;
}

int
paas_etcd_call(struct paas_etcd *e, const char *path, json_t *req, json_t **out,
    struct paas_err *err)
{
	json_t *o = NULL;
	int rc = etcd_call(e, path, req, 0, &o, err);

	if (out)
		*out = o;
	else
		json_decref(o);
	return rc;
}

int
paas_etcd_get(struct paas_etcd *e, const char *key, struct paas_kv *kv,
    int *found, int64_t *rev, struct paas_err *err)
{
	json_t *req = json_object(), *o, *kvs;
	int rc = -1;

	memset(kv, 0, sizeof(*kv));
	*found = 0;
	etcd_set_range(req, key, 0);
	if (etcd_call(e, "/v3/kv/range", req, 1, &o, err) < 0)
		return -1;
	if (rev)
		*rev = etcd_i64(json_object_get(o, "header"), "revision");
	kvs = json_object_get(o, "kvs");
	if (json_array_size(kvs) > 0) {
		if (etcd_parse_kv(json_array_get(kvs, 0), kv, err) < 0)
			goto out;
		*found = 1;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int
paas_etcd_range(struct paas_etcd *e, const char *prefix, size_t page_size,
    int keys_only, struct paas_kv_list *out, struct paas_err *err)
{
	return paas_etcd_range_at(e, prefix, page_size, keys_only, 0, out, err);
}

int
paas_etcd_range_at(struct paas_etcd *e, const char *prefix, size_t page_size,
    int keys_only, int64_t at, struct paas_kv_list *out, struct paas_err *err)
{
	size_t elen, cap = 0, i;
	char *end = paas_etcd_prefix_end(prefix, &elen), *from = paas_xstrdup(prefix);
	size_t fromlen = strlen(prefix);
	json_t *o = NULL, *kvs;
	int more = 1, rc = -1;

	memset(out, 0, sizeof(*out));
	out->revision = at;
	if (page_size == 0)
		page_size = 1000;
	while (more) {
		json_t *req = json_object();

		json_object_set_new(req, "key", fromlen ? paas_json_base64(from, fromlen) :
		    paas_json_base64("\0", 1));
		json_object_set_new(req, "range_end", paas_json_base64(end, elen));
		json_object_set_new(req, "limit", etcd_i64str((int64_t)page_size));
		if (out->revision)
			json_object_set_new(req, "revision", etcd_i64str(out->revision));
		if (keys_only)
			json_object_set_new(req, "keys_only", json_true());
		if (etcd_call(e, "/v3/kv/range", req, 1, &o, err) < 0)
			goto out;
		if (out->revision == 0)
			out->revision = etcd_i64(json_object_get(o, "header"), "revision");
		kvs = json_object_get(o, "kvs");
		more = json_is_true(json_object_get(o, "more")) && json_array_size(kvs) > 0;
		for (i = 0; i < json_array_size(kvs); i++) {
			if (out->n == cap) {
				cap = cap ? cap * 2 : 64;
				out->kvs = paas_xrealloc(out->kvs, cap * sizeof(*out->kvs));
			}
			if (etcd_parse_kv(json_array_get(kvs, i), &out->kvs[out->n], err) < 0)
				goto out;
			out->n++;
		}
		if (more) {
			/* The next page starts just after the last key. */
			const char *last = out->kvs[out->n - 1].key;

			fromlen = strlen(last) + 1;
			free(from);
			from = paas_xmalloc(fromlen);
			memcpy(from, last, fromlen);
		}
		json_decref(o);
		o = NULL;
	}
	rc = 0;
out:
	json_decref(o);
	free(end);
	free(from);
	if (rc < 0)
		paas_kv_list_free(out);
	return rc;
}

int
paas_etcd_put(struct paas_etcd *e, const char *key, const char *value,
    size_t len, int64_t lease, int64_t *rev, struct paas_err *err)
{
	json_t *req = json_object(), *o;

	json_object_set_new(req, "key", paas_json_base64(key, strlen(key)));
	json_object_set_new(req, "value", paas_json_base64(value, len));
	if (lease)
		json_object_set_new(req, "lease", etcd_i64str(lease));
	if (etcd_call(e, "/v3/kv/put", req, 1, &o, err) < 0)
		return -1;
	if (rev)
		*rev = etcd_i64(json_object_get(o, "header"), "revision");
	json_decref(o);
	return 0;
}

int
paas_etcd_put_json(struct paas_etcd *e, const char *key, const json_t *v, int64_t lease,
    int64_t *rev, struct paas_err *err)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	int rc;

	if (s == NULL)
		abort();
	rc = paas_etcd_put(e, key, s, strlen(s), lease, rev, err);
	free(s);
	return rc;
}

int
paas_etcd_delete(struct paas_etcd *e, const char *key, int prefix,
    int64_t *deleted, struct paas_err *err)
{
	json_t *req = json_object(), *o;

	etcd_set_range(req, key, prefix);
	if (etcd_call(e, "/v3/kv/deleterange", req, 1, &o, err) < 0)
		return -1;
	if (deleted)
		*deleted = etcd_i64(o, "deleted");
	json_decref(o);
	return 0;
}

static json_t *
op_json(const struct paas_op *op)
{
	json_t *r = json_object();

	if (op->type == PAAS_OP_PUT) {
		json_object_set_new(r, "key", paas_json_base64(op->key, strlen(op->key)));
		json_object_set_new(r, "value", paas_json_base64(op->value ? op->value : "",
		    op->value_len));
		if (op->lease)
			json_object_set_new(r, "lease", etcd_i64str(op->lease));
		return json_pack("{s:o}", "request_put", r);
	}
	etcd_set_range(r, op->key, op->type == PAAS_OP_DELETE_PREFIX);
	return json_pack("{s:o}", "request_delete_range", r);
}

int
paas_etcd_txn(struct paas_etcd *e, const struct paas_cmp *cmp, size_t ncmp,
    const struct paas_op *success, size_t nsuccess,
    const struct paas_op *failure, size_t nfailure,
    int *succeeded, int64_t *rev, struct paas_err *err)
{
	static const char *targets[] = { "MOD", "CREATE", "VERSION", "VALUE" };
	static const char *fields[] = { "mod_revision", "create_revision", "version", "value" };
	static const char *results[] = { "EQUAL", "NOT_EQUAL", "LESS", "GREATER" };
	json_t *req = json_object(), *c = json_array(), *s = json_array(), *f = json_array(), *o;
	size_t i;

	for (i = 0; i < ncmp; i++) {
		json_t *j = json_object();

		json_object_set_new(j, "key", paas_json_base64(cmp[i].key, strlen(cmp[i].key)));
		json_object_set_new(j, "target", json_string(targets[cmp[i].target]));
		json_object_set_new(j, "result", json_string(results[cmp[i].result]));
		if (cmp[i].target == PAAS_CMP_VALUE)
			json_object_set_new(j, "value", paas_json_base64(cmp[i].value,
			    cmp[i].value_len));
		else
			json_object_set_new(j, fields[cmp[i].target], etcd_i64str(cmp[i].number));
		json_array_append_new(c, j);
	}
	for (i = 0; i < nsuccess; i++)
		json_array_append_new(s, op_json(&success[i]));
	for (i = 0; i < nfailure; i++)
		json_array_append_new(f, op_json(&failure[i]));
	json_object_set_new(req, "compare", c);
	json_object_set_new(req, "success", s);
	json_object_set_new(req, "failure", f);
	/* Not idempotent: a compare that held the first time may not the second. */
	if (etcd_call(e, "/v3/kv/txn", req, 0, &o, err) < 0)
		return -1;
	if (succeeded)
		*succeeded = json_is_true(json_object_get(o, "succeeded"));
	if (rev)
		*rev = etcd_i64(json_object_get(o, "header"), "revision");
	json_decref(o);
	return 0;
}

int
paas_etcd_cas(struct paas_etcd *e, const char *key, const char *value,
    size_t len, int64_t mod_rev, int64_t lease, int *won, struct paas_err *err)
{
	struct paas_cmp cmp = { 0 };
	struct paas_op op = { 0 };

	cmp.key = key;
	cmp.target = mod_rev ? PAAS_CMP_MOD : PAAS_CMP_CREATE;
	cmp.result = PAAS_CMP_EQUAL;
	cmp.number = mod_rev;
	op.type = PAAS_OP_PUT;
	op.key = key;
	op.value = value;
	op.value_len = len;
	op.lease = lease;
	return paas_etcd_txn(e, &cmp, 1, &op, 1, NULL, 0, won, NULL, err);
}

int
paas_etcd_lease_grant(struct paas_etcd *e, int64_t ttl, int64_t *id,
    struct paas_err *err)
{
	json_t *o;

	if (etcd_call(e, "/v3/lease/grant", json_pack("{s:o}", "TTL", etcd_i64str(ttl)), 1, &o, err) < 0)
		return -1;
	*id = etcd_i64(o, "ID");
	json_decref(o);
	if (*id == 0)
		return paas_err_set(err, PAAS_EFAILED, "etcd granted no lease");
	return 0;
}

int
paas_etcd_lease_keepalive(struct paas_etcd *e, int64_t id, int64_t *ttl,
    struct paas_err *err)
{
	json_t *o, *r;

	if (etcd_call(e, "/v3/lease/keepalive", json_pack("{s:o}", "ID", etcd_i64str(id)), 1, &o, err) < 0)
		return -1;
	r = json_object_get(o, "result");
	*ttl = etcd_i64(r, "TTL");
	json_decref(o);
	if (*ttl <= 0)
		return paas_err_set(err, PAAS_EFAILED, "lease %" PRIx64 " expired", (uint64_t)id);
	return 0;
}

int
paas_etcd_lease_revoke(struct paas_etcd *e, int64_t id, struct paas_err *err)
{
	json_t *o;

	if (etcd_call(e, "/v3/lease/revoke", json_pack("{s:o}", "ID", etcd_i64str(id)), 1, &o, err) < 0)
		return -1;
	json_decref(o);
	return 0;
}

int
paas_etcd_wait_key(struct paas_etcd *e, const char *key, long ms)
{
	long long until = paas_now_ms() + ms;
	int found = 0;

	for (;;) {
		struct paas_err e2 = PAAS_ERR_INIT;
		struct paas_kv kv;

		memset(&kv, 0, sizeof(kv));
		if (paas_etcd_get(e, key, &kv, &found, NULL, &e2) < 0)
			found = 0;
		paas_kv_clear(&kv);
		if (found || paas_now_ms() >= until)
			return found;
		paas_sleep_ms(300);
	}
}
