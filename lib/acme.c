/*
 * The ACME client (acme.h): JWS over the CA's HTTPS, RFC 8555 sections
 * 6.2 (requests), 7.3 (accounts), 7.4 (orders), 8.3 (HTTP-01).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <jansson.h>

#include "acme.h"
#include "buf.h"
#include "clock.h"
#include "http.h"
#include "jsonx.h"
#include "pki.h"
#include "private.h"
#include "valid.h"

#define NONCE_TRIES	5

struct paas_acme {
	const struct paas_acme_opts *o;
	struct paas_http *h;
	char *base;			/* scheme://host[:port] of the directory */
	json_t *dir;
	EVP_PKEY *key;
	json_t *jwk;
	char *thumb;			/* the JWK's thumbprint, base64url */
	char *kid;			/* the account's URL */
	char *nonce;
};

/* base64url without padding (caller frees). */
static char *
b64u(const void *data, size_t n)
{
	char *s = paas_base64_encode(data, n), *p;

	for (p = s; *p; p++)
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	if ((p = strchr(s, '=')) != NULL)
		*p = '\0';
	return s;
}

/* base64url decoded (caller frees), NULL when it is not. */
static unsigned char *
unb64u(const char *s, size_t *n)
{
	size_t len = strlen(s), i;
	char *t = paas_xmalloc(len + 4);
	unsigned char *out;

	for (i = 0; i < len; i++)
		t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (i % 4)
		t[i++] = '=';
	t[i] = '\0';
	out = (unsigned char *)paas_base64_decode(t, n);
	free(t);
	return out;
}

static char *
dump(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);

	if (s == NULL)
		abort();
	return s;
}

/* The key's JWK (RFC 7518 6.2) and thumbprint (RFC 7638). */
static int
jwk_of(struct paas_acme *a, struct paas_err *err)
{
	unsigned char pub[65], md[32];
	size_t n = 0;
	unsigned int mdn = 0;
	char *x, *y, *s;

	if (!EVP_PKEY_get_octet_string_param(a->key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
	    &n) || n != 65 || pub[0] != 4)
		return paas_ssl_fail(err, "the account key is not an uncompressed P-256 key");
	x = b64u(pub + 1, 32);
	y = b64u(pub + 33, 32);
	a->jwk = json_pack("{s:s, s:s, s:s, s:s}", "crv", "P-256", "kty", "EC", "x", x, "y", y);
	free(x);
	free(y);
	s = dump(a->jwk);
	EVP_Digest(s, strlen(s), md, &mdn, EVP_sha256(), NULL);
	free(s);
	a->thumb = b64u(md, mdn);
	return 0;
}

/* An ES256 signature of data: r and s, 32 bytes each, base64url. */
static char *
sign(EVP_PKEY *key, const char *data, struct paas_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[128], raw[64];
	const unsigned char *p = der;
	size_t n = sizeof(der);
	ECDSA_SIG *sig = NULL;
	const BIGNUM *r, *s;
	char *out = NULL;

	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, der, &n, (const unsigned char *)data, strlen(data)) != 1 ||
	    (sig = d2i_ECDSA_SIG(NULL, &p, (long)n)) == NULL) {
		paas_ssl_fail(err, "signing an ACME request");
		goto out;
	}
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32) {
		paas_ssl_fail(err, "signing an ACME request");
		goto out;
	}
	out = b64u(raw, sizeof(raw));
out:
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(ctx);
	return out;
}

/* url's path on the directory's host; NULL when it is on another. */
static const char *
path_of(const struct paas_acme *a, const char *url)
{
	size_t n = strlen(a->base);

	if (url == NULL || strncmp(url, a->base, n) != 0 || url[n] != '/')
		return NULL;
	return url + n;
}

