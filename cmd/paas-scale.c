/*
 * paas-scale: change how many instances of services a deployment runs.
 * `paas-scale -D shop web=5 worker=2` records a release with the current
 * spec and these counts, and converges: new instances are placed and
 * health-gated as paas-deploy does, surplus ones stopped.  0 stops every
 * instance and keeps the service defined.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy.h"
#include "out.h"
#include "paas.h"
#include "valid.h"
#include "state.h"

static const char *prog = "paas-scale";

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: %s [-D deployment] [--etcd endpoints] [--json | --table] [--dry-run]\n"
	    "           [--lock-ttl seconds] [--stop-timeout seconds] service=count ...\n", prog);
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_deploy_opts o = { 0 };
	struct paas_err err = PAAS_ERR_INIT;
	enum paas_format fmt = PAAS_FORMAT_AUTO;
	const char *etcd = NULL, *dep = getenv("PAAS_DEPLOYMENT");
	char *end;
	int ch, i, table, rc;
	json_t *counts;

	while ((ch = getopt_long(argc, argv, "D:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'D': dep = optarg; break;
		case 'e': etcd = optarg; break;
		case 'j': fmt = PAAS_FORMAT_JSON; break;
		case 't': fmt = PAAS_FORMAT_TABLE; break;
		case 'n': o.dry_run = 1; break;
		case 'L':
			if (paas_parse_int(optarg, 2, 3600, &o.lock_ttl) < 0)
				return bad_usage("--lock-ttl: expected seconds from 2 to 3600, not '%s'", optarg);
			break;
		case 'S':
			if (paas_parse_int(optarg, 1, 3600, &o.stop_timeout) < 0)
				return bad_usage("--stop-timeout: expected seconds from 1 to 3600, not '%s'", optarg);
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return PAAS_EINVAL;
		}
	}
	argc -= optind;
	argv += optind;
	if (dep == NULL || *dep == '\0')
		return bad_usage("no deployment: give -D name or set PAAS_DEPLOYMENT");
	if (!paas_valid_name(dep))
		return bad_usage("invalid deployment name '%.64s'", dep);
	if (argc < 1)
		return bad_usage("no service=count given");
	counts = json_object();
	for (i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		long long n;

		if (eq == NULL || eq == argv[i]) {
			json_decref(counts);
			return bad_usage("'%.64s' is not service=count", argv[i]);
		}
		*eq = '\0';
		n = strtoll(eq + 1, &end, 10);
		if (!paas_valid_name(argv[i]) || eq[1] == '\0' || *end || n < 0 || n > 1000) {
			json_decref(counts);
			return bad_usage("'%.64s=%.32s': expected a service name and a count from 0 to 1000",
			    argv[i], eq + 1);
		}
		json_object_set_new(counts, argv[i], json_integer(n));
	}
	table = paas_out_is_table(fmt);
	o.etcd = paas_etcd_endpoints(etcd);
	o.deployment = dep;
	o.event = paas_deploy_print_event;
	o.arg = &table;
	rc = paas_deploy_scale(&o, counts, &err);
	json_decref(counts);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		return err.status ? err.status : PAAS_EFAILED;
	}
	return 0;
}
