/*
 * paas-deploy: apply a Servicefile to a deployment.  The file becomes a
 * canonical spec, the spec a release in etcd, and the release running
 * containers on the Docker hosts, rolled out in health-checked batches under
 * the deployment's lock (see deploy.h for how a killed run is finished by
 * the next).  Also `history`, `rollback [N]` and `destroy`.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "buf.h"
#include "daemon.h"
#include "deploy.h"
#include "exec.h"
#include "jobs.h"
#include "jsonx.h"
#include "listing.h"
#include "logs.h"
#include "out.h"
#include "paas.h"
#include "release.h"
#include "valid.h"
#include "state.h"

/* Each verb's synopsis: `paas-deploy VERB --help` prints its own. */
static const struct {
	const char *verbs, *text;
} synopsis[] = {
	{ "", "[-D deployment] [--etcd endpoints] [--json | --table] [--dry-run]\n"
	    "           [--lock-ttl seconds] [--stop-timeout seconds] [--drain seconds]\n"
	    "           [--ref ref] [--git-dir repository] [--build-host host]\n"
	    "           [--from-push [--allow-source src ...]] servicefile\n" },
	{ " history ps ", "[-D deployment] [--etcd endpoints] [--json | --table] history | ps\n" },
	{ " list ", "[--etcd endpoints] [--json | --table] list\n" },
	{ " logs ", "[-D deployment] [--etcd endpoints] [--json | --table] logs [-f | --follow]\n"
	    "           [--since time] [--tail lines] [service[.instance]]\n" },
	{ " exec ", "[-D deployment] [--etcd endpoints] exec [-i] [-t] [--host host] service\n"
	    "           [-- command ...]\n" },
	{ " rollback ", "[-D deployment] [--etcd endpoints] [--json | --table] rollback [release]\n" },
	{ " promote ", "[-D deployment] [--etcd endpoints] [--json | --table] promote deployment\n"
	    "           [servicefile]\n" },
	{ " config ", "[-D deployment] [--etcd endpoints] [--json | --table] config\n"
	    "           [get name | set name[=value] ... | unset name ...]\n" },
	{ " maintenance ", "[-D deployment] [--etcd endpoints] [--json | --table] maintenance\n"
	    "           on [page.html] | off\n" },
	{ " jobs ", "[-D deployment] [--etcd endpoints] [--json | --table] jobs\n"
	    "           [service [due]]\n" },
	{ " destroy ", "[-D deployment] [--etcd endpoints] [--json | --table] destroy [--yes]\n" },
};
static char usage_verb[16];		/* " VERB ": that verb's synopsis alone */

/* The verb among the arguments, for usage(). */
static void
find_verb(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && usage_verb[0] == '\0'; i++) {
		snprintf(usage_verb, sizeof(usage_verb), " %.12s ", argv[i]);
		if (strstr(" history ps list logs exec rollback promote config maintenance jobs destroy ",
		    usage_verb) == NULL)
			usage_verb[0] = '\0';
	}
}

static void
usage(FILE *f)
{
	const char *lead = "usage: ";
	size_t i;

	for (i = 0; i < sizeof(synopsis) / sizeof(synopsis[0]); i++)
		if (usage_verb[0] == '\0' || strstr(synopsis[i].verbs, usage_verb)) {
			fprintf(f, "%s%s %s", lead, cli_prog, synopsis[i].text);
			lead = "       ";
		}
	fputs("-D is --deployment, default $PAAS_DEPLOYMENT; -h --help, -V --version\n", f);
}

/* The hosts a listing could not read ({"host","error"} each), said on
 * stderr: PAAS_EUNAVAIL when there is one, else 0. */
static int
unreachable(const json_t *bad)
{
	const json_t *r;
	size_t i;

	json_array_foreach(bad, i, r)
		fprintf(stderr, "%s: host %s: %s\n", cli_prog,
		    json_string_value(json_object_get(r, "host")),
		    json_string_value(json_object_get(r, "error")));
	return json_array_size(bad) ? PAAS_EUNAVAIL : 0;
}

/* Records of a listing of kind as NDJSON or a table; a damaged one (with
 * an "error") is named on stderr and the status is PAAS_EFAILED. */
