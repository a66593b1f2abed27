/*
 * paas-cluster certs: the certificate store every router serves (certs.h):
 * ls, add NAME CERT KEY (files; the key sealed into etcd), rm NAME.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs.h"
#include "cli.h"
#include "etcd.h"
#include "file.h"
#include "jsonx.h"
#include "paas-cluster.h"
#include "private.h"
#include "state.h"

static int
certs_ls(struct paas_etcd *e, enum paas_format fmt)
{
	static const char *const head[] = { "NAME", "NAMES", "NOT AFTER", "DAYS", "SOURCE",
		"ISSUER" };
	struct paas_err err = PAAS_ERR_INIT;
	json_t *l, *r, *rows = json_array();
	size_t i, k;

	if (paas_certs_list(e, &l, &err) < 0)
		return cli_fail(&err);
	json_array_foreach(l, i, r) {
		struct paas_buf names = PAAS_BUF_INIT;
		json_t *n;

		if (!paas_out_is_table(fmt)) {
			paas_out_record("certificate", r);
			continue;
		}
		json_array_foreach(json_object_get(r, "names"), k, n)
			paas_buf_addf(&names, "%s%s", k ? "," : "", json_string_value(n));
		json_array_append_new(rows, json_pack("[s, s, s, I, s, s]", paas_json_str(r, "name",
		    "?"), names.data ? names.data : "-", paas_json_str(r, "not_after", "-"),
		    json_integer_value(json_object_get(r, "days_left")), paas_json_str(r, "source",
		    "-"), paas_json_str(r, "issuer", "-")));
		paas_buf_free(&names);
	}
	if (paas_out_is_table(fmt))
		cli_table(stdout, head, 6, rows);
	json_decref(rows);
	json_decref(l);
	return 0;
}

int
cmd_certs(const struct cluster_ctx *c, int argc, char **argv)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_etcd *e;
	char *cert = NULL, *key = NULL;
	size_t n;
	int rc = 0;

	if (argc < 2 || (strcmp(argv[1], "ls") == 0 ? argc != 2 : strcmp(argv[1], "add") == 0 ?
	    argc != 5 : strcmp(argv[1], "rm") == 0 ? argc != 3 : 1))
		return cli_bad_usage("certs: expected ls, add NAME CERT-FILE KEY-FILE, or rm NAME");
	if (argv[1][0] == 'a' && (paas_read_file(argv[3], 1 << 18, &cert, &n, &err) < 0 ||
	    paas_read_file(argv[4], 1 << 18, &key, &n, &err) < 0)) {
		const char *bad = cert ? argv[4] : argv[3];

		free(cert);
		return cli_bad_usage("certs add: %s: %s", bad, err.msg);
	}
	if ((e = paas_etcd_new(paas_etcd_endpoints(c->etcd), NULL, &err)) == NULL)
		rc = cli_fail(&err);
	else if (argv[1][0] == 'l')
		rc = certs_ls(e, c->fmt);
	else if ((argv[1][0] == 'a' ? paas_certs_put(e, argv[2], cert, key, "user", &err) :
	    paas_certs_remove(e, argv[2], &err)) < 0)
		rc = cli_fail(&err);
	paas_etcd_free(e);
	free(cert);
	if (key)
		paas_secret_free(key);
	return rc;
}
