/*
 * paas-cluster registry gc: the images of the last releases of every
 * deployment kept, the rest removed from the cluster's registry
 * (paas_cluster_registry_gc, cluster.h), each named as it goes.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cluster.h"
#include "paas-cluster.h"
#include "state.h"
#include "valid.h"

struct gc_view {
	enum paas_format fmt;
	int dry, keep;
};

static void
gc_event(const json_t *ev, void *arg)
{
	struct gc_view *g = arg;
	const char *kind = json_string_value(json_object_get(ev, "kind"));

	if (!paas_out_is_table(g->fmt) || kind == NULL || strcmp(kind, "component") == 0) {
		cli_print_cluster_event(ev, &g->fmt);
		return;
	}
	if (strcmp(kind, "image_deleted") == 0)
		printf("%s %s\n", g->dry ? "would delete" : "deleted",
		    json_string_value(json_object_get(ev, "image")));
	else if (strcmp(kind, "gc") == 0)
		printf("%lld image(s) kept, %lld %sdeleted (the last %d releases of each deployment "
		    "and every current one are kept)\n",
		    (long long)json_integer_value(json_object_get(ev, "kept")),
		    (long long)json_integer_value(json_object_get(ev, "deleted")),
		    g->dry ? "to be " : "", g->keep);
	fflush(stdout);
}

int
cmd_registry(const struct cluster_ctx *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "keep", required_argument, NULL, 'k' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "state-dir", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_err err = PAAS_ERR_INIT;
	struct gc_view g = { c->fmt, 0, 5 };
	const char *dirflag = NULL;
	struct paas_cluster u;
	char *dir;
	int ch, rc = 0;

	if (argc < 2 || strcmp(argv[1], "gc") != 0)
		return cli_bad_usage("registry: expected gc");
	argc--;
	argv++;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			if (paas_parse_int(optarg, 1, 10000, &g.keep) < 0)
				return cli_bad_usage("--keep %.32s: expected a number of releases, 1-10000",
				    optarg);
			break;
		case 'n': g.dry = 1; break;
		case 's': dirflag = optarg; break;
		default: cli_usage(stderr); return PAAS_EINVAL;
		}
	}
	if (optind != argc)
		return cli_bad_usage("registry gc: unexpected argument '%.64s'", argv[optind]);
	dir = paas_state_dir(dirflag);
	paas_cluster_open(&u, dir);
	free(dir);
	u.etcd = paas_etcd_endpoints(c->etcd);
	u.event = gc_event;
	u.arg = &g;
	if (paas_cluster_registry_gc(&u, g.keep, g.dry, &err) < 0)
		rc = cli_fail(&err);
	paas_cluster_close(&u);
	return rc;
}