static int
records(json_t *l, int table, const char *kind)
{
	size_t i, n;
	const char *const *head = paas_listing_head(kind, &n);
	json_t *r, *rows = json_array();
	int rc = 0;

	json_array_foreach(l, i, r) {
		if (json_is_string(json_object_get(r, "error"))) {
			fprintf(stderr, "%s: %s %s: %s\n", cli_prog, kind,
			    json_string_value(json_object_get(r, kind)),
			    json_string_value(json_object_get(r, "error")));
			rc = PAAS_EFAILED;
		}
		if (!table)
			paas_out_json(r);
		else if (!json_is_string(json_object_get(r, "error")))
			json_array_append_new(rows, paas_listing_row(r));
	}
	if (table)
		cli_table(stdout, head, n, rows);
	json_decref(rows);
	json_decref(l);
	return rc;
}

static int
list(const char *etcd, int table)
{
	struct paas_err err = PAAS_ERR_INIT;
	json_t *l;

	if (paas_listing_deployments(etcd, &l, &err) < 0)
		return cli_fail(&err);
	return records(l, table, "deployment");
}

static int
ps(const char *etcd, const char *dep, int table)
{
	struct paas_err err = PAAS_ERR_INIT;
	json_t *l, *bad;
	int rc;

	if (paas_listing_ps(etcd, dep, &l, &bad, &err) < 0)
		return cli_fail(&err);
	records(l, table, "instance");
	rc = unreachable(bad);
	json_decref(bad);
	return rc;
}

static volatile sig_atomic_t stop_logs;

static void
on_stop_logs(int sig)
{
	(void)sig;
	stop_logs = 1;
}

/* exec -t: the terminal's new size goes to the container's. */
static volatile sig_atomic_t resized;

static void
on_winch(int sig)
{
	(void)sig;
	resized = 1;
}

/* SIGINT and SIGTERM end logs --follow and exec cleanly; a closed pipe is
 * a write error, not a signal. */
static void
stop_on_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_logs;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* A deploy whose caller is gone stops its build (lib/build.c); a roll
 * under way goes on to its end: stopped half-way it would leave a mix. */
static volatile sig_atomic_t caller_gone;

static int
print_log(const struct paas_log_line *l, void *arg)
{
	int table = *(const int *)arg;

	if (table)
		printf("%s.%s@%s | %.*s\n", l->service, l->instance, l->host, (int)l->len, l->text);
	else {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "kind", "log",
		    "service", l->service, "instance", l->instance, "host", l->host,
		    "stream", l->stream == 2 ? "stderr" : "stdout", "time", l->time,
		    "line", paas_json_text(l->text, l->len));

		paas_out_json(o);
		json_decref(o);
	}
	/* A reader that went away (a closed pipe) stops it all. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		stop_logs = 1;
		return 1;
	}
	return stop_logs;
}

static int
logs(struct cli_deploy *d, const char *which)
{
	struct paas_logs_opts lo;
	struct paas_err err = PAAS_ERR_INIT;
	json_t *bad;
	char svc[128] = "";
	const char *dot = which ? strchr(which, '.') : NULL;
	int rc;

	memset(&lo, 0, sizeof(lo));
	lo.etcd = d->o.etcd;
	lo.deployment = d->dep;
	if (which) {
		snprintf(svc, sizeof(svc), "%.*s", (int)(dot ? (size_t)(dot - which) : strlen(which)),
		    which);
		if (!paas_valid_name(svc) || (dot && !paas_valid_label(dot + 1)))
			return cli_bad_usage("logs: expected SERVICE or SERVICE.INSTANCE, not '%.64s'",
			    which);
		lo.service = svc;
		lo.instance = dot ? dot + 1 : NULL;
	}
	lo.follow = d->follow;
	lo.since = d->since;
	lo.tail = d->tail;
	lo.cancel = &stop_logs;
	lo.fn = print_log;
	lo.arg = &d->table;
	stop_on_signals();
	if (paas_logs_read(&lo, &bad, &err) < 0)
		return cli_fail(&err);
	rc = unreachable(bad);
	json_decref(bad);
	return rc;
}

/* A one-off container's output, passed through as it comes. */
static int
pass_output(int stream, const char *line, size_t len, void *arg)
{
	FILE *f = stream == 2 ? stderr : stdout;

	(void)arg;
	fwrite(line, 1, len, f);
	fputc('\n', f);
	fflush(f);
	return 0;
}

static int
exec_cmd(struct cli_deploy *d, const char *service, char **argv)
{
	struct paas_exec_opts eo;
	struct paas_err err = PAAS_ERR_INIT;
	int status;

	memset(&eo, 0, sizeof(eo));
	eo.etcd = d->o.etcd;
	eo.deployment = d->dep;
	eo.service = service;
	eo.host = d->host;
	eo.argv = argv;
	eo.out = pass_output;
	eo.cancel = &stop_logs;
	eo.interactive = d->interactive;
	eo.tty = d->tty;
	eo.out_fd = 1;
	eo.err_fd = 2;
	eo.resized = &resized;
	stop_on_signals();
	if (paas_exec_run(&eo, &status, &err) < 0)
		return cli_fail(&err);
	/* The command's own exit status; a signal's as a shell says it. */
	return status >= 0 && status <= 255 ? status : 128 + (status & 0x7f);
}

