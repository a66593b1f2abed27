/*
 * Routing state in etcd and a live HAProxy kept in step with it
 * (paas-route(1), paas-cluster(1) agent).
 *
 *   /paas/v1/routes/<domain>     {"deployment","service","port","auth":{USER:HASH},
 *                                 "sticky","health","tls"}, written by paas-deploy
 *   /paas/v1/announce/<dep>/<svc>/<id>/<container12>
 *                                {"deployment","service","instance","container",
 *                                 "host","address","port","ports","version",
 *                                 "release","healthy"}, bound to the host
 *                                 agent's lease
 *   /paas/v1/agents/<host>       {"host","pid","since"}, the same lease
 *   /paas/v1/drain/<container>   {"since"}: a deploy is retiring it; the agent
 *                                 does not announce it again
 *   /paas/v1/routers/<name>      {"name","pid","config","revision","time"}, bound
 *                                 to the router's lease: the etcd revision its
 *                                 HAProxy serves
 */
#ifndef PAAS_ROUTE_H
#define PAAS_ROUTE_H

#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "etcd.h"
#include "state.h"

#define PAAS_ROUTES_PREFIX	PAAS_PREFIX "routes/"
#define PAAS_ANNOUNCE_PREFIX	PAAS_PREFIX "announce/"
#define PAAS_AGENTS_PREFIX	PAAS_PREFIX "agents/"
#define PAAS_DRAIN_PREFIX	PAAS_PREFIX "drain/"
#define PAAS_ROUTERS_PREFIX	PAAS_PREFIX "routers/"

/*
 * Routes and announcements as paas_haproxy_render() takes them.  A value
 * that is not a JSON object is left out and named in skipped (an array, may
 * be NULL).  *rev gets the revision of the later read.
 */
int paas_route_read(struct paas_etcd *e, json_t **routes, json_t **servers,
    int64_t *rev, json_t *skipped, struct paas_err *err);

/* The lowest revision every registered router has applied (INT64_MAX when
 * no router is registered), and how many there are. */
int paas_routers_applied(struct paas_etcd *e, int64_t *min_rev, size_t *n,
    struct paas_err *err);

/*
 * The HAProxy master CLI (haproxy -W -S SOCK).  cmd is one command; *out
 * (if not NULL) gets the answer (caller frees).
 */
int paas_haproxy_cli(const char *sock, const char *cmd, char **out,
    struct paas_err *err);
/* Reload through the master CLI and wait (up to timeout_ms, 0: 10000) until
 * a new worker runs: the old ones finish their connections in the
 * background (hard-stop-after bounds them). */
int paas_haproxy_reload(const char *sock, long timeout_ms, struct paas_err *err);
/* Start HAProxy as a daemon in master-worker mode with master CLI sock and
 * pid file (may be NULL), and wait until the master CLI answers. */
int paas_haproxy_spawn(const char *haproxy, const char *config, const char *sock,
    const char *pidfile, struct paas_err *err);

/*
 * Put cfg in place as path, safely: unchanged text does nothing (*changed
 * 0).  Otherwise it is written to a staged file next to path, checked with
 * `haproxy -c` (refused: PAAS_EFAILED with HAProxy's own message, path and
 * HAProxy untouched), renamed over path, and HAProxy reloaded through sock
 * when sock is not NULL (*changed 1).
 */
struct paas_route_apply_opts {
	const char *config;		/* the live configuration file */
	const char *haproxy;		/* the binary; NULL: "haproxy" */
	const char *sock;		/* master CLI; NULL: no reload */
	long reload_timeout_ms;
};
int paas_route_install(const struct paas_route_apply_opts *o, const char *cfg,
    int *changed, struct paas_err *err);

#endif