/* A header of resp (borrowed from *buf, which the caller frees). */
static const char *
header(const struct paas_http_resp *resp, const char *name, char **buf)
{
	const char *p;
	size_t n = strlen(name);

	*buf = NULL;
	for (p = resp->headers; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "")
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			*buf = paas_xstrdup(p);
			(*buf)[strcspn(*buf, "\r\n")] = '\0';
			return *buf;
		}
	return NULL;
}

/* The CA's problem document, in words (RFC 7807). */
static int
problem(const struct paas_http_resp *resp, const char *what, struct paas_err *err)
{
	json_t *p = json_loadb(resp->body ? resp->body : "", resp->len, 0, NULL);
	int rc = paas_err_set(err, PAAS_EFAILED, "%s: the CA answered %ld%s%s%s%s", what,
	    resp->status, p ? ": " : "", p ? paas_json_str(p, "detail", "") : "",
	    p ? " (" : "", p ? paas_json_str(p, "type", "?") : "");

	if (p)
		strncat(err->msg, ")", sizeof(err->msg) - strlen(err->msg) - 1);
	json_decref(p);
	return rc;
}

static int
new_nonce(struct paas_acme *a, struct paas_err *err)
{
	struct paas_http_req req = { "GET", path_of(a, paas_json_str(a->dir, "newNonce", NULL)),
	    NULL, 0, NULL, NULL, 1, 0, NULL, "Replay-Nonce" };
	struct paas_http_resp resp;
	char *n;

	if (req.path == NULL)
		return paas_err_set(err, PAAS_EFAILED, "the CA's newNonce is not on its host");
	if (paas_http_do(a->h, &req, &resp, err) < 0) {
		paas_http_resp_free(&resp);
		return -1;
	}
	free(a->nonce);
	a->nonce = header(&resp, "Replay-Nonce", &n) ? n : NULL;
	paas_http_resp_free(&resp);
	return a->nonce ? 0 : paas_err_set(err, PAAS_EFAILED, "the CA gave no nonce");
}

/*
 * POST payload (NULL: POST-as-GET) to url, signed with the account key
 * (by its JWK until the account exists); *resp the answer, which must be
 * 2xx.  A bad nonce is tried again.
 */
static int
post(struct paas_acme *a, const char *url, const json_t *payload, const char *accept,
    struct paas_http_resp *resp, struct paas_err *err)
{
	const char *path = path_of(a, url);
	int tries;

	memset(resp, 0, sizeof(*resp));
	if (path == NULL)
		return paas_err_set(err, PAAS_EFAILED, "ACME URL %.200s is not on the CA's host %s",
		    url ? url : "(none)", a->base);
	for (tries = 0; tries < NONCE_TRIES; tries++) {
		json_t *prot, *jws, *p;
		char *ps, *pl, *in, *sig, *body, *n;
		struct paas_http_req req = { "POST", path, NULL, 0, "application/jose+json", NULL,
		    0, 0, accept, "Replay-Nonce\nLocation" };
		int rc;

		if (a->nonce == NULL && new_nonce(a, err) < 0)
			return -1;
		prot = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "nonce", a->nonce, "url", url);
		if (a->kid)
			json_object_set_new(prot, "kid", json_string(a->kid));
		else
			json_object_set(prot, "jwk", a->jwk);
		free(a->nonce);
		a->nonce = NULL;
		ps = dump(prot);
		in = b64u(ps, strlen(ps));
		free(ps);
		ps = payload ? dump(payload) : paas_xstrdup("");
		pl = b64u(ps, strlen(ps));
		free(ps);
		ps = NULL;
		if (asprintf(&ps, "%s.%s", in, pl) < 0)
			abort();
		sig = sign(a->key, ps, err);
		free(ps);
		if (sig == NULL) {
			free(in);
			free(pl);
			json_decref(prot);
			return -1;
		}
		jws = json_pack("{s:s, s:s, s:s}", "protected", in, "payload", pl, "signature", sig);
		free(in);
		free(pl);
		free(sig);
		json_decref(prot);
		body = dump(jws);
		json_decref(jws);
		req.body = body;
		req.len = strlen(body);
		paas_http_resp_free(resp);
		rc = paas_http_do(a->h, &req, resp, err);
		free(body);
		if (rc < 0)
			return -1;
		free(a->nonce);
		a->nonce = header(resp, "Replay-Nonce", &n) ? n : NULL;
		if (resp->status >= 200 && resp->status < 300)
			return 0;
		p = json_loadb(resp->body ? resp->body : "", resp->len, 0, NULL);
		rc = resp->status == 400 && strcmp(paas_json_str(p, "type", ""),
		    "urn:ietf:params:acme:error:badNonce") == 0;
		json_decref(p);
		if (!rc)
			return problem(resp, url, err);
	}
	return problem(resp, url, err);
}