static int
history(const char *etcd, const char *dep, int table)
{
	struct paas_err err = PAAS_ERR_INIT;
	json_t *rels;

	if (paas_release_history(etcd, dep, &rels, &err) < 0)
		return cli_fail(&err);
	return records(rels, table, "release");
}

/* config: the names; config get NAME: its value; config set|unset. */
static int
config(struct cli_deploy *d, int argc, char **argv)
{
	struct paas_err err = PAAS_ERR_INIT;
	json_t *v = NULL;
	int rc;

	if (argc >= 2 && (strcmp(argv[1], "set") == 0 || strcmp(argv[1], "unset") == 0)) {
		if (argc < 3)
			return cli_bad_usage("config %s: expected a NAME", argv[1]);
		if (paas_deploy_config_args(argv + 2, argv[1][0] == 'u', &v, &err) < 0)
			return cli_bad_usage("config %s: %s", argv[1], err.msg);
		rc = paas_deploy_config_set(&d->o, v, &err);
		json_decref(v);
		return rc < 0 ? cli_fail(&err) : 0;
	}
	if (argc > 3 || (argc >= 2 && strcmp(argv[1], "get")) || argc == 2)
		return cli_bad_usage("config takes get NAME, set NAME[=VALUE] ..., or unset NAME ...");
	if (paas_deploy_config_list(&d->o, argc == 3 ? argv[2] : NULL, &v, &err) < 0)
		return cli_fail(&err);
	if (!json_is_string(v))
		return records(v, d->table, "config");
	printf("%s\n", json_string_value(v));
	json_decref(v);
	return 0;
}

static int
maintenance(struct cli_deploy *d, int argc, char **argv)
{
	struct paas_err err = PAAS_ERR_INIT;

	if ((argc != 2 && argc != 3) || (strcmp(argv[1], "on") && (strcmp(argv[1], "off") ||
	    argc == 3)))
		return cli_bad_usage("maintenance takes on [page.html], or off");
	if (paas_deploy_maintenance(&d->o, argv[1][1] == 'n', argc == 3 ? argv[2] : NULL, &err) < 0)
		return cli_fail(&err);
	return 0;
}

/* jobs: the jobs; jobs SERVICE: its runs; jobs SERVICE DUE: a run's output. */
static int
jobs(struct cli_deploy *d, int argc, char **argv)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_etcd *e;
	json_t *v = NULL;
	char *text = NULL, *end;
	long long due = 0;
	int rc;

	if (argc > 3 || (argc >= 2 && !paas_valid_name(argv[1])) || (argc == 3 &&
	    ((due = strtoll(argv[2], &end, 10)) <= 0 || *end)))
		return cli_bad_usage("jobs takes at most a service and a due time (Unix seconds, as "
		    "jobs SERVICE lists)");
	if ((e = paas_etcd_new(d->o.etcd, NULL, &err)) == NULL)
		return cli_fail(&err);
	rc = due ? paas_jobs_logs(e, d->dep, argv[1], due, &text, &err) :
	    paas_jobs_list(e, d->dep, argc == 2 ? argv[1] : NULL, &v, &err);
	paas_etcd_free(e);
	if (rc < 0)
		return cli_fail(&err);
	if (text)
		fputs(text, stdout);
	free(text);
	return text ? 0 : records(v, d->table, argc == 2 ? "job_run" : "job");
}

/* On a terminal, the operator types the deployment's name to go on. */
static int
confirm(const char *dep)
{
	char line[256];

	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return -1;
	fprintf(stderr, "This removes every container of deployment %s from every host and its "
	    "releases from etcd.\nType the deployment name to go on: ", dep);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	line[strcspn(line, "\n")] = '\0';
	return strcmp(line, dep) == 0;
}

static int
destroy(struct cli_deploy *d)
{
	struct paas_err err = PAAS_ERR_INIT;

	if (!d->yes && !d->o.dry_run) {
		int c = confirm(d->dep);

		if (c < 0)
			return cli_bad_usage("destroy removes deployment %s for good: say --yes", d->dep);
		if (c == 0) {
			fprintf(stderr, "%s: not confirmed, nothing removed\n", cli_prog);
			return PAAS_EFAILED;
		}
	}
	return paas_deploy_destroy(&d->o, &err) < 0 ? cli_fail(&err) : 0;
}

