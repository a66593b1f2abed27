/*
 * Where instances run.  The rollout (rollout.c) never talks to Docker or
 * fleet itself: it asks a target to list, start, check, stop, remove and
 * show the logs of the instances on one of the target's hosts, given by
 * its index in the host list the target was made from.  Docker hosts
 * reached through the Engine API are one implementation (target-docker.c);
 * another backend is another struct paas_target_ops, not a branch in the
 * rollout.
 */
#ifndef PAAS_TARGET_H
#define PAAS_TARGET_H

#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "types.h"


struct paas_target;

struct paas_target_ops {
	/*
	 * Every paas instance on host h, of every deployment, as an array of
	 * {"id","name","running":BOOL,"state","created":UNIX,"deployment","service","instance",
	 *  "version","release":N,"cpu_milli":N,"memory_bytes":N,
	 *  "ports":{"8000":30001},"host_ports":[30001,...]} (caller decrefs);
	 * host_ports also counts ports published without a container port.
	 */
	int (*list)(struct paas_target *t, size_t h, json_t **out, struct paas_err *err);
	/* image present on h, fetched if it is not (with auth, the registry's
	 * X-Registry-Auth, or NULL): *id its ID (caller frees). */
	int (*image)(struct paas_target *t, size_t h, const char *image, const char *auth,
	    char **id, struct paas_err *err);
	/* Start an instance: *id and *name (caller frees) say what runs.  A host
	 * port that something else holds sets *port_taken, leaves nothing
	 * behind and fails: the caller picks other ports and tries again. */
	int (*start)(struct paas_target *t, size_t h, const struct paas_instance_spec *is,
	    char **id, char **name, int *port_taken, struct paas_err *err);
	/* 1 when the instance has stopped or is gone (err says how), 0 while it
	 * runs or when h could not be asked. */
	int (*exited)(struct paas_target *t, size_t h, const char *id, struct paas_err *err);
	/* Stop, waiting at most timeout_s for it to end by itself. */
	int (*stop)(struct paas_target *t, size_t h, const char *id, int timeout_s,
	    struct paas_err *err);
	/* Ask it to stop, with the signal it is stopped with (the image's
	 * STOPSIGNAL, else SIGTERM), and return at once: exited() says when it
	 * has; a restart policy does not start it again. */
	int (*signal_stop)(struct paas_target *t, size_t h, const char *id,
	    struct paas_err *err);
	/* Stopped or not, gone; one already gone is not an error. */
	int (*remove)(struct paas_target *t, size_t h, const char *id, struct paas_err *err);
	/* The last `lines` lines of its output, appended to out. */
	int (*logs)(struct paas_target *t, size_t h, const char *id, int lines,
	    struct paas_buf *out, struct paas_err *err);
	/* 0 when something on host h is known to hold host port p (a process
	 * outside the target, another Docker), 1 when not or unknown. */
	int (*port_free)(struct paas_target *t, size_t h, long long p);
	/* Where instance id's published ports answer (caller frees), when
	 * that is not its host's address (a cluster that places instances on
	 * machines of its own): NULL with 0 for the host's address; -1 with
	 * err saying why when nobody can tell yet (not placed). */
	int (*address)(struct paas_target *t, size_t h, const char *id, char **addr,
	    struct paas_err *err);
	/* Host h's job templates of deployment dep made exactly is[0..n): a
	 * container for each, created and never started (the agent's runs
	 * copy it, jobs.h), named DEP.SVC.job.RELEASE; every other template of
	 * dep removed, runs left to their agent.  n 0: every one goes, and
	 * every run with it. */
	int (*jobs)(struct paas_target *t, size_t h, const char *dep,
	    const struct paas_instance_spec *is, size_t n, struct paas_err *err);
	void (*free)(struct paas_target *t);
};

struct paas_target {
	const struct paas_target_ops *ops;
};

/*
 * Docker hosts: hosts is the array of host records (state.h) in the order
 * the rollout indexes them (borrowed, kept alive by the caller).  Requests
 * time out after timeout_ms.  An instance is a container labelled
 * paas.deployment/service/instance/release/version, named
 * DEP.SVC.ID.VERSION8, run with --init and its service's restart policy.
 */
struct paas_target *paas_target_docker(const json_t *hosts, long timeout_ms,
    struct paas_err *err);

/*
 * A fleet cluster (fleet.h), a host record {"name", "fleet": ENDPOINT}:
 * instances are units fleet places on its machines (paas_unit_instance(),
 * unit.h), constraints and conflicts are fleet's to keep; an instance's
 * ID is its unit's name, and it answers at its machine's primary IP.
 */
struct paas_target *paas_target_fleet(const json_t *hosts, long timeout_ms,
    struct paas_err *err);

/* The target of a run over any hosts: fleet clusters (hosts with "fleet")
 * and Docker hosts, each host to its own kind. */
struct paas_target *paas_target_hosts(const json_t *hosts, long timeout_ms,
    struct paas_err *err);

/* Whether host record h is a fleet cluster. */
int paas_host_is_fleet(const json_t *h);

struct paas_fleet;
/* The fleet client of fleet host h, its requests timing out after
 * timeout_ms (connecting: at most 5 s); NULL with err set. */
struct paas_fleet *paas_host_fleet(const json_t *h, long timeout_ms, struct paas_err *err);
/* The paas instances of fleet f, as a target's list (above), each also
 * with "machine" (fleet's machine ID, or null when fleet has not placed
 * it: "state" is then "unplaced") and "desired" (the unit's desired
 * state). */
int paas_fleet_instances(struct paas_fleet *f, json_t **out, struct paas_err *err);

/* NULL is fine. */
void paas_target_free(struct paas_target *t);

#endif
