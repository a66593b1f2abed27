/*
 * The secrets store (paas(7), SECURITY): the ${VAR} values a release ran
 * with, kept so that check --repair, scale and rollback can start its
 * instances again without the deployer's environment.
 *
 * The values are sealed with AES-256-GCM under the cluster's secrets key:
 * 32 random bytes in a file open to its owner alone, $PAAS_SECRETS_KEY,
 * else secrets.key in the state directory (paas-cluster up makes it).  The
 * record's key is bound in as associated data, so a record moved to
 * another release or deployment does not open.  Record (keys.h):
 *
 *   {"format":1, "cipher":"aes-256-gcm", "key_id":HEX8, "nonce":B64,
 *    "data":B64(ciphertext and tag)}
 *
 * key_id is the start of the key's SHA-256: an error can say "another key"
 * without showing it.  Values never reach a message.
 */
#ifndef PAAS_SECRETS_H
#define PAAS_SECRETS_H

#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "etcd.h"

#define PAAS_SECRETS_KEY_LEN	32

/* The cluster's key into key; *path gets where it was read (caller
 * frees), NULL with *have 0 when there is none.  A file that is not 32
 * bytes or is open to others is PAAS_EINVAL. */
int paas_secrets_key(unsigned char key[PAAS_SECRETS_KEY_LEN], int *have, char **path,
    struct paas_err *err);

/* The digest of the values of names (an object NAME: anything) in vals
 * ({NAME: VALUE}; a name without one counts as unset), under what: 16 hex
 * digits of HMAC-SHA256 keyed with the cluster's key, so that a digest
 * kept in a release record or a container's label tells whether values
 * changed and nothing of what they are. */
void paas_secrets_digest(const unsigned char key[PAAS_SECRETS_KEY_LEN], const char *what,
    const json_t *names, const json_t *vals, char out[17]);
/* Seal vals ({NAME: VALUE}) with aad into *rec; open rec back into *vals. */
int paas_secrets_seal(const unsigned char key[PAAS_SECRETS_KEY_LEN], const char *aad,
    const json_t *vals, json_t **rec, struct paas_err *err);
int paas_secrets_open(const unsigned char key[PAAS_SECRETS_KEY_LEN], const char *aad,
    const json_t *rec, json_t **vals, struct paas_err *err);

/* Store vals as release n of dep's.  Nothing is stored when vals is empty;
 * *stored says whether it was (0 too when there is no key). */
int paas_secrets_put(struct paas_etcd *e, const char *dep, int64_t n, const json_t *vals,
    int *stored, struct paas_err *err);
/* *vals: the values stored for release n of dep, or NULL when none were
 * (or there is no key).  A record the key does not open is an error
 * naming its key. */
int paas_secrets_get(struct paas_etcd *e, const char *dep, int64_t n, json_t **vals,
    struct paas_err *err);

#endif
