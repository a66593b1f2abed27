/*
 * The cluster's own components as systemd units: etcd, the registry, the
 * host agent and the router.  One home for their unit texts and their
 * settings files, wherever they are installed:
 *
 *   PAAS_UNITTEXT_PACKAGE  the units `make install` puts in
 *                          PREFIX/lib/systemd/system (made from this at
 *                          build time), the programs in bindir, the
 *                          settings in /etc/default/paas-tools then
 *                          /etc/default/paas-NAME (paas-cluster up
 *                          --systemd writes the latter);
 *   PAAS_UNITTEXT_SSH      a host's units, installed over SSH (install.h)
 *                          by hosts add --ssh and up --host: the programs
 *                          in PAAS_HOST_BIN_DIR, the settings in
 *                          /etc/default/paas-NAME, credentials and
 *                          certificates in PAAS_HOST_ETC;
 *   PAAS_UNITTEXT_FLEET    the agent as fleet's Global unit, one on every
 *                          machine of a fleet cluster.
 *
 * Settings files are systemd EnvironmentFiles: NAME="VALUE" with " \ $
 * escaped; the values were validated before, the escaping is the second
 * line.
 */
#ifndef PAAS_UNITTEXT_H
#define PAAS_UNITTEXT_H

#include "buf.h"
#include "err.h"

#define PAAS_HOST_BIN_DIR	"/opt/paas-tools/bin"
#define PAAS_HOST_ETC		"/etc/paas-tools"
#define PAAS_HOST_UNIT_DIR	"/etc/systemd/system"
#define PAAS_HOST_DEFAULTS	"/etc/default"
#define PAAS_HOST_ROUTE_DIR	"/var/lib/paas/route"
#define PAAS_HOST_ETCD_DIR	"/var/lib/paas/etcd"
/* Every etcd the cluster runs keeps its history to the last 1,000
 * revisions (compacted every 5 minutes) within an explicit quota of 2 GiB,
 * which paas-cluster check measures the database against. */
#define PAAS_ETCD_COMPACTION_MODE	"revision"
#define PAAS_ETCD_COMPACTION_KEEP	"1000"
#define PAAS_ETCD_QUOTA			"2147483648"
#define PAAS_ETCD_QUOTA_BYTES		2147483648LL	/* the same, as a number */
/* An etcd member's TLS between peers, on its host. */
#define PAAS_HOST_PEER_CRT	PAAS_HOST_ETC "/etcd-peer.crt"
#define PAAS_HOST_PEER_KEY	PAAS_HOST_ETC "/etcd-peer.key"
#define PAAS_HOST_CA		PAAS_HOST_ETC "/ca.crt"

enum paas_unittext_kind {
	PAAS_UNITTEXT_ETCD,
	PAAS_UNITTEXT_REGISTRY,
	PAAS_UNITTEXT_AGENT,
	PAAS_UNITTEXT_ROUTER,
};

enum paas_unittext_place {
	PAAS_UNITTEXT_PACKAGE,
	PAAS_UNITTEXT_SSH,
	PAAS_UNITTEXT_FLEET,
};

/* "etcd", "registry", "agent", "router": the unit is paas-NAME.service. */
const char *paas_unittext_name(enum paas_unittext_kind k);
/* "agent" -> PAAS_UNITTEXT_AGENT; -1 for no component. */
int paas_unittext_kind_of(const char *name);

/* Where a component's files are on a host (PAAS_UNITTEXT_SSH), as
 * constants for the remote shell: its program (NULL for etcd and the
 * registry, which are the host's own), unit, settings and etcd
 * credentials (NULL where it has none). */
struct paas_unittext_paths {
	const char *bin, *unit, *settings, *auth;
};
void paas_unittext_paths(enum paas_unittext_kind k, struct paas_unittext_paths *p);

/* The unit text of k at place, added to out.  bindir: the programs'
 * directory of a PACKAGE unit (the SSH and fleet ones are in
 * PAAS_HOST_BIN_DIR).  A FLEET unit is the agent's alone: its fleet
 * host's name, etcd endpoints and Docker URL (or NULL) go in it, checked
 * by paas_unit_agent (unit.h) before. */
struct paas_unittext_opts {
	enum paas_unittext_kind kind;
	enum paas_unittext_place place;
	const char *bindir;
	const char *fleet, *etcd, *docker;	/* FLEET */
};
void paas_unittext(const struct paas_unittext_opts *o, struct paas_buf *out);

/*
 * The settings file of a component that paas-cluster up --systemd runs on
 * this machine, from the argument vector it would run as a process: etcd's
 * flags as its ETCD_* variables, the registry's configuration file, the
 * agent's and the router's endpoints, state directory and flags (argv:
 * SELF --etcd ENDPOINTS agent|watch FLAGS...).  A value the unit's
 * ExecStart would split (a space, a quote, a backslash, $) is PAAS_EINVAL.
 */
int paas_unittext_settings_local(enum paas_unittext_kind k, const char *what,
    char *const argv[], const char *state_dir, struct paas_buf *out, struct paas_err *err);
/* Whether s can go in such a settings file as a word. */
int paas_unittext_word(const char *s);

/* A host's etcd member (PAAS_UNITTEXT_SSH): its name and address, the
 * ports, the initial cluster ("NAME=https://ADDR:PEER,..."), its token. */
struct paas_unittext_member {
	const char *name, *addr;
	int client_port, peer_port;
	const char *initial_cluster, *token;
};
void paas_unittext_settings_member(const struct paas_unittext_member *m, struct paas_buf *out);
/* A host's agent: etcd endpoints, host name, Docker URL, with
 * credentials (the file at paths.auth) or without. */
void paas_unittext_settings_agent(const char *etcd, const char *host, const char *docker,
    int auth, struct paas_buf *out);
/* A host's router: etcd endpoints, port, host name; its credentials are
 * at paths.auth. */
void paas_unittext_settings_router(const char *etcd, int port, const char *host,
    struct paas_buf *out);

#endif
