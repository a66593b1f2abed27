#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "etcd.h"
#include "jsonx.h"
#include "keys.h"
#include "private.h"
#include "secrets.h"
#include "state.h"

#define NONCE_LEN	12
#define TAG_LEN		16

int
paas_secrets_key(unsigned char key[PAAS_SECRETS_KEY_LEN], int *have, char **path,
    struct paas_err *err)
{
	char *p = paas_state_file("PAAS_SECRETS_KEY", "secrets.key"), *data = NULL;
	size_t n = 0;

	*have = 0;
	if (path)
		*path = NULL;
	if (p == NULL)
		return 0;
	if (paas_private_read("secrets key", p, PAAS_SECRETS_KEY_LEN, &data, &n, err) < 0 ||
	    n != PAAS_SECRETS_KEY_LEN) {
		if (data)
			paas_err_set(err, PAAS_EINVAL, "secrets key %s: expected %d random bytes "
			    "(head -c 32 /dev/urandom)", p, PAAS_SECRETS_KEY_LEN);
		else if (strstr(err->msg, "too long"))
			paas_err_set(err, PAAS_EINVAL, "secrets key %s: expected %d random bytes "
			    "(head -c 32 /dev/urandom)", p, PAAS_SECRETS_KEY_LEN);
		if (data) {
			explicit_bzero(data, n);
			free(data);
		}
		free(p);
		return -1;
	}
	memcpy(key, data, PAAS_SECRETS_KEY_LEN);
	explicit_bzero(data, n);
	free(data);
	*have = 1;
	if (path)
		*path = p;
	else
		free(p);
	return 0;
}

static void
key_id(const unsigned char key[PAAS_SECRETS_KEY_LEN], char out[9])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(key, PAAS_SECRETS_KEY_LEN, md, &n, EVP_sha256(), NULL);
	snprintf(out, 9, "%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
}

int
paas_secrets_seal(const unsigned char key[PAAS_SECRETS_KEY_LEN], const char *aad,
    const json_t *vals, json_t **rec, struct paas_err *err)
{
	char *plain = json_dumps(vals, JSON_COMPACT | JSON_SORT_KEYS), *nb, *db, kid[9];
	size_t plen = strlen(plain);
	unsigned char nonce[NONCE_LEN], *out = paas_xmalloc(plen + TAG_LEN);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len, ok;

	*rec = NULL;
	ok = c && getrandom(nonce, sizeof(nonce), 0) == (ssize_t)sizeof(nonce) &&
	    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
	    EVP_EncryptUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
	    EVP_EncryptUpdate(c, out, &len, (const unsigned char *)plain, (int)plen) == 1 &&
	    EVP_EncryptFinal_ex(c, out + len, &len) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + plen) == 1;
	EVP_CIPHER_CTX_free(c);
	explicit_bzero(plain, plen);
	free(plain);
	if (!ok) {
		free(out);
		return paas_err_set(err, PAAS_EFAILED, "cannot seal the secrets of %s", aad);
	}
	key_id(key, kid);
	nb = paas_base64_encode(nonce, sizeof(nonce));
	db = paas_base64_encode(out, plen + TAG_LEN);
	*rec = json_pack("{s:i, s:s, s:s, s:s, s:s}", "format", 1, "cipher", "aes-256-gcm",
	    "key_id", kid, "nonce", nb, "data", db);
	free(nb);
	free(db);
	free(out);
	return 0;
}

