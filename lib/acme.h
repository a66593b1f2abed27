/*
 * An ACME client (RFC 8555): an account, and certificates ordered with
 * HTTP-01 challenges, for issue 31's routers.  Keys are ECDSA P-256 (ES256
 * signatures); the account key and each certificate's key come and go as
 * PEM text that the caller keeps (sealed: secrets.h), never in a file or
 * a message.  Requests go to the CA's HTTPS endpoint with its own trust
 * (ca_file) or the system's; a bad nonce is retried, as the RFC says.
 */
#ifndef PAAS_ACME_H
#define PAAS_ACME_H

#include <stddef.h>

#include "err.h"

struct paas_acme_opts {
	const char *directory;		/* the CA's directory URL (https://...) */
	const char *ca_file;		/* PEM trust for it; NULL: the system's */
	const char *contact;		/* an email address, or NULL */
	const char *eab_kid, *eab_hmac;	/* External Account Binding (the key
					 * base64url), where the CA wants it */
	long timeout_ms;		/* each request; 0: 30000 */
	long order_timeout_ms;		/* validation and issuance; 0: 120000 */
};

struct paas_acme;

/* The CA's directory read, the account key loaded from key_pem (NULL: a
 * new one; paas_acme_key() gives its PEM to keep).  An unreachable CA is
 * PAAS_EUNAVAIL; an answer that is not a directory PAAS_EFAILED. */
int paas_acme_open(const struct paas_acme_opts *o, const char *key_pem, struct paas_acme **out,
    struct paas_err *err);
void paas_acme_free(struct paas_acme *a);
/* The account key as PEM (caller frees, with paas_secret_free()). */
char *paas_acme_key(struct paas_acme *a);
/* The account, made or found for the key (agreeing to the CA's terms):
 * *url its URL (borrowed). */
int paas_acme_account(struct paas_acme *a, const char **url, struct paas_err *err);

/* An HTTP-01 answer to put where the CA will look (add 1: token's key
 * authorization is keyauth) or take away (add 0): 0, or -1 with err. */
typedef int (*paas_acme_publish_fn)(const char *token, const char *keyauth, int add, void *arg,
    struct paas_err *err);
/* A certificate for names[0..n) (the first its subject), each validated
 * with HTTP-01 through publish: *cert_pem the chain, *key_pem its new key
 * (caller frees both; the key with paas_secret_free()).  A challenge the
 * CA refuses is PAAS_EFAILED with the CA's words, naming the domain. */
int paas_acme_order(struct paas_acme *a, const char *const *names, size_t n,
    paas_acme_publish_fn publish, void *arg, char **cert_pem, char **key_pem,
    struct paas_err *err);

#endif
