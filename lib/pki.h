/*
 * The cluster's certificate authority (OpenSSL): one CA made by
 * `paas-cluster up` in the state directory, and the server certificates it
 * signs (the registry's, etcd peers': for servers and their clients).  Keys are
 * ECDSA P-256, written 0600.
 */
#ifndef PAAS_PKI_H
#define PAAS_PKI_H

#include "err.h"

/* dir/ca.crt and dir/ca.key, made when missing; *made says whether they
 * were. */
int paas_pki_ca(const char *dir, int *made, struct paas_err *err);

/* A server certificate signed by the CA in ca_dir for names (IP addresses
 * or DNS names, NULL-terminated; the first is its common name), written to
 * crt and key. */
int paas_pki_issue(const char *ca_dir, const char *const *names, const char *crt,
    const char *key, struct paas_err *err);
/* OpenSSL's last error after what, as PAAS_EFAILED: -1. */
int paas_ssl_fail(struct paas_err *err, const char *what);

#endif
