/*
 * The certificate store (certs.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "certs.h"
#include "clock.h"
#include "file.h"
#include "jsonx.h"
#include "keys.h"
#include "private.h"
#include "secrets.h"
#include "valid.h"

#define PEM_MAX		(256 * 1024)

/* A DNS name of a certificate: a domain, or "*." and one. */
static int
dns_name(const char *s)
{
	return paas_valid_domain(strncmp(s, "*.", 2) == 0 ? s + 2 : s);
}

int
paas_certs_check(const char *cert_pem, const char *key_pem, json_t **info, struct paas_err *err)
{
	BIO *cb = BIO_new_mem_buf(cert_pem, -1), *kb = BIO_new_mem_buf(key_pem, -1), *ib = NULL;
	X509 *leaf = NULL;
	EVP_PKEY *key = NULL;
	GENERAL_NAMES *san = NULL;
	json_t *names = json_array();
	struct tm tm;
	char when[32], *p;
	long n;
	int i, rc = -1;

	*info = NULL;
	if (cb == NULL || kb == NULL || (leaf = PEM_read_bio_X509(cb, NULL, NULL, NULL)) == NULL) {
		paas_err_set(err, PAAS_EINVAL, "the certificate is not PEM");
		goto out;
	}
	if ((key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL)) == NULL) {
		paas_err_set(err, PAAS_EINVAL, "the key is not a PEM private key");
		goto out;
	}
	if (X509_check_private_key(leaf, key) != 1) {
		paas_err_set(err, PAAS_EINVAL, "the key is not the certificate's");
		goto out;
	}
	san = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	for (i = 0; san && i < sk_GENERAL_NAME_num(san); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);
		const char *d;

		if (g->type != GEN_DNS)
			continue;
		d = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
		if ((size_t)ASN1_STRING_length(g->d.dNSName) != strlen(d) || !dns_name(d)) {
			paas_err_set(err, PAAS_EINVAL, "the certificate names '%.64s', not a domain", d);
			goto out;
		}
		json_array_append_new(names, json_string(d));
	}
	if (json_array_size(names) == 0) {
		paas_err_set(err, PAAS_EINVAL, "the certificate names no domain (subjectAltName DNS)");
		goto out;
	}
	if (!ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &tm)) {
		paas_err_set(err, PAAS_EINVAL, "the certificate's expiry cannot be read");
		goto out;
	}
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((ib = BIO_new(BIO_s_mem())) == NULL ||
	    X509_NAME_print_ex(ib, X509_get_issuer_name(leaf), 0, XN_FLAG_RFC2253) < 0 ||
	    (n = BIO_get_mem_data(ib, &p)) < 0) {
		paas_err_set(err, PAAS_EINVAL, "the certificate's issuer cannot be read");
		goto out;
	}
	*info = json_pack("{s:O, s:s, s:s%}", "names", names, "not_after", when, "issuer", p,
	    (size_t)n);
	if (*info == NULL) {
		paas_err_set(err, PAAS_EINVAL, "the certificate's issuer is not UTF-8");
		goto out;
	}
	rc = 0;
out:
	GENERAL_NAMES_free(san);
	EVP_PKEY_free(key);
	X509_free(leaf);
	BIO_free(cb);
	BIO_free(kb);
	BIO_free(ib);
	json_decref(names);
	return rc;
}

static char *
cert_key(const char *name)
{
	char *k;

	if (asprintf(&k, PAAS_CERTS_PREFIX "%s", name) < 0)
		abort();
	return k;
}

