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
#include "buf.h"
#include "clock.h"
#include "etcd.h"
#include "paas-cluster.h"
#include "valid.h"
#include "state.h"
#include "survey.h"

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
		paas_err_set(&err, PAAS_EUNAVAIL, "%s", str(json_object_get(r, "etcd"), "error"));
		json_decref(r);
		return cli_fail(&err);
	}
	rows = json_array();
	json_array_foreach(json_object_get(r, "members"), i, v) {
		if (paas_out_is_table(c->fmt))
			json_array_append_new(rows, json_pack("[s, s, s, s, s, s]", str(v, "id"),
			    str(v, "name"), json_is_true(json_object_get(v, "healthy")) ? "yes" : "NO",
			    json_is_true(json_object_get(v, "leader")) ? "*" : "",
			    str(v, "peer_urls"), str(v, "client_urls")));
		else
			paas_out_record("member", v);
	}
	if (paas_out_is_table(c->fmt))
		cli_table(stdout, head, sizeof(head) / sizeof(head[0]), rows);
	json_decref(rows);
	json_decref(r);
	return rc;
}

/*
 * Remove a member (by hex ID or name).  Refused unless forced: from a
 * cluster of two or fewer (one left has no fault tolerance, and a two-member
 * cluster missing one has no quorum to commit the change), or when the
 * members left that answer would not make a quorum of the smaller cluster.
 */
static int
members_rm(const struct cluster_ctx *c, const char *which, int force)
{
	struct paas_survey_opts so = { paas_etcd_endpoints(c->etcd), 10000 };
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_etcd *e = NULL;
	const json_t *target = NULL, *v;
	json_t *r;
	size_t i, n, others = 0;
	const char *ep;
	int rc;

	if (paas_survey_etcd(&so, &r, &err) < 0)
		return cli_fail(&err);
	n = json_array_size(json_object_get(r, "members"));
	json_array_foreach(json_object_get(r, "members"), i, v) {
		if (strcmp(str(v, "id"), which) == 0 || strcmp(str(v, "name"), which) == 0)
			target = v;
		else if (json_is_true(json_object_get(v, "healthy")))
			others++;
	}
	if (n == 0) {
		paas_err_set(&err, PAAS_EUNAVAIL, "%s", str(json_object_get(r, "etcd"), "error"));
		goto fail;
	}
	if (target == NULL) {
		paas_err_set(&err, PAAS_EFAILED, "no member %.64s (members ls shows the IDs and names)",
		    which);
		goto fail;
	}
	if (!force && n <= 2) {
		paas_err_set(&err, PAAS_EFAILED, "refusing to remove %s from a %zu-member cluster: "
		    "what is left could not lose a member without losing quorum; add a member "
		    "first, or give --force", str(target, "name"), n);
		goto fail;
	}
	if (!force && others < (n - 1) / 2 + 1) {
		paas_err_set(&err, PAAS_EFAILED, "refusing to remove %s: %zu of the %zu members left "
		    "answer, short of the %zu a quorum needs; bring members back first, or give "
		    "--force", str(target, "name"), others, n - 1, (n - 1) / 2 + 1);
		goto fail;
	}
	ep = json_string_value(json_object_get(json_object_get(r, "etcd"), "healthy_endpoints"));
	if ((e = paas_etcd_new(ep ? ep : so.etcd, NULL, &err)) == NULL ||
	    paas_etcd_member_remove(e, strtoull(str(target, "id"), NULL, 16), &err) < 0)
		goto fail;
	if (paas_out_is_table(c->fmt))
		printf("removed member %s (%s); %zu left\n", str(target, "name"), str(target, "id"),
		    n - 1);
	else {
		json_t *o = json_pack("{s:s, s:O, s:O, s:I}", "kind", "member_removed", "id",
		    json_object_get(target, "id"), "name", json_object_get(target, "name"),
		    "members", (json_int_t)(n - 1));

		paas_out_json(o);
		json_decref(o);
	}
	paas_etcd_free(e);
	json_decref(r);
	return 0;
fail:
	rc = cli_fail(&err);
	paas_etcd_free(e);
	json_decref(r);
	return rc;
}

/* Add a member and print the settings its etcd must start with. */
static int
members_add(const struct cluster_ctx *c, const char *name, const char *peer)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_member_list ml = { 0 };
	struct paas_buf cluster = PAAS_BUF_INIT;
	struct paas_etcd *e;
	uint64_t id;
	size_t i;
	int rc = 0;

	if (!paas_valid_label(name))
		return cli_bad_usage("members add: invalid name '%.64s': letters, digits, . _ -", name);
	if (strncmp(peer, "http://", 7) != 0 && strncmp(peer, "https://", 8) != 0)
		return cli_bad_usage("members add: peer URL %.64s: expected http://HOST:PORT", peer);
	if ((e = paas_etcd_new(paas_etcd_endpoints(c->etcd), NULL, &err)) == NULL)
		return cli_fail(&err);
	/* etcd refuses a reconfiguration ("unhealthy cluster") until its
	 * members have been connected for 5 s, as right after a removal. */
	for (i = 0; paas_etcd_member_add(e, peer, &id, &err) < 0; i++) {
		if (strstr(err.msg, "unhealthy cluster") == NULL || i == 60) {
			rc = cli_fail(&err);
			goto out;
		}
		paas_err_clear(&err);
		paas_sleep_ms(250);
	}
	if (paas_etcd_members(e, &ml, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	for (i = 0; i < ml.n; i++) {
		const char *n = ml.m[i].id == id ? name : ml.m[i].name;
		const char *p = ml.m[i].peer_urls;

		if (n == NULL || *n == '\0')
			continue;
		paas_buf_addf(&cluster, "%s%s=%.*s", cluster.len ? "," : "", n,
		    (int)strcspn(p, ","), p);
	}
	if (paas_out_is_table(c->fmt))
		printf("added member %s (%" PRIx64 "); start its etcd with:\n"
		    "ETCD_NAME=%s\nETCD_INITIAL_CLUSTER=%s\nETCD_INITIAL_ADVERTISE_PEER_URLS=%s\n"
		    "ETCD_INITIAL_CLUSTER_STATE=existing\n", name, id, name,
		    cluster.data ? cluster.data : "", peer);
	else {
		char hex[20];
		json_t *o;

		snprintf(hex, sizeof(hex), "%" PRIx64, id);
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kind", "member_added", "id", hex, "name",
		    name, "peer_urls", peer, "initial_cluster", cluster.data ? cluster.data : "",
		    "initial_cluster_state", "existing");
		paas_out_json(o);
		json_decref(o);
	}
out:
	paas_buf_free(&cluster);
	paas_member_list_free(&ml);
	paas_etcd_free(e);
	return rc;
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
		default: usage(stderr); return PAAS_EINVAL;
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
		default: usage(stderr); return PAAS_EINVAL;
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
