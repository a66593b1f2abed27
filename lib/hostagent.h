/*
 * The agent of a host reached over SSH, installed there as a systemd
 * service (paas-cluster hosts add --ssh): this program's own binary as
 * PAAS_AGENT_BIN, the unit PAAS_AGENT_UNIT (restarted on failure), its
 * settings in PAAS_AGENT_ENV and, when the cluster's etcd has users, the
 * agent's credentials in PAAS_AGENT_AUTH (both mode 0600).  Every file
 * goes as the standard input of a constant command over the host's
 * session: no user data reaches the remote shell's command line.
 */
#ifndef PAAS_HOSTAGENT_H
#define PAAS_HOSTAGENT_H

#include "err.h"

#define PAAS_AGENT_BIN	"/opt/paas-tools/bin/paas-cluster"
#define PAAS_AGENT_UNIT	"/etc/systemd/system/paas-agent.service"
#define PAAS_AGENT_ENV	"/etc/default/paas-agent"
#define PAAS_AGENT_AUTH	"/etc/paas-tools/etcd-auth-agent"

struct paas_agent_install {
	const char *target;	/* user@host[:port] */
	const char *host;	/* its name in the cluster */
	const char *etcd;	/* the endpoints the agent uses, from there */
	const char *docker;	/* the engine there; NULL: unix:///var/run/docker.sock */
	const char *auth;	/* the agent's etcd credentials file here, or NULL */
	const char *binary;	/* NULL: this program (/proc/self/exe) */
};

/*
 * Install or update the agent there and have systemd run it: only the
 * files that differ (by SHA-256) are written, and the agent is restarted
 * only then (*changed set); otherwise it is enabled and started if it is
 * not.  Errors: PAAS_EUNAVAIL naming the host and the step (systemd not
 * running there, the copied binary unable to run, systemctl's last words).
 */
int paas_agent_install(const struct paas_agent_install *o, int *changed,
    struct paas_err *err);

/* 1 when the agent's unit is active there, 0 when not (*why: its last log
 * line, caller frees), -1 when the host cannot be asked. */
int paas_agent_active(const char *target, char **why, struct paas_err *err);

/* Stop and disable the agent there and remove its files. */
int paas_agent_uninstall(const char *target, struct paas_err *err);

#endif
