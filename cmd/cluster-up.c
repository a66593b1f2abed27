/*
 * paas-cluster up / down: the flags of a cluster on this machine, or
 * across hosts with --host, handed to paas_cluster_up (cluster.h), its
 * progress printed as it comes, and where to point the commands after.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cluster.h"
#include "paas-cluster.h"
#include "registry.h"
#include "ssh.h"
#include "state.h"
#include "valid.h"

#define MAX_SPECS	32

struct up_flags {
	struct paas_cluster_up_opts o;
	char *specs[MAX_SPECS];
	const char *dir;
};

static int
port_arg(const char *flag, const char *s, int *out)
{
	if (paas_parse_int(s, 1, 65535, out) < 0) {
		cli_bad_usage("%s %.32s: expected a TCP port, 1-65535", flag, s);
		return -1;
	}
	return 0;
}

/* One of up's flags into f: 0, or the usage error's exit status. */
static int
up_flag(int ch, struct up_flags *f)
{
	struct paas_cluster_up_opts *o = &f->o;

	switch (ch) {
	case 's': f->dir = optarg; return 0;
	case 'd':
		if (strncmp(optarg, "unix://", 7) != 0 || optarg[7] != '/')
			return cli_bad_usage("--docker %.64s: expected the local socket, unix:///PATH",
			    optarg);
		o->docker = optarg;
		return 0;
	case 'p': return port_arg("--port", optarg, &o->port) < 0 ? PAAS_EINVAL : 0;
	case 'E': return port_arg("--etcd-port", optarg, &o->etcd_port) < 0 ? PAAS_EINVAL : 0;
	case 'P': return port_arg("--etcd-peer-port", optarg, &o->peer_port) < 0 ? PAAS_EINVAL : 0;
	case 'R': return port_arg("--registry-port", optarg, &o->registry_port) < 0 ? PAAS_EINVAL : 0;
	case 'A':
		if (!paas_valid_address(optarg))
			return cli_bad_usage("--registry-address %.64s: expected an IP address of this "
			    "machine", optarg);
		o->registry_address = optarg;
		return 0;
	case 'X':
		if (!paas_registry_address_ok(optarg))
			return cli_bad_usage("--registry %.64s: expected HOST:PORT", optarg);
		o->registry = optarg;
		return 0;
	case 'C': o->registry_ca = optarg; return 0;
	case 'N': o->no_registry = 1; return 0;
	case 'S': o->systemd = 1; return 0;
	case 'H':
		if (o->nhosts == MAX_SPECS)
			return cli_bad_usage("%s", "up: too many --host");
		f->specs[o->nhosts++] = optarg;
		return 0;
	case 'G':
		o->agent_docker = optarg;
		return cli_agent_docker(optarg);
	case 'k': paas_ssh_accept_new(1); return 0;
	default: cli_usage(stderr); return PAAS_EINVAL;
	}
}

/* Flags that do not go together. */
static int
up_combination(const struct paas_cluster_up_opts *o)
{
	if (o->nhosts && (o->docker || o->systemd || o->no_registry || o->registry ||
	    o->registry_port || o->registry_address || o->registry_ca))
		return cli_bad_usage("%s", "up --host: no --docker, --systemd or --registry* "
		    "(each host's own Docker and systemd are used; no registry is made)");
	if (!o->nhosts && o->agent_docker)
		return cli_bad_usage("%s", "--agent-docker goes with --host");
	if ((o->no_registry && (o->registry || o->registry_port || o->registry_address ||
	    o->registry_ca)) || (o->registry && (o->registry_port || o->registry_address)) ||
	    (o->registry_ca && !o->registry))
		return cli_bad_usage("%s", "--no-registry, --registry (with --registry-ca) and "
		    "--registry-port/--registry-address do not go together");
	return 0;
}

/* Where to point the commands now. */
static void
summary(const struct paas_cluster *u)
{
	const json_t *hosts = paas_cluster_hosts(u);
	char *dflt = paas_state_dir(NULL);

	if (hosts) {
		printf("\nThe cluster is up on %zu host%s; its state is in %s.\n",
		    json_array_size(hosts), json_array_size(hosts) > 1 ? "s" : "", u->dir);
		printf("Point the commands at its etcd:  export PAAS_ETCD=%s\n", u->etcd);
		printf("and at its credentials:  export PAAS_STATE_DIR=%s\n", u->dir);
	} else {
		printf("\nThe cluster is up; its state is in %s.\n", u->dir);
		if (strcmp(u->etcd, "http://127.0.0.1:2379") != 0)
			printf("Point the commands at its etcd:  export PAAS_ETCD=%s\n", u->etcd);
		if (u->private_etcd && strcmp(dflt, u->dir) != 0)
			printf("and at its credentials:  export PAAS_STATE_DIR=%s\n", u->dir);
		printf("Deploy with:  paas-deploy -D NAME Servicefile\n");
	}
	free(dflt);
}

int
cmd_up(const struct cluster_ctx *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "docker", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "etcd-port", required_argument, NULL, 'E' },
		{ "etcd-peer-port", required_argument, NULL, 'P' },
		{ "registry-port", required_argument, NULL, 'R' },
		{ "registry-address", required_argument, NULL, 'A' },
		{ "registry", required_argument, NULL, 'X' },
		{ "registry-ca", required_argument, NULL, 'C' },
		{ "no-registry", no_argument, NULL, 'N' },
		{ "systemd", no_argument, NULL, 'S' },
		{ "host", required_argument, NULL, 'H' },
		{ "agent-docker", required_argument, NULL, 'G' },
		{ "accept-new-host-key", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_err err = PAAS_ERR_INIT;
	struct up_flags f = { 0 };
	struct paas_cluster u;
	enum paas_format fmt = c->fmt;
	char *dir;
	int ch, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if ((rc = up_flag(ch, &f)) != 0)
			return rc;
	if (optind != argc)
		return cli_bad_usage("up: unexpected argument '%.64s'", argv[optind]);
	if ((rc = up_combination(&f.o)) != 0)
		return rc;
	f.o.hosts = f.specs;
	f.o.etcd = c->etcd ? c->etcd : getenv("PAAS_ETCD");
	dir = paas_state_dir(f.dir);
	paas_cluster_open(&u, dir);
	free(dir);
	u.event = cli_print_cluster_event;
	u.arg = &fmt;
	if (paas_cluster_up(&u, &f.o, &err) < 0)
		rc = cli_fail(&err);
	else if (paas_out_is_table(fmt))
		summary(&u);
	paas_cluster_close(&u);
	return rc;
}

int
cmd_down(const struct cluster_ctx *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_err err = PAAS_ERR_INIT;
	enum paas_format fmt = c->fmt;
	const char *dirflag = NULL;
	struct paas_cluster u;
	struct stat st;
	char *dir;
	int ch, rc = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': dirflag = optarg; break;
		default: cli_usage(stderr); return PAAS_EINVAL;
		}
	}
	if (optind != argc)
		return cli_bad_usage("down: unexpected argument '%.64s'", argv[optind]);
	dir = paas_state_dir(dirflag);
	if (stat(dir, &st) < 0) {
		paas_err_set(&err, PAAS_EFAILED, "no cluster here: %s: %s", dir, strerror(errno));
		free(dir);
		return cli_fail(&err);
	}
	paas_cluster_open(&u, dir);
	free(dir);
	u.event = cli_print_cluster_event;
	u.arg = &fmt;
	if (paas_cluster_down(&u, &err) < 0)
		rc = cli_fail(&err);
	paas_cluster_close(&u);
	return rc;
}
