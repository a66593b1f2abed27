/*
 * One etcd lease kept alive, for whoever holds keys under it: the deploy
 * lock (state.h), the host agent (agent.h) and the router (router.h).
 * A refresh is due every ttl/3.  One that fails for want of an answer is
 * tried again a second later (at most ttl/3); the lease counts as lost
 * when etcd says it has expired, or when no refresh went through for a
 * whole ttl, after which it surely has.  Not thread-safe: one owner.
 */
#ifndef PAAS_LEASE_H
#define PAAS_LEASE_H

#include <stdint.h>

#include "err.h"
#include "etcd.h"

struct paas_lease {
	int ttl;			/* seconds */
	int64_t id;			/* 0: none held */
	long long next;			/* when the next refresh is due (paas_now_ms) */
	long long last_ok;		/* when etcd last accepted one */
};

void paas_lease_init(struct paas_lease *l, int ttl);
/* A new lease of l->ttl seconds (l->id was 0 or is dropped). */
int paas_lease_grant(struct paas_lease *l, struct paas_etcd *e, struct paas_err *err);
/* Refresh when due.  0: held (or nothing due, or a failure that does not
 * lose it yet); -1: lost, l->id is 0 and err says why. */
int paas_lease_tick(struct paas_lease *l, struct paas_etcd *e, struct paas_err *err);
/* When paas_lease_tick() next has something to do (paas_now_ms). */
long long paas_lease_due(const struct paas_lease *l);
/* Revoke it (its keys go with it); l->id becomes 0.  A failure leaves the
 * lease to lapse within its TTL. */
int paas_lease_revoke(struct paas_lease *l, struct paas_etcd *e, struct paas_err *err);

#endif
