/*
 * paas-cluster hosts and agent: the host registry in etcd (hosts add
 * checks that a host answers before it records anything, and installs its
 * agent with --ssh or --fleet; hosts ls; hosts rm removes its agent first,
 * enrol.h), and the per-host agent of agent.h in the foreground.  With no
 * host registered, the local Docker socket is the one host, "local".
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cli.h"
#include "enrol.h"
#include "etcd.h"
#include "hosts.h"
#include "jsonx.h"
#include "paas-cluster.h"
#include "ssh.h"
#include "state.h"
#include "target.h"
#include "valid.h"

/* An endpoint on the loopback: what an agent on another machine cannot
 * reach. */
static int
loopback(const char *endpoints)
{
	return strstr(endpoints, "://127.") != NULL || strstr(endpoints, "://localhost") != NULL ||
	    strstr(endpoints, "://[::1]") != NULL;
}

/* One of hosts add's flags into o: 0, or the usage error's exit status. */
static int
add_flag(int ch, struct paas_enrol *o, json_t *labels)
{
	char *eq;

	switch (ch) {
	case 'd': o->docker = optarg; return 0;
	case 'A': o->tls_ca = optarg; return 0;
	case 'C': o->tls_cert = optarg; return 0;
	case 'K': o->tls_key = optarg; return 0;
	case 'I': o->insecure = 1; return 0;
	case 'n': o->check = 0; return 0;
	case 'k': paas_ssh_accept_new(1); return 0;
	case 'S': o->ssh = optarg; return 0;
	case 'F': o->fleet = optarg; return 0;
	case 'E': o->agent_etcd = optarg; return 0;
	case 'G':
		o->agent_docker = optarg;
		return cli_agent_docker(optarg);
	case 'a':
		if (!paas_valid_address(optarg))
			return cli_bad_usage("--address %.64s: expected an IP address or a host name",
			    optarg);
		o->address = optarg;
		return 0;
	case 'l':
		if ((eq = strchr(optarg, '=')) == NULL)
			return cli_bad_usage("--label %s: expected key=value", optarg);
		*eq = '\0';
		if (!paas_valid_label(optarg) || !paas_valid_label(eq + 1)) {
			*eq = '=';
			return cli_bad_usage("--label %s: keys and values are letters, digits, . _ -",
			    optarg);
		}
		json_object_set_new(labels, optarg, json_string(eq + 1));
		return 0;
	case 'c':
		if (paas_parse_cpu(optarg, &o->cpu_milli) < 0)
			return cli_bad_usage("--cpu %s: expected a number of CPUs such as 4 or 0.5",
			    optarg);
		return 0;
	case 'm':
		if (paas_parse_memory(optarg, &o->memory_bytes) < 0)
			return cli_bad_usage("--memory %s: expected a size such as 8g or 512m", optarg);
		return 0;
	default:
		cli_usage(stderr);
		return PAAS_EINVAL;
	}
}

/* What goes with what: 0, or the usage error's exit status. */
static int
add_combination(struct paas_enrol *o, const char *etcd, int operands)
{
	if (o->fleet) {
		if (o->docker || o->tls_ca || o->ssh || o->address || o->cpu_milli ||
		    o->memory_bytes || operands != 1)
			return cli_bad_usage("%s", "hosts add NAME --fleet ENDPOINT: no --docker, --ssh, "
			    "--tls-*, --address, --cpu or --memory (fleet's machines have their own)");
		if (o->agent_etcd == NULL)
			o->agent_etcd = paas_etcd_endpoints(etcd);
		if (loopback(o->agent_etcd))
			return cli_bad_usage("the agents on %s's machines cannot use etcd at %.200s (a "
			    "loopback address there is the machine's own): give --agent-etcd",
			    o->name, o->agent_etcd);
		return 0;
	}
	if (o->ssh) {
		if (o->docker || o->tls_ca)
			return cli_bad_usage("%s", "--ssh is the host's Docker URL: no --docker or "
			    "--tls-*");
		if (!paas_ssh_target_ok(o->ssh) || strlen(o->ssh) > 250)
			return cli_bad_usage("--ssh %.64s: expected user@address[:port]", o->ssh);
		if (o->agent_etcd == NULL)
			o->agent_etcd = paas_etcd_endpoints(etcd);
		if (loopback(o->agent_etcd) || strpbrk(o->agent_etcd, " \t\n\"'\\$`") != NULL)
			return cli_bad_usage("the agent on %s cannot use etcd at %.200s (a loopback "
			    "address there is the host's own): give --agent-etcd with endpoints it "
			    "can reach", o->ssh, o->agent_etcd);
	} else if (o->agent_etcd || o->agent_docker)
		return cli_bad_usage("%s", "--agent-etcd and --agent-docker go with --ssh or --fleet");
	if (operands != 1 || (o->docker == NULL && o->ssh == NULL))
		return cli_bad_usage("%s", "hosts add needs a name and --docker url or --ssh user@addr");
	if ((o->tls_ca || o->tls_cert || o->tls_key) && !(o->tls_ca && o->tls_cert && o->tls_key))
		return cli_bad_usage("%s", "TLS needs all of --tls-ca, --tls-cert and --tls-key");
	return 0;
}

