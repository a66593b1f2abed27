/*
 * The cluster judged, for paas-cluster check: one survey (survey.h) held
 * against what it should be, with Nagios's levels, and with repair the
 * deployments of hosts that are down placed again on the live ones
 * (paas_deploy_repair).  See check.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "clock.h"
#include "deploy.h"
#include "etcd.h"
#include "jsonx.h"
#include "survey.h"
#include "unittext.h"

#define S(o, k)		paas_json_str(o, k, "-")
#define N(o, k)		((long long)json_integer_value(json_object_get(o, k)))

enum { OK = PAAS_CHECK_OK, WARNING, CRITICAL, UNKNOWN };
#define QUOTA		PAAS_ETCD_QUOTA_BYTES	/* up gives every etcd */
#define QUOTA_WARN_PCT	80
#define DEFRAG_MIN	(64LL << 20)
static const char *const level_name[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

struct judge {
	int level;
	json_t *problems;		/* [{"level","what","message"}] */
	long long desired, healthy;
};

struct moved {
	json_t *started;
	const char *dep;
	int verbose;
};

static void __attribute__((format(printf, 4, 5)))
problem(struct judge *j, int level, const char *what, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (level > j->level)
		j->level = level;
	json_array_append_new(j->problems, json_pack("{s:s, s:s, s:s}", "level",
	    level_name[level], "what", what, "message", msg));
}

/* Service v runs instances the cluster no longer wants (a host that came
 * back after its instances were placed elsewhere), and no deploy under
 * way explains them. */
static int
surplus(const json_t *v)
{
	return !json_is_true(json_object_get(v, "global")) && N(v, "instances_desired") > 0 &&
	    N(v, "instances_running") > N(v, "instances_desired") &&
	    !json_is_true(json_object_get(v, "deploying"));
}

static void
assess(const json_t *r, int warn_pct, int crit_pct, struct judge *j)
{
	const json_t *etcd = json_object_get(r, "etcd"), *v;
	size_t i;
	int agents = 0;

	if (json_object_get(etcd, "error")) {
		problem(j, CRITICAL, "etcd", "etcd: %s", S(etcd, "error"));
		return;
	}
	json_array_foreach(json_object_get(r, "members"), i, v) {
		if (!json_is_true(json_object_get(v, "healthy")))
			problem(j, WARNING, "member", "etcd member %s (%s) unhealthy: %s", S(v, "name"),
			    S(v, "id"), S(v, "error"));
		/* etcd refuses every write once its database reaches its quota. */
		if (N(v, "db_size") > QUOTA / 100 * QUOTA_WARN_PCT)
			problem(j, WARNING, "member", "etcd member %s: database %lld MiB, over %d%% of "
			    "its %lld MiB quota (%lld MiB in use; check --repair defragments)",
			    S(v, "name"), N(v, "db_size") >> 20, QUOTA_WARN_PCT, QUOTA >> 20,
			    N(v, "db_size_in_use") >> 20);
	}
	json_array_foreach(json_object_get(r, "hosts"), i, v)
		agents += json_is_true(json_object_get(v, "agent"));
	json_array_foreach(json_object_get(r, "hosts"), i, v) {
		if (!json_is_true(json_object_get(v, "reachable")))
			problem(j, CRITICAL, "host", "host %s down: %s", S(v, "name"), S(v, "error"));
		else if (json_object_get(v, "fleet")) {
			const json_t *x;
			size_t k;

			json_array_foreach(json_object_get(v, "machines"), k, x)
				if (!json_is_true(json_object_get(x, "agent")))
					problem(j, WARNING, "agent", "machine %.12s (%s) of fleet host %s "
					    "runs no agent", S(x, "id"), S(x, "address"), S(v, "name"));
			json_array_foreach(json_object_get(v, "units"), k, x)
				if (strcmp(S(x, "desired"), "launched") == 0 &&
				    strcmp(S(x, "state"), "active") != 0)
					problem(j, WARNING, "unit", "fleet host %s: unit %s is %s%s%.12s",
					    S(v, "name"), S(x, "name"), S(x, "state"),
					    json_is_string(json_object_get(x, "machine")) ? " on machine " : "",
					    json_is_string(json_object_get(x, "machine")) ? S(x, "machine") : "");
		} else if (agents && !json_is_true(json_object_get(v, "agent")))
			problem(j, WARNING, "agent", "host %s runs no agent", S(v, "name"));
	}
	json_array_foreach(json_object_get(r, "services"), i, v) {
		long long want = N(v, "instances_desired"), ok = N(v, "instances_healthy"), missing;
		const json_t *down = json_object_get(v, "down_hosts");
		int pct, level;

		if (surplus(v))
			problem(j, WARNING, "surplus", "%s/%s: %lld running, %lld wanted",
			    S(v, "deployment"), S(v, "service"), N(v, "instances_running"), want);
		if (ok > want)
			ok = want;
		j->desired += want;
		j->healthy += ok;
		if (want <= 0 || (missing = want - ok) <= 0)
			continue;
		pct = (int)(missing * 100 / want);
		level = pct >= crit_pct ? CRITICAL : pct >= warn_pct ? WARNING : OK;
		if (level != OK)
			problem(j, level, "service", "%s/%s: %lld of %lld healthy%s%s",
			    S(v, "deployment"), S(v, "service"), ok, want,
			    json_array_size(down) ? ", instances on down host " : "",
			    json_array_size(down) ? json_string_value(json_array_get(down, 0)) : "");
	}
	/* A certificate near its end: renewal is late by then. */
	json_array_foreach(json_object_get(r, "certs"), i, v) {
		const char *first = json_string_value(json_array_get(json_object_get(v, "names"), 0));
		long long d = N(v, "days_left");

		if (d <= 14)
			problem(j, d <= 3 ? CRITICAL : WARNING, "certificate", "certificate %s (%s) "
			    "expires in %lld day%s (%s)", S(v, "name"), first ? first : "-", d,
			    d == 1 ? "" : "s", S(v, "not_after"));
	}
	/* A job whose last run failed, or that missed a time. */
	json_array_foreach(json_object_get(r, "jobs"), i, v) {
		const json_t *l = json_object_get(v, "last");
		const char *st = S(l, "state");

		if (l && (!strcmp(st, "failed") || !strcmp(st, "killed")))
			problem(j, WARNING, "job", "job %s/%s: its last run (due %s, host %s) %s%s%s",
			    S(v, "deployment"), S(v, "service"), S(l, "time"), S(l, "host"), st,
			    json_object_get(l, "reason") ? ": " : "", json_object_get(l, "reason") ?
			    S(l, "reason") : "");
		if (json_is_string(json_object_get(v, "missed_due")))
			problem(j, WARNING, "job", "job %s/%s missed its run due at %s (no agent claimed "
			    "it)", S(v, "deployment"), S(v, "service"), S(v, "missed_due"));
	}
	/* A record nobody can read: a host or release one stops every deploy
	 * it touches; anything else is left out where it is read. */
	json_array_foreach(json_object_get(r, "damaged"), i, v) {
		const char *key = S(v, "key");
		int bad = strstr(key, "/hosts/") || strstr(key, "/deployments/") ||
		    strstr(key, "/instances/");

		problem(j, bad ? CRITICAL : WARNING, "damaged", "%s", S(v, "error"));
	}
	/* Without its registry nothing can be built or pulled; what runs
	 * goes on running. */
	if ((v = json_object_get(r, "registry")) != NULL &&
	    !json_is_true(json_object_get(v, "reachable")))
		problem(j, WARNING, "registry", "registry %s does not answer: %s", S(v, "address"),
		    S(v, "error"));
	if (json_array_size(json_object_get(r, "routes")) &&
	    json_array_size(json_object_get(r, "routers")) == 0)
		problem(j, WARNING, "router", "%zu routes and no router serving them",
		    json_array_size(json_object_get(r, "routes")));
	json_array_foreach(json_object_get(r, "routers"), i, v) {
		const json_t *left = json_object_get(v, "left_out"), *x;
		size_t k;

		if (json_is_true(json_object_get(v, "behind")))
			problem(j, WARNING, "router", "router %s serves revision %lld, routing changed at %lld",
			    S(v, "name"), N(v, "revision"),
			    N(etcd, "routing_revision"));
		json_array_foreach(left, k, x)
			problem(j, WARNING, "left-out", "router %s leaves out %.400s", S(v, "name"),
			    json_string_value(x) ? json_string_value(x) : "?");
	}
}

static int
any_behind(const json_t *r)
{
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(r, "routers"), i, v)
		if (json_is_true(json_object_get(v, "behind")))
			return 1;
	return 0;
}