int
paas_secrets_open(const unsigned char key[PAAS_SECRETS_KEY_LEN], const char *aad,
    const json_t *rec, json_t **vals, struct paas_err *err)
{
	const char *nb = json_string_value(json_object_get(rec, "nonce"));
	const char *db = json_string_value(json_object_get(rec, "data"));
	const char *kid = json_string_value(json_object_get(rec, "key_id"));
	const char *cipher = json_string_value(json_object_get(rec, "cipher"));
	unsigned char *nonce = NULL, *data = NULL, *plain = NULL;
	size_t nlen = 0, dlen = 0;
	EVP_CIPHER_CTX *c = NULL;
	char want[9];
	int len, len2, rc = -1;

	*vals = NULL;
	key_id(key, want);
	if (json_integer_value(json_object_get(rec, "format")) != 1 || cipher == NULL ||
	    strcmp(cipher, "aes-256-gcm") != 0 || nb == NULL || db == NULL ||
	    (nonce = (unsigned char *)paas_base64_decode(nb, &nlen)) == NULL || nlen != NONCE_LEN ||
	    (data = (unsigned char *)paas_base64_decode(db, &dlen)) == NULL || dlen < TAG_LEN) {
		paas_err_set(err, PAAS_EFAILED, "%s: damaged secrets record", aad);
		goto out;
	}
	if (kid && strcmp(kid, want) != 0) {
		paas_err_set(err, PAAS_EFAILED, "%s: sealed with another secrets key (key %s, ours "
		    "%s)", aad, kid, want);
		goto out;
	}
	plain = paas_xmalloc(dlen - TAG_LEN + 1);
	c = EVP_CIPHER_CTX_new();
	if (c == NULL || EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
	    EVP_DecryptUpdate(c, plain, &len, data, (int)(dlen - TAG_LEN)) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, data + dlen - TAG_LEN) != 1 ||
	    EVP_DecryptFinal_ex(c, plain + len, &len2) != 1) {
		paas_err_set(err, PAAS_EFAILED, "%s: the secrets record does not open with our key "
		    "(tampered with, or moved from another key)", aad);
		goto out;
	}
	*vals = json_loadb((const char *)plain, (size_t)len, 0, NULL);
	explicit_bzero(plain, dlen - TAG_LEN);
	if (!json_is_object(*vals)) {
		json_decref(*vals);
		*vals = NULL;
		paas_err_set(err, PAAS_EFAILED, "%s: damaged secrets record", aad);
		goto out;
	}
	rc = 0;
out:
	EVP_CIPHER_CTX_free(c);
	free(nonce);
	free(data);
	free(plain);
	return rc;
}

int
paas_secrets_put(struct paas_etcd *e, const char *dep, int64_t n, const json_t *vals,
    int *stored, struct paas_err *err)
{
	unsigned char key[PAAS_SECRETS_KEY_LEN];
	char *k = NULL;
	json_t *rec = NULL;
	int have, rc = -1;

	*stored = 0;
	if (json_object_size(vals) == 0)
		return 0;
	if (paas_secrets_key(key, &have, NULL, err) < 0)
		return -1;
	if (!have)
		return 0;
	k = paas_key_secrets(dep, n);
	if (paas_secrets_seal(key, k, vals, &rec, err) == 0 &&
	    paas_etcd_put_json(e, k, rec, 0, NULL, err) == 0) {
		*stored = 1;
		rc = 0;
	}
	explicit_bzero(key, sizeof(key));
	json_decref(rec);
	free(k);
	return rc;
}

int
paas_secrets_get(struct paas_etcd *e, const char *dep, int64_t n, json_t **vals,
    struct paas_err *err)
{
	unsigned char key[PAAS_SECRETS_KEY_LEN];
	struct paas_kv kv = { 0 };
	json_t *rec = NULL;
	char *k;
	int have, found = 0, rc = -1;

	*vals = NULL;
	if (paas_secrets_key(key, &have, NULL, err) < 0)
		return -1;
	if (!have)
		return 0;
	k = paas_key_secrets(dep, n);
	if (paas_etcd_get(e, k, &kv, &found, NULL, err) < 0)
		goto out;
	if (!found) {
		rc = 0;
		goto out;
	}
	if ((rec = json_loadb(kv.value, kv.value_len, 0, NULL)) == NULL) {
		paas_err_set(err, PAAS_EFAILED, "%s: damaged secrets record", k);
		goto out;
	}
	rc = paas_secrets_open(key, k, rec, vals, err);
out:
	explicit_bzero(key, sizeof(key));
	json_decref(rec);
	paas_kv_clear(&kv);
	free(k);
	return rc;
}

void
paas_secrets_digest(const unsigned char key[PAAS_SECRETS_KEY_LEN], const char *what,
    const json_t *names, const json_t *vals, char out[17])
{
	struct paas_buf b = PAAS_BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	const char **keys;
	size_t nk, k;

	keys = paas_json_keys(names, &nk);
	paas_buf_addf(&b, "%s", what);
	for (k = 0; k < nk; k++) {
		const json_t *x = json_object_get(vals, keys[k]);

		/* Length-prefixed: no value can pass for another's end. */
		if (json_is_string(x)) {
			paas_buf_addf(&b, "\n%s=%zu:", keys[k], json_string_length(x));
			paas_buf_add(&b, json_string_value(x), json_string_length(x));
		} else
			paas_buf_addf(&b, "\n%s unset", keys[k]);
	}
	HMAC(EVP_sha256(), key, PAAS_SECRETS_KEY_LEN, (const unsigned char *)b.data, b.len, md, &n);
	for (i = 0; i < 8 && i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[16] = '\0';
	if (b.data)
		explicit_bzero(b.data, b.len);
	paas_buf_free(&b);
	free(keys);
}
