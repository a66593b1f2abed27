/*
 * paas-cluster: the operator's side of the cluster.  The host registry in
 * etcd: `hosts add` (checks that the Docker endpoint answers before it
 * records anything), `hosts ls`, `hosts rm`.  With no host registered, the
 * local Docker socket is the one host, "local".  `agent`: the per-host
 * announcer of agent.h, in the foreground.  The other subcommands live in
 * cluster-up.c, cluster-status.c and cluster-data.c (paas-cluster.h).
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "clock.h"
#include "docker.h"
#include "etcd.h"
#include "hosts.h"
#include "jsonx.h"
#include "out.h"
#include "paas-cluster.h"
#include "paas.h"
#include "registry.h"
#include "valid.h"
#include "ssh.h"
#include "remote.h"
#include "keys.h"
#include "state.h"
#include "target.h"

void
usage(FILE *f)
{
	fprintf(f,
	    "usage: %s [--etcd endpoints] [--json | --table] command ...\n"
	    "  up [--state-dir dir] [--port n] [--docker unix:///path] [--etcd-port n]\n"
	    "     [--etcd-peer-port n] [--registry-port n] [--registry-address addr]\n"
	    "     [--registry host:port [--registry-ca file] | --no-registry] [--systemd]\n"
	    "  down [--state-dir dir]\n"
	    "  status [--timeout s] [--html file]\n"
	    "  check [--timeout s] [--warn pct] [--crit pct] [--repair]\n"
	    "  hosts ls\n"
	    "  hosts add name --docker url [--label key=value ...]\n"
	    "      [--tls-ca file --tls-cert file --tls-key file] [--insecure]\n"
	    "      [--cpu n] [--memory size] [--address addr] [--no-check]\n"
	    "      [--accept-new-host-key]\n"
	    "  hosts add name --ssh user@addr[:port] [--agent-etcd endpoints]\n"
	    "      [--agent-docker unix:///path] [--accept-new-host-key] [--label key=value ...]\n"
	    "  hosts rm name [--force]\n"
	    "  members ls | members rm id|name [--force] | members add name peer-url\n"
	    "  backup file\n"
	    "  restore file [--force]\n"
	    "  registry gc [--keep n] [--dry-run]\n"
	    "  git add deployment --key file [--branch b] [--servicefile path]\n"
	    "      [--host h] [--port n] [--user u]\n"
	    "  git ls\n"
	    "  hosts add name --fleet endpoint [--agent-etcd endpoints]\n"
	    "      [--agent-docker unix:///path] [--label key=value ...]\n"
	    "  agent [--host name | --fleet name [--fleet-endpoint url]] [--docker unix:///path]\n"
	    "      [--ttl s] [--interval ms]\n",
	    cli_prog);
}

const char *
str(const json_t *o, const char *k)
{
	return paas_json_str(o, k, "-");
}

/* An ssh:// host has the Docker CLI, and the user may use its daemon: else
 * why not, in the words of the host (a constant command: no user data
 * reaches its shell). */
static int
ssh_docker_ok(const char *target, struct paas_err *err)
{
	struct paas_buf out = PAAS_BUF_INIT;
	int st, rc;

	if (paas_ssh_run(target, "docker version --format '{{.Server.Version}}'", 15000, &out,
	    &st, err) < 0) {
		paas_buf_free(&out);
		return -1;
	}
	if ((rc = st) != 0) {
		char *nl;

		paas_buf_rstrip(&out, "\n ");
		/* Its last line says why: the daemon refused, or no docker. */
		nl = out.data ? strrchr(out.data, '\n') : NULL;
		paas_err_set(err, PAAS_EUNAVAIL, "docker on ssh://%s: %s%s", target,
		    st == 127 ? "no docker command there: " : "",
		    nl ? nl + 1 : out.len ? out.data : "it failed");
	}
	paas_buf_free(&out);
	return rc == 0 ? 0 : -1;
}

/* An endpoint on the loopback: what an agent on another machine cannot
 * reach. */
static int
loopback(const char *endpoints)
{
	return strstr(endpoints, "://127.") != NULL || strstr(endpoints, "://localhost") != NULL ||
	    strstr(endpoints, "://[::1]") != NULL;
}

/* The registered host called name (*h a new reference, NULL when there is
 * none; the implicit "local" is none). */
