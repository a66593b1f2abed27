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
#include "etcd.h"
#include "jsonx.h"

struct paas_etcd {
	struct paas_http *http;
	volatile sig_atomic_t *cancel;
	char *user, *password;	/* NULL: no authentication */
	int64_t code;		/* the gRPC code of the last error etcd gave */
};

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
static void
token_drop(const char *tok)
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
static int
auth_headers(struct paas_etcd *e, const char *base, char *hdr, size_t size, char *tok,
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
static int64_t
get_i64(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	if (json_is_integer(v))
		return json_integer_value(v);
	return 0;
}

static uint64_t
get_u64(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (json_is_string(v))
		return strtoull(json_string_value(v), NULL, 10);
	if (json_is_integer(v))
		return (uint64_t)json_integer_value(v);
	return 0;
}

static json_t *
i64str(int64_t v)
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

static void
set_range(json_t *req, const char *key, int prefix)
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

static int
parse_kv(json_t *o, struct paas_kv *kv, struct paas_err *err)
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
	kv->create_revision = get_i64(o, "create_revision");
	kv->mod_revision = get_i64(o, "mod_revision");
	kv->version = get_i64(o, "version");
	kv->lease = get_i64(o, "lease");
	return 0;
}

/* An error etcd gave (gRPC code, message) as ours, saying who asked when
 * it is about authentication. */