/* Members whose database file is mostly space compaction freed (over 64
 * MiB, less than half in use) defragmented, one at a time: [{"member",
 * "before","after"|"error"}]. */
static json_t *
defragment(const json_t *r)
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach(json_object_get(r, "members"), i, v) {
		struct paas_err err = PAAS_ERR_INIT;
		struct paas_etcd_status st;
		struct paas_etcd *e;
		char ep[256];
		json_t *d;

		if (!json_is_true(json_object_get(v, "healthy")) || N(v, "db_size") < DEFRAG_MIN ||
		    N(v, "db_size_in_use") * 2 > N(v, "db_size"))
			continue;
		snprintf(ep, sizeof(ep), "%.*s", (int)strcspn(S(v, "client_urls"), ","),
		    S(v, "client_urls"));
		d = json_pack("{s:s, s:I}", "member", S(v, "name"), "before", (json_int_t)N(v,
		    "db_size"));
		if ((e = paas_etcd_new(ep, NULL, &err)) == NULL ||
		    paas_etcd_defragment(e, &err) < 0 || paas_etcd_status(e, &st, &err) < 0)
			json_object_set_new(d, "error", json_string(err.msg));
		else
			json_object_set_new(d, "after", json_integer(st.db_size));
		paas_etcd_free(e);
		json_array_append_new(out, d);
	}
	return out;
}