int
paas_certs_put(struct paas_etcd *e, const char *name, const char *cert_pem, const char *key_pem,
    const char *source, struct paas_err *err)
{
	unsigned char sk[PAAS_SECRETS_KEY_LEN];
	json_t *info = NULL, *vals = NULL, *sealed = NULL, *rec = NULL;
	char *k = NULL, when[32];
	int have = 0, rc = -1;

	if (!paas_valid_label(name) || strlen(name) > 200)
		return paas_err_set(err, PAAS_EINVAL, "certificate name '%.64s': letters, digits, "
		    "'.', '-' and '_'", name);
	if (strlen(cert_pem) > PEM_MAX || strlen(key_pem) > PEM_MAX)
		return paas_err_set(err, PAAS_EINVAL, "certificate %s: larger than %d KiB", name,
		    PEM_MAX / 1024);
	if (paas_certs_check(cert_pem, key_pem, &info, err) < 0)
		return paas_err_wrap(err, "certificate %s", name);
	if (paas_secrets_key(sk, &have, NULL, err) < 0)
		goto out;
	if (!have) {
		paas_err_set(err, PAAS_EINVAL, "certificate %s: no cluster secrets key here "
		    "($PAAS_SECRETS_KEY, or secrets.key in the state directory): keys are kept "
		    "sealed", name);
		goto out;
	}
	k = cert_key(name);
	vals = json_pack("{s:s}", "key", key_pem);
	if (paas_secrets_seal(sk, k, vals, &sealed, err) < 0)
		goto out;
	paas_utc_now(when, sizeof(when));
	rec = json_pack("{s:s, s:s, s:s, s:s, s:O, s:O, s:O, s:s, s:O}", "kind", "certificate",
	    "name", name, "source", source, "cert", cert_pem, "names",
	    json_object_get(info, "names"), "not_after", json_object_get(info, "not_after"),
	    "issuer", json_object_get(info, "issuer"), "time", when, "key", sealed);
	rc = paas_etcd_put_json(e, k, rec, 0, NULL, err);
out:
	OPENSSL_cleanse(sk, sizeof(sk));
	if (vals) {
		json_object_clear(vals);
		json_decref(vals);
	}
	json_decref(sealed);
	json_decref(rec);
	json_decref(info);
	free(k);
	return rc;
}

static long
days_left(const char *not_after)
{
	long long t = paas_utc_parse(not_after);

	return t ? (long)((t - (long long)time(NULL)) / 86400) : 0;
}

int
paas_certs_list(struct paas_etcd *e, json_t **out, struct paas_err *err)
{
	struct paas_kv_list l;
	size_t k;

	*out = NULL;
	if (paas_etcd_range(e, PAAS_CERTS_PREFIX, 0, 0, &l, err) < 0)
		return -1;
	*out = json_array();
	for (k = 0; k < l.n; k++) {
		json_t *r = json_loadb(l.kvs[k].value, l.kvs[k].value_len, 0, NULL);

		if (!json_is_object(r)) {
			json_decref(r);
			continue;
		}
		json_object_del(r, "cert");
		json_object_del(r, "key");
		json_object_set_new(r, "days_left", json_integer(days_left(paas_json_str(r,
		    "not_after", NULL))));
		json_array_append_new(*out, r);
	}
	paas_kv_list_free(&l);
	return 0;
}

int
paas_certs_remove(struct paas_etcd *e, const char *name, struct paas_err *err)
{
	char *k;
	int64_t n = 0;
	int rc;

	if (!paas_valid_label(name))
		return paas_err_set(err, PAAS_EINVAL, "certificate name '%.64s' is not one", name);
	k = cert_key(name);
	rc = paas_etcd_delete(e, k, 0, &n, err);
	free(k);
	if (rc == 0 && n == 0)
		return paas_err_set(err, PAAS_EINVAL, "no certificate %s is stored", name);
	return rc;
}

/* The chain and key of record rec (stored as key k) as one PEM (caller
 * frees with paas_secret_free), or NULL with err. */
static char *
unsealed(const unsigned char sk[PAAS_SECRETS_KEY_LEN], const char *k, const json_t *rec,
    struct paas_err *err)
{
	json_t *vals = NULL;
	const char *cert = paas_json_str(rec, "cert", NULL), *key;
	char *out = NULL;

	if (cert == NULL || paas_secrets_open(sk, k, json_object_get(rec, "key"), &vals, err) < 0)
		return cert ? NULL : (paas_err_set(err, PAAS_EFAILED, "no certificate"), NULL);
	if ((key = paas_json_str(vals, "key", NULL)) != NULL &&
	    asprintf(&out, "%s%s%s", cert, cert[strlen(cert) - 1] == '\n' ? "" : "\n", key) < 0)
		abort();
	json_object_clear(vals);
	json_decref(vals);
	return out;
}

