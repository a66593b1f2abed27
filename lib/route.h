/*
 * Routing state in etcd and a live HAProxy kept in step with it
 * (paas-route(1), paas-cluster(1) agent).  The keys, all in keys.h: routes
 * (written by paas-deploy), announcements and agents (the host agents'
 * lease), drain marks (the deploy lock's lease) and routers (each router's
 * lease, holding the etcd revision its HAProxy serves).
 */
#ifndef PAAS_ROUTE_H
#define PAAS_ROUTE_H

#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "etcd.h"

/*
 * Routes and announcements as paas_haproxy_render() takes them, each
 * announcement with its etcd "key" and "lease" added.  A value that is not a JSON
 * object is left out and named in skipped (an array, may be NULL).  *rev
 * gets the revision of the later read.
 */
int paas_route_read(struct paas_etcd *e, json_t **routes, json_t **servers,
    int64_t *rev, json_t *skipped, struct paas_err *err);

/* The lowest revision every registered router has applied (INT64_MAX when
 * no router is registered), and how many there are. */
int paas_routers_applied(struct paas_etcd *e, int64_t *min_rev, size_t *n,
    struct paas_err *err);

/* Wait until every registered router serves etcd revision rev (*n gets how
 * many there are; none is served at once).  A router that does not keep up
 * within timeout_ms is PAAS_EFAILED; an etcd that did not answer the last
 * time it was asked, its error (PAAS_EUNAVAIL). */
int paas_routers_wait(struct paas_etcd *e, int64_t rev, long timeout_ms, size_t *n,
    struct paas_err *err);

/*
 * The routes spec gives deployment dep: {DOMAIN: route}, auth hashes read
 * from vars (the release's secrets, or NULL) or the environment (${VAR}).
 * A domain another deployment routes is PAAS_EFAILED; an unset variable
 * PAAS_EINVAL.  *out: caller decrefs.
 */
int paas_route_want(struct paas_etcd *e, const char *dep, const json_t *spec,
    const json_t *vars, json_t **out,
    struct paas_err *err);
/*
 * Make etcd's routes of dep what want says (NULL: none).  The domains
 * written are appended to set, those deleted to removed; *rev gets the
 * revision that covers the change (0: nothing changed).  The values hold
 * password hashes: they are written, never reported.
 */
int paas_route_sync(struct paas_etcd *e, const char *dep, const json_t *want, json_t *set,
    json_t *removed, int64_t *rev, struct paas_err *err);

#endif