static void
repair_event(const json_t *ev, void *arg)
{
	struct moved *m = arg;

	if (strcmp(S(ev, "kind"), "start") == 0)
		json_array_append_new(m->started, json_pack("{s:O, s:O, s:O}", "service",
		    json_object_get(ev, "service"), "instance", json_object_get(ev, "instance"),
		    "host", json_object_get(ev, "host")));
}

/* Every deployment with a service short of healthy instances or with
 * instances on a host that is down, converged without the down hosts. */
static json_t *
repair(const char *etcd, const json_t *r)
{
	json_t *down = json_array(), *deps = json_object(), *out = json_array(), *v;
	const char **skip;
	const char *k;
	size_t i, n = 0;

	json_array_foreach(json_object_get(r, "hosts"), i, v)
		if (!json_is_true(json_object_get(v, "reachable")))
			json_array_append(down, json_object_get(v, "name"));
	json_array_foreach(json_object_get(r, "services"), i, v)
		if (json_array_size(json_object_get(v, "down_hosts")) ||
		    N(v, "instances_healthy") < N(v, "instances_desired") || surplus(v))
			json_object_set_new(deps, S(v, "deployment"), json_true());
	skip = paas_xmalloc((json_array_size(down) + 1) * sizeof(*skip));
	json_array_foreach(down, i, v)
		skip[n++] = json_string_value(v);
	skip[n] = NULL;
	json_object_foreach(deps, k, v) {
		struct paas_deploy_opts o = { 0 };
		struct paas_err err = PAAS_ERR_INIT;
		struct moved m = { json_array(), k, 0 };
		json_t *rep;

		o.etcd = etcd;
		o.deployment = k;
		o.skip_hosts = skip;
		o.event = repair_event;
		o.arg = &m;
		o.user = "paas-cluster check --repair";
		rep = json_pack("{s:s, s:o, s:O}", "deployment", k, "started", m.started, "skipped", down);
		if (paas_deploy_repair(&o, &err) < 0)
			json_object_set_new(rep, "error", json_string(err.msg));
		json_array_append_new(out, rep);
	}
	free(skip);
	json_decref(down);
	json_decref(deps);
	return out;
}

