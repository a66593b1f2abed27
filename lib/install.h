/*
 * The cluster's components installed on a host over SSH, as the systemd
 * units of unittext.h (PAAS_UNITTEXT_SSH): one install for every
 * component, through paas_remote_install (remote.h), so that each file is
 * written only when it differs and the unit restarted only then.
 *
 * What a component brings: its program when it is ours (the agent's and
 * the router's, copied from here and run with --version there before the
 * unit starts), its unit, its settings file (0600), the etcd credentials
 * of its role when the cluster's etcd has users (0600), and any other
 * file it needs (an etcd member's certificates).
 */
#ifndef PAAS_INSTALL_H
#define PAAS_INSTALL_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "remote.h"
#include "unittext.h"

struct paas_install {
	enum paas_unittext_kind kind;
	const char *target;			/* user@host[:port] */
	const struct paas_buf *settings;	/* the settings file */
	const char *binary;			/* the program to copy (agent, router) */
	const char *auth;			/* the role's etcd credentials here, or NULL */
	const struct paas_remote_file *extra;	/* other files, or NULL */
	size_t nextra;
	int no_block;				/* do not wait for the start */
};

/* The component there, installed or brought up to date and running
 * (*changed and *started as for paas_remote_install). */
int paas_install_component(const struct paas_install *o, int *changed, int *started,
    struct paas_err *err);

/* 1 when the component's unit is active there, 0 when not (*why: its last
 * log line, caller frees), -1 when the host cannot be asked. */
int paas_install_active(enum paas_unittext_kind k, const char *target, char **why,
    struct paas_err *err);

/* The component's unit stopped and disabled there, its files removed. */
int paas_install_remove(enum paas_unittext_kind k, const char *target, struct paas_err *err);

/* A host's agent (hosts add --ssh, up --host). */
struct paas_install_agent {
	const char *target;	/* user@host[:port] */
	const char *host;	/* its name in the cluster */
	const char *etcd;	/* the endpoints the agent uses, from there */
	const char *docker;	/* the engine there; NULL: unix:///var/run/docker.sock */
	const char *auth;	/* the agent's etcd credentials file here, or NULL */
	const char *binary;	/* NULL: this program (/proc/self/exe) */
};
int paas_install_agent(const struct paas_install_agent *o, int *changed, int *started,
    struct paas_err *err);

#endif
