/*
 * The cluster's hosts, as etcd holds them (keys.h): their records, and a
 * Docker client for one.  With no host registered, the local Docker
 * socket is the one host, "local".
 */
#ifndef PAAS_HOSTS_H
#define PAAS_HOSTS_H

#include <signal.h>

#include <jansson.h>

#include "docker.h"
#include "err.h"
#include "etcd.h"

#define PAAS_LOCAL_DOCKER	"unix:///var/run/docker.sock"

/* Store host (borrowed; its "name" is the key).  With create_only an
 * existing host is an error (PAAS_EFAILED, "host NAME exists"). */
int paas_host_put(struct paas_etcd *e, const json_t *host, int create_only,
    struct paas_err *err);
/* *hosts gets an array of host objects sorted by name; when none is
 * registered, the implicit "local" host (with "implicit": true). */
int paas_host_list(struct paas_etcd *e, json_t **hosts, struct paas_err *err);
/* Removing a host that is not there is an error (PAAS_EFAILED). */
int paas_host_remove(struct paas_etcd *e, const char *name, struct paas_err *err);
/* A Docker client for a host object (caller frees): requests time out
 * after timeout_ms, connections after at most 5 s. */
struct paas_docker *paas_host_docker(const json_t *host, long timeout_ms,
    struct paas_err *err);
/* The same, whose streams stop when *cancel becomes non-zero. */
struct paas_docker *paas_host_docker_cancel(const json_t *host, long timeout_ms,
    volatile sig_atomic_t *cancel, struct paas_err *err);
/* Where a host's published ports answer: its "address", else the host of
 * its Docker URL, else 127.0.0.1 for a socket (caller frees). */
char *paas_host_address(const json_t *host);

/* The registered host called name (*h a new reference, NULL when there is
 * none; the implicit "local" is none). */
int paas_host_find(struct paas_etcd *e, const char *name, json_t **h, struct paas_err *err);

#endif
