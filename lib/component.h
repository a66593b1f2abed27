/*
 * A component of the cluster on this machine (paas-cluster up): etcd, the
 * registry, the agent and the router, each a process started in the
 * background with NAME.pid and NAME.log in the state directory, or, in a
 * cluster of units (up --systemd), systemd's paas-NAME.service with its
 * settings file /etc/default/paas-NAME (unittext.h).  Started and awaited
 * until ready, found running, stopped.  Progress goes to env's event
 * callback as {"kind":"component","component","state","pid","detail"}.
 */
#ifndef PAAS_COMPONENT_H
#define PAAS_COMPONENT_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "types.h"

#define PAAS_COMPONENT_STOP_MS	10000	/* for a process to go before SIGKILL */

/* Where the components are. */
struct paas_component_env {
	const char *dir;	/* the state directory */
	const char *etcd;	/* the cluster's etcd endpoints, for ready() */
	int systemd;		/* systemd's units, not processes */
	paas_event_fn event;	/* progress, or NULL */
	void *arg;
};

struct paas_component {
	const char *name;	/* "etcd", "registry", "agent", "router" */
	const char *what;	/* in messages: "the agent" */
	const char *prog;	/* the program its pid file must run */
	const char *detail;	/* reported beside it */
	long ready_ms;		/* to become ready */
	int (*ready)(const struct paas_component_env *env, void *arg);	/* 1 once ready */
	void *arg;
};

/* The pid of component name's process (its pid file running prog) or
 * unit, 0 when it does not run; nothing reported. */
pid_t paas_component_alive(const struct paas_component_env *env, const char *name,
    const char *prog);

/* Whether c runs already (reported "running"). */
int paas_component_running(const struct paas_component_env *env,
    const struct paas_component *c);

/* Start c as argv (as a process), or from its unit with argv as its
 * settings (systemd), and wait until ready() says so, within c->ready_ms:
 * reported "started".  A process that exits, or a unit that fails, is an
 * error with the end of its log, or where to read it. */
int paas_component_launch(const struct paas_component_env *env, const struct paas_component *c,
    char *const argv[], struct paas_err *err);

/* Stop component (its pid file, state-directory relative, running
 * prog_name; under systemd its unit, but for HAProxy, the router unit's
 * child that outlives it): reported "stopped" or "not-running". */
int paas_component_stop(const struct paas_component_env *env, const char *component,
    const char *file, const char *prog_name, struct paas_err *err);

/* Before a cluster of units starts anything: systemd runs here, the state
 * directory can go in a settings file, and each of names' units is
 * installed. */
int paas_component_systemd_check(const struct paas_component_env *env, const char *const *names,
    size_t n, struct paas_err *err);
/* paas-NAME.service not started again at the next boot. */
int paas_component_disable(const char *name, struct paas_err *err);

/* An event about a component. */
void paas_component_report(const struct paas_component_env *env, const char *component,
    const char *state, pid_t pid, const char *detail);

/* ready(): etcd at env->etcd answers healthy; the key arg exists there. */
int paas_component_etcd_ready(const struct paas_component_env *env, void *arg);
int paas_component_key_ready(const struct paas_component_env *env, void *arg);

/* The program name beside our own executable, else name for the PATH
 * (caller frees). */
char *paas_component_program(const char *name);

#endif
