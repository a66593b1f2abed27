/*
 * paas-cluster: the operator's side of the cluster.  main reads the global
 * flags (--etcd, --json, --table, --help, --version anywhere), loads the
 * etcd credentials of the role the subcommand acts as, and hands over to
 * the subcommand's family (paas-cluster.h).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "out.h"
#include "paas-cluster.h"

/* Each subcommand's synopsis: `paas-cluster SUB --help` prints its own. */
static const struct {
	const char *cmd, *text;
} synopsis[] = {
	{ "up", "  up [--state-dir dir] [--port n] [--docker unix:///path] [--etcd-port n]\n"
	    "     [--etcd-peer-port n] [--registry-port n] [--registry-address addr]\n"
	    "     [--registry host:port [--registry-ca file] | --no-registry] [--systemd]\n" },
	{ "up", "  up --host name=user@addr[:port] ... [--state-dir dir] [--port n]\n"
	    "     [--etcd-port n] [--etcd-peer-port n] [--agent-docker unix:///path]\n"
	    "     [--accept-new-host-key]\n" },
	{ "down", "  down [--state-dir dir]\n" },
	{ "status", "  status [--timeout s] [--html file]\n" },
	{ "check", "  check [--timeout s] [--warn pct] [--crit pct] [--repair]\n" },
	{ "hosts", "  hosts ls\n"
	    "  hosts add name --docker url [--label key=value ...]\n"
	    "      [--tls-ca file --tls-cert file --tls-key file] [--insecure]\n"
	    "      [--cpu n] [--memory size] [--address addr] [--no-check]\n"
	    "      [--accept-new-host-key]\n"
	    "  hosts add name --ssh user@addr[:port] [--agent-etcd endpoints]\n"
	    "      [--agent-docker unix:///path] [--address addr] [--label key=value ...]\n"
	    "      [--accept-new-host-key]\n"
	    "  hosts add name --fleet endpoint [--agent-etcd endpoints]\n"
	    "      [--agent-docker unix:///path] [--label key=value ...]\n"
	    "  hosts rm name [--force]\n" },
	{ "members", "  members ls | members rm id|name [--force] | members add name peer-url\n" },
	{ "backup", "  backup file\n" },
	{ "restore", "  restore file [--force]\n" },
	{ "registry", "  registry gc [--keep n] [--dry-run] [--state-dir dir]\n" },
	{ "git", "  git add deployment --key file [--branch b] [--servicefile path]\n"
	    "      [--host h] [--port n] [--user u] [--allow-source src ...] [--state-dir dir]\n"
	    "  git ls\n" },
	{ "certs", "  certs ls | certs add name cert-file key-file | certs rm name\n" },
	{ "agent", "  agent [--host name | --fleet name [--fleet-endpoint url]] [--docker unix:///path]\n"
	    "      [--ttl s] [--interval ms]\n" },
};
static const char *usage_cmd;		/* set: that subcommand's synopsis alone */

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: %s [--etcd endpoints] [--json | --table] command ...\n", cli_prog);
	for (i = 0; i < sizeof(synopsis) / sizeof(synopsis[0]); i++)
		if (usage_cmd == NULL || strcmp(usage_cmd, synopsis[i].cmd) == 0)
			fputs(synopsis[i].text, f);
}

/* Whose etcd credentials a subcommand uses (paas(7), SECURITY). */
static const char *
role(int argc, char **argv)
{
	int i;

	for (i = 1; strcmp(argv[0], "check") == 0 && i < argc; i++)
		if (strcmp(argv[i], "--repair") == 0)
			return "deployer";
	if (strcmp(argv[0], "agent") == 0)
		return "agent";
	if (strcmp(argv[0], "status") == 0 || strcmp(argv[0], "check") == 0)
		return "check";
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
		{ "git-serve", cmd_git }, { "git-hook", cmd_git }, { "hosts", cmd_hosts },
		{ "agent", cmd_agent }, { "certs", cmd_certs },
	};
	enum paas_format fmt = PAAS_FORMAT_AUTO;
	const char *etcd = NULL;
	struct cluster_ctx ctx;
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
	for (i = 0; argc > 0 && i < sizeof(synopsis) / sizeof(synopsis[0]); i++)
		if (strcmp(argv[0], synopsis[i].cmd) == 0 || (strncmp(argv[0], "git-", 4) == 0 &&
		    strcmp(synopsis[i].cmd, "git") == 0))
			usage_cmd = synopsis[i].cmd;
	for (i = 1; argc > 0 && i < (size_t)argc && strcmp(argv[i], "--"); i++) {
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
	ctx.etcd = etcd;
	ctx.fmt = fmt;
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; argc >= 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			return cmds[i].fn(&ctx, argc, argv);
	if (argc >= 1)
		return cli_bad_usage("unknown command '%.64s'", argv[0]);
	usage(stderr);
	return PAAS_EINVAL;
}