int
main(int argc, char **argv)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_deploy_source src = { "", NULL };
	struct cli_deploy d;
	char *end;
	int rc;
	json_t *spec = NULL;

	cli_prog = "paas-deploy";
	cli_usage = usage;
	find_verb(argc, argv);
	if (cli_deploy_parse(argc, argv, 1, &d, &rc) < 0)
		return rc;
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return cli_bad_usage("no Servicefile given");
	/* The one subcommand about every deployment. */
	if (strcmp(argv[0], "list") == 0) {
		if (argc != 1)
			return cli_bad_usage("list takes no arguments");
		if (d.follow || d.since || d.tail)
			return cli_bad_usage("--follow, --since and --tail are for logs");
		if ((rc = cli_etcd_auth("deployer")) != 0)
			return rc;
		return list(paas_etcd_endpoints(d.etcd), paas_out_is_table(d.fmt));
	}
	if (cli_deploy_ready(&d, &rc) < 0)
		return rc;
	if (strcmp(argv[0], "logs") == 0) {
		if (argc > 2)
			return cli_bad_usage("logs takes at most SERVICE or SERVICE.INSTANCE");
		return logs(&d, argc == 2 ? argv[1] : NULL);
	}
	if (strcmp(argv[0], "exec") == 0) {
		if (argc < 2)
			return cli_bad_usage("exec takes a service, then the command to run");
		if (!paas_valid_name(argv[1]))
			return cli_bad_usage("exec: invalid service name '%.64s'", argv[1]);
		return exec_cmd(&d, argv[1], argv + 2);
	}
	if (d.host || d.interactive)
		return cli_bad_usage("--host, -i and -t are for exec");
	if (d.follow || d.since || d.tail)
		return cli_bad_usage("--follow, --since and --tail are for logs");
	if (strcmp(argv[0], "ps") == 0) {
		if (argc != 1)
			return cli_bad_usage("ps takes no arguments");
		return ps(d.o.etcd, d.dep, d.table);
	}
	if (strcmp(argv[0], "history") == 0) {
		if (argc != 1)
			return cli_bad_usage("history takes no arguments");
		return history(d.o.etcd, d.dep, d.table);
	}
	if (strcmp(argv[0], "rollback") == 0) {
		long long n = 0;

		if (argc > 2)
			return cli_bad_usage("rollback takes at most a release number");
		if (argc == 2 && ((n = strtoll(argv[1], &end, 10)) < 1 || *end))
			return cli_bad_usage("rollback: '%s' is not a release number", argv[1]);
		rc = paas_deploy_rollback(&d.o, n, &err);
		return rc < 0 ? cli_fail(&err) : 0;
	}
	if (strcmp(argv[0], "promote") == 0) {
		if (argc < 2 || argc > 3)
			return cli_bad_usage("promote takes a deployment and at most a Servicefile");
		if (!paas_valid_name(argv[1]))
			return cli_bad_usage("promote: invalid deployment name '%.64s'", argv[1]);
		if (argc == 3 && paas_deploy_load(&d.o, d.git_dir, argv[2], &spec, &src, &err) < 0) {
			paas_deploy_source_free(&src);
			return cli_fail(&err);
		}
		rc = paas_deploy_promote(&d.o, argv[1], spec, &err);
		json_decref(spec);
		paas_deploy_source_free(&src);
		return rc < 0 ? cli_fail(&err) : 0;
	}
	if (strcmp(argv[0], "config") == 0)
		return config(&d, argc, argv);
	if (strcmp(argv[0], "maintenance") == 0)
		return maintenance(&d, argc, argv);
	if (strcmp(argv[0], "jobs") == 0)
		return jobs(&d, argc, argv);
	if (strcmp(argv[0], "destroy") == 0)
		return argc != 1 ? cli_bad_usage("destroy takes no arguments") : destroy(&d);
	if (argc != 1)
		return cli_bad_usage("one Servicefile at a time");
	if (paas_deploy_load(&d.o, d.git_dir, argv[0], &spec, &src, &err) < 0) {
		paas_deploy_source_free(&src);
		return cli_fail(&err);
	}
	paas_watch_caller(&caller_gone);
	d.o.cancel = &caller_gone;
	rc = paas_deploy_apply(&d.o, spec, &err);
	json_decref(spec);
	paas_deploy_source_free(&src);
	return rc < 0 ? cli_fail(&err) : 0;
}
