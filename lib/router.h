/*
 * The router (paas-route(1)): HAProxy in front of the cluster, configured
 * from etcd, and its daemon, the twin of the host agent (agent.h).
 *
 * render reads the routes and announcements (route.h) and renders them
 * (haproxy.h), leaving out, with a message each, a route that would not
 * render or an announcement that is not well-formed, so that one bad value
 * never holds back the others.  apply installs the result checked and
 * reloads.  run watches etcd and applies on every change of the routes or
 * the announcements (bursts coalesced), starting HAProxy if none runs and
 * again when it dies, and publishes the etcd revision its HAProxy serves
 * under the router's key (keys.h), bound to its lease (lease.h), so that
 * paas-deploy can wait for it.
 */
#ifndef PAAS_ROUTER_H
#define PAAS_ROUTER_H

#include <signal.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "etcd.h"
#include "hold.h"


struct paas_router_opts {
	const char *etcd;		/* endpoints */
	const char *config;		/* the live haproxy.cfg */
	const char *master;		/* HAProxy's master CLI socket */
	const char *stats;		/* its runtime API socket */
	const char *pidfile;
	const char *haproxy;		/* the binary; NULL: "haproxy" */
	const char *tls_dir;		/* certificates for TLS routes, or NULL */
	const char *name;		/* run: the router's name (its key) */
	int port, https_port;
	/* The status page (statuspage.h) as one more route: its domain (NULL:
	 * none), the users of its basic auth ({USER: crypt(3) hash}) and the
	 * Unix socket of the status server that answers it (HAProxy's alone
	 * to reach: mode 0600; set only with a domain).  It takes the place of any route of the same
	 * domain, and of deployment "paas". */
	const char *status_domain;
	const json_t *status_users;
	const char *status_socket;
	const char *acme_socket;	/* the server answering HTTP-01 (haproxy.h) */
	const char *cert_dir;		/* the store's certificates (certs.h), or NULL */
	int hard_stop;			/* seconds old workers may finish in */
	int coalesce_ms;		/* run: changes after the first of a burst wait this long */
	int ttl;			/* run: lease seconds */
	volatile sig_atomic_t *stop;	/* run returns soon after it becomes non-zero */
	paas_log_fn log;		/* run: one line per notable thing, or NULL */
	void *arg;
	/* apply: called, when not NULL, once the running HAProxy serves
	 * the change ahead of its reload (its worker given every server
	 * added and dropped, and nothing else changed), with the revision
	 * and what was left out; the check and reload follow. */
	void (*served)(void *served_arg, int64_t rev, const json_t *skipped);
	void *served_arg;
	struct paas_hold *hold;		/* run's own (hold.h); NULL elsewhere */
};

/* *cfg (caller frees) from etcd; *rev the revision read; *skipped (caller
 * decrefs) an array of messages naming what was left out. */
int paas_router_render(struct paas_etcd *e, const struct paas_router_opts *o, char **cfg,
    int64_t *rev, json_t **skipped, struct paas_err *err);
/* Render and install (paas_haproxy_install): reload the running HAProxy,
 * or with start set, start one when none runs.  *changed: anything done. */
int paas_router_apply(struct paas_etcd *e, const struct paas_router_opts *o, int start,
    int64_t *rev, int *changed, json_t **skipped, struct paas_err *err);
/* Whether an HAProxy master answers on o->master. */
int paas_router_haproxy_running(const struct paas_router_opts *o);
/* The daemon: the first apply must work (else an error at once); then
 * until *o->stop, then its lease is revoked and 0 returned. */
int paas_router_run(const struct paas_router_opts *o, struct paas_err *err);

#endif