/* POST payload to url, its answer as JSON (*out, caller decrefs). */
static int
post_json(struct paas_acme *a, const char *url, const json_t *payload, json_t **out,
    char **location, struct paas_err *err)
{
	struct paas_http_resp resp;
	char *l;

	*out = NULL;
	if (location)
		*location = NULL;
	if (post(a, url, payload, NULL, &resp, err) < 0) {
		paas_http_resp_free(&resp);
		return -1;
	}
	*out = json_loadb(resp.body ? resp.body : "", resp.len, 0, NULL);
	if (location && header(&resp, "Location", &l))
		*location = l;
	paas_http_resp_free(&resp);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		if (location) {
			free(*location);
			*location = NULL;
		}
		return paas_err_set(err, PAAS_EFAILED, "%s: the CA's answer is not a JSON object", url);
	}
	return 0;
}

int
paas_acme_open(const struct paas_acme_opts *o, const char *key_pem, struct paas_acme **out,
    struct paas_err *err)
{
	struct paas_acme *a = calloc(1, sizeof(*a));
	struct paas_http_opts ho = { 0 };
	struct paas_http_req req = { "GET", NULL, NULL, 0, NULL, NULL, 1, 0, NULL, NULL };
	struct paas_http_resp resp = { 0 };
	const char *d = o->directory, *slash;

	*out = NULL;
	if (a == NULL)
		abort();
	a->o = o;
	if (d == NULL || strncmp(d, "https://", 8) != 0 || (slash = strchr(d + 8, '/')) == NULL ||
	    !paas_only_chars(d, ":/._-~%?=&+")) {
		paas_err_set(err, PAAS_EINVAL, "ACME directory '%.200s': expected an https:// URL",
		    d ? d : "");
		goto fail;
	}
	a->base = paas_xstrndup(d, (size_t)(slash - d));
	ho.ca_file = o->ca_file;
	ho.timeout_ms = o->timeout_ms;
	if ((a->h = paas_http_new("ACME CA", a->base, &ho, err)) == NULL)
		goto fail;
	req.path = slash;
	if (paas_http_do(a->h, &req, &resp, err) < 0)
		goto fail;
	a->dir = json_loadb(resp.body ? resp.body : "", resp.len, 0, NULL);
	if (resp.status != 200 || !json_is_string(json_object_get(a->dir, "newAccount")) ||
	    !json_is_string(json_object_get(a->dir, "newOrder")) ||
	    !json_is_string(json_object_get(a->dir, "newNonce"))) {
		paas_err_set(err, PAAS_EFAILED, "%s is not an ACME directory (HTTP %ld)", d,
		    resp.status);
		goto fail;
	}
	paas_http_resp_free(&resp);
	if (key_pem) {
		BIO *b = BIO_new_mem_buf(key_pem, -1);

		a->key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
		BIO_free(b);
		if (a->key == NULL || !EVP_PKEY_is_a(a->key, "EC")) {
			paas_err_set(err, PAAS_EINVAL, "the ACME account key is not an EC key in PEM");
			goto fail;
		}
	} else if ((a->key = EVP_EC_gen("P-256")) == NULL) {
		paas_ssl_fail(err, "making an ACME account key");
		goto fail;
	}
	if (jwk_of(a, err) < 0)
		goto fail;
	*out = a;
	return 0;
fail:
	paas_http_resp_free(&resp);
	paas_acme_free(a);
	return -1;
}

