/*
 * The types that cross the library's layers, so that no header includes
 * one above it: the progress callback that operations report through,
 * and the options of a deployment's run (deploy.h's verbs take them; the
 * rollout, below them, reads them).
 */
#ifndef PAAS_TYPES_H
#define PAAS_TYPES_H

#include <signal.h>
#include <stdint.h>

#include <jansson.h>

/* Progress, one JSON object at a time (borrowed for the call): deploy
 * events have an "event" key (deploy.h), the cluster's a "kind"
 * (cluster.h).  The library never prints; the command given this prints. */
typedef void (*paas_event_fn)(const json_t *ev, void *arg);

typedef paas_event_fn paas_deploy_event_fn;

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
	int from_push;			/* the deploy of a push: a build reads only the
					 * pushed repository (a relative path inside
					 * it) or one of allowed_sources */
	const char *const *allowed_sources; /* NULL-terminated build git values */
	const char *git_cache;		/* where URLs are fetched (NULL:
					 * STATE/git-cache) */
	int stop_timeout;		/* seconds docker waits before SIGKILL; 0: 10 */
	int drain_ms;			/* after the routers stopped sending an instance
					 * requests, before it is stopped; 0: 2000;
					 * negative: no withdrawal, stop at once */
	const char *const *skip_hosts;	/* NULL-terminated names of hosts that are
					 * down: neither asked nor placed on */
	/* Set (from a signal handler, or by the command when nobody reads its
	 * output any more): a build under way stops, and the deploy fails. */
	volatile sig_atomic_t *cancel;
	paas_deploy_event_fn event;
	void *arg;
};

/* What one instance runs: the rollout's words, the target's to render. */
struct paas_instance_spec {
	const char *deployment, *service, *instance;
	const char *version;		/* 16 hex digits (paas_spec_service_version) */
	int64_t release;
	const char *host;		/* the host's name */
	const char *etcd;		/* endpoints, given to the instance */
	const json_t *svc;		/* the canonical spec's service (spec.h) */
	const json_t *env;		/* {NAME: VALUE}, ${VAR} expanded: secrets */
	const json_t *ports;		/* host ports picked: {"8000": 30001} */
	const json_t *spec;		/* the whole canonical spec */
};

#endif
