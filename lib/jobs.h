/*
 * Jobs: services with a schedule (servicefile(5)), run as one-off
 * containers exactly once per due time across the cluster.
 *
 * A deploy leaves on every Docker host a job may run on a template of it
 * (target.h): a container created and never started, with the release's
 * image and environment, secrets included, which no agent could read.
 * Each host agent keeps the jobs of its templates whose release is its
 * deployment's current one.  At a due time every agent tries the same
 * etcd transaction: the run record /paas/v1/jobs/DEP/SVC/runs/DUE put
 * only while it does not exist (and with overlap: skip, only while the
 * key .../running does not), with .../running under the agent's lease.
 * One wins and starts a container copied from its template; the others
 * see the record.  A due time that finds the last run still going is
 * recorded "skipped".  Missed due times (the whole cluster down, or etcd)
 * are skipped, or with missed: run the latest one runs once, late.
 *
 * Fencing: an agent that has not refreshed its lease for two thirds of its
 * TTL (two refreshes missed) kills its runs (its running keys are about to
 * lapse, and another agent would start the next run beside them) and
 * records them "killed" once etcd answers.  An agent restarted mid-run takes its runs over: the
 * container goes on, the running key is put again under the new lease
 * (unless another run has taken it: the run is killed).  A run ends
 * recorded with its exit status, times and its last 64 KiB of output
 * (.../logs/DUE); the last 100 runs of a job are kept.
 */
#ifndef PAAS_JOBS_H
#define PAAS_JOBS_H

#include <signal.h>

#include <jansson.h>

#include "docker.h"
#include "err.h"
#include "etcd.h"
#include "lease.h"

/* Runs kept per job. */
#define PAAS_JOB_RUNS_KEPT	100

struct paas_jobs;

struct paas_jobs *paas_jobs_new(const char *host, paas_log_fn log, void *arg);
/* One pass of host's scheduler: templates and runs read from d (at most
 * once a second), due times claimed, runs started, fenced, finished and
 * recorded.  Call it often (every 200 ms); it does not block on a run. */
void paas_jobs_tick(struct paas_jobs *j, struct paas_etcd *e, struct paas_docker *d,
    const struct paas_lease *lease);
/* The fence, a thread that kills the host's runs once the lease given to
 * paas_jobs_tick() was last refreshed two thirds of its TTL ago, through d (its
 * own client, freed with j), until *stop. */
int paas_jobs_fence(struct paas_jobs *j, struct paas_docker *d, volatile sig_atomic_t *stop);
void paas_jobs_free(struct paas_jobs *j);

/* The jobs of dep's current release, one object each: {"kind":"job",
 * "time","deployment","service","schedule","timezone","overlap","missed",
 * "next","last":RUN|null}; with svc, that job's runs instead, newest
 * first (RUN: the records of keys.h).  Caller decrefs *out. */
int paas_jobs_list(struct paas_etcd *e, const char *dep, const char *svc, json_t **out,
    struct paas_err *err);
/* The output of svc's run due at due (Unix seconds), into *out (caller
 * frees); PAAS_EINVAL when there is no such run. */
int paas_jobs_logs(struct paas_etcd *e, const char *dep, const char *svc, long long due,
    char **out, struct paas_err *err);

#endif
