/*
 * A cluster that paas-cluster up makes and down takes down, and its model:
 * the state directory and its cluster.json, what up was given.
 *
 * On one machine (cluster.c): a private etcd with users (access.h) unless
 * one is given, the cluster's registry (cluster-registry.c) unless one is
 * given or none is wanted, the local Docker registered as host "local",
 * its agent and a router, each a component (component.h): a process with
 * a pid file and a log in the state directory, or a systemd unit.
 *
 * Across machines reached over SSH (cluster-hosts.c, up --host): an etcd
 * member on each (peers on TLS with certificates of the cluster's CA), an
 * agent and a router on each, installed as units over the host's session
 * (install.h); the hosts registered as ssh://USER@ADDR.
 *
 *   DIR/cluster.json      what up was given: etcd, ports, docker, hosts
 *   DIR/etcd/             the private etcd's data
 *   DIR/etcd-auth/ROLE    the private etcd's users (access.h), 0600
 *   DIR/secrets.key       the key of the secrets store (secrets.h), 0600
 *   DIR/ca/               the cluster's CA (pki.h): ca.crt, ca.key (0600)
 *   DIR/peers/            the etcd members' certificates (up --host)
 *   DIR/registry/         the registry's config.yml, TLS key and certificate,
 *                         htpasswd and data/
 *   DIR/registry-auth     the deployer's registry credentials, 0600
 *   DIR/{etcd,registry,agent,router}.{pid,log}
 *   DIR/route/            haproxy.cfg, haproxy.pid, master.sock, stats.sock
 *
 * up starts what is not running and leaves alone what is; down stops
 * everything and keeps the data, so that the next up serves the same
 * deployments.  Progress goes to the event callback as
 * {"kind":"component","component","state"[,"pid"][,"detail"][,"host"]}.
 */
#ifndef PAAS_CLUSTER_H
#define PAAS_CLUSTER_H

#include <jansson.h>

#include "err.h"
#include "types.h"

struct paas_cluster {
	char *dir;			/* the state directory */
	json_t *conf;			/* cluster.json */
	const char *etcd;		/* its endpoints (after up: conf's "etcd") */
	int private_etcd;		/* etcd is the cluster's own */
	int systemd;			/* its components are systemd's units */
	paas_event_fn event;		/* progress, or NULL */
	void *arg;
};

/* The cluster of state directory dir (copied): its cluster.json, or an
 * empty object when it has none. */
void paas_cluster_open(struct paas_cluster *c, const char *dir);
void paas_cluster_close(struct paas_cluster *c);
/* c->conf to DIR/cluster.json. */
int paas_cluster_save(const struct paas_cluster *c, struct paas_err *err);

/* What up is given; a 0 or NULL keeps what cluster.json says, else the
 * default. */
struct paas_cluster_up_opts {
	const char *etcd;		/* an etcd of the user's (not the private one) */
	const char *docker;		/* the local Docker, unix:///PATH */
	int port;			/* the routers' HTTP port */
	int etcd_port, peer_port;	/* the private etcd's */
	int registry_port;
	const char *registry_address;	/* where the managed registry listens */
	const char *registry;		/* an external registry, HOST:PORT */
	const char *registry_ca;	/* its CA's file */
	int no_registry;
	int systemd;			/* the components as systemd's units, from now on */
	char *const *hosts;		/* up --host: NAME=USER@ADDR[:PORT] */
	int nhosts;
	const char *agent_docker;	/* the hosts' Docker, unix:///PATH */
};

/* Everything up: started where it is not running.  Bad options are
 * PAAS_EINVAL before anything starts; an etcd not ours on the private
 * etcd's port, or a component that does not become ready, PAAS_EFAILED
 * naming it and the end of its log. */
int paas_cluster_up(struct paas_cluster *c, const struct paas_cluster_up_opts *o,
    struct paas_err *err);

/* Everything stopped (the router first, the agent before etcd, so that it
 * can revoke its lease); the units of a cluster of units disabled. */
int paas_cluster_down(struct paas_cluster *c, struct paas_err *err);

/* The hosts of an up --host cluster (an array in conf, borrowed), or NULL. */
const json_t *paas_cluster_hosts(const struct paas_cluster *c);

/* registry gc: the images of the last keep releases of every deployment,
 * and every current one, kept; the rest deleted (dry: only listed), under
 * every deployment's lock, and the managed registry's unreferenced layers
 * collected while it is stopped.  Events: {"kind":"image_deleted","image"}
 * for each, then {"kind":"gc","kept","deleted","keep","dry_run"}, then the
 * registry's components. */
int paas_cluster_registry_gc(struct paas_cluster *c, int keep, int dry, struct paas_err *err);

#endif
