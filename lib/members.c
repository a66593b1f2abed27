/*
 * etcd's membership.  See members.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "etcd.h"
#include "jsonx.h"
#include "members.h"
#include "survey.h"

#define S(o, k)		paas_json_str(o, k, "-")

int
paas_members_remove(const char *etcd, const char *which, int force, json_t **removed,
    struct paas_err *err)
{
	struct paas_survey_opts so = { etcd, 10000 };
	struct paas_etcd *e = NULL;
	const json_t *target = NULL, *v;
	json_t *r;
	size_t i, n, others = 0;
	const char *ep;
	int rc = -1;

	*removed = NULL;
	if (paas_survey_etcd(&so, &r, err) < 0)
		return -1;
	n = json_array_size(json_object_get(r, "members"));
	json_array_foreach(json_object_get(r, "members"), i, v) {
		if (strcmp(S(v, "id"), which) == 0 || strcmp(S(v, "name"), which) == 0)
			target = v;
		else if (json_is_true(json_object_get(v, "healthy")))
			others++;
	}
	if (n == 0)
		paas_err_set(err, PAAS_EUNAVAIL, "%s", S(json_object_get(r, "etcd"), "error"));
	else if (target == NULL)
		paas_err_set(err, PAAS_EFAILED, "no member %.64s (members ls shows the IDs and names)",
		    which);
	else if (!force && n <= 2)
		paas_err_set(err, PAAS_EFAILED, "refusing to remove %s from a %zu-member cluster: "
		    "what is left could not lose a member without losing quorum; add a member "
		    "first, or give --force", S(target, "name"), n);
	else if (!force && others < (n - 1) / 2 + 1)
		paas_err_set(err, PAAS_EFAILED, "refusing to remove %s: %zu of the %zu members left "
		    "answer, short of the %zu a quorum needs; bring members back first, or give "
		    "--force", S(target, "name"), others, n - 1, (n - 1) / 2 + 1);
	else {
		ep = json_string_value(json_object_get(json_object_get(r, "etcd"),
		    "healthy_endpoints"));
		if ((e = paas_etcd_new(ep ? ep : etcd, NULL, err)) != NULL &&
		    paas_etcd_member_remove(e, strtoull(S(target, "id"), NULL, 16), err) == 0) {
			*removed = json_pack("{s:O, s:O, s:I}", "id", json_object_get(target, "id"),
			    "name", json_object_get(target, "name"), "members", (json_int_t)(n - 1));
			rc = 0;
		}
	}
	paas_etcd_free(e);
	json_decref(r);
	return rc;
}

int
paas_members_add(const char *etcd, const char *name, const char *peer, json_t **added,
    struct paas_err *err)
{
	struct paas_member_list ml = { 0 };
	struct paas_buf cluster = PAAS_BUF_INIT;
	struct paas_etcd *e;
	char hex[20];
	uint64_t id;
	size_t i;
	int rc = -1;

	*added = NULL;
	if ((e = paas_etcd_new(etcd, NULL, err)) == NULL)
		return -1;
	/* etcd refuses a reconfiguration ("unhealthy cluster") until its
	 * members have been connected for 5 s, as right after a removal. */
	for (i = 0; paas_etcd_member_add(e, peer, &id, err) < 0; i++) {
		if (strstr(err->msg, "unhealthy cluster") == NULL || i == 60)
			goto out;
		paas_err_clear(err);
		paas_sleep_ms(250);
	}
	if (paas_etcd_members(e, &ml, err) < 0)
		goto out;
	for (i = 0; i < ml.n; i++) {
		const char *n = ml.m[i].id == id ? name : ml.m[i].name;
		const char *p = ml.m[i].peer_urls;

		if (n == NULL || *n == '\0')
			continue;
		paas_buf_addf(&cluster, "%s%s=%.*s", cluster.len ? "," : "", n,
		    (int)strcspn(p, ","), p);
	}
	snprintf(hex, sizeof(hex), "%" PRIx64, id);
	*added = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", hex, "name", name, "peer_urls", peer,
	    "initial_cluster", cluster.data ? cluster.data : "", "initial_cluster_state",
	    "existing");
	rc = 0;
out:
	paas_buf_free(&cluster);
	paas_member_list_free(&ml);
	paas_etcd_free(e);
	return rc;
}