void
paas_acme_free(struct paas_acme *a)
{
	if (a == NULL)
		return;
	paas_http_free(a->h);
	free(a->base);
	json_decref(a->dir);
	EVP_PKEY_free(a->key);
	json_decref(a->jwk);
	free(a->thumb);
	free(a->kid);
	free(a->nonce);
	free(a);
}

/* key as PEM (caller frees with paas_secret_free()). */
static char *
pem_of(EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *p, *out = NULL;
	long n;

	if (b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) &&
	    (n = BIO_get_mem_data(b, &p)) > 0)
		out = paas_xstrndup(p, (size_t)n);
	BIO_free(b);
	return out;
}

char *
paas_acme_key(struct paas_acme *a)
{
	return pem_of(a->key);
}

/* The External Account Binding of RFC 8555 7.3.4: the JWK signed with the
 * CA's MAC key. */
static json_t *
eab(struct paas_acme *a, struct paas_err *err)
{
	const char *url = paas_json_str(a->dir, "newAccount", "");
	json_t *prot = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", a->o->eab_kid, "url",
	    url);
	char *ps = dump(prot), *in = b64u(ps, strlen(ps)), *js = dump(a->jwk);
	char *pl = b64u(js, strlen(js)), *si = NULL, *sig;
	unsigned char mac[32], *key;
	unsigned int mn = 0;
	size_t kn = 0;
	json_t *out = NULL;

	if ((key = unb64u(a->o->eab_hmac, &kn)) == NULL) {
		paas_err_set(err, PAAS_EINVAL, "the EAB HMAC key is not base64url");
		goto done;
	}
	if (asprintf(&si, "%s.%s", in, pl) < 0)
		abort();
	HMAC(EVP_sha256(), key, (int)kn, (unsigned char *)si, strlen(si), mac, &mn);
	OPENSSL_cleanse(key, kn);
	free(key);
	sig = b64u(mac, mn);
	out = json_pack("{s:s, s:s, s:s}", "protected", in, "payload", pl, "signature", sig);
	free(sig);
done:
	free(si);
	free(ps);
	free(in);
	free(js);
	free(pl);
	json_decref(prot);
	return out;
}

int
paas_acme_account(struct paas_acme *a, const char **url, struct paas_err *err)
{
	json_t *req = json_pack("{s:b}", "termsOfServiceAgreed", 1), *acct = NULL;
	int rc = -1;

	*url = NULL;
	if (a->kid) {
		*url = a->kid;
		json_decref(req);
		return 0;
	}
	if (a->o->contact) {
		if (!paas_only_chars(a->o->contact, "@._+-")) {
			paas_err_set(err, PAAS_EINVAL, "ACME contact '%.100s' is not an email address",
			    a->o->contact);
			goto out;
		}
		json_object_set_new(req, "contact", json_pack("[s+]", "mailto:", a->o->contact));
	}
	if (a->o->eab_kid && a->o->eab_hmac) {
		json_t *b = eab(a, err);

		if (b == NULL)
			goto out;
		json_object_set_new(req, "externalAccountBinding", b);
	}
	if (post_json(a, paas_json_str(a->dir, "newAccount", NULL), req, &acct, &a->kid, err) < 0)
		goto out;
	if (a->kid == NULL) {
		paas_err_set(err, PAAS_EFAILED, "the CA made an account and gave no URL for it");
		goto out;
	}
	*url = a->kid;
	rc = 0;
out:
	json_decref(req);
	json_decref(acct);
	return rc;
}

/* POST-as-GET url until its status is no longer pending or processing,
 * by the deadline. */