int
paas_certs_materialize(struct paas_etcd *e, const char *dir, char **list, json_t **changed,
    json_t *skipped, struct paas_err *err)
{
	unsigned char sk[PAAS_SECRETS_KEY_LEN];
	struct paas_kv_list l;
	struct paas_buf cl = PAAS_BUF_INIT;
	json_t *want = json_object();
	DIR *d;
	struct dirent *de;
	size_t k;
	int have = 0, rc = -1;

	*list = NULL;
	*changed = json_pack("{s:[], s:[], s:[]}", "added", "changed", "removed");
	if (paas_etcd_range(e, PAAS_CERTS_PREFIX, 0, 0, &l, err) < 0)
		goto out_nolist;
	if (l.n && paas_secrets_key(sk, &have, NULL, err) < 0)
		goto out;
	if (paas_mkdir_p(dir, 0700, err) < 0 || chmod(dir, 0700) < 0)
		goto out;
	for (k = 0; k < l.n; k++) {
		const char *name = paas_key_tail(l.kvs[k].key, PAAS_CERTS_PREFIX);
		json_t *rec = json_loadb(l.kvs[k].value, l.kvs[k].value_len, 0, NULL);
		struct paas_err e2 = PAAS_ERR_INIT;
		char *pem = NULL, *path = NULL, *old = NULL;
		size_t on = 0;

		if (!have)
			paas_err_set(&e2, PAAS_EINVAL, "no cluster secrets key here");
		else if (name == NULL || !paas_valid_label(name) || !json_is_object(rec))
			paas_err_set(&e2, PAAS_EFAILED, "damaged record");
		else
			pem = unsealed(sk, l.kvs[k].key, rec, &e2);
		json_decref(rec);
		if (pem == NULL) {
			json_array_append_new(skipped, json_sprintf("certificate %s: %s", name ? name :
			    "?", e2.msg));
			continue;
		}
		if (asprintf(&path, "%s/%s.pem", dir, name) < 0)
			abort();
		json_object_set_new(want, path, json_true());
		if (paas_read_file(path, PEM_MAX * 2 + 1, &old, &on, &e2) < 0 || on != strlen(pem) ||
		    memcmp(old, pem, on) != 0) {
			const char *how = old ? "changed" : "added";

			if (paas_file_replace(path, pem, strlen(pem), 0600, &e2) < 0)
				json_array_append_new(skipped, json_sprintf("certificate %s: %s", name,
				    e2.msg));
			else
				json_array_append_new(json_object_get(*changed, how), json_string(path));
		}
		paas_buf_addf(&cl, "%s\n", path);
		if (old)
			paas_secret_free(old);
		paas_secret_free(pem);
		free(path);
	}
	/* What the store no longer has goes. */
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			size_t n = strlen(de->d_name);
			char *path;

			if (n < 5 || strcmp(de->d_name + n - 4, ".pem") != 0)
				continue;
			path = paas_path_join(dir, de->d_name);
			if (!json_object_get(want, path) && unlink(path) == 0)
				json_array_append_new(json_object_get(*changed, "removed"),
				    json_string(path));
			free(path);
		}
		closedir(d);
	}
	{
		char *lp = paas_path_join(dir, "crt-list");

		if (cl.len == 0)
			unlink(lp);
		else if (paas_file_replace(lp, cl.data, cl.len, 0600, err) < 0) {
			free(lp);
			goto out;
		}
		if (cl.len)
			*list = lp;
		else
			free(lp);
	}
	rc = 0;
out:
	OPENSSL_cleanse(sk, sizeof(sk));
	paas_kv_list_free(&l);
out_nolist:
	paas_buf_free(&cl);
	json_decref(want);
	if (rc < 0) {
		json_decref(*changed);
		*changed = NULL;
	}
	return rc;
}
