/*
 * paas-scale: change how many instances of services a deployment runs.
 * `paas-scale -D shop web=5 worker=2` records a release with the current
 * spec and these counts, and converges: new instances are placed and
 * health-gated as paas-deploy does, surplus ones stopped.  0 stops every
 * instance and keeps the service defined.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "deploy.h"
#include "paas.h"
#include "valid.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: %s [-D deployment] [--etcd endpoints] [--json | --table] [--dry-run]\n"
	    "           [--lock-ttl seconds] [--stop-timeout seconds] [--drain seconds]\n"
	    "           service=count ...\n"
	    "-D is --deployment, default $PAAS_DEPLOYMENT; -h --help, -V --version\n", cli_prog);
}

int
main(int argc, char **argv)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct cli_deploy d;
	char *end;
	int i, rc;
	json_t *counts;

	cli_prog = "paas-scale";
	cli_usage = usage;
	if (cli_deploy_parse(argc, argv, 0, &d, &rc) < 0 || cli_deploy_ready(&d, &rc) < 0)
		return rc;
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return cli_bad_usage("no service=count given");
	counts = json_object();
	for (i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		long long n;

		if (eq == NULL || eq == argv[i]) {
			json_decref(counts);
			return cli_bad_usage("'%.64s' is not service=count", argv[i]);
		}
		*eq = '\0';
		n = strtoll(eq + 1, &end, 10);
		if (!paas_valid_name(argv[i]) || eq[1] == '\0' || *end || n < 0 || n > 1000) {
			json_decref(counts);
			return cli_bad_usage("'%.64s=%.32s': expected a service name and a count from 0 "
			    "to 1000", argv[i], eq + 1);
		}
		json_object_set_new(counts, argv[i], json_integer(n));
	}
	rc = paas_deploy_scale(&d.o, counts, &err);
	json_decref(counts);
	return rc < 0 ? cli_fail(&err) : 0;
}
