/*
 * The host agent (paas-cluster(1) agent): announces the healthy instances
 * of one Docker host in etcd for the routers.
 *
 * It lists the host's containers labelled paas.deployment, on every Docker
 * event about one of them and on a timer (so a missed event cannot leave a
 * stale entry), and health-checks each with its service's check (from the
 * release recorded in etcd), probing from outside as paas-deploy does.  Each
 * running container has one key under /paas/v1/announce/ (route.h) saying
 * where it answers and whether it is healthy; all of them and
 * /paas/v1/agents/HOST live under one lease of the agent's.  If the agent
 * dies the lease lapses and the host's servers leave the routers within
 * its TTL; if etcd goes away it keeps trying and, once back, writes
 * everything again under a new lease.  A container a deploy is retiring
 * (/paas/v1/drain/ID) is not announced again.
 */
#ifndef PAAS_AGENT_H
#define PAAS_AGENT_H

#include <signal.h>

#include "err.h"

struct paas_agent_opts {
	const char *etcd;		/* endpoints */
	const char *host;		/* the registered host's name ("local") */
	const char *fleet;		/* or, on a machine of the fleet cluster
					 * registered as host FLEET: that name; the
					 * agent is host FLEET-MACHINEID (the
					 * machine's /etc/machine-id) and
					 * instances answer at the machine's
					 * primary IP, which fleet says */
	const char *fleet_endpoint;	/* fleetd's API there; NULL:
					 * unix:///var/run/fleet.sock */
	const char *docker;		/* its Docker URL from where the agent runs
					 * (unix:///var/run/docker.sock on the
					 * host itself), or NULL: the record's */
	int ttl;			/* lease seconds; 0: 10 */
	long interval_ms;		/* container list every; 0: 2000 */
	volatile sig_atomic_t *stop;	/* returns soon after it becomes non-zero */
	paas_log_fn log;		/* one line per notable thing, or NULL */
	void *arg;
};

/* Runs until *o->stop; then revokes the lease (every announcement goes
 * with it) and returns 0.  An unknown host is PAAS_EINVAL; etcd unreachable
 * at the start is PAAS_EUNAVAIL. */
int paas_agent_run(const struct paas_agent_opts *o, struct paas_err *err);

#endif
