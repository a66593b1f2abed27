/*
 * The servers a router keeps through an etcd stall.
 *
 * When etcd stops answering for longer than the agents' lease TTL (a
 * frozen or overloaded machine), every announcement's lease lapses at once
 * the moment it answers again, and the agents write them anew only a
 * moment later.  A router that served what etcd holds at that moment
 * would serve backends without servers (503) in between.
 *
 * So a server the router served whose announcement went with its lease
 * (its agent's registration gone at the same read too) is held, served as
 * before, when the router itself found etcd failing or slow within the
 * last PAAS_HOLD_SUSPECT_MS, or finds its own lease gone too: an etcd
 * stall, not a lost host.  It is let go
 * when it is announced again, when a deploy drains it (a drain mark), when
 * its host's agent has registered again and had PAAS_HOLD_GRACE_MS to
 * announce it, or after PAAS_HOLD_MAX_MS.  Meanwhile HAProxy's own health
 * check decides whether it gets requests.  A server withdrawn by a live
 * agent or by a deploy (its lease still there) goes at once; a lost host
 * (its lease lapsed while etcd answered the router) goes as before.
 */
#ifndef PAAS_HOLD_H
#define PAAS_HOLD_H

#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "etcd.h"
#include "lease.h"

#define PAAS_HOLD_SUSPECT_MS	30000
#define PAAS_HOLD_GRACE_MS	5000
#define PAAS_HOLD_MAX_MS	30000

struct paas_hold;

struct paas_hold *paas_hold_new(void);
void paas_hold_free(struct paas_hold *h);
/* The router found etcd failing or slow just now. */
void paas_hold_unwell(struct paas_hold *h);
/* The router's own lease: when leases lapsed and the router has not yet
 * found etcd unwell, its own is asked after; gone too, it was a stall
 * (and own->id is set to 0, for the router to register again). */
void paas_hold_own_lease(struct paas_hold *h, struct paas_lease *own);
/*
 * servers: the announcements read at rev (paas_route_read, each with its
 * "key" and "lease").  The held ones are appended, each with "held": true;
 * a line for each server held or let go is appended to said.  -1 only when
 * etcd cannot be read, servers then as they were.
 */
int paas_hold_merge(struct paas_hold *h, struct paas_etcd *e, int64_t rev, json_t *servers,
    json_t *said, struct paas_err *err);
/* When a held server may be let go with no change in etcd (paas_now_ms),
 * LLONG_MAX when none is held. */
long long paas_hold_due(const struct paas_hold *h);

#endif
