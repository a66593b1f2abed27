/*
 * The cluster's certificate authority (pki.h), with OpenSSL 3.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "pki.h"

#define CA_DAYS		3650
#define SERVER_DAYS	825

int
paas_ssl_fail(struct paas_err *err, const char *what)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	return paas_err_set(err, PAAS_EFAILED, "%s: %s", what, buf);
}

static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* A new certificate for key, named cn, valid for days. */
static X509 *
new_cert(EVP_PKEY *key, const char *cn, int days)
{
	X509 *c = X509_new();
	unsigned char serial[16];
	BIGNUM *bn = NULL;

	if (c == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) ||
	    !X509_set_version(c, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(c), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(c), (long)days * 86400) ||
	    !X509_set_pubkey(c, key) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "O", MBSTRING_ASC,
	    (const unsigned char *)"paas-tools", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0))
		goto fail;
	BN_free(bn);
	return c;
fail:
	BN_free(bn);
	X509_free(c);
	return NULL;
}

static int
write_pem(const char *path, mode_t mode, X509 *cert, EVP_PKEY *key, struct paas_err *err)
{
	char *tmp;
	FILE *f;
	int fd, ok;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		abort();
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0 ||
	    (f = fdopen(fd, "w")) == NULL) {
		paas_err_set(err, PAAS_EFAILED, "cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(tmp);
		return -1;
	}
	ok = cert ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
	    NULL);
	if (fclose(f) != 0 || !ok || rename(tmp, path) < 0) {
		paas_err_set(err, PAAS_EFAILED, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

int
paas_pki_ca(const char *dir, int *made, struct paas_err *err)
{
	char *crt, *key;
	EVP_PKEY *pk = NULL;
	X509 *c = NULL;
	int rc = -1;

	*made = 0;
	if (asprintf(&crt, "%s/ca.crt", dir) < 0 || asprintf(&key, "%s/ca.key", dir) < 0)
		abort();
	if (access(crt, F_OK) == 0 && access(key, F_OK) == 0) {
		rc = 0;
		goto out;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		paas_err_set(err, PAAS_EFAILED, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	if ((pk = EVP_EC_gen("P-256")) == NULL || (c = new_cert(pk, "paas-tools cluster CA",
	    CA_DAYS)) == NULL ||
	    !X509_set_issuer_name(c, X509_get_subject_name(c)) ||
	    add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
	    add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
	    add_ext(c, c, NID_subject_key_identifier, "hash") < 0 ||
	    !X509_sign(c, pk, EVP_sha256())) {
		paas_ssl_fail(err, "cannot make the cluster's CA");
		goto out;
	}
	if (write_pem(key, 0600, NULL, pk, err) < 0 || write_pem(crt, 0644, c, NULL, err) < 0)
		goto out;
	*made = 1;
	rc = 0;
out:
	EVP_PKEY_free(pk);
	X509_free(c);
	free(crt);
	free(key);
	return rc;
}

static int
load_ca(const char *dir, X509 **cert, EVP_PKEY **key, struct paas_err *err)
{
	char *crt, *k;
	FILE *f;

	*cert = NULL;
	*key = NULL;
	if (asprintf(&crt, "%s/ca.crt", dir) < 0 || asprintf(&k, "%s/ca.key", dir) < 0)
		abort();
	if ((f = fopen(crt, "re")) != NULL) {
		*cert = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if ((f = fopen(k, "re")) != NULL) {
		*key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (*cert == NULL || *key == NULL) {
		paas_err_set(err, PAAS_EFAILED, "cannot read the cluster's CA in %s", dir);
		X509_free(*cert);
		EVP_PKEY_free(*key);
		*cert = NULL;
		*key = NULL;
	}
	free(crt);
	free(k);
	return *cert ? 0 : -1;
}

int
paas_pki_issue(const char *ca_dir, const char *const *names, const char *crt, const char *key,
    struct paas_err *err)
{
	struct paas_buf san = PAAS_BUF_INIT;
	EVP_PKEY *pk = NULL, *cakey = NULL;
	X509 *c = NULL, *ca = NULL;
	unsigned char ip[16];
	size_t i;
	int rc = -1;

	if (load_ca(ca_dir, &ca, &cakey, err) < 0)
		goto out;
	for (i = 0; names[i]; i++) {
		int is_ip = inet_pton(AF_INET, names[i], ip) == 1 || inet_pton(AF_INET6, names[i], ip) == 1;

		paas_buf_addf(&san, "%s%s:%s", i ? "," : "", is_ip ? "IP" : "DNS", names[i]);
	}
	if ((pk = EVP_EC_gen("P-256")) == NULL || (c = new_cert(pk, names[0], SERVER_DAYS)) == NULL ||
	    !X509_set_issuer_name(c, X509_get_subject_name(ca)) ||
	    add_ext(c, ca, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(c, ca, NID_key_usage, "critical,digitalSignature,keyEncipherment") < 0 ||
	    add_ext(c, ca, NID_ext_key_usage, "serverAuth,clientAuth") < 0 ||
	    add_ext(c, ca, NID_subject_alt_name, san.data) < 0 ||
	    !X509_sign(c, cakey, EVP_sha256())) {
		paas_ssl_fail(err, "cannot make a certificate");
		goto out;
	}
	if (write_pem(key, 0600, NULL, pk, err) < 0 || write_pem(crt, 0644, c, NULL, err) < 0)
		goto out;
	rc = 0;
out:
	paas_buf_free(&san);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(cakey);
	X509_free(c);
	X509_free(ca);
	return rc;
}
