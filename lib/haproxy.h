/*
 * HAProxy for the routes (paas-route(1)): the configuration, rendered
 * purely from routes and servers, and the control of a live HAProxy in
 * master-worker mode (its master CLI, reloads, a checked install).
 *
 * One HTTP frontend routes by Host header to one backend per domain, whose
 * servers are the announced instances of the domain's deployment and
 * service.  The text is byte-for-byte the same for the same input: domains,
 * users and servers are sorted.  Everything that reaches it is checked
 * against a strict alphabet first, so nothing can add a line.
 */
#ifndef PAAS_HAPROXY_H
#define PAAS_HAPROXY_H

#include <jansson.h>

#include "err.h"

struct paas_haproxy_opts {
	int http_port;			/* the frontend's port */
	const char *tls_dir;		/* certificates for a TLS frontend, or NULL */
	int https_port;			/* its port (0: 443) */
	const char *stats_socket;	/* path of the runtime API socket, or NULL */
	int hard_stop_after_s;		/* old workers go after this long (0: 30) */
	const char *status_socket;	/* the one server address that may be a
					 * Unix socket's path (the router's status
					 * server), or NULL */
	const char *acme_socket;	/* where /.well-known/acme-challenge/ of
					 * every domain goes (the router's own
					 * server, acme.h), before maintenance and
					 * auth; NULL: nowhere special */
	const char *crt_list;		/* a crt-list for the TLS frontend, or NULL */
};

/*
 * routes: {DOMAIN: {"deployment", "service", "port": P|null, "auth": {USER: HASH},
 *                   "sticky": BOOL, "health": PATH|null, "tls": PEM|null}}
 * servers: [{"deployment", "service", "instance", "container"?, "address",
 *            "port", "ports"?: {"CONTAINER_PORT": HOST_PORT}, "healthy"}]
 * A route with a port takes each server's host port for it from "ports"
 * (a server without it is not in that backend); otherwise "port".  A
 * server's name is DEP.SVC.INSTANCE.CONTAINER12.  Routes with "tls" add
 * their PEM files to one TLS frontend.  Routes to the same service, port,
 * stickiness and health check share one backend, named
 * svc-DEP.SVC[.pPORT][.sticky][.hHASH] after them, so an instance has one
 * health check however many domains reach it; a route's basic auth is
 * checked in the frontend, for its own domain.
 * (both borrowed).  A route that is not well-formed is an error (PAAS_EINVAL,
 * naming the domain); a server that is not is left out and named in
 * *skipped (if not NULL; an array of messages the caller json_decref()s).
 * *out gets the configuration (caller frees).
 */
int paas_haproxy_render(const json_t *routes, const json_t *servers,
    const struct paas_haproxy_opts *o, char **out, json_t **skipped,
    struct paas_err *err);

/* Whether route r of domain would render: 0, or -1 with err saying why. */
int paas_haproxy_check_route(const char *domain, const json_t *r, struct paas_err *err);

/*
 * The HAProxy master CLI (haproxy -W -S SOCK).  cmd is one command; *out
 * (if not NULL) gets the answer (caller frees).
 */
int paas_haproxy_cli(const char *sock, const char *cmd, char **out,
    struct paas_err *err);
/* Reload through the master CLI and wait (up to timeout_ms, 0: 10000) until
 * a new worker runs and the previous one has stopped listening, so that
 * every new connection meets the new configuration: the old workers
 * finish their connections in the background (hard-stop-after bounds
 * them). */
int paas_haproxy_reload(const char *sock, long timeout_ms, struct paas_err *err);
/* Start HAProxy as a daemon in master-worker mode with master CLI sock and
 * pid file (may be NULL), and wait until the master CLI answers. */
int paas_haproxy_spawn(const char *haproxy, const char *config, const char *sock,
    const char *pidfile, struct paas_err *err);

/* Whether HAProxy (haproxy: the binary, NULL "haproxy") accepts cfg, checked
 * with `haproxy -c` on a file staged beside near: 0, or -1 with HAProxy's
 * complaint in one line (PAAS_EFAILED). */
int paas_haproxy_check(const char *haproxy, const char *cfg, const char *near,
    struct paas_err *err);

/*
 * A certificate file path (chain and key, as certs.h writes it) given to
 * the running worker through the master CLI, without a reload: one added
 * to crt-list list (new ssl cert, set, commit, add ssl crt-list), one
 * changed (set, commit: connections from then on get it), or one removed
 * from the list and the worker.  Each step's answer is checked; the key
 * goes over the 0600 socket only.
 */
enum { PAAS_CERT_ADDED, PAAS_CERT_CHANGED, PAAS_CERT_REMOVED };
int paas_haproxy_cert_update(const char *sock, const char *list, const char *path, int how,
    struct paas_err *err);

/*
 * Put cfg in place as path, safely: unchanged text does nothing (*changed
 * 0).  Otherwise it is written to a staged file next to path, checked with
 * `haproxy -c` (refused: PAAS_EFAILED with HAProxy's own message, path and
 * HAProxy untouched), renamed over path, and HAProxy reloaded through sock
 * when sock is not NULL (*changed 1).
 */
/* The current worker (@1 through the master CLI at sock) brought up to
 * cfg ahead of the check and reload that install it, from the
 * configuration in file path that it runs.  Servers path has and cfg has
 * not (gone from etcd: a killed container, a withdrawn instance) are put
 * in maintenance: they get no new request from now on.  Servers cfg has
 * and path has not, in a backend path has, are added (`add server`, then
 * health checks and the server enabled): they are served before the
 * reload.  A sticky backend's are left to the reload (a dynamic server
 * takes no cookie).  At most max of each; a refusal is passed over (the
 * reload follows).  r->complete: the worker now serves what cfg says
 * (the two differ in server lines only, each one done here).  Returns
 * how many servers were changed. */
struct paas_haproxy_runtime {
	int removed, added;
	int complete;
};
int paas_haproxy_runtime_update(const char *sock, const char *path, const char *cfg,
    int max, struct paas_haproxy_runtime *r);

struct paas_haproxy_install_opts {
	const char *config;		/* the live configuration file */
	const char *haproxy;		/* the binary; NULL: "haproxy" */
	const char *sock;		/* master CLI; NULL: no reload */
	long reload_timeout_ms;
	int *refused;			/* out, or NULL: set when haproxy -c refused cfg */
};
int paas_haproxy_install(const struct paas_haproxy_install_opts *o, const char *cfg,
    int *changed, struct paas_err *err);

#endif
