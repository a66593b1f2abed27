/*
 * What cluster-up.c (up, down) shares with cluster-registry.c (the
 * registry's daemon and its garbage collection): the state directory's
 * daemons, each a component with NAME.pid and NAME.log.
 */
#ifndef PAAS_CLUSTER_UP_H
#define PAAS_CLUSTER_UP_H

#include <sys/types.h>

#include <jansson.h>

#include "err.h"
#include "out.h"

struct up {
	char *dir;
	json_t *conf;			/* cluster.json */
	const char *etcd;		/* endpoints */
	int private_etcd;
	int systemd;			/* the components are systemd's units */
	enum paas_format fmt;
};

/* A daemon of the cluster: NAME.pid and NAME.log in the state directory. */
struct component {
	const char *name;		/* "etcd", "agent", "router" */
	const char *what;		/* in messages */
	const char *prog;		/* the program its pid file must run */
	const char *detail;		/* reported beside it */
	long ready_ms;			/* to become ready */
	int (*ready)(const struct up *, void *);
	void *arg;
};


/* dir/name (caller frees). */
char *path_in(const char *dir, const char *name);
int mkdir_p(const char *path, mode_t mode, struct paas_err *err);
/* One line (a table) or object (NDJSON) about a component. */
void report(const struct up *u, const char *component, const char *state, pid_t pid,
    const char *detail);
/* Whether c runs already (and say so). */
int running(const struct up *u, const struct component *c);
/* Start argv as c, wait until it is ready, and say so. */
int launch(const struct up *u, const struct component *c, char *const argv[],
    struct paas_err *err);
/* Our own executable's directory's program name, else name (caller frees). */
char *sibling(const char *name);
/* dir/cluster.json, or an empty object (caller decrefs); u->systemd
 * from it when u is not NULL. */
json_t *load_conf(const char *dir, struct up *u);
int stop_one(const struct up *u, const char *component, const char *file, const char *prog_name,
    struct paas_err *err);

/* The cluster's etcd with users (access.h), this process its root. */
int secure_etcd(struct up *u, struct paas_err *err);
/* The secrets store's key, made once. */
int secrets_key(struct up *u, struct paas_err *err);
/* u->conf to dir/cluster.json. */
int save_conf(const struct up *u, struct paas_err *err);

/* up --host NAME=USER@ADDR...: a cluster across hosts reached over SSH
 * (cluster-hosts.c); down of such a cluster. */
struct up_hosts_opts {
	char *const *specs;		/* NAME=USER@ADDR[:PORT] */
	int n;
	int port, etcd_port, peer_port;
	const char *agent_docker;	/* or NULL */
};
int up_hosts(struct up *u, const struct up_hosts_opts *o, struct paas_err *err);
int down_hosts(struct up *u, struct paas_err *err);

/* The registry of u->conf ("registry": managed, external or none): started,
 * recorded in etcd, trusted by this machine's Docker daemons. */
int up_registry(struct up *u, struct paas_err *err);

#endif
