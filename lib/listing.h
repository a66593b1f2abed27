/*
 * What runs, read for paas-deploy list and ps: every deployment with its
 * current release, and every instance of one across the hosts.
 */
#ifndef PAAS_LISTING_H
#define PAAS_LISTING_H

#include <jansson.h>

#include "err.h"

/* Every deployment with a current release, by name:
 * {"kind":"deployment","deployment","release","release_kind","time","user",
 *  "services":{SVC: instances},"instances","maintenance" (paas-deploy
 *  maintenance on)}; one whose release record is
 * damaged gives {"kind":"deployment","deployment","error"}. */
int paas_listing_deployments(const char *etcd, json_t **out, struct paas_err *err);
/* Every container of dep on every host: {"kind":"instance","deployment",
 * "service","instance","host","release","state" (Docker's),"running",
 * "healthy" (as the host's agent announced it; null where no agent runs),
 * "ports":{"8000":30001},"id" (12),"name","created" (UTC),"age_s"}.
 * Hosts that could not be asked go to *unreachable as {"kind":"host",
 * "host","error"}.  A deployment with no release is PAAS_EFAILED. */
int paas_listing_ps(const char *etcd, const char *dep, json_t **out, json_t **unreachable,
    struct paas_err *err);

/* A record of the listings above, of release history (release.h) or of
 * config (deploy.h) as the cells of its table row, strings in the order
 * of paas_listing_head's for its "kind" (deployment, instance, release, job, job_run,
 * config); NULL for another kind.  Both are the commands' tables. */
json_t *paas_listing_row(const json_t *r);
const char *const *paas_listing_head(const char *kind, size_t *ncol);

#endif