static int
hosts_add(struct paas_etcd *e, const char *etcd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "docker", required_argument, NULL, 'd' },
		{ "label", required_argument, NULL, 'l' },
		{ "tls-ca", required_argument, NULL, 'A' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "no-check", no_argument, NULL, 'n' },
		{ "address", required_argument, NULL, 'a' },
		{ "accept-new-host-key", no_argument, NULL, 'k' },
		{ "ssh", required_argument, NULL, 'S' },
		{ "agent-etcd", required_argument, NULL, 'E' },
		{ "agent-docker", required_argument, NULL, 'G' },
		{ "fleet", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_enrol o = { 0 };
	enum paas_format fmt = PAAS_FORMAT_JSON;
	json_t *labels = json_object(), *agent = NULL;
	char *auth = NULL;
	int ch, rc = 0;

	o.check = 1;
	/* 0 restarts GNU getopt, which then lets options follow the name. */
	optind = 0;
	while (rc == 0 && (ch = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		rc = add_flag(ch, &o, labels);
	o.name = optind < argc ? argv[optind] : "";
	if (rc != 0 || (rc = add_combination(&o, etcd, argc - optind)) != 0)
		goto out;
	if (!paas_valid_name(o.name)) {
		rc = cli_bad_usage("invalid host name '%.64s': use lower-case letters, digits and '-', "
		    "starting with a letter", o.name);
		goto out;
	}
	o.labels = labels;
	if (o.ssh)
		o.agent_auth = auth = paas_state_file("PAAS_AGENT_ETCD_AUTH", "etcd-auth/agent");
	o.event = cli_print_cluster_event;
	o.arg = &fmt;
	if (paas_enrol_add(e, &o, &agent, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (agent)
		paas_out_record("agent", agent);
	/* A fleet machine whose agent did not register was named: exit 1. */
	if (o.fleet && json_integer_value(json_object_get(agent, "agents")) !=
	    json_integer_value(json_object_get(agent, "machines")))
		rc = PAAS_EFAILED;
out:
	json_decref(labels);
	json_decref(agent);
	free(auth);
	return rc;
}

/* A host whose agent hosts add --ssh installed: the agent goes first (a
 * host that cannot be reached keeps its record, unless force). */
static int
hosts_rm(struct paas_etcd *e, const char *name, int force)
{
	struct paas_err err = PAAS_ERR_INIT;
	enum paas_format fmt = PAAS_FORMAT_JSON;

	return paas_enrol_remove(e, name, force, cli_print_cluster_event, &fmt, &err) < 0 ?
	    cli_fail(&err) : 0;
}

static int
hosts_ls(struct paas_etcd *e, enum paas_format fmt)
{
	static const char *const head[] = { "NAME", "DOCKER", "TLS", "LABELS" };
	struct paas_err err = PAAS_ERR_INIT;
	json_t *hosts, *h, *rows;
	size_t i;

	if (paas_host_list(e, &hosts, &err) < 0)
		return cli_fail(&err);
	rows = json_array();
	json_array_foreach(hosts, i, h) {
		struct paas_buf l = PAAS_BUF_INIT;
		const char *k;
		json_t *v;

		if (!paas_out_is_table(fmt)) {
			paas_out_record("host", h);
			continue;
		}
		json_object_foreach(json_object_get(h, "labels"), k, v)
			paas_buf_addf(&l, "%s%s=%s", l.len ? "," : "", k, json_string_value(v));
		json_array_append_new(rows, json_pack("[s?, o, s, s]",
		    json_string_value(json_object_get(h, "name")),
		    paas_host_is_fleet(h) ? json_sprintf("fleet %s", paas_json_str(h, "fleet", "-")) :
		    json_string(paas_json_str(h, "docker", "-")),
		    json_is_object(json_object_get(h, "tls")) ? "yes" : "no", l.len ? l.data : "-"));
		paas_buf_free(&l);
	}
	if (paas_out_is_table(fmt))
		cli_table(stdout, head, sizeof(head) / sizeof(head[0]), rows);
	json_decref(rows);
	json_decref(hosts);
	return 0;
}

int
cmd_hosts(const struct cluster_ctx *c, int argc, char **argv)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_etcd *e;
	int rc;

	if (argc == 1)
		return cli_bad_usage("%s", "hosts: expected ls, add NAME --docker URL ..., or rm NAME");
	if ((e = paas_etcd_new(paas_etcd_endpoints(c->etcd), NULL, &err)) == NULL)
		return cli_fail(&err);
	if (strcmp(argv[1], "add") == 0)
		rc = hosts_add(e, c->etcd, argc - 1, argv + 1);
	else if (strcmp(argv[1], "ls") == 0 && argc == 2)
		rc = hosts_ls(e, c->fmt);
	else if (strcmp(argv[1], "rm") == 0 && argc == 3 && argv[2][0] != '-')
		rc = hosts_rm(e, argv[2], 0);
	else if (strcmp(argv[1], "rm") == 0 && argc == 4 && argv[2][0] != '-' &&
	    strcmp(argv[3], "--force") == 0)
		rc = hosts_rm(e, argv[2], 1);
	else
		rc = cli_bad_usage("hosts: expected ls, add NAME --docker URL ..., or rm NAME, "
		    "not '%.64s%s%.64s'", argv[1], argc > 2 ? " " : "", argc > 2 ? argv[2] : "");
	paas_etcd_free(e);
	return rc;
}

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
agent_log(const char *msg, void *arg)
{
	(void)arg;
	cli_log("agent", msg);
}

int
cmd_agent(const struct cluster_ctx *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "ttl", required_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' },
		{ "docker", required_argument, NULL, 'd' },
		{ "fleet", required_argument, NULL, 'F' },
		{ "fleet-endpoint", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_agent_opts o = { 0 };
	struct paas_err err = PAAS_ERR_INIT;
	struct sigaction sa;
	int ch, interval;

	o.etcd = paas_etcd_endpoints(c->etcd);
	o.host = "local";
	o.stop = &stopping;
	o.log = agent_log;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H': o.host = optarg; break;
		case 'F': o.fleet = optarg; break;
		case 'f': o.fleet_endpoint = optarg; break;
		case 'd':
			if (strncmp(optarg, "unix:///", 8) != 0)
				return cli_bad_usage("--docker %.64s: expected unix:///path (the host's "
				    "own engine)", optarg);
			o.docker = optarg;
			break;
		case 't':
			if (paas_parse_int(optarg, 2, 3600, &o.ttl) < 0)
				return cli_bad_usage("--ttl %.32s: expected seconds, 2-3600", optarg);
			break;
		case 'i':
			if (paas_parse_int(optarg, 100, 3600000, &interval) < 0)
				return cli_bad_usage("--interval %.32s: expected milliseconds, 100-3600000",
				    optarg);
			o.interval_ms = interval;
			break;
		default:
			cli_usage(stderr);
			return PAAS_EINVAL;
		}
	}
	if (optind != argc)
		return cli_bad_usage("agent: unexpected argument '%.64s'", argv[optind]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (paas_agent_run(&o, &err) < 0)
		return cli_fail(&err);
	return 0;
}
