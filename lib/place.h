/*
 * Placement: which instances of a spec stay, which start and where, and
 * which containers go.  Pure: it reads only what it is given (the spec, the
 * hosts with what already runs on them, this deployment's instances) and
 * asks no server, so every rule has a unit test (tests/unit/t-place.c).
 *
 * The rules, in order:
 *   - an instance that runs the service's current version stays where it
 *     is (its container is kept);
 *   - a host is fit for a service when it has every label of the service's
 *     constraints, runs nothing the service conflicts with (either way
 *     round), and has the CPU and memory the service reserves left;
 *   - of the fit hosts: the one the instance ran on before (stickiness),
 *     then the one with the fewest instances of the service (spreading),
 *     then the fewest of the deployment, then the first by name;
 *   - a global service has one instance per host its constraints allow,
 *     named after the host;
 *   - each published container port, and the health check's, gets a free
 *     host port from PAAS_PORT_MIN to PAAS_PORT_MAX;
 *   - no fit host: PAAS_EFAILED "cannot place SVC instance N: HOST: why;
 *     HOST: why", one reason per host.
 */
#ifndef PAAS_PLACE_H
#define PAAS_PLACE_H

#include <stddef.h>

#include <jansson.h>

#include "err.h"

#define PAAS_PORT_MIN	30000	/* host ports for published container ports */
#define PAAS_PORT_MAX	32767
#define PAAS_NPORTS	(PAAS_PORT_MAX - PAAS_PORT_MIN + 1)

enum paas_fate { PAAS_REMOVE, PAAS_KEEP };

struct paas_place_host {
	const char *name;
	const json_t *labels;		/* {K: V}; NULL: none */
	int scheduler;			/* a cluster that places instances on its own
					 * machines (fleet): constraints and
					 * conflicts are its to keep */
	long long cpu_cap, mem_cap;	/* 0: no limit */
	long long cpu_used, mem_used;	/* set to what other deployments' running
					 * containers reserve; the plan adds ours */
	unsigned char ports[(PAAS_NPORTS + 7) / 8];	/* host ports taken */
	json_t *count;			/* the plan's: {SERVICE: instances of ours} */
	/* Asked before a free port is picked, when not NULL: 0 when something
	 * outside the plan holds it (then it is marked taken). */
	int (*port_free)(void *arg, long long port);
	void *port_arg;
};

/* An instance of this deployment that exists on a host. */
struct paas_place_ctr {
	const char *service, *instance, *version;
	int running;
	struct paas_place_host *h;
	enum paas_fate fate;		/* out: stays or goes */
	int claimed;			/* out: an action replaces it */
};

/* An instance to start (or, with keep, one to check). */
struct paas_place_action {
	const char *service;
	const json_t *svc;		/* the spec's service */
	char *instance;
	char version[17];
	struct paas_place_host *h;	/* where it goes */
	struct paas_place_ctr *keep;	/* runs the version already: check it, start nothing */
	struct paas_place_ctr **old;	/* the containers it replaces */
	size_t nold;
	json_t *ports;			/* host ports picked: {"8000": 30001} */
};

struct paas_plan {
	const json_t *spec;		/* canonical (spec.h) */
	const char *deployment;
	const json_t *digests;		/* {SERVICE: digest of its ${VAR} values}, or NULL */
	struct paas_place_host **hosts;	/* in name order; the caller's */
	size_t nhosts;
	struct paas_place_ctr **ctrs;	/* the caller's */
	size_t nctrs;
	struct paas_place_action *acts;	/* out, the plan's own */
	size_t nacts;
};

/* Fill p->acts and every container's fate from p->spec.  Planning again
 * starts over (host counts included). */
int paas_place(struct paas_plan *p, struct paas_err *err);
/* Nothing to start and nothing to remove. */
int paas_plan_empty(const struct paas_plan *p);
/* Whether h's labels meet every constraint of service svc. */
int paas_place_allows(const struct paas_place_host *h, const json_t *svc);
/* Free p->acts (not the hosts or containers). */
void paas_plan_free(struct paas_plan *p);

/* Mark a host port taken (ports outside the range are ignored). */
void paas_place_mark_port(struct paas_place_host *h, long long port);
/* Host ports for the service's ports and its health check's, marked taken
 * on h: {"8000": 30001} (caller decrefs); none left is PAAS_EFAILED. */
json_t *paas_place_ports(struct paas_place_host *h, const json_t *svc, struct paas_err *err);

#endif
