/*
 * The deployment lock, as etcd holds it (keys.h).
 */
#ifndef PAAS_LOCK_H
#define PAAS_LOCK_H

#include <stdint.h>

#include "err.h"

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
