/*
 * The status page: the cluster at a glance (etcd members, hosts, services
 * with desired and healthy instances, routes, routers, each deployment's
 * current release) as one self-contained HTML page: inline style, no
 * script, no external asset, every value HTML-escaped.
 */
#ifndef PAAS_STATUSPAGE_H
#define PAAS_STATUSPAGE_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"

/* The page of survey report r (survey.h) and deployments deps
 * (paas_listing_deployments); *len its length.  Caller frees. */
char *paas_status_page_render(const json_t *r, const json_t *deps, size_t *len);
/* Survey the cluster of etcd (within timeout_ms) and render its page; NULL
 * with err when etcd cannot be read at all. */
char *paas_status_page(const char *etcd, long timeout_ms, size_t *len, struct paas_err *err);

/*
 * The router's status server: HTTP on the Unix socket at path (made again,
 * mode 0600: only processes of this user, HAProxy's, reach it), answering
 * GET and HEAD with the page of the cluster of etcd, surveyed at most every
 * 2 s; each connection in a thread of its own (up to 16 at once), so that a
 * slow one holds no other.  It does no authentication: the router puts it
 * behind HAProxy's basic auth, and nothing else can connect.
 */
struct paas_status_server;
int paas_status_server_start(const char *etcd, const char *path, struct paas_status_server **s,
    struct paas_err *err);
void paas_status_server_stop(struct paas_status_server *s);

/* The status page's users: USER:HASH lines (crypt(3), as htpasswd -B or
 * openssl passwd -6 make them), # comments and blank lines, in a file
 * nobody else may read.  Any line that is not one is an error naming it. */
int paas_status_users_read(const char *path, json_t **users, struct paas_err *err);

#endif
