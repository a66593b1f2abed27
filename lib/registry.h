/*
 * The cluster's image registry: where built images are pushed and every
 * host pulls them from, by digest.  etcd holds where it is and the CA its
 * certificate comes from (keys.h: /paas/v1/registry); its credentials are
 * never there: they are a file of the deployer's (USER:PASSWORD, 0600),
 * $PAAS_REGISTRY_AUTH or STATE/registry-auth, and reach Docker only in
 * the X-Registry-Auth header.
 */
#ifndef PAAS_REGISTRY_H
#define PAAS_REGISTRY_H

#include <jansson.h>

#include "err.h"
#include "etcd.h"

/* *reg gets {"address": "HOST:PORT", "ca": PEM|null, "managed": BOOL}, or
 * NULL when the cluster has no registry (caller decrefs). */
int paas_registry_get(struct paas_etcd *e, json_t **reg, struct paas_err *err);
int paas_registry_put(struct paas_etcd *e, const json_t *reg, struct paas_err *err);

/* The X-Registry-Auth value for address from the credentials file (caller
 * wipes and frees); *auth NULL when there is no file. */
int paas_registry_auth(const char *address, char **auth, struct paas_err *err);

/* The Docker daemons of this machine made to trust ca_pem for address:
 * certs_dir/ADDRESS/ca.crt (certs_dir NULL: /etc/docker/certs.d). */
int paas_registry_trust(const char *address, const char *ca_pem, const char *certs_dir,
    struct paas_err *err);

/* The registry's htpasswd file at path (0600) with user's bcrypt hash. */
int paas_registry_htpasswd(const char *path, const char *user, const char *password,
    struct paas_err *err);

/* 0 when the registry reg (as paas_registry_get() gives it) answers its
 * /v2/ over TLS, checked with its CA, within timeout_ms. */
int paas_registry_ping(const json_t *reg, long timeout_ms, struct paas_err *err);

/*
 * Delete from registry reg the manifests no release keeps: the last keep
 * releases of every deployment and every current release keep theirs
 * (compared as REPOSITORY@DIGEST).  *report: {"kept": N, "deleted":
 * [{"image","tags"}], "dry_run"}; with dry_run nothing is deleted.  The
 * layers stay until the registry's own garbage-collect runs.
 */
int paas_registry_gc(struct paas_etcd *e, const json_t *reg, int keep, int dry_run,
    json_t **report, struct paas_err *err);

/* Whether s is HOST:PORT as a registry address may be written. */
int paas_registry_address_ok(const char *s);

#endif
