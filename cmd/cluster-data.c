/*
 * paas-cluster members, backup and restore: etcd membership with the
 * quorum arithmetic done before etcd is asked, and the cluster's state to a
 * file and back (backup.h).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"
#include "etcd.h"
#include "cli.h"
#include "jsonx.h"
#include "members.h"
#include "paas-cluster.h"
#include "valid.h"
#include "state.h"
#include "survey.h"

#define S(o, k)		paas_json_str(o, k, "-")

static int
members_ls(const struct cluster_ctx *c)
{
	static const char *const head[] = { "ID", "NAME", "HEALTHY", "LEADER", "PEER URLS",
	    "CLIENT URLS" };
	struct paas_survey_opts so = { paas_etcd_endpoints(c->etcd), 10000 };
	struct paas_err err = PAAS_ERR_INIT;
	json_t *r, *v, *rows;
	size_t i;
	int rc = 0;

	if (paas_survey_etcd(&so, &r, &err) < 0)
		return cli_fail(&err);
	if (json_array_size(json_object_get(r, "members")) == 0) {
		paas_err_set(&err, PAAS_EUNAVAIL, "%s", S(json_object_get(r, "etcd"), "error"));
		json_decref(r);
		return cli_fail(&err);
	}
	rows = json_array();
	json_array_foreach(json_object_get(r, "members"), i, v) {
		if (paas_out_is_table(c->fmt))
			json_array_append_new(rows, json_pack("[s, s, s, s, s, s]", S(v, "id"),
			    S(v, "name"), json_is_true(json_object_get(v, "healthy")) ? "yes" : "NO",
			    json_is_true(json_object_get(v, "leader")) ? "*" : "",
			    S(v, "peer_urls"), S(v, "client_urls")));
		else
			paas_out_record("member", v);
	}
	if (paas_out_is_table(c->fmt))
		cli_table(stdout, head, sizeof(head) / sizeof(head[0]), rows);
	json_decref(rows);
	json_decref(r);
	return rc;
}

static int
members_rm(const struct cluster_ctx *c, const char *which, int force)
{
	struct paas_err err = PAAS_ERR_INIT;
	json_t *r;

	if (paas_members_remove(paas_etcd_endpoints(c->etcd), which, force, &r, &err) < 0)
		return cli_fail(&err);
	if (paas_out_is_table(c->fmt))
		printf("removed member %s (%s); %lld left\n", S(r, "name"), S(r, "id"),
		    (long long)json_integer_value(json_object_get(r, "members")));
	else
		paas_out_record("member_removed", r);
	json_decref(r);
	return 0;
}

static int
members_add(const struct cluster_ctx *c, const char *name, const char *peer)
{
	struct paas_err err = PAAS_ERR_INIT;
	json_t *r;

	if (!paas_valid_label(name))
		return cli_bad_usage("members add: invalid name '%.64s': letters, digits, . _ -", name);
	if (strncmp(peer, "http://", 7) != 0 && strncmp(peer, "https://", 8) != 0)
		return cli_bad_usage("members add: peer URL %.64s: expected http://HOST:PORT", peer);
	if (paas_members_add(paas_etcd_endpoints(c->etcd), name, peer, &r, &err) < 0)
		return cli_fail(&err);
	if (paas_out_is_table(c->fmt))
		printf("added member %s (%s); start its etcd with:\n"
		    "ETCD_NAME=%s\nETCD_INITIAL_CLUSTER=%s\nETCD_INITIAL_ADVERTISE_PEER_URLS=%s\n"
		    "ETCD_INITIAL_CLUSTER_STATE=existing\n", name, S(r, "id"), name,
		    S(r, "initial_cluster"), peer);
	else
		paas_out_record("member_added", r);
	json_decref(r);
	return 0;
}

int
cmd_members(const struct cluster_ctx *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, force = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': force = 1; break;
		default: cli_usage(stderr); return PAAS_EINVAL;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 1 && strcmp(argv[0], "ls") == 0)
		return members_ls(c);
	if (argc == 2 && strcmp(argv[0], "rm") == 0)
		return members_rm(c, argv[1], force);
	if (argc == 3 && strcmp(argv[0], "add") == 0)
		return members_add(c, argv[1], argv[2]);
	return cli_bad_usage("%s", "members: expected ls, rm ID|NAME [--force], or add NAME PEER-URL");
}

/* Does path name what standard output is ("-", /dev/stdout, ...)? */
static int
is_stdout(const char *path)
{
	struct stat a, b;

	if (strcmp(path, "-") == 0)
		return 1;
	return stat(path, &a) == 0 && fstat(STDOUT_FILENO, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino;
}

static int
file_cmd(const struct cluster_ctx *c, int argc, char **argv, int restore)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_backup_info info;
	struct paas_etcd *e;
	int ch, force = 0, rc;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (!restore)
				return cli_bad_usage("%s", "backup: --force is for restore");
			force = 1;
			break;
		default: cli_usage(stderr); return PAAS_EINVAL;
		}
	}
	if (argc - optind != 1)
		return cli_bad_usage("%s needs one file", restore ? "restore" : "backup");
	if ((e = paas_etcd_new(paas_etcd_endpoints(c->etcd), NULL, &err)) == NULL)
		return cli_fail(&err);
	rc = restore ? paas_restore(e, paas_etcd_endpoints(c->etcd), argv[optind], force, &info,
	    &err) :
	    paas_backup(e, argv[optind], &info, &err);
	paas_etcd_free(e);
	if (rc < 0)
		return cli_fail(&err);
	/* The backup itself went to standard output: the summary goes to
	 * standard error, in words. */
	if (!restore && is_stdout(argv[optind])) {
		fprintf(stderr, "%s: backed up %zu keys at revision %" PRId64 " (%zu leased keys "
		    "left out)\n", cli_prog, info.keys, info.revision, info.leased);
		return 0;
	}
	if (paas_out_is_table(c->fmt)) {
		if (restore)
			printf("restored %zu keys from %s (backed up at revision %" PRId64 ")\n",
			    info.keys, argv[optind], info.revision);
		else
			printf("backed up %zu keys at revision %" PRId64 " to %s (%zu leased keys "
			    "left out)\n", info.keys, info.revision, argv[optind], info.leased);
	} else {
		json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "kind", restore ? "restored" :
		    "backed_up", "file", argv[optind], "keys", (json_int_t)info.keys, "revision",
		    (json_int_t)info.revision);

		if (!restore)
			json_object_set_new(o, "leased", json_integer((json_int_t)info.leased));
		paas_out_json(o);
		json_decref(o);
	}
	return 0;
}

int
cmd_backup(const struct cluster_ctx *c, int argc, char **argv)
{
	return file_cmd(c, argc, argv, 0);
}

int
cmd_restore(const struct cluster_ctx *c, int argc, char **argv)
{
	return file_cmd(c, argc, argv, 1);
}
