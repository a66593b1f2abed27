/*
 * The pieces of paas-cluster(1), one file per family of subcommands:
 * paas-cluster.c (main, hosts, agent), cluster-up.c (up, down),
 * cluster-status.c (status, check), cluster-data.c (members, backup,
 * restore), cluster-registry.c (the registry up runs, registry gc),
 * cluster-git.c (git push deploys: git add, git ls, git-serve, git-hook).
 */
#ifndef PAAS_CLUSTER_CMD_H
#define PAAS_CLUSTER_CMD_H

#include <stdio.h>

#include <jansson.h>

#include "cli.h"
#include "err.h"
#include "out.h"

struct cluster_ctx {
	const char *etcd;		/* --etcd, or NULL */
	enum paas_format fmt;
};

void usage(FILE *f);
/* o's string k, or "-" (for tables and messages). */
const char *str(const json_t *o, const char *k);

struct paas_etcd;
struct paas_agent_install;
/* 0 when url is an --agent-docker value (unix:///path); else the usage
 * error's exit status, said. */
int agent_docker_arg(const char *url);
/* 1 once key exists in etcd, 0 when it still does not after ms. */
int key_wait(struct paas_etcd *e, const char *key, long ms);
/* The agent installed there (remote.h) and registered in etcd within
 * 30 s, else why not; *changed and *started (may be NULL) as for
 * paas_remote_install. */
int agent_bootstrap(struct paas_etcd *e, const struct paas_agent_install *ai, int *changed,
    int *started, struct paas_err *err);
/* Host name's record (*h NULL when there is none; caller decrefs). */
int host_find(struct paas_etcd *e, const char *name, json_t **h, struct paas_err *err);
/* hosts add NAME --fleet ENDPOINT (cluster-fleet.c): an exit status. */
int hosts_add_fleet(struct paas_etcd *e, const char *name, const char *endpoint,
    const char *agent_etcd, const char *agent_docker, json_t *labels);
/* The Global agent unit of a fleet host gone from its fleet. */
int hosts_rm_fleet(const json_t *host, struct paas_err *err);
int cmd_up(const struct cluster_ctx *c, int argc, char **argv);
int cmd_down(const struct cluster_ctx *c, int argc, char **argv);
int cmd_status(const struct cluster_ctx *c, int argc, char **argv);
int cmd_check(const struct cluster_ctx *c, int argc, char **argv);
int cmd_members(const struct cluster_ctx *c, int argc, char **argv);
int cmd_backup(const struct cluster_ctx *c, int argc, char **argv);
int cmd_restore(const struct cluster_ctx *c, int argc, char **argv);
int cmd_registry(const struct cluster_ctx *c, int argc, char **argv);
int cmd_git(const struct cluster_ctx *c, int argc, char **argv);

#endif
