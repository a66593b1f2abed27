/*
 * Jobs' records read back (jobs.h): the listing of a deployment's jobs and
 * of a job's runs, and a run's output, for paas-deploy jobs and check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "cron.h"
#include "jobs.h"
#include "jsonx.h"
#include "keys.h"
#include "release.h"

#define MISSED_GRACE_S	60		/* a due time with no run this long after: missed */

/* Every run record of dep's svc, oldest first. */
static int
runs_of(struct paas_etcd *e, const char *dep, const char *svc, json_t **out,
    struct paas_err *err)
{
	char *p = paas_key_job(dep, svc, "runs", 0), *pp;
	struct paas_kv_list l;
	size_t k;

	*out = json_array();
	if (asprintf(&pp, "%s/", p) < 0)
		abort();
	free(p);
	if (paas_etcd_range(e, pp, 0, 0, &l, err) < 0) {
		free(pp);
		return -1;
	}
	free(pp);
	for (k = 0; k < l.n; k++) {
		json_t *v = json_loadb(l.kvs[k].value, l.kvs[k].value_len, 0, NULL);

		if (json_is_object(v))
			json_array_append(*out, v);
		json_decref(v);
	}
	paas_kv_list_free(&l);
	return 0;
}

int
paas_jobs_list(struct paas_etcd *e, const char *dep, const char *svc, json_t **out,
    struct paas_err *err)
{
	json_t *rec = NULL, *runs = NULL, *s;
	const char *name;
	int64_t cur, now = (int64_t)time(NULL);
	char when[32], nowt[32];
	int rc = -1;

	*out = json_array();
	if (svc) {
		size_t k;

		if (runs_of(e, dep, svc, &runs, err) < 0)
			goto out;
		for (k = json_array_size(runs); k > 0; k--)
			json_array_append(*out, json_array_get(runs, k - 1));
		rc = 0;
		goto out;
	}
	if (paas_release_require(e, dep, &cur, &rec, err) < 0)
		goto out;
	paas_utc_now(nowt, sizeof(nowt));
	json_object_foreach(json_object_get(json_object_get(rec, "spec"), "services"), name, s) {
		const json_t *sc = json_object_get(s, "schedule"), *last;
		struct paas_cron cron;
		struct paas_tz *tz = NULL;
		int64_t next, since, missed, grace;
		json_t *o;

		if (sc == NULL)
			continue;
		json_decref(runs);
		if (runs_of(e, dep, name, &runs, err) < 0)
			goto out;
		if (paas_cron_parse(paas_json_str(sc, "cron", ""), &cron, err) < 0 ||
		    paas_tz_load(paas_json_str(sc, "timezone", "UTC"), &tz, err) < 0) {
			paas_err_wrap(err, "job %s", name);
			goto out;
		}
		last = json_array_get(runs, json_array_size(runs) - 1);
		next = paas_cron_next(&cron, tz, now);
		since = paas_utc_parse(json_string_value(json_object_get(rec, "time")));
		if (last && json_integer_value(json_object_get(last, "due")) > since)
			since = json_integer_value(json_object_get(last, "due"));
		/* Missed: no run this long after its time, a period at most. */
		grace = paas_cron_period(&cron, tz, now);
		missed = paas_cron_latest(&cron, tz, since, now - (grace > 0 && grace < MISSED_GRACE_S ?
		    grace : MISSED_GRACE_S));
		paas_tz_free(tz);
		o = json_pack("{s:s, s:s, s:s, s:s, s:O, s:O, s:O, s:O, s:O}", "kind", "job", "time",
		    nowt, "deployment", dep, "service", name, "schedule", json_object_get(sc, "cron"),
		    "timezone", json_object_get(sc, "timezone"), "overlap",
		    json_object_get(sc, "overlap"), "missed", json_object_get(sc, "missed"), "last",
		    last ? last : json_null());
		paas_utc_of(next, when, sizeof(when));
		json_object_set_new(o, "next", next > 0 ? json_string(when) : json_null());
		paas_utc_of(missed, when, sizeof(when));
		json_object_set_new(o, "missed_due", missed > 0 ? json_string(when) : json_null());
		json_array_append_new(*out, o);
	}
	rc = 0;
out:
	json_decref(rec);
	json_decref(runs);
	if (rc < 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

int
paas_jobs_logs(struct paas_etcd *e, const char *dep, const char *svc, long long due, char **out,
    struct paas_err *err)
{
	char *k = paas_key_job(dep, svc, "logs", due), when[32];
	struct paas_kv kv;
	int found = 0;

	*out = NULL;
	if (paas_etcd_get(e, k, &kv, &found, NULL, err) < 0) {
		free(k);
		return -1;
	}
	free(k);
	if (!found) {
		paas_utc_of(due, when, sizeof(when));
		return paas_err_set(err, PAAS_EINVAL, "job %s.%s has no finished run due at %s (%lld)",
		    dep, svc, when, due);
	}
	*out = paas_xstrdup(kv.value);
	paas_kv_clear(&kv);
	return 0;
}