int
host_find(struct paas_etcd *e, const char *name, json_t **h, struct paas_err *err)
{
	json_t *all, *v;
	size_t i;

	*h = NULL;
	if (paas_host_list(e, &all, err) < 0)
		return -1;
	json_array_foreach(all, i, v)
		if (strcmp(str(v, "name"), name) == 0 && !json_is_true(json_object_get(v, "implicit")))
			*h = json_incref(v);
	json_decref(all);
	return 0;
}

int
agent_docker_arg(const char *url)
{
	if (strncmp(url, "unix:///", 8) != 0 || strlen(url) > 200 ||
	    !paas_only_chars(url + 7, "/._-"))
		return cli_bad_usage("--agent-docker %.64s: expected unix:///path", url);
	return 0;
}

int
key_wait(struct paas_etcd *e, const char *key, long ms)
{
	long long until = paas_now_ms() + ms;
	int found = 0;

	for (;;) {
		struct paas_err e2 = PAAS_ERR_INIT;
		struct paas_kv kv;

		memset(&kv, 0, sizeof(kv));
		if (paas_etcd_get(e, key, &kv, &found, NULL, &e2) < 0)
			found = 0;
		paas_kv_clear(&kv);
		if (found || paas_now_ms() >= until)
			return found;
		paas_sleep_ms(300);
	}
}

/* The agent on host name, installed over ssh (hosts add --ssh), running
 * and registered in etcd within 30 s: else why not. */
