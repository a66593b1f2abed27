/*
 * Deployments: releases in etcd and containers on the Docker hosts brought
 * to agree with them (paas-deploy(1), paas-scale(1)).
 *
 * Every change is a convergence.  Under the deployment's lock the hosts are
 * asked which containers carry the label paas.deployment=DEP; each is
 * matched against the release by service, instance and version (a hash of
 * what its container runs, see paas_spec_service_version()); the plan says
 * which instances to start (placed on hosts) and which containers to
 * remove.  A run killed at any moment therefore leaves nothing the next run
 * cannot see and finish: containers are found by label, not by a record.
 *
 * The pieces: placement (place.h, pure), where instances run (target.h),
 * the rolling machinery (rollout.h), release records (release.h), the
 * routes written after a rollout (route.h); the etcd keys in keys.h:
 * deployments/DEP/release and releases/N, instances/DEP/SVC/ID and the
 * routes of the Servicefile's domains that point at DEP.
 *
 * Where a host runs an agent (paas-cluster agent), a new instance counts
 * once the agent announces it healthy and every router serves that; an old
 * one is withdrawn, the routers drop it, in-flight requests drain, and only
 * then is it stopped.
 *
 * Progress is reported as events (JSON objects with an "event" key: plan,
 * lock, release, resume, start, healthy, announced, served, withdrawn,
 * unhealthy, stop, rollback, routes, warning, done, unchanged, destroyed;
 * for builds: uncommitted, build, built) to a
 * callback; the library never prints (cmd/cli.c has the terminal view).
 */
#ifndef PAAS_DEPLOY_H
#define PAAS_DEPLOY_H

#include <stdint.h>

#include <signal.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "types.h"

/*
 * Apply spec (a canonical spec, borrowed).  Nothing to do: one "unchanged"
 * event and 0.  A rollout that fails its health checks puts the previous
 * release back (when the service says failure_action: rollback) and fails
 * with PAAS_EFAILED, the message ending with the failing instance's last
 * log lines.  A held lock or an unreachable etcd or host is PAAS_EUNAVAIL;
 * a plan that cannot be placed, or an unset ${VAR}, is PAAS_EFAILED or
 * PAAS_EINVAL before anything starts.
 */
int paas_deploy_apply(const struct paas_deploy_opts *o, const json_t *spec,
    struct paas_err *err);

/* Put release n back (0: the one before the current, skipping failed
 * ones), as a new release of kind "rollback". */
int paas_deploy_rollback(const struct paas_deploy_opts *o, int64_t n,
    struct paas_err *err);

/* Run in o->deployment the images deployment `from` runs now: each
 * service of spec (borrowed; NULL: o->deployment's current spec) that
 * builds gets from's image (by digest) and build record; nothing is
 * built.  The new release, of kind "promote", records its "origin"
 * ({"deployment","release","git"}). */
int paas_deploy_promote(const struct paas_deploy_opts *o, const char *from, const json_t *spec,
    struct paas_err *err);

/* counts: {SERVICE: N} (borrowed).  A new release of kind "scale" with the
 * current spec but these instance counts. */
int paas_deploy_scale(const struct paas_deploy_opts *o, const json_t *counts,
    struct paas_err *err);

/* The current release brought back to its instance counts, as a resumed
 * rollout; with o->skip_hosts, the instances of those hosts are placed on
 * the others (paas-cluster check --repair).  Nothing to do, or no release:
 * one "unchanged" event. */
int paas_deploy_repair(const struct paas_deploy_opts *o, struct paas_err *err);

/*
 * The ${VAR} values kept with the releases (secrets.h) as config:
 * changes ({NAME: VALUE}, NAME: null to unset) make a new release of kind
 * "config" with the current spec, which rolls the services whose env
 * takes a changed value and no other.  A NAME no ${VAR} of the spec takes
 * yet is kept for a later Servicefile; one the spec takes cannot be
 * unset.  Needs the cluster's secrets key (PAAS_EINVAL without).
 * config_args reads "NAME=VALUE" or "NAME" (the value from the
 * environment), or with unset "NAME", into *changes.  config_list: with
 * name, *out is its kept value (a JSON string); without, an array of
 * {"kind":"config","name","kept","env_of" (services),"auth_of"
 * (domains)}: names, never values.
 */
int paas_deploy_config_args(char **argv, int unset, json_t **changes, struct paas_err *err);
int paas_deploy_config_set(const struct paas_deploy_opts *o, const json_t *changes,
    struct paas_err *err);
int paas_deploy_config_list(const struct paas_deploy_opts *o, const char *name, json_t **out,
    struct paas_err *err);

/* Maintenance mode: on, every router answers the deployment's domains
 * 503 with the page in file (HTML, UTF-8, at most 64 KiB; NULL: the
 * routers' own), its
 * instances untouched; off, they are served again.  Returns once every
 * router serves the change (a "maintenance" event says how many). */
int paas_deploy_maintenance(const struct paas_deploy_opts *o, int on, const char *file,
    struct paas_err *err);

/* Every container of the deployment removed from every host, and its keys
 * from etcd. */
int paas_deploy_destroy(const struct paas_deploy_opts *o, struct paas_err *err);

/*
 * The Servicefile at path ("-": standard input) for o->deployment, and
 * where its builds come from.  With git_dir it is read from the commit
 * (o->ref, else HEAD) of that repository, as a push hook has it; else from
 * the file system, its builds' relative git paths starting at its
 * directory.  o->git (the commit deployed), o->ref, o->source_dir and
 * o->source_prefix are set, pointing into src, which the caller keeps
 * while o is used and then frees.
 */
struct paas_deploy_source {
	char git[41];
	char *dir;
};
int paas_deploy_load(struct paas_deploy_opts *o, const char *git_dir, const char *path,
    json_t **spec, struct paas_deploy_source *src, struct paas_err *err);
void paas_deploy_source_free(struct paas_deploy_source *src);

/* Event ev in words, one line (two or three for a plan), added to out:
 * the terminal's view of a deploy ("web.1  healthy after 0.4 s"). */
void paas_deploy_event_text(const json_t *ev, struct paas_buf *out);

#endif
