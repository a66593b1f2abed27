/*
 * The cluster's hosts and the deployment lock, as etcd holds them (keys.h).
 * With no host registered, the local Docker socket is the one host, "local".
 */
#ifndef PAAS_STATE_H
#define PAAS_STATE_H

#include <signal.h>
#include <stdint.h>

#include <jansson.h>

#include "docker.h"
#include "err.h"
#include "etcd.h"
#include "keys.h"

#define PAAS_LOCAL_DOCKER	"unix:///var/run/docker.sock"

/* The etcd endpoints: flag, else $PAAS_ETCD, else http://127.0.0.1:2379. */
const char *paas_etcd_endpoints(const char *flag);

/* The state directory of `paas-cluster up` (caller frees): flag, else
 * $PAAS_STATE_DIR, else /var/lib/paas for root, else $XDG_STATE_HOME/paas
 * or ~/.local/state/paas. */
char *paas_state_dir(const char *flag);
/* A file the cluster keeps (caller frees): $env when set (an empty value:
 * none, NULL), else DIR/name in the state directory when it exists, else
 * NULL.  The etcd credentials of a role are ("PAAS_ETCD_AUTH",
 * "etcd-auth/ROLE"), the secrets key ("PAAS_SECRETS_KEY", "secrets.key"). */
char *paas_state_file(const char *env, const char *name);

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

/*
 * The deployment lock: a key bound to a lease of ttl seconds.  Acquiring a
 * lock another process holds fails with PAAS_EUNAVAIL naming the holder and
 * since when.  While held, a thread keeps the lease alive every ttl/3
 * seconds; if the process dies the lease lapses and the lock is free again
 * within ttl.  holder is free text ("user@host pid N").
 */
struct paas_lock;
int paas_lock_acquire(const char *endpoints, const char *deployment,
    const char *holder, int ttl, struct paas_lock **lock, struct paas_err *err);
/* Whether the lease is still known to be alive (0 after a failed keepalive). */
int paas_lock_held(struct paas_lock *lock);
/* The lease the lock is bound to (other keys can share its life). */
int64_t paas_lock_lease(const struct paas_lock *lock);
/* Revoke the lease (the key goes with it) and free; NULL is fine. */
void paas_lock_release(struct paas_lock *lock);

#endif
