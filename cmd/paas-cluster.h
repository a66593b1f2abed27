/*
 * The subcommands of paas-cluster(1), one file per family, each flags ->
 * one library call -> output: cluster-up.c (up, down), cluster-hosts.c
 * (hosts, agent), cluster-status.c (status, check), cluster-data.c
 * (members, backup, restore), cluster-registry.c (registry gc),
 * cluster-git.c (git add, git ls, git-serve, git-hook), cluster-certs.c
 * (certs ls, add, rm).  paas-cluster.c
 * dispatches to them; they call the library and cli.c, never each other.
 */
#ifndef PAAS_CLUSTER_CMD_H
#define PAAS_CLUSTER_CMD_H

#include "out.h"

struct cluster_ctx {
	const char *etcd;		/* --etcd, or NULL */
	enum paas_format fmt;
};

int cmd_up(const struct cluster_ctx *c, int argc, char **argv);
int cmd_down(const struct cluster_ctx *c, int argc, char **argv);
int cmd_hosts(const struct cluster_ctx *c, int argc, char **argv);
int cmd_agent(const struct cluster_ctx *c, int argc, char **argv);
int cmd_status(const struct cluster_ctx *c, int argc, char **argv);
int cmd_check(const struct cluster_ctx *c, int argc, char **argv);
int cmd_members(const struct cluster_ctx *c, int argc, char **argv);
int cmd_backup(const struct cluster_ctx *c, int argc, char **argv);
int cmd_restore(const struct cluster_ctx *c, int argc, char **argv);
int cmd_registry(const struct cluster_ctx *c, int argc, char **argv);
int cmd_git(const struct cluster_ctx *c, int argc, char **argv);
int cmd_certs(const struct cluster_ctx *c, int argc, char **argv);

#endif
