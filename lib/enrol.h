/*
 * Hosts enrolled in the cluster and removed from it (paas-cluster hosts add
 * and rm): a Docker host by its URL, checked before anything is recorded;
 * a host reached over SSH whose agent is installed there (install.h) and
 * must register within 30 s, or nothing stays; a fleet cluster whose
 * machines each run the agent as fleet's Global unit.  The cluster's
 * registry is trusted by this machine's Docker daemons afterwards.
 */
#ifndef PAAS_ENROL_H
#define PAAS_ENROL_H

#include <jansson.h>

#include "err.h"
#include "install.h"
#include "types.h"

struct paas_etcd;

struct paas_enrol {
	const char *name;
	const char *docker;		/* the Docker URL (NULL with ssh or fleet) */
	const char *ssh;		/* user@addr[:port]: the agent is installed there */
	const char *fleet;		/* a fleet endpoint: the cluster is the host */
	const char *tls_ca, *tls_cert, *tls_key;
	int insecure;
	int check;			/* ask the host's Docker before recording it */
	const json_t *labels;		/* {key: value} */
	long long cpu_milli, memory_bytes;
	const char *address;		/* where its published ports answer */
	const char *agent_etcd;		/* the etcd endpoints from the host (ssh, fleet) */
	const char *agent_docker;	/* the engine there, unix:///PATH, or NULL */
	const char *agent_auth;		/* the agent's etcd credentials here, or NULL */
	paas_event_fn event;		/* {"kind":"warning","message"}, or NULL */
	void *arg;
};

/*
 * Enrol o's host.  *agent (caller decrefs; NULL for a plain Docker host)
 * says what was done with its agent: {"host","docker","state"} for ssh
 * ("installed", "updated", "unchanged"), {"host","fleet","unit",
 * "machines","agents","state"} for fleet, where agents below machines
 * means some machine's agent did not register in 60 s (a warning each).
 * An unreachable host is PAAS_EUNAVAIL, "host NAME not added", with
 * nothing recorded; a host of that name with another URL PAAS_EFAILED.
 */
int paas_enrol_add(struct paas_etcd *e, const struct paas_enrol *o, json_t **agent,
    struct paas_err *err);

/* Host name removed, its agent first (a fleet host's Global unit, or what
 * hosts add --ssh installed).  An agent that cannot be removed keeps the
 * record (PAAS_EUNAVAIL, "host NAME kept"), unless force: then a warning
 * event (as paas_enrol_add's) says why it was left and the record goes. */
int paas_enrol_remove(struct paas_etcd *e, const char *name, int force, paas_event_fn event,
    void *arg, struct paas_err *err);

/* The agent installed there (install.h) and registered in etcd within
 * 30 s, else why not (its unit's last words, or that it runs and cannot
 * reach etcd); *changed and *started (may be NULL) as for
 * paas_remote_install. */
int paas_enrol_agent(struct paas_etcd *e, const struct paas_install_agent *ai, int *changed,
    int *started, struct paas_err *err);

#endif