int
agent_bootstrap(struct paas_etcd *e, const struct paas_agent_install *ai, int *changed,
    int *started, struct paas_err *err)
{
	char *key = paas_key_agent(ai->host), *why = NULL;
	int found, active;

	if (paas_agent_install(ai, changed, started, err) < 0) {
		free(key);
		return -1;
	}
	found = key_wait(e, key, 30000);
	free(key);
	if (found)
		return 0;
	if ((active = paas_agent_active(ai->target, &why, err)) < 0)
		return -1;
	if (why)
		paas_err_set(err, PAAS_EUNAVAIL, "the agent on %s did not register in etcd in 30 s: "
		    "%s", ai->target, why);
	else
		paas_err_set(err, PAAS_EUNAVAIL, "the agent on %s runs but did not register in etcd "
		    "in 30 s: can it reach %s from there?", ai->target, ai->etcd);
	free(why);
	return -1;
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
	const char *address = NULL, *docker = NULL, *ca = NULL, *cert = NULL, *key = NULL, *name;
	const char *ssh = NULL, *agent_etcd = NULL, *agent_docker = NULL, *fleet = NULL;
	char sshurl[300];
	int existed = 0;
	json_t *labels = json_object(), *host = NULL, *version = NULL;
	long long cpu = 0, mem = 0;
	int ch, insecure = 0, check = 1, rc = PAAS_EINVAL;
	struct paas_docker *d = NULL;
	char *eq;

	/* 0 restarts GNU getopt, which then lets options follow the name. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': docker = optarg; break;
		case 'A': ca = optarg; break;
		case 'C': cert = optarg; break;
		case 'K': key = optarg; break;
		case 'I': insecure = 1; break;
		case 'n': check = 0; break;
		case 'k': paas_ssh_accept_new(1); break;
		case 'S': ssh = optarg; break;
		case 'F': fleet = optarg; break;
		case 'E': agent_etcd = optarg; break;
		case 'G':
			if ((rc = agent_docker_arg(optarg)) != 0)
				goto out;
			agent_docker = optarg;
			break;
		case 'a':
			if (!paas_valid_address(optarg)) {
				rc = cli_bad_usage("--address %.64s: expected an IP address or a host name", optarg);
				goto out;
			}
			address = optarg;
			break;
		case 'l':
			if ((eq = strchr(optarg, '=')) == NULL) {
				rc = cli_bad_usage("--label %s: expected key=value", optarg);
				goto out;
			}
			*eq = '\0';
			if (!paas_valid_label(optarg) || !paas_valid_label(eq + 1)) {
				*eq = '=';
				rc = cli_bad_usage("--label %s: keys and values are letters, digits, . _ -", optarg);
				goto out;
			}
			json_object_set_new(labels, optarg, json_string(eq + 1));
			break;
		case 'c':
			if (paas_parse_cpu(optarg, &cpu) < 0) {
				rc = cli_bad_usage("--cpu %s: expected a number of CPUs such as 4 or 0.5", optarg);
				goto out;
			}
			break;
		case 'm':
			if (paas_parse_memory(optarg, &mem) < 0) {
				rc = cli_bad_usage("--memory %s: expected a size such as 8g or 512m", optarg);
				goto out;
			}
			break;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (fleet) {
		if (docker || ca || ssh || address || cpu || mem || argc - optind != 1) {
			rc = cli_bad_usage("%s", "hosts add NAME --fleet ENDPOINT: no --docker, --ssh, "
			    "--tls-*, --address, --cpu or --memory (fleet's machines have their own)");
			goto out;
		}
		if (agent_etcd == NULL)
			agent_etcd = paas_etcd_endpoints(etcd);
		if (loopback(agent_etcd)) {
			rc = cli_bad_usage("the agents on %s's machines cannot use etcd at %.200s (a "
			    "loopback address there is the machine's own): give --agent-etcd",
			    argv[optind], agent_etcd);
			goto out;
		}
		rc = hosts_add_fleet(e, argv[optind], fleet, agent_etcd, agent_docker, labels);
		goto out;
	}
	if (ssh) {
		if (docker || ca) {
			rc = cli_bad_usage("%s", "--ssh is the host's Docker URL: no --docker or --tls-*");
			goto out;
		}
		if (!paas_ssh_target_ok(ssh) || strlen(ssh) > 250) {
			rc = cli_bad_usage("--ssh %.64s: expected user@address[:port]", ssh);
			goto out;
		}
		snprintf(sshurl, sizeof(sshurl), "ssh://%s", ssh);
		docker = sshurl;
		if (agent_etcd == NULL)
			agent_etcd = paas_etcd_endpoints(etcd);
		if (loopback(agent_etcd) || strpbrk(agent_etcd, " \t\n\"'\\$`") != NULL) {
			rc = cli_bad_usage("the agent on %s cannot use etcd at %.200s (a loopback address "
			    "there is the host's own): give --agent-etcd with endpoints it can reach",
			    ssh, agent_etcd);
			goto out;
		}
	} else if (agent_etcd || agent_docker) {
		rc = cli_bad_usage("%s", "--agent-etcd and --agent-docker go with --ssh or --fleet");
		goto out;
	}
	if (argc - optind != 1 || docker == NULL) {
		rc = cli_bad_usage("%s", "hosts add needs a name and --docker url or --ssh user@addr");
		goto out;
	}
	name = argv[optind];
	if ((ca || cert || key) && !(ca && cert && key)) {
		rc = cli_bad_usage("%s", "TLS needs all of --tls-ca, --tls-cert and --tls-key");
		goto out;
	}
	host = json_pack("{s:s, s:s, s:o, s:b, s:O, s:o, s:o}", "name", name, "docker", docker,
	    "tls", ca ? json_pack("{s:s, s:s, s:s}", "ca", ca, "cert", cert, "key", key) : json_null(),
	    "insecure", insecure, "labels", labels,
	    "cpu_milli", cpu ? json_integer(cpu) : json_null(),
	    "memory_bytes", mem ? json_integer(mem) : json_null());
	json_object_set_new(host, "address", address ? json_string(address) : json_null());
	if (ssh)
		json_object_set_new(host, "managed_agent", json_true());
	if (!paas_valid_name(name)) {
		rc = cli_bad_usage("invalid host name '%.64s': use lower-case letters, digits and '-', "
		    "starting with a letter", name);
		goto out;
	}
	/* A bad URL or plain TCP without --insecure is refused here, exit 3. */
	if ((d = paas_host_docker(host, 5000, &err)) == NULL) {
		rc = cli_fail(&err);
		goto out;
	}
	if (check && strncmp(docker, "ssh://", 6) == 0 && ssh_docker_ok(docker + 6, &err) < 0) {
		paas_err_wrap(&err, "host %s not added", name);
		rc = cli_fail(&err);
		goto out;
	}
	if (check && paas_docker_version(d, &version, &err) < 0) {
		paas_err_wrap(&err, "host %s not added", name);
		err.status = PAAS_EUNAVAIL;
		rc = cli_fail(&err);
		goto out;
	}
	if (ssh) {
		/* Run again: the same host, its agent brought up to date. */
		json_t *h;

		if (host_find(e, name, &h, &err) < 0) {
			rc = cli_fail(&err);
			goto out;
		}
		if (h)
			existed = strcmp(str(h, "docker"), docker) == 0 ? 1 : -1;
		json_decref(h);
		if (existed < 0) {
			paas_err_set(&err, PAAS_EFAILED, "host %s exists with another Docker URL "
			    "(paas-cluster hosts rm %s first)", name, name);
			rc = cli_fail(&err);
			goto out;
		}
	}
	if (!existed && paas_host_put(e, host, 1, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (ssh) {
		struct paas_agent_install ai = { 0 };
		char *auth = paas_state_file("PAAS_AGENT_ETCD_AUTH", "etcd-auth/agent");
		int changed = 0;

		ai.target = ssh;
		ai.host = name;
		ai.etcd = agent_etcd;
		ai.docker = agent_docker;
		ai.auth = auth;
		if (agent_bootstrap(e, &ai, &changed, NULL, &err) < 0) {
			struct paas_err e2 = PAAS_ERR_INIT;

			/* Nothing recorded that was not there before, and what
			 * was written there removed (nothing when the host was
			 * refused before a file was written). */
			if (!existed) {
				paas_host_remove(e, name, &e2);
				if (changed)
					paas_agent_uninstall(ssh, &e2);
			}
			free(auth);
			paas_err_wrap(&err, "host %s not added", name);
			rc = cli_fail(&err);
			goto out;
		}
		free(auth);
		json_decref(version);
		version = json_pack("{s:s, s:s, s:s}", "host", name, "docker", docker, "state",
		    !existed ? "installed" : changed ? "updated" : "unchanged");
		paas_out_record("agent", version);
	}
	/* The cluster's registry trusted by this machine's Docker daemons
	 * (the host's, when it is one of them); a remote machine's are the
	 * operator's to set up (paas-cluster(1), The registry). */
	{
		struct paas_err e2 = PAAS_ERR_INIT;
		json_t *reg = NULL;
		const char *pem;

		if (paas_registry_get(e, &reg, &e2) == 0 && reg &&
		    (pem = json_string_value(json_object_get(reg, "ca"))) != NULL &&
		    paas_registry_trust(json_string_value(json_object_get(reg, "address")), pem, NULL,
		    &e2) < 0)
			fprintf(stderr, "%s: warning: the registry's CA is not trusted here: %s\n",
			    cli_prog, e2.msg);
		json_decref(reg);
	}
	rc = 0;
out:
	json_decref(labels);
	json_decref(host);
	json_decref(version);
	paas_docker_free(d);
	return rc;
}

/* A host whose agent hosts add --ssh installed: the agent goes first (a
 * host that cannot be reached keeps its record, unless force). */
static int
hosts_rm(struct paas_etcd *e, const char *name, int force)
{
	struct paas_err err = PAAS_ERR_INIT;
	json_t *found;
	int rc = 0;

	if (host_find(e, name, &found, &err) < 0)
		return cli_fail(&err);
	/* Its agent first: a fleet host's Global unit, or what --ssh installed. */
	if (found && paas_host_is_fleet(found))
		rc = hosts_rm_fleet(found, &err);
	else if (found && json_is_true(json_object_get(found, "managed_agent")) &&
	    strncmp(str(found, "docker"), "ssh://", 6) == 0)
		rc = paas_agent_uninstall(str(found, "docker") + 6, &err);
	if (rc < 0) {
		if (!force) {
			paas_err_wrap(&err, "host %s kept (--force removes its record anyway)", name);
			json_decref(found);
			return cli_fail(&err);
		}
		fprintf(stderr, "%s: warning: %s; its record is removed anyway\n", cli_prog, err.msg);
		paas_err_clear(&err);
	}
	json_decref(found);
	rc = paas_host_remove(e, name, &err) < 0 ? cli_fail(&err) : 0;
	return rc;
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
		if (paas_out_is_table(fmt)) {
			struct paas_buf l = PAAS_BUF_INIT;
			const char *k;
			json_t *v;

			json_object_foreach(json_object_get(h, "labels"), k, v)
				paas_buf_addf(&l, "%s%s=%s", l.len ? "," : "", k, json_string_value(v));
			json_array_append_new(rows, json_pack("[s?, o, s, s]",
			    json_string_value(json_object_get(h, "name")),
			    paas_host_is_fleet(h) ? json_sprintf("fleet %s", str(h, "fleet")) :
			    json_string(str(h, "docker")),
			    json_is_object(json_object_get(h, "tls")) ? "yes" : "no",
			    l.len ? l.data : "-"));
			paas_buf_free(&l);
		} else {
			paas_out_record("host", h);
		}
	}
	if (paas_out_is_table(fmt))
		cli_table(stdout, head, sizeof(head) / sizeof(head[0]), rows);
	json_decref(rows);
	json_decref(hosts);
	return 0;
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

static int
agent(const char *etcd, int argc, char **argv)
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

	o.etcd = paas_etcd_endpoints(etcd);
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
			usage(stderr);
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

/* Whose etcd credentials a subcommand uses (paas(7), SECURITY). */
static const char *
role(int argc, char **argv)
{
	int i;

	if (strcmp(argv[0], "agent") == 0)
		return "agent";
	if (strcmp(argv[0], "status") == 0)
		return "check";
	if (strcmp(argv[0], "check") == 0) {
		for (i = 1; i < argc; i++)
			if (strcmp(argv[i], "--repair") == 0)
				return "deployer";
		return "check";
	}
	if (strcmp(argv[0], "up") == 0 || strcmp(argv[0], "down") == 0 ||
	    strcmp(argv[0], "members") == 0)
		return "root";
	return "deployer";
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "etcd", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "table", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		const char *name;
		int (*fn)(const struct cluster_ctx *, int, char **);
	} cmds[] = {
		{ "up", cmd_up }, { "down", cmd_down }, { "status", cmd_status },
		{ "check", cmd_check }, { "members", cmd_members }, { "backup", cmd_backup },
		{ "restore", cmd_restore }, { "registry", cmd_registry }, { "git", cmd_git },
		{ "git-serve", cmd_git }, { "git-hook", cmd_git },
	};
	struct paas_err err = PAAS_ERR_INIT;
	enum paas_format fmt = PAAS_FORMAT_AUTO;
	const char *etcd = NULL;
	struct cluster_ctx ctx;
	struct paas_etcd *e;
	size_t i, n;
	int ch, rc;

	cli_prog = "paas-cluster";
	cli_usage = usage;
	while ((ch = getopt_long(argc, argv, "+e:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e': etcd = optarg; break;
		case 'j': fmt = PAAS_FORMAT_JSON; break;
		case 't': fmt = PAAS_FORMAT_TABLE; break;
		case 'h': usage(stdout); return 0;
		case 'V': return cli_version();
		default: usage(stderr); return PAAS_EINVAL;
		}
	}
	argc -= optind, argv += optind;
	/* --json and --table may also follow the subcommand
	 * (`paas-cluster status --json`), and so may --help, -h, --version
	 * and -V: they answer before anything is read or changed, never
	 * taken for an operand (`hosts rm --help` removes no host). */
	for (i = 1, n = 1; argc > 0 && i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0)
			return cli_version();
	}
	for (i = 1, n = 1; argc > 0 && i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			fmt = PAAS_FORMAT_JSON;
		else if (strcmp(argv[i], "--table") == 0)
			fmt = PAAS_FORMAT_TABLE;
		else
			argv[n++] = argv[i];
	}
	if (argc > 0) {
		argc = (int)n;
		argv[argc] = NULL;
	}
	if (argc >= 1 && (rc = cli_etcd_auth(role(argc, argv))) != 0)
		return rc;
	if (argc >= 1 && strcmp(argv[0], "agent") == 0)
		return agent(etcd, argc, argv);
	ctx.etcd = etcd;
	ctx.fmt = fmt;
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; argc >= 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			return cmds[i].fn(&ctx, argc, argv);
	if (argc == 1 && strcmp(argv[0], "hosts") == 0)
		return cli_bad_usage("%s", "hosts: expected ls, add NAME --docker URL ..., or rm NAME");
	if (argc < 2 || strcmp(argv[0], "hosts") != 0) {
		if (argc >= 1)
			return cli_bad_usage("unknown command '%.64s'", argv[0]);
		usage(stderr);
		return PAAS_EINVAL;
	}
	if ((e = paas_etcd_new(paas_etcd_endpoints(etcd), NULL, &err)) == NULL)
		return cli_fail(&err);
	if (strcmp(argv[1], "add") == 0)
		rc = hosts_add(e, etcd, argc - 1, argv + 1);
	else if (strcmp(argv[1], "ls") == 0 && argc == 2)
		rc = hosts_ls(e, fmt);
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