/* The verdict's summary line, as Nagios reads it: the level, the problems
 * or the counts, then the performance data. */
static json_t *
verdict(const json_t *report, const struct judge *j, long long t0)
{
	struct paas_buf line = PAAS_BUF_INIT;
	size_t i, nhosts = 0, down = 0;
	json_t *v, *out;

	json_array_foreach(json_object_get(report, "hosts"), i, v) {
		nhosts++;
		down += !json_is_true(json_object_get(v, "reachable"));
	}
	paas_buf_addf(&line, "PAAS %s - ", level_name[j->level]);
	if (j->level == OK)
		paas_buf_addf(&line, "etcd %lld/%lld members healthy, %zu hosts, %zu services, "
		    "%lld of %lld instances healthy", N(json_object_get(report, "etcd"),
		    "members_healthy"), N(json_object_get(report, "etcd"), "members"), nhosts,
		    json_array_size(json_object_get(report, "services")), j->healthy, j->desired);
	json_array_foreach(j->problems, i, v)
		paas_buf_addf(&line, "%s%s", i ? "; " : "", S(v, "message"));
	paas_buf_addf(&line, " | hosts=%zu hosts_down=%zu instances_desired=%lld "
	    "instances_healthy=%lld time=%.3fs", nhosts, down, j->desired, j->healthy,
	    (double)(paas_now_ms() - t0) / 1000);
	out = json_pack("{s:s, s:i, s:s, s:O, s:I, s:I}", "status", level_name[j->level], "code",
	    j->level, "summary", line.data, "problems", j->problems, "instances_desired",
	    (json_int_t)j->desired, "instances_healthy", (json_int_t)j->healthy);
	paas_buf_free(&line);
	return out;
}

int
paas_check(const struct paas_check_opts *o, json_t **out, struct paas_err *err)
{
	struct paas_survey_opts so = { 0 };
	struct judge j = { OK, NULL, 0, 0 };
	json_t *report = NULL, *repaired = NULL, *defragged = NULL;
	long long t0 = paas_now_ms();

	*out = NULL;
	so.etcd = o->etcd;
	so.timeout_ms = o->timeout_ms;
	if (paas_survey(&so, &report, err) < 0)
		return -1;
	/* A router behind may be one reload away: look once more, in time. */
	if (any_behind(report) && so.timeout_ms - (paas_now_ms() - t0) > 1500) {
		struct paas_err e2 = PAAS_ERR_INIT;

		paas_sleep_ms(1000);
		paas_survey_routers(so.etcd, so.timeout_ms - (paas_now_ms() - t0), report, &e2);
	}
	if (o->repair && json_object_get(json_object_get(report, "etcd"), "error") == NULL) {
		defragged = defragment(report);
		repaired = repair(S(json_object_get(report, "etcd"), "healthy_endpoints"), report);
		if (json_array_size(repaired) || json_array_size(defragged)) {
			json_decref(report);
			report = NULL;
			if (paas_survey(&so, &report, err) < 0) {
				paas_err_wrap(err, "after the repair");
				json_decref(repaired);
				json_decref(defragged);
				return -1;
			}
		}
	}
	j.problems = json_array();
	assess(report, o->warn_pct, o->crit_pct, &j);
	*out = verdict(report, &j, t0);
	if (repaired)
		json_object_set(*out, "repaired", repaired);
	if (json_array_size(defragged))
		json_object_set(*out, "defragmented", defragged);
	json_decref(j.problems);
	json_decref(report);
	json_decref(repaired);
	json_decref(defragged);
	return 0;
}