static int
poll_status(struct paas_acme *a, const char *url, long long deadline, json_t **out,
    struct paas_err *err)
{
	for (;;) {
		const char *st;

		if (post_json(a, url, NULL, out, NULL, err) < 0)
			return -1;
		st = paas_json_str(*out, "status", "");
		if (strcmp(st, "pending") && strcmp(st, "processing"))
			return 0;
		json_decref(*out);
		*out = NULL;
		if (paas_now_ms() > deadline)
			return paas_err_set(err, PAAS_EFAILED, "%s: still %s after %ld s", url, st,
			    (long)((a->o->order_timeout_ms ? a->o->order_timeout_ms : 120000) / 1000));
		paas_sleep_ms(250);
	}
}

/* One authorization, validated through HTTP-01. */
static int
authorize(struct paas_acme *a, const char *url, long long deadline, paas_acme_publish_fn publish,
    void *arg, struct paas_err *err)
{
	json_t *az = NULL, *ch, *done = NULL, *empty = json_object(), *r = NULL;
	const char *token = NULL, *curl = NULL, *dom;
	char *keyauth = NULL;
	size_t i;
	int rc = -1, published = 0;

	if (post_json(a, url, NULL, &az, NULL, err) < 0)
		goto out;
	dom = paas_json_str(json_object_get(az, "identifier"), "value", "?");
	if (strcmp(paas_json_str(az, "status", ""), "valid") == 0) {
		rc = 0;
		goto out;
	}
	json_array_foreach(json_object_get(az, "challenges"), i, ch)
		if (strcmp(paas_json_str(ch, "type", ""), "http-01") == 0) {
			token = paas_json_str(ch, "token", NULL);
			curl = paas_json_str(ch, "url", NULL);
		}
	if (token == NULL || curl == NULL || !paas_only_chars(token, "_-") || strlen(token) > 128) {
		paas_err_set(err, PAAS_EFAILED, "domain %s: the CA offers no usable http-01 challenge",
		    dom);
		goto out;
	}
	if (asprintf(&keyauth, "%s.%s", token, a->thumb) < 0)
		abort();
	if (publish(token, keyauth, 1, arg, err) < 0)
		goto out;
	published = 1;
	if (post_json(a, curl, empty, &r, NULL, err) < 0 ||
	    poll_status(a, url, deadline, &done, err) < 0)
		goto out;
	if (strcmp(paas_json_str(done, "status", ""), "valid") != 0) {
		const json_t *e = NULL;

		json_array_foreach(json_object_get(done, "challenges"), i, ch)
			if (json_object_get(ch, "error"))
				e = json_object_get(ch, "error");
		paas_err_set(err, PAAS_EFAILED, "domain %s: the CA did not validate it (%s): %s", dom,
		    paas_json_str(done, "status", "?"), e ? paas_json_str(e, "detail", "") : "no reason given");
		goto out;
	}
	rc = 0;
out:
	if (published) {
		struct paas_err e2 = PAAS_ERR_INIT;

		publish(token, keyauth, 0, arg, &e2);
	}
	free(keyauth);
	json_decref(az);
	json_decref(done);
	json_decref(empty);
	json_decref(r);
	return rc;
}

/* A CSR for names with key, DER in base64url. */
static char *
csr(EVP_PKEY *key, const char *const *names, size_t n, struct paas_err *err)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *sub = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext;
	struct paas_buf san = PAAS_BUF_INIT;
	unsigned char *der = NULL;
	char *out = NULL;
	size_t i;
	int len;

	for (i = 0; i < n; i++)
		paas_buf_addf(&san, "%sDNS:%s", i ? "," : "", names[i]);
	if (r == NULL || sub == NULL || exts == NULL ||
	    !X509_NAME_add_entry_by_txt(sub, "CN", MBSTRING_ASC, (const unsigned char *)names[0],
	    -1, -1, 0) || !X509_REQ_set_subject_name(r, sub) || !X509_REQ_set_pubkey(r, key) ||
	    (ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san.data)) == NULL) {
		paas_ssl_fail(err, "making a certificate request");
		goto out;
	}
	sk_X509_EXTENSION_push(exts, ext);
	if (!X509_REQ_add_extensions(r, exts) || !X509_REQ_sign(r, key, EVP_sha256()) ||
	    (len = i2d_X509_REQ(r, &der)) <= 0) {
		paas_ssl_fail(err, "making a certificate request");
		goto out;
	}
	out = b64u(der, (size_t)len);
