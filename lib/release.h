/*
 * Release records (keys.h): /paas/v1/deployments/DEP/releases/N, one per
 * change, never rewritten except to mark a failed one, and the pointer
 * /paas/v1/deployments/DEP/release naming the current one.  Internal to
 * libpaas; paas_release_history() is the public reading.
 */
#ifndef PAAS_RELEASE_H
#define PAAS_RELEASE_H

#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "etcd.h"

/* The highest release number recorded (0: none). */
int paas_release_last(struct paas_etcd *e, const char *dep, int64_t *n, struct paas_err *err);
/* *rec gets release n's record (caller decrefs), or NULL when there is none. */
int paas_release_read(struct paas_etcd *e, const char *dep, int64_t n, json_t **rec,
    struct paas_err *err);
/* The current release: *n (0: none), its record (caller decrefs) and the
 * pointer's mod_revision, for paas_release_set_current().  A pointer that
 * is not a release number, or names a release not recorded or damaged, is
 * PAAS_EFAILED naming the key. */
int paas_release_current(struct paas_etcd *e, const char *dep, int64_t *n, json_t **rec,
    int64_t *mod, struct paas_err *err);
/* The pointer alone: *n (0: none) and its mod_revision (mod may be NULL),
 * without reading the record; one that is not a number is PAAS_EFAILED. */
int paas_release_number(struct paas_etcd *e, const char *dep, int64_t *n, int64_t *mod,
    struct paas_err *err);
/* The same for a reader that needs one: a deployment with no current
 * release (a name never deployed, a typo) is PAAS_EFAILED, "deployment DEP
 * has no release".  *rec is the record (caller decrefs). */
int paas_release_require(struct paas_etcd *e, const char *dep, int64_t *n, json_t **rec,
    struct paas_err *err);
/* That error alone (for a reader that found no release another way). */
int paas_release_missing(const char *dep, struct paas_err *err);
/* Service svc of release record rec (borrowed), or NULL with PAAS_EINVAL,
 * "deployment DEP has no service SVC". */
const json_t *paas_release_service(const json_t *rec, const char *dep, const char *svc,
    struct paas_err *err);
/* Point dep at release n (0: at none), writing rec first when given, in one
 * transaction that holds only if the pointer is still at mod: a mismatch
 * (PAAS_EUNAVAIL) means someone wrote without the lock. */
int paas_release_set_current(struct paas_etcd *e, const char *dep, int64_t n,
    const json_t *rec, int64_t mod, struct paas_err *err);

/* *releases gets the release records (without their spec), oldest first,
 * each with "current": true|false; a deployment with no release is
 * PAAS_EFAILED. */
int paas_release_history(const char *etcd, const char *deployment,
    json_t **releases, struct paas_err *err);

#endif
