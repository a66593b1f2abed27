/*
 * Builds on deploy, internal to libpaas: the services of a spec that say
 * build: are built from their git commit on a build host, pushed to the
 * cluster's registry and given the digest as their image.
 *
 * A service is built again only when what its build would send changes
 * (paas_git_context_key()): a commit that changes nothing in its context
 * keeps the image, and the build record, of the current release.  The
 * build host is o->build_host, else the first host in name order.
 */
#ifndef PAAS_BUILD_H
#define PAAS_BUILD_H

#include <jansson.h>

#include "err.h"
#include "rollout.h"

/* Whether spec has a service to build. */
int paas_build_needed(const json_t *spec);

/* The builds of one spec: repositories open, commits resolved, what each
 * would send known (paas_git_context_key()), paths checked; before the
 * lock, so that bad input is refused before anything is sent. */
struct paas_build;
int paas_build_open(const struct paas_deploy_opts *o, const json_t *spec, struct paas_build **b,
    struct paas_err *err);
void paas_build_free(struct paas_build *b);

/*
 * *out gets a copy of the spec (caller decrefs) where each service with
 * build has "image": "REGISTRY/DEP/SVC@sha256:..." and build's "key" and
 * "commit" set; current (the current release's spec, or NULL) lends the
 * images of unchanged contexts.  Events: "uncommitted", "build" (a line
 * of output), "built" (or with "cached": true).  On a dry run nothing is
 * built: a service to build gets its tag and "pending": true instead.
 */
int paas_build_run(struct paas_build *b, struct run *r, const json_t *current, json_t **out,
    struct paas_err *err);

#endif
