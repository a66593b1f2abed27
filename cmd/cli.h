/*
 * What every command's main shares (linked into each command): the usage
 * and error conventions, a timestamped log line for the daemons, the flags
 * of the commands that change a deployment, and the terminal view of
 * deploy events.  Each main sets cli_prog and cli_usage first.
 */
#ifndef PAAS_CLI_H
#define PAAS_CLI_H

#include <stdio.h>

#include <jansson.h>

#include "deploy.h"
#include "err.h"
#include "out.h"

extern const char *cli_prog;
extern void (*cli_usage)(FILE *f);

/* "PROG: message" on standard error; returns err's exit status. */
int cli_fail(const struct paas_err *err);
/* "PROG: message" and the usage on standard error; returns PAAS_EINVAL. */
int cli_bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Load the etcd credentials of role ("deployer", "agent", "router",
 * "check", "root"): $PAAS_ETCD_AUTH, else the state directory's
 * etcd-auth/ROLE, else none.  0, or the exit status (reported). */
int cli_etcd_auth(const char *role);
/* "PROG (paas-tools) VERSION, commit COMMIT" on standard output; 0. */
int cli_version(void);
/* "TIME PROG[ who]: msg" on standard error: a daemon's log line. */
void cli_log(const char *who, const char *msg);

/*
 * The flags of paas-deploy and paas-scale: -D/--deployment (else
 * $PAAS_DEPLOYMENT), --etcd, --json, --table, --dry-run, --lock-ttl,
 * --stop-timeout, --drain, -h/--help, -V/--version, and with yes set --yes.
 */
struct cli_deploy {
	struct paas_deploy_opts o;	/* ready for the library once parsed */
	const char *etcd, *dep;
	const char *git_dir;		/* paas-deploy --git-dir */
	const char *allow[17];		/* --allow-source, NULL-terminated */
	size_t nallow;
	enum paas_format fmt;
	int table, yes;
	/* paas-deploy logs: --follow, --since, --tail; exec: --host, -i, -t */
	int follow, tail, interactive, tty;
	int64_t since;
	const char *host;
};
/* Parse argv's flags (then argv + optind holds the operands); with_yes:
 * paas-deploy's own flags too (--yes, --ref, --git-dir, --build-host, and
 * for logs -f/--follow, --since, --tail).  0: go on;
 * -1: exit with *status (help printed, or a bad flag reported). */
int cli_deploy_parse(int argc, char **argv, int with_yes, struct cli_deploy *d, int *status);
/* The deployment named and valid (else -1, reported, *status to exit
 * with); o's etcd, deployment and event printer set. */
int cli_deploy_ready(struct cli_deploy *d, int *status);

/* An --agent-docker value, unix:///PATH: 0, or the usage error's exit
 * status (said). */
int cli_agent_docker(const char *url);

/* A table sized to its content: head (ncol strings) and rows (an array of
 * arrays of ncol strings), each column as wide as its widest cell, two
 * spaces between columns, the last one not padded. */
void cli_table(FILE *f, const char *const *head, size_t ncol, const json_t *rows);

/* A paas_event_fn for the cluster's progress (cluster.h, enrol.h): arg
 * points to an enum paas_format.  A component as "NAME STATE [pid N]
 * [DETAIL]" or "NAME STATE HOST" on a terminal, else its record; a
 * warning on standard error. */
void cli_print_cluster_event(const json_t *ev, void *arg);

/* A paas_deploy_event_fn: arg points to an int, non-zero for readable
 * lines (a terminal), zero for one JSON object per line. */
void cli_print_event(const json_t *ev, void *arg);

#endif
