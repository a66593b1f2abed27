/*
 * The cluster's certificate store (issue 31): every certificate the
 * routers serve, in etcd, its key sealed under the cluster's secrets key
 * (secrets.h) with the record's key as associated data, so that every
 * router serves every certificate and no file is copied by hand:
 *
 *   /paas/v1/certs/NAME  {"kind":"certificate","name","names":[DNS...],
 *                         "not_after":RFC3339,"issuer","source":"user"|"acme",
 *                         "cert":PEM chain,"key":SEALED,"time"}
 *
 * A router writes them into a directory of its own (mode 0700), each as
 * NAME.pem (chain and key, mode 0600), with a crt-list for HAProxy's TLS
 * frontend (SNI picks among them), and gives HAProxy's running worker the
 * new and changed ones through its runtime API: no reload.
 */
#ifndef PAAS_CERTS_H
#define PAAS_CERTS_H

#include <jansson.h>

#include "err.h"
#include "etcd.h"

/* A certificate chain and its key, checked: the leaf first, the key its
 * own.  *info gets {"names","not_after","issuer"} (caller decrefs).  What
 * is not PEM, a key of another certificate, or one without a DNS name is
 * PAAS_EINVAL. */
int paas_certs_check(const char *cert_pem, const char *key_pem, json_t **info,
    struct paas_err *err);
/* Store it as name (a label: letters, digits, '.', '-'), sealed; without
 * the cluster's secrets key PAAS_EINVAL. */
int paas_certs_put(struct paas_etcd *e, const char *name, const char *cert_pem,
    const char *key_pem, const char *source, struct paas_err *err);
/* The records without cert and key, by name, each with "days_left". */
int paas_certs_list(struct paas_etcd *e, json_t **out, struct paas_err *err);
/* Gone; one that is not there is PAAS_EINVAL. */
int paas_certs_remove(struct paas_etcd *e, const char *name, struct paas_err *err);

/*
 * For a router: every certificate of the store into dir, as above, and
 * dir/crt-list naming them (none: no crt-list, *list NULL).  *changed
 * gets {"added":[PATH],"changed":[PATH],"removed":[PATH]} against what dir
 * held; a certificate that cannot be opened (no secrets key here, another
 * key) is left out and named in skipped.  *list: the crt-list's path
 * (caller frees) or NULL.
 */
int paas_certs_materialize(struct paas_etcd *e, const char *dir, char **list, json_t **changed,
    json_t *skipped, struct paas_err *err);

#endif
