/*
 * The rolling machinery under deploy.c, internal to libpaas: one run of a
 * deployment (its lock, hosts, what runs, the plan) and the steps that
 * bring a target's instances to a release: observe, plan, prepare, then
 * per service and batch start, health-check, wait for the agent and the
 * routers, withdraw and drain the old, stop it.  Every function that can
 * fail returns 0 or -1 and fills err; events go to the run's callback.
 */
#ifndef PAAS_ROLLOUT_H
#define PAAS_ROLLOUT_H

#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "etcd.h"
#include "lock.h"
#include "place.h"
#include "target.h"
#include "types.h"

struct host {
	struct paas_place_host p;	/* first: the plan's view of it */
	const json_t *obj;		/* the host record, in run.hosts_json */
	size_t index;			/* in the target */
	struct paas_target *t;		/* the run's */
	char *addr;			/* where its published ports answer */
	int agent;			/* an agent announces here: -1 not asked yet */
};

/* A container of this deployment. */
struct ctr {
	struct paas_place_ctr p;	/* first */
	char *id, *name, *service, *instance, *version;
	int64_t release;
	json_t *ports;			/* {"8000": 30001} */
	struct host *h;
};

/* The ctr a plan's container is (its first member). */
static inline struct ctr *
paas_ctr_of(struct paas_place_ctr *p)
{
	return (struct ctr *)p;
}

/* An action of the plan as the rollout carries it out. */
struct step {
	struct paas_place_action *a;
	struct host *h;			/* where it goes */
	struct ctr *keep;		/* a current container to check, not start */
	char *id, *cname;		/* what was started */
	char *addr;			/* where it answers, when its target
					 * says (fleet: its machine's) */
	long long t_start, next_probe, next_inspect, deadline;
	int done;
	struct paas_err last;
};

struct run {
	const struct paas_deploy_opts *o;
	struct paas_etcd *e;
	struct paas_lock *lock;
	struct paas_target *t;
	json_t *hosts_json;
	struct host *hosts;
	size_t nhosts;
	struct ctr *ctrs;
	size_t nctrs;
	struct paas_plan plan;
	struct step *steps;		/* one per plan.acts */
	const json_t *spec;
	int64_t release;
	long long t0;
	int started, stopped;
	struct step *failed;		/* the instance that did not become healthy */
	const char *user;
	char holder[512];		/* user@host pid N */
	json_t *routes;			/* {DOMAIN: route} the spec gives this deployment */
	json_t *vars;			/* the release's secrets ({NAME: VALUE}), or NULL */
	json_t *digests;		/* paas_run_digests()'s, for spec and vars */
	const json_t *origin;		/* a promotion's {"deployment","release","git"},
					 * recorded in the new release */
	json_t *registry;		/* paas_run_registry()'s, once read */
	int64_t freed_lease;		/* of the freed ports' keys, once granted */
	char *registry_auth;
	int registry_read;
	struct draining {		/* withdrawn, to stop once drained: the */
		struct ctr *c;		/* roll goes on meanwhile */
		int64_t rev;		/* the withdrawal, until the routers serve it */
		long long until;	/* then: drained at */
		long long kill_by;	/* asked to stop: killed at (0: not yet asked) */
		int marked;		/* a drain mark was written */
	} *draining;
	size_t ndraining;
};

/* Report ev (stolen) to the run's callback, with the deployment added. */
void paas_run_emit(struct run *r, json_t *ev);
/* Validate the deployment name, connect, take the lock (unless a dry run),
 * and reach every host not skipped. */
int paas_run_begin(struct run *r, const struct paas_deploy_opts *o, struct paas_err *err);
void paas_run_free(struct run *r);

/* What runs: every paas instance on every host; ours become r->ctrs,
 * everyone's ports and reservations count against their host. */
int paas_run_observe(struct run *r, struct paas_err *err);
/* Plan r->spec over what was observed (place.h). */
int paas_run_plan(struct run *r, struct paas_err *err);
/* r->digests for r->spec: each service's digest of the ${VAR} values its
 * env takes, and "*" that of every ${VAR} of the spec (secrets.h), the
 * values read from r->vars, else the environment; an empty object
 * without the cluster's secrets key, or without any ${VAR}. */
void paas_run_digests(struct run *r);
/* Each service's release command of r->spec (release r->release, values
 * r->vars), once, in a one-off container of its new image, in service
 * order: its output as release_output events, a release_phase event
 * before and release_done after.  One that fails (or outlives its
 * timeout) is PAAS_EFAILED with its last lines, and the rest do not run. */
int paas_run_release_phase(struct run *r, struct paas_err *err);
/* dep's current release (*cur, *currec, *mod) and the values
 * it kept (*kept, an object, empty when none); no release is an error
 * (config.c, for deploy.c's config set too). */
int paas_deploy_config_current(struct paas_etcd *e, const char *dep, int64_t *cur,
    json_t **currec, int64_t *mod, json_t **kept, struct paas_err *err);
/* The job templates (target.h) of spec's services with a schedule, release
 * r->release, on every Docker host their constraints allow; every other
 * template of the deployment removed (spec with no services: all).
 * paas_run_prepare() has made sure that every job has a host. */
int paas_run_jobs(struct run *r, const json_t *spec, struct paas_err *err);
/* The "plan" event. */
json_t *paas_run_plan_event(const struct run *r);
/* The environment of a's service, every ${VAR} read from r->vars or ours: secrets
 * (caller decrefs); an unset one is PAAS_EINVAL naming it. */
json_t *paas_run_service_env(struct run *r, const struct paas_place_action *a,
    struct paas_err *err);
/* The cluster's registry (NULL: none) and the deployer's X-Registry-Auth
 * for it (NULL: none), read once per run (borrowed). */
int paas_run_registry(struct run *r, const json_t **reg, const char **auth,
    struct paas_err *err);
/* Before anything starts: every image on the hosts it goes to, every ${VAR}
 * set.  *images gets {SERVICE: {HOST: IMAGE_ID}}. */
int paas_run_prepare(struct run *r, json_t **images, struct paas_err *err);
/* Carry out the plan, service by service, batch by batch; then record the
 * instances that stay. */
int paas_run_rollout(struct run *r, struct paas_err *err);
/* Observe, plan and roll out r->spec as release r->release. */
int paas_run_converge(struct run *r, struct paas_err *err);
/* Withdraw (where an agent announces it), stop and remove c; with drop_key
 * its instance key goes too. */
int paas_run_remove(struct run *r, struct ctr *c, int drop_key, struct paas_err *err);
/* After a failed rollout: the failing instance's last log lines go into an
 * event and into the returned text (caller frees); its container goes. */
char *paas_run_report_unhealthy(struct run *r);
/* Make etcd's routes of this deployment want (NULL: none), report them and
 * wait for the routers to serve them. */
int paas_run_sync_routes(struct run *r, const json_t *want, struct paas_err *err);

#endif