out:
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(sub);
	X509_REQ_free(r);
	paas_buf_free(&san);
	return out;
}

int
paas_acme_order(struct paas_acme *a, const char *const *names, size_t n,
    paas_acme_publish_fn publish, void *arg, char **cert_pem, char **key_pem,
    struct paas_err *err)
{
	long long deadline = paas_now_ms() + (a->o->order_timeout_ms ? a->o->order_timeout_ms :
	    120000);
	json_t *req = json_pack("{s:[]}", "identifiers"), *order = NULL, *done = NULL, *fin = NULL;
	json_t *r = NULL, *az;
	EVP_PKEY *key = NULL;
	char *ourl = NULL, *c = NULL;
	const char *u;
	struct paas_http_resp resp = { 0 };
	size_t i;
	int rc = -1;

	*cert_pem = *key_pem = NULL;
	if (a->kid == NULL && paas_acme_account(a, &u, err) < 0)
		goto out;
	for (i = 0; i < n; i++)
		json_array_append_new(json_object_get(req, "identifiers"), json_pack("{s:s, s:s}",
		    "type", "dns", "value", names[i]));
	if (post_json(a, paas_json_str(a->dir, "newOrder", NULL), req, &order, &ourl, err) < 0)
		goto out;
	if (ourl == NULL) {
		paas_err_set(err, PAAS_EFAILED, "the CA made an order and gave no URL for it");
		goto out;
	}
	json_array_foreach(json_object_get(order, "authorizations"), i, az)
		if (authorize(a, json_string_value(az), deadline, publish, arg, err) < 0)
			goto out;
	if ((key = EVP_EC_gen("P-256")) == NULL) {
		paas_ssl_fail(err, "making a certificate key");
		goto out;
	}
	if ((c = csr(key, names, n, err)) == NULL)
		goto out;
	fin = json_pack("{s:s}", "csr", c);
	if (post_json(a, paas_json_str(order, "finalize", NULL), fin, &r, NULL, err) < 0 ||
	    poll_status(a, ourl, deadline, &done, err) < 0)
		goto out;
	if (strcmp(paas_json_str(done, "status", ""), "valid") != 0 ||
	    !json_is_string(json_object_get(done, "certificate"))) {
		paas_err_set(err, PAAS_EFAILED, "the order for %s ended %s", names[0],
		    paas_json_str(done, "status", "?"));
		goto out;
	}
	if (post(a, paas_json_str(done, "certificate", NULL), NULL,
	    "Accept: application/pem-certificate-chain", &resp, err) < 0)
		goto out;
	if (resp.body == NULL || strstr(resp.body, "-----BEGIN CERTIFICATE-----") == NULL) {
		paas_err_set(err, PAAS_EFAILED, "the CA's certificate for %s is not PEM", names[0]);
		goto out;
	}
	*cert_pem = paas_xstrdup(resp.body);
	if ((*key_pem = pem_of(key)) == NULL) {
		free(*cert_pem);
		*cert_pem = NULL;
		paas_ssl_fail(err, "writing the certificate key");
		goto out;
	}
	rc = 0;
out:
	paas_http_resp_free(&resp);
	EVP_PKEY_free(key);
	json_decref(req);
	json_decref(order);
	json_decref(done);
	json_decref(fin);
	json_decref(r);
	free(ourl);
	free(c);
	return rc;
}
