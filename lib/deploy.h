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

#include "err.h"

typedef void (*paas_deploy_event_fn)(const json_t *ev, void *arg);

struct paas_deploy_opts {
	const char *etcd;		/* endpoints */
	const char *deployment;
	int dry_run;			/* plan and report, change nothing */
	int lock_ttl;			/* seconds; 0: 15 */
	const char *user;		/* recorded in releases and in the lock's holder
					 * ("user@host pid N"); NULL: $USER, else the
					 * login name of the real user ID */
	const char *git;		/* commit of the Servicefile, or NULL */
	const char *ref;		/* builds: the commit of a build's git path
					 * (NULL: its HEAD); URLs build their HEAD */
	const char *source_dir;		/* relative build git paths start here
					 * (NULL: the working directory) */
	const char *source_prefix;	/* the Servicefile's directory inside the
					 * repository, when it is read from a
					 * commit (--git-dir); NULL otherwise */
	const char *build_host;		/* NULL: the first host by name */
	const char *git_cache;		/* where URLs are fetched (NULL:
					 * STATE/git-cache) */
	int stop_timeout;		/* seconds docker waits before SIGKILL; 0: 10 */
	int drain_ms;			/* after the routers stopped sending an instance
					 * requests, before it is stopped; 0: 2000;
					 * negative: no withdrawal, stop at once */
	const char *const *skip_hosts;	/* NULL-terminated names of hosts that are
					 * down: neither asked nor placed on */
	paas_deploy_event_fn event;
	void *arg;
};

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

/* Every container of the deployment removed from every host, and its keys
 * from etcd. */
int paas_deploy_destroy(const struct paas_deploy_opts *o, struct paas_err *err);

/* *releases gets the release records (without their spec), oldest first,
 * each with "current": true|false; a deployment with no release is
 * PAAS_EFAILED. */
int paas_deploy_history(const char *etcd, const char *deployment,
    json_t **releases, struct paas_err *err);

/* Every deployment with a current release, by name (listing.c):
 * {"kind":"deployment","deployment","release","release_kind","time","user",
 *  "services":{SVC: instances},"instances"}; one whose release record is
 * damaged gives {"kind":"deployment","deployment","error"}. */
int paas_deploy_list(const char *etcd, json_t **out, struct paas_err *err);
/* Every container of dep on every host: {"kind":"instance","deployment",
 * "service","instance","host","release","state" (Docker's),"running",
 * "healthy" (as the host's agent announced it; null where no agent runs),
 * "ports":{"8000":30001},"id" (12),"name","created" (UTC),"age_s"}.
 * Hosts that could not be asked go to *unreachable as {"kind":"host",
 * "host","error"}.  A deployment with no release is PAAS_EFAILED. */
int paas_deploy_ps(const char *etcd, const char *dep, json_t **out, json_t **unreachable,
    struct paas_err *err);

/* One line of an instance's output (logs.c); time is Docker's (RFC 3339,
 * UTC, nanoseconds), stream 1 stdout or 2 stderr. */
struct paas_log_line {
	const char *service, *instance, *host, *container;
	int stream;
	const char *time;
	const char *text;
	size_t len;
};
struct paas_logs_opts {
	const char *etcd, *deployment;
	const char *service, *instance;	/* NULL: all */
	int follow;			/* until the containers stop or *cancel */
	int64_t since;			/* Unix time; 0: from the start */
	int tail;			/* per container; 0: all */
	volatile sig_atomic_t *cancel;
	/* Each line, one call at a time (under a lock, from one thread per
	 * container with follow); non-zero stops. */
	int (*fn)(const struct paas_log_line *l, void *arg);
	void *arg;
};
/* Every container of the deployment on every host (filtered): without
 * follow, all of their lines in time order; with follow, as they come,
 * streamed, never held whole.  Hosts or containers that could not be read
 * go to *unreachable as {"kind":"host","host","error"}.  A deployment with
 * no release is PAAS_EFAILED, a service it does not have PAAS_EINVAL. */
int paas_deploy_logs(const struct paas_logs_opts *o, json_t **unreachable,
    struct paas_err *err);

/* A one-off container of a service (exec.c): the current release's image
 * and environment, ${VAR}s from the release's kept values else this
 * process's environment; labelled paas.run (not an instance). */
struct paas_exec_opts {
	const char *etcd, *deployment, *service;
	const char *host;		/* NULL: the first host by name that answers */
	char *const *argv;		/* NULL or empty: the service's own cmd */
	/* Each line of its output as it comes (stream 1 stdout, 2 stderr). */
	int (*out)(int stream, const char *line, size_t len, void *arg);
	void *arg;
	volatile sig_atomic_t *cancel;	/* set: the container is stopped */
};
/* Run it to its end: *status its exit status.  It is removed afterwards,
 * whatever happened.  A deployment with no release is PAAS_EFAILED, a
 * service it lacks or a host not registered PAAS_EINVAL, a host that does
 * not answer PAAS_EUNAVAIL. */
int paas_deploy_exec(const struct paas_exec_opts *o, int *status, struct paas_err *err);

#endif
