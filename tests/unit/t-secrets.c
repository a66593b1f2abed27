/* The secrets store's sealing (lib/secrets.c), its key file and the
 * etcd credentials file (lib/etcd.c), without servers. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "etcd.h"
#include "secrets.h"
#include "tap.h"

static const char *AAD = "/paas/v1/secrets/shop/3";

/* A copy of rec with field k's base64 changed at byte i. */
static json_t *
flipped(const json_t *rec, const char *k, size_t i)
{
	json_t *c = json_deep_copy(rec);
	char *s = strdup(json_string_value(json_object_get(c, k)));

	s[i] = s[i] == 'A' ? 'B' : 'A';
	json_object_set_new(c, k, json_string(s));
	free(s);
	return c;
}

static void
write_file(const char *path, const void *data, size_t n, mode_t mode)
{
	FILE *f = fopen(path, "w");

	fwrite(data, 1, n, f);
	fclose(f);
	chmod(path, mode);
}

int
main(void)
{
	unsigned char key[32], other[32], got[32];
	struct paas_err err = PAAS_ERR_INIT;
	json_t *vals = json_pack("{s:s, s:s}", "DB_PASSWORD", "hunter2", "TOKEN", "t0k\n\"en");
	json_t *rec = NULL, *back = NULL, *rec2 = NULL, *bad;
	char dir[] = "/tmp/t-secrets.XXXXXX", path[300], *s, *where = NULL;
	int have, rc;
	size_t i;

	for (i = 0; i < sizeof(key); i++) {
		key[i] = (unsigned char)(i * 7 + 1);
		other[i] = (unsigned char)(i * 7 + 2);
	}
	ok(paas_secrets_seal(key, AAD, vals, &rec, &err) == 0, "seal");
	s = json_dumps(rec, JSON_COMPACT);
	ok(strstr(s, "hunter2") == NULL && strstr(s, "DB_PASSWORD") == NULL,
	    "the sealed record holds neither names nor values in clear");
	free(s);
	is_str(json_string_value(json_object_get(rec, "cipher")), "aes-256-gcm", "cipher named");
	ok(paas_secrets_open(key, AAD, rec, &back, &err) == 0 && json_equal(back, vals),
	    "open gives the values back, newlines and quotes included");
	json_decref(back);
	ok(paas_secrets_seal(key, AAD, vals, &rec2, &err) == 0 &&
	    strcmp(json_string_value(json_object_get(rec, "nonce")),
	    json_string_value(json_object_get(rec2, "nonce"))) != 0,
	    "a new nonce each time");

	paas_err_clear(&err);
	ok(paas_secrets_open(key, "/paas/v1/secrets/shop/4", rec, &back, &err) < 0 && back == NULL &&
	    strstr(err.msg, "does not open"), "a record moved to another release does not open");
	paas_err_clear(&err);
	ok(paas_secrets_open(other, AAD, rec, &back, &err) < 0 &&
	    strstr(err.msg, "sealed with another secrets key"), "another key is named as such: %s",
	    err.msg);
	bad = flipped(rec, "data", 3);
	paas_err_clear(&err);
	ok(paas_secrets_open(key, AAD, bad, &back, &err) < 0 && strstr(err.msg, "does not open"),
	    "a changed byte of the ciphertext is refused");
	json_decref(bad);
	bad = flipped(rec, "nonce", 0);
	paas_err_clear(&err);
	ok(paas_secrets_open(key, AAD, bad, &back, &err) < 0, "a changed nonce is refused");
	json_decref(bad);
	bad = json_deep_copy(rec);
	json_object_set_new(bad, "data", json_string("!!"));
	paas_err_clear(&err);
	ok(paas_secrets_open(key, AAD, bad, &back, &err) < 0 && strstr(err.msg, "damaged"),
	    "data that is not base64: damaged, no crash");
	json_decref(bad);
	ok(strstr(err.msg, "hunter2") == NULL, "no message shows a value");

	/* The key file. */
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/secrets.key", dir);
	setenv("PAAS_SECRETS_KEY", path, 1);
	write_file(path, key, sizeof(key), 0600);
	paas_err_clear(&err);
	ok(paas_secrets_key(got, &have, &where, &err) == 0 && have && memcmp(got, key, 32) == 0 &&
	    where && strcmp(where, path) == 0, "the key file is read");
	free(where);
	chmod(path, 0640);
	paas_err_clear(&err);
	ok(paas_secrets_key(got, &have, NULL, &err) < 0 && err.status == PAAS_EINVAL &&
	    strstr(err.msg, "chmod 600"), "a key open to the group is refused (exit 3)");
	write_file(path, key, 31, 0600);
	paas_err_clear(&err);
	ok(paas_secrets_key(got, &have, NULL, &err) < 0 && strstr(err.msg, "expected 32"),
	    "a key of 31 bytes is refused");
	setenv("PAAS_SECRETS_KEY", "", 1);
	ok(paas_secrets_key(got, &have, NULL, &err) == 0 && !have, "an empty PAAS_SECRETS_KEY: none");
	unlink(path);

	/* The etcd credentials file. */
	snprintf(path, sizeof(path), "%s/cred", dir);
	write_file(path, "deployer:pw:with:colons\n", 24, 0600);
	paas_err_clear(&err);
	rc = paas_etcd_auth_load(path, &err);
	ok(rc == 0 && paas_etcd_auth_user() && strcmp(paas_etcd_auth_user(), "deployer") == 0,
	    "credentials: user before the first colon");
	chmod(path, 0604);
	paas_err_clear(&err);
	ok(paas_etcd_auth_load(path, &err) < 0 && strstr(err.msg, "mode 0604") &&
	    paas_etcd_auth_user() == NULL, "credentials open to others: refused, none kept");
	write_file(path, "nocolon\n", 8, 0600);
	paas_err_clear(&err);
	ok(paas_etcd_auth_load(path, &err) < 0 && strstr(err.msg, "USER:PASSWORD"),
	    "a line without a colon is refused");
	write_file(path, "root:\n", 6, 0600);
	paas_err_clear(&err);
	ok(paas_etcd_auth_load(path, &err) < 0, "an empty password is refused");
	unlink(path);
	rmdir(dir);
	paas_etcd_auth_load(NULL, &err);

	json_decref(vals);
	json_decref(rec);
	json_decref(rec2);
	return done_testing();
}