static int
auth_error(struct paas_etcd *e, int64_t code, const char *msg, struct paas_err *err)
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
static int
gateway_error(struct paas_etcd *e, json_t *o, long status, struct paas_err *err)
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
	code = get_i64(o, "code");
	if (code == 0 && json_is_object(eo))
		code = get_i64(eo, "grpc_code");
	return auth_error(e, code, msg, err);
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
	if (auth_headers(e, NULL, hdr, sizeof(hdr), tok, sizeof(tok), err) < 0)
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
	if (gateway_error(e, o, resp.status, err) < 0) {
		if (tok[0] && resp.status == 401) {
			token_drop(tok);
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
static int
call(struct paas_etcd *e, const char *path, json_t *req, int idempotent,
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
	int rc = call(e, path, req, 0, &o, err);

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
	set_range(req, key, 0);
	if (call(e, "/v3/kv/range", req, 1, &o, err) < 0)
		return -1;
	if (rev)
		*rev = get_i64(json_object_get(o, "header"), "revision");
	kvs = json_object_get(o, "kvs");
	if (json_array_size(kvs) > 0) {
		if (parse_kv(json_array_get(kvs, 0), kv, err) < 0)
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
		json_object_set_new(req, "limit", i64str((int64_t)page_size));
		if (out->revision)
			json_object_set_new(req, "revision", i64str(out->revision));
		if (keys_only)
			json_object_set_new(req, "keys_only", json_true());
		if (call(e, "/v3/kv/range", req, 1, &o, err) < 0)
			goto out;
		if (out->revision == 0)
			out->revision = get_i64(json_object_get(o, "header"), "revision");
		kvs = json_object_get(o, "kvs");
		more = json_is_true(json_object_get(o, "more")) && json_array_size(kvs) > 0;
		for (i = 0; i < json_array_size(kvs); i++) {
			if (out->n == cap) {
				cap = cap ? cap * 2 : 64;
				out->kvs = paas_xrealloc(out->kvs, cap * sizeof(*out->kvs));
			}
			if (parse_kv(json_array_get(kvs, i), &out->kvs[out->n], err) < 0)
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
		json_object_set_new(req, "lease", i64str(lease));
	if (call(e, "/v3/kv/put", req, 1, &o, err) < 0)
		return -1;
	if (rev)
		*rev = get_i64(json_object_get(o, "header"), "revision");
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

	set_range(req, key, prefix);
	if (call(e, "/v3/kv/deleterange", req, 1, &o, err) < 0)
		return -1;
	if (deleted)
		*deleted = get_i64(o, "deleted");
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
			json_object_set_new(r, "lease", i64str(op->lease));
		return json_pack("{s:o}", "request_put", r);
	}
	set_range(r, op->key, op->type == PAAS_OP_DELETE_PREFIX);
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
			json_object_set_new(j, fields[cmp[i].target], i64str(cmp[i].number));
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
	if (call(e, "/v3/kv/txn", req, 0, &o, err) < 0)
		return -1;
	if (succeeded)
		*succeeded = json_is_true(json_object_get(o, "succeeded"));
	if (rev)
		*rev = get_i64(json_object_get(o, "header"), "revision");
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

	if (call(e, "/v3/lease/grant", json_pack("{s:o}", "TTL", i64str(ttl)), 1, &o, err) < 0)
		return -1;
	*id = get_i64(o, "ID");
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

	if (call(e, "/v3/lease/keepalive", json_pack("{s:o}", "ID", i64str(id)), 1, &o, err) < 0)
		return -1;
	r = json_object_get(o, "result");
	*ttl = get_i64(r, "TTL");
	json_decref(o);
	if (*ttl <= 0)
		return paas_err_set(err, PAAS_EFAILED, "lease %" PRIx64 " expired", (uint64_t)id);
	return 0;
}

int
paas_etcd_lease_revoke(struct paas_etcd *e, int64_t id, struct paas_err *err)
{
	json_t *o;

	if (call(e, "/v3/lease/revoke", json_pack("{s:o}", "ID", i64str(id)), 1, &o, err) < 0)
		return -1;
	json_decref(o);
	return 0;
}

/* Watch ---------------------------------------------------------------- */

struct watch {
	struct paas_etcd *e;
	paas_watch_fn fn;
	void *arg;
	int64_t next_rev;	/* the first revision not yet delivered */
	int64_t compacted;
	int stopped;		/* fn asked to stop */
	int delivered;		/* something arrived on this connection */
	int stale;		/* etcd did not know our token */
	int resume;		/* the stream ended with an error to watch again after */
	struct paas_err err;	/* an error the server sent in the stream */
	int failed;
};

static int
on_watch_line(const char *line, size_t len, void *arg)
{
	struct watch *w = arg;
	json_t *o = json_loadb(line, len, 0, NULL), *r, *evs;
	int64_t maxrev = 0;
	size_t i;
	int rc = 0;

	if (o == NULL)
		return 0;	/* not a message; ignore */
	w->delivered = 1;
	if ((r = json_object_get(o, "result")) == NULL) {
		/* An error in the stream: a member going away ("transport is
		 * closing", "the client connection is closing") is watched
		 * again, elsewhere or later; being refused is not. */
		gateway_error(w->e, o, 500, &w->err);
		w->failed = strstr(w->err.msg, "permission denied") != NULL ||
		    strstr(w->err.msg, "wants a user") != NULL;
		w->resume = !w->failed;
		w->err.status = w->failed ? PAAS_EFAILED : PAAS_EUNAVAIL;
		rc = 1;
		goto out;
	}
	if (get_i64(r, "compact_revision") > 0) {
		w->compacted = get_i64(r, "compact_revision");
		paas_err_set(&w->err, PAAS_EFAILED,
		    "etcd watch from revision %" PRId64 ": compacted away (oldest is %" PRId64 ")",
		    w->next_rev, w->compacted);
		w->failed = 1;
		rc = 1;
		goto out;
	}
	if (json_is_true(json_object_get(r, "canceled"))) {
		const char *why = json_string_value(json_object_get(r, "cancel_reason"));

		if (why && (strstr(why, "permission denied") || strstr(why, "user name is empty"))) {
			auth_error(w->e, 0, why, &w->err);
			w->failed = 1;
			rc = 1;
			goto out;
		}
		/* Canceled without compaction: the member lost its leader, or
		 * forgot our token (then watched again with a new one). */
		w->stale = why && strstr(why, "invalid auth token");
		paas_err_set(&w->err, PAAS_EUNAVAIL, "etcd watch canceled: %s", why ? why : "no reason given");
		w->resume = 1;
		rc = 1;
		goto out;
	}
	evs = json_object_get(r, "events");
	for (i = 0; i < json_array_size(evs); i++) {
		json_t *ev = json_array_get(evs, i);
		struct paas_event pe;
		const char *type = json_string_value(json_object_get(ev, "type"));

		if (parse_kv(json_object_get(ev, "kv"), &pe.kv, &w->err) < 0) {
			w->failed = 1;
			rc = 1;
			goto out;
		}
		/* After a resume, skip what was already delivered. */
		if (pe.kv.mod_revision < w->next_rev) {
			paas_kv_clear(&pe.kv);
			continue;
		}
		pe.type = (type && strcmp(type, "DELETE") == 0) ? PAAS_EVENT_DELETE : PAAS_EVENT_PUT;
		if (pe.kv.mod_revision > maxrev)
			maxrev = pe.kv.mod_revision;
		if (w->fn(&pe, w->arg) != 0) {
			/* Events of the same revision after this one were not delivered. */
			w->next_rev = pe.kv.mod_revision;
			w->stopped = 1;
			paas_kv_clear(&pe.kv);
			rc = 1;
			goto out;
		}
		paas_kv_clear(&pe.kv);
	}
	if (maxrev)
		w->next_rev = maxrev + 1;
	else if (json_array_size(evs) == 0) {
		/* A created or a progress notice: every event up to the header's
		 * revision has been sent. */
		int64_t hrev = get_i64(json_object_get(r, "header"), "revision");

		if (json_is_true(json_object_get(r, "created"))) {
			if (w->next_rev == 0)
				w->next_rev = hrev + 1;
		} else if (w->next_rev != 0 && hrev + 1 > w->next_rev) {
			w->next_rev = hrev + 1;
		}
	}
out:
	json_decref(o);
	return rc;
}

int
paas_etcd_watch(struct paas_etcd *e, const struct paas_watch_opts *opts,
    paas_watch_fn fn, void *arg, struct paas_err *err)
{
	struct watch w;
	long retry_ms = opts->retry_ms > 0 ? opts->retry_ms : 30000, since = paas_now_ms();
	long backoff = 50;
	struct paas_http_req hr = { 0 };
	int rc, restaled = 0;

	memset(&w, 0, sizeof(w));
	w.e = e;
	w.fn = fn;
	w.arg = arg;
	w.next_rev = opts->start_revision;
	hr.method = "POST";
	hr.path = "/v3/watch";
	for (;;) {
		json_t *cr = json_object(), *req;
		char *body, hdr[600], tok[512];

		/* Ask the member to cancel the watch when it loses its leader,
		 * rather than keep a stream that will never see another event. */
		if (auth_headers(e, "Grpc-Metadata-hasleader: true", hdr, sizeof(hdr), tok,
		    sizeof(tok), err) < 0) {
			json_decref(cr);
			if (err->status != PAAS_EUNAVAIL || paas_now_ms() - since > retry_ms ||
			    (e->cancel && *e->cancel))
				return -1;
			paas_http_next(e->http);
			paas_sleep_ms(backoff);
			if (backoff < 1000)
				backoff *= 2;
			continue;
		}
		hr.header = hdr;
		if (opts->end) {
			json_object_set_new(cr, "key", paas_json_base64(opts->key, strlen(opts->key)));
			json_object_set_new(cr, "range_end", paas_json_base64(opts->end,
			    strlen(opts->end)));
		} else
			set_range(cr, opts->key, opts->prefix);
		if (w.next_rev)
			json_object_set_new(cr, "start_revision", i64str(w.next_rev));
		json_object_set_new(cr, "progress_notify", json_true());
		req = json_pack("{s:o}", "create_request", cr);
		body = json_dumps(req, JSON_COMPACT);
		json_decref(req);
		hr.body = body;
		hr.len = strlen(body);
		w.delivered = w.stale = w.resume = 0;
		paas_err_clear(&w.err);
		rc = paas_http_stream(e->http, &hr, on_watch_line, &w, NULL, err);
		free(body);
		if (w.stopped || (rc == 0 && !w.failed && !w.resume))
			return 0;
		if (w.failed) {
			if (opts->compacted)
				*opts->compacted = w.compacted;
			*err = w.err;
			return -1;
		}
		if (e->cancel && *e->cancel)
			return 0;
		if (w.stale) {
			token_drop(tok);
			if (!restaled++)
				continue;	/* at once the first time, then as any retry */
		}
		if (w.delivered) {
			since = paas_now_ms();
			backoff = 50;
		}
		if (paas_now_ms() - since > retry_ms) {
			if (w.err.status)
				*err = w.err;
			return paas_err_wrap(err, "etcd watch gave up after %ld ms", retry_ms);
		}
		/* Broken stream or member failure: resume on the next endpoint. */
		paas_http_next(e->http);
		paas_sleep_ms(backoff);
		if (backoff < 1000)
			backoff *= 2;
	}
}

/* Cluster --------------------------------------------------------------- */

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
	if (call(e, "/v3/cluster/member/list", json_object(), 1, &o, err) < 0)
		return -1;
	out->cluster_id = get_u64(json_object_get(o, "header"), "cluster_id");
	ms = json_object_get(o, "members");
	out->n = json_array_size(ms);
	out->m = calloc(out->n ? out->n : 1, sizeof(*out->m));
	if (out->m == NULL)
		abort();
	for (i = 0; i < out->n; i++) {
		json_t *m = json_array_get(ms, i);
		const char *name = json_string_value(json_object_get(m, "name"));

		out->m[i].id = get_u64(m, "ID");
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

	if (call(e, "/v3/cluster/member/remove", json_pack("{s:o}", "ID", u64str(id)), 0, &o, err) < 0)
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
	if (call(e, "/v3/cluster/member/add", json_pack("{s:o}", "peerURLs", urls), 0, &o, err) < 0)
		return -1;
	*id = get_u64(json_object_get(o, "member"), "ID");
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
	if (call(e, "/v3/maintenance/status", json_object(), 1, &o, err) < 0)
		return -1;
	v = json_string_value(json_object_get(o, "version"));
	snprintf(st->version, sizeof(st->version), "%s", v ? v : "");
	st->member_id = get_u64(json_object_get(o, "header"), "member_id");
	st->leader = get_u64(o, "leader");
	st->db_size = get_i64(o, "dbSize");
	st->revision = get_i64(json_object_get(o, "header"), "revision");
	st->raft_term = get_i64(o, "raftTerm");
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
