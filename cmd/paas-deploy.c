/*
 * paas-deploy: apply a Servicefile to a deployment.  The file becomes a
 * canonical spec, the spec a release in etcd, and the release running
 * containers on the Docker hosts, rolled out in health-checked batches under
 * the deployment's lock (see deploy.h for how a killed run is finished by
 * the next).  Also `history`, `rollback [N]` and `destroy`.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy.h"
#include "git.h"
#include "out.h"
#include "paas.h"
#include "spec.h"
#include "valid.h"
#include "state.h"

static const char *prog = "paas-deploy";

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: %s [-D deployment] [--etcd endpoints] [--json | --table] [--dry-run]\n"
	    "           [--lock-ttl seconds] [--stop-timeout seconds] [--drain seconds]\n"
	    "           servicefile\n"
	    "       %s [-D deployment] [--etcd endpoints] [--json | --table] history\n"
	    "       %s [-D deployment] [--etcd endpoints] [--json | --table] rollback [release]\n"
	    "       %s [-D deployment] [--etcd endpoints] [--json | --table] destroy [--yes]\n",
	    prog, prog, prog, prog);
}

static int __attribute__((format(printf, 1, 2)))
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(stderr);
	return PAAS_EINVAL;
}

static int
fail(const struct paas_err *err)
{
	fprintf(stderr, "%s: %s\n", prog, err->msg);
	return err->status ? err->status : PAAS_EFAILED;
}

static int
history(const char *etcd, const char *dep, int table)
{
	struct paas_err err = PAAS_ERR_INIT;
	json_t *rels, *r;
	size_t i;

	if (paas_deploy_history(etcd, dep, &rels, &err) < 0)
		return fail(&err);
	if (table)
		printf("%-8s %-8s %-20s %-12s %-7s %-8s %s\n", "RELEASE", "KIND", "TIME", "USER",
		    "STATUS", "FROM", "GIT");
	json_array_foreach(rels, i, r) {
		char num[32], from[32];

		if (!table) {
			paas_out_json(r);
			continue;
		}
		snprintf(num, sizeof(num), "%s%lld", json_is_true(json_object_get(r, "current")) ?
		    "*" : "", (long long)json_integer_value(json_object_get(r, "release")));
		snprintf(from, sizeof(from), json_is_integer(json_object_get(r, "from")) ? "%lld" : "-",
		    (long long)json_integer_value(json_object_get(r, "from")));
		printf("%-8s %-8s %-20s %-12.12s %-7s %-8s %.12s\n", num,
		    json_string_value(json_object_get(r, "kind")),
		    json_string_value(json_object_get(r, "time")),
		    json_string_value(json_object_get(r, "user")),
		    json_string_value(json_object_get(r, "status")), from,
		    json_is_string(json_object_get(r, "git")) ?
		    json_string_value(json_object_get(r, "git")) : "-");
	}
	json_decref(rels);
	return 0;
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

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "deployment", required_argument, NULL, 'D' },
		{ "etcd", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "table", no_argument, NULL, 't' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "lock-ttl", required_argument, NULL, 'L' },
		{ "stop-timeout", required_argument, NULL, 'S' },
		{ "drain", required_argument, NULL, 'd' },
		{ "yes", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_deploy_opts o = { 0 };
	struct paas_err err = PAAS_ERR_INIT;
	enum paas_format fmt = PAAS_FORMAT_AUTO;
	const char *etcd = NULL, *dep = getenv("PAAS_DEPLOYMENT");
	char git[41], *end;
	int ch, yes = 0, table, rc;
	json_t *spec = NULL;

	while ((ch = getopt_long(argc, argv, "D:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'D': dep = optarg; break;
		case 'e': etcd = optarg; break;
		case 'j': fmt = PAAS_FORMAT_JSON; break;
		case 't': fmt = PAAS_FORMAT_TABLE; break;
		case 'n': o.dry_run = 1; break;
		case 'y': yes = 1; break;
		case 'L':
			if (paas_parse_int(optarg, 2, 3600, &o.lock_ttl) < 0)
				return bad_usage("--lock-ttl: expected seconds from 2 to 3600, not '%s'", optarg);
			break;
		case 'S':
			if (paas_parse_int(optarg, 1, 3600, &o.stop_timeout) < 0)
				return bad_usage("--stop-timeout: expected seconds from 1 to 3600, not '%s'", optarg);
			break;
		case 'd': {
			double d = strtod(optarg, &end);

			if (*end || end == optarg || !(d >= 0 && d <= 3600))
				return bad_usage("--drain: expected seconds from 0 to 3600, not '%s'", optarg);
			o.drain_ms = d == 0 ? -1 : (int)(d * 1000);
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return PAAS_EINVAL;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return bad_usage("no Servicefile given");
	if (dep == NULL || *dep == '\0')
		return bad_usage("no deployment: give -D name or set PAAS_DEPLOYMENT");
	if (!paas_valid_name(dep))
		return bad_usage("invalid deployment name '%.64s': use lower-case letters, digits and "
		    "'-', starting with a letter, at most 63", dep);
	table = paas_out_is_table(fmt);
	o.etcd = paas_etcd_endpoints(etcd);
	o.deployment = dep;
	o.event = paas_deploy_print_event;
	o.arg = &table;

	if (strcmp(argv[0], "history") == 0) {
		if (argc != 1)
			return bad_usage("history takes no arguments");
		return history(o.etcd, dep, table);
	}
	if (strcmp(argv[0], "rollback") == 0) {
		long long n = 0;

		if (argc > 2)
			return bad_usage("rollback takes at most a release number");
		if (argc == 2 && ((n = strtoll(argv[1], &end, 10)) < 1 || *end))
			return bad_usage("rollback: '%s' is not a release number", argv[1]);
		rc = paas_deploy_rollback(&o, n, &err);
		return rc < 0 ? fail(&err) : 0;
	}
	if (strcmp(argv[0], "destroy") == 0) {
		if (argc != 1)
			return bad_usage("destroy takes no arguments");
		if (!yes && !o.dry_run) {
			int c = confirm(dep);

			if (c < 0)
				return bad_usage("destroy removes deployment %s for good: say --yes", dep);
			if (c == 0) {
				fprintf(stderr, "%s: not confirmed, nothing removed\n", prog);
				return PAAS_EFAILED;
			}
		}
		rc = paas_deploy_destroy(&o, &err);
		return rc < 0 ? fail(&err) : 0;
	}
	if (argc != 1)
		return bad_usage("one Servicefile at a time");
	if (paas_spec_load(argv[0], &spec, &err) < 0)
		return fail(&err);
	if (strcmp(argv[0], "-") != 0 && paas_git_head(argv[0], git) == 0)
		o.git = git;
	rc = paas_deploy_apply(&o, spec, &err);
	json_decref(spec);
	return rc < 0 ? fail(&err) : 0;
}
