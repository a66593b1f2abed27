/*
 * What cluster.c shares with cluster-hosts.c and cluster-registry.c,
 * internal to them.
 */
#ifndef PAAS_CLUSTER_INT_H
#define PAAS_CLUSTER_INT_H

#include <sys/types.h>

#include "cluster.h"
#include "component.h"
#include "err.h"

/* The components' view of u. */
void cluster_env(const struct paas_cluster *u, struct paas_component_env *env);
/* component.h's calls, for u's components. */
void cluster_report(const struct paas_cluster *u, const char *component, const char *state,
    pid_t pid, const char *detail);
int cluster_running(const struct paas_cluster *u, const struct paas_component *c);
int cluster_launch(const struct paas_cluster *u, const struct paas_component *c,
    char *const argv[], struct paas_err *err);
int cluster_stop(const struct paas_cluster *u, const char *component, const char *file,
    const char *prog_name, struct paas_err *err);
/* conf's integer k, else dflt. */
int cluster_conf_int(const json_t *conf, const char *k, int dflt);

/* The cluster's etcd with users (access.h), this process its root. */
int cluster_secure_etcd(struct paas_cluster *u, struct paas_err *err);
/* The secrets store's key, made once. */
int cluster_secrets_key(struct paas_cluster *u, struct paas_err *err);

/* The registry of u->conf ("registry": managed, external or none): started,
 * recorded in etcd, trusted by this machine's Docker daemons
 * (cluster-registry.c). */
int cluster_registry_up(struct paas_cluster *u, struct paas_err *err);

/* up --host (cluster-hosts.c); down of such a cluster. */
struct cluster_hosts_opts {
	char *const *specs;		/* NAME=USER@ADDR[:PORT] */
	int n;
	int port, etcd_port, peer_port;
	const char *agent_docker;	/* or NULL */
};
int cluster_up_hosts(struct paas_cluster *u, const struct cluster_hosts_opts *o,
    struct paas_err *err);
int cluster_down_hosts(struct paas_cluster *u, struct paas_err *err);

#endif
