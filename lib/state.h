/*
 * The etcd layout of paas(7), one place for every key:
 *
 *   /paas/v1/hosts/<host>    {"name","docker","tls":{"ca","cert","key"}|null,
 *                            "insecure","labels":{},"cpu_milli","memory_bytes"}
 *
 * With no host registered, the local Docker socket is the one host, "local".
 */
#ifndef PAAS_STATE_H
#define PAAS_STATE_H

#include <jansson.h>

#include "docker.h"
#include "err.h"
#include "etcd.h"

#define PAAS_PREFIX		"/paas/v1/"
#define PAAS_HOSTS_PREFIX	PAAS_PREFIX "hosts/"
#define PAAS_LOCAL_DOCKER	"unix:///var/run/docker.sock"

/* The etcd endpoints: flag, else $PAAS_ETCD, else http://127.0.0.1:2379. */
const char *paas_etcd_endpoints(const char *flag);

/* Store host (borrowed; its "name" is the key).  With create_only an
 * existing host is an error (PAAS_EFAILED, "host NAME exists"). */
int paas_host_put(struct paas_etcd *e, const json_t *host, int create_only,
    struct paas_err *err);
/* *hosts gets an array of host objects sorted by name; when none is
 * registered, the implicit "local" host (with "implicit": true). */
int paas_host_list(struct paas_etcd *e, json_t **hosts, struct paas_err *err);
/* Removing a host that is not there is an error (PAAS_EFAILED). */
int paas_host_remove(struct paas_etcd *e, const char *name, struct paas_err *err);
/* A Docker client for a host object (caller frees). */
struct paas_docker *paas_host_docker(const json_t *host, long timeout_ms,
    struct paas_err *err);

#endif
