/*
 * paas-cluster status and check: one survey of the cluster (cluster.h),
 * shown (status) or judged (check, with Nagios's exit statuses), and with
 * check --repair the deployments of hosts that are down placed again on
 * the live ones (paas_deploy_repair).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "file.h"
#include "listing.h"
#include "paas-cluster.h"
#include "statuspage.h"
#include "survey.h"
#include "deploy.h"
#include "paas.h"
#include "valid.h"
#include "state.h"



enum { OK, WARNING, CRITICAL, UNKNOWN };
static const char *const level_name[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

static long long
num(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* A blank line, then ROWS (emptied) under the headings, sized to them. */
#define table(rows, ...) do {						\
	static const char *const h_[] = { __VA_ARGS__ };		\
									\
	putchar('\n');							\
	cli_table(stdout, h_, sizeof(h_) / sizeof(h_[0]), (rows));	\
	json_array_clear(rows);						\
} while (0)

static void
show(const json_t *r, enum paas_format fmt)
{
	const json_t *etcd = json_object_get(r, "etcd"), *v;
	json_t *rows;
	size_t i;

	if (!paas_out_is_table(fmt)) {
		json_t *e = json_deep_copy(etcd);

		json_object_del(e, "healthy_endpoints");
		paas_out_record("etcd", e);
		json_decref(e);
		json_array_foreach(json_object_get(r, "members"), i, v)
			paas_out_record("member", v);
		json_array_foreach(json_object_get(r, "hosts"), i, v)
			paas_out_record("host", v);
		json_array_foreach(json_object_get(r, "services"), i, v)
			paas_out_record("service", v);
		json_array_foreach(json_object_get(r, "routes"), i, v)
			paas_out_record("route", v);
		json_array_foreach(json_object_get(r, "routers"), i, v)
			paas_out_record("router", v);
		if (json_object_get(r, "registry"))
			paas_out_record("registry", json_object_get(r, "registry"));
		return;
	}
	rows = json_array();
	printf("etcd: %lld members, %lld healthy, leader %s, revision %lld%s%s\n",
	    num(etcd, "members"), num(etcd, "members_healthy"), str(etcd, "leader_name"),
	    num(etcd, "revision"), json_object_get(etcd, "error") ? "; " : "",
	    json_object_get(etcd, "error") ? str(etcd, "error") : "");
	json_array_foreach(json_object_get(r, "members"), i, v)
		json_array_append_new(rows, json_pack("[s, s, s, s, o, s, s, s]", str(v, "id"),
		    str(v, "name"), json_is_true(json_object_get(v, "healthy")) ? "yes" : "NO",
		    json_is_true(json_object_get(v, "leader")) ? "*" : "",
		    json_sprintf("%lld", num(v, "db_size")), str(v, "version"),
		    str(v, "client_urls"), json_object_get(v, "error") ? str(v, "error") : ""));
	table(rows, "MEMBER", "NAME", "HEALTHY", "LEADER", "DB", "VERSION", "CLIENT URLS", "ERROR");
	json_array_foreach(json_object_get(r, "hosts"), i, v) {
		struct paas_buf l = PAAS_BUF_INIT;
		const char *k;
		json_t *x;

		if (!json_is_true(json_object_get(v, "reachable"))) {
			json_array_append_new(rows, json_pack("[s, s, s, s, s, s, s]", str(v, "name"),
			    "NO", "", "", "", "", str(v, "error")));
			continue;
		}
		json_object_foreach(json_object_get(v, "labels"), k, x)
			paas_buf_addf(&l, "%s%s=%s", l.len ? "," : "", k, json_string_value(x));
		json_array_append_new(rows, json_pack("[s, s, s, o, o, s, s]", str(v, "name"), "yes",
		    str(v, "version"), json_sprintf("%lld", num(v, "containers")),
		    json_sprintf("%lld", num(v, "containers_running")),
		    json_is_true(json_object_get(v, "agent")) ? "yes" : "no", l.len ? l.data : "-"));
		paas_buf_free(&l);
	}
	table(rows, "HOST", "REACHABLE", "DOCKER", "CONTAINERS", "RUNNING", "AGENT", "LABELS");
	/* A fleet cluster's machines and paas's units on them. */
	json_array_foreach(json_object_get(r, "hosts"), i, v) {
		const json_t *x;
		size_t k;

		json_array_foreach(json_object_get(v, "machines"), k, x) {
			struct paas_buf l = PAAS_BUF_INIT;
			const char *mk;
			json_t *mv;

			json_object_foreach(json_object_get(x, "metadata"), mk, mv)
				paas_buf_addf(&l, "%s%s=%s", l.len ? "," : "", mk, json_string_value(mv));
			json_array_append_new(rows, json_pack("[s, o, s, s, s]", str(v, "name"),
			    json_sprintf("%.12s", str(x, "id")), str(x, "address"),
			    json_is_true(json_object_get(x, "agent")) ? "yes" : "NO",
			    l.len ? l.data : "-"));
			paas_buf_free(&l);
		}
	}
	if (json_array_size(rows))
		table(rows, "FLEET", "MACHINE", "ADDRESS", "AGENT", "METADATA");
	json_array_foreach(json_object_get(r, "hosts"), i, v) {
		const json_t *x;
		size_t k;

		json_array_foreach(json_object_get(v, "units"), k, x)
			json_array_append_new(rows, json_pack("[s, s, s, o]", str(v, "name"),
			    str(x, "name"), str(x, "state"), json_sprintf("%.12s", str(x, "machine"))));
	}
	if (json_array_size(rows))
		table(rows, "FLEET", "UNIT", "STATE", "MACHINE");
	json_array_foreach(json_object_get(r, "services"), i, v) {
		const json_t *down = json_object_get(v, "down_hosts");

		json_array_append_new(rows, json_pack("[o, o, o, o, o, o, o]",
		    json_sprintf("%s/%s", str(v, "deployment"), str(v, "service")),
		    json_sprintf("%lld", num(v, "release")),
		    json_sprintf("%lld", num(v, "instances_desired")),
		    json_sprintf("%lld", num(v, "instances_running")),
		    json_sprintf("%lld", num(v, "instances_announced")),
		    json_sprintf("%lld", num(v, "instances_healthy")), json_array_size(down) ?
		    json_sprintf("on down host %s", json_string_value(json_array_get(down, 0))) :
		    json_string("")));
	}
	table(rows, "SERVICE", "RELEASE", "DESIRED", "RUNNING", "ANNOUNCED", "HEALTHY", "NOTE");
	json_array_foreach(json_object_get(r, "routes"), i, v)
		json_array_append_new(rows, json_pack("[s, o, o]", str(v, "domain"),
		    json_sprintf("%s:%s", str(v, "deployment"), str(v, "service")),
		    json_sprintf("%lld", num(v, "servers"))));
	table(rows, "ROUTE", "TARGET", "SERVERS");
	json_array_foreach(json_object_get(r, "routers"), i, v)
		json_array_append_new(rows, json_pack("[s, o, s]", str(v, "name"),
		    json_sprintf("%lld", num(v, "revision")),
		    json_is_true(json_object_get(v, "behind")) ? "NO" : "yes"));
	table(rows, "ROUTER", "REVISION", "SERVES THE LATEST");
	json_decref(rows);
	if ((v = json_object_get(r, "registry")) != NULL)
		printf("\nregistry: %s (%s), %s%s%s\n", str(v, "address"),
		    json_is_true(json_object_get(v, "managed")) ? "the cluster's" : "external",
		    json_is_true(json_object_get(v, "reachable")) ? "answering" : "NOT answering",
		    json_object_get(v, "error") ? ": " : "",
		    json_object_get(v, "error") ? str(v, "error") : "");
}

static int
timeout_arg(const char *s, long *ms)
{
	int t;

	if (paas_parse_int(s, 1, 3600, &t) < 0) {
		cli_bad_usage("--timeout %.32s: expected seconds, 1-3600", s);
		return -1;
	}
	*ms = t * 1000L;
	return 0;
}

int
cmd_status(const struct cluster_ctx *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "html", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_survey_opts so = { 0 };
	struct paas_err err = PAAS_ERR_INIT;
	const char *html = NULL;
	json_t *report;
	int ch, rc;

	so.etcd = paas_etcd_endpoints(c->etcd);
	so.timeout_ms = 10000;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 't': if (timeout_arg(optarg, &so.timeout_ms) < 0) return PAAS_EINVAL; break;
		case 'H': html = optarg; break;
		default: usage(stderr); return PAAS_EINVAL;
		}
	}
	if (optind != argc)
		return cli_bad_usage("status: unexpected argument '%.64s'", argv[optind]);
	if (paas_survey(&so, &report, &err) < 0)
		return cli_fail(&err);
	if (html) {
		json_t *deps = NULL;
		size_t len;
		char *p;

		/* The releases are a part of the page, not a reason to fail it. */
		if (paas_listing_deployments(so.etcd, &deps, &err) < 0) {
			paas_err_clear(&err);
			deps = json_array();
		}
		p = paas_status_page_render(report, deps, &len);
		rc = paas_output_write(html, p, len, 0644, &err);
		free(p);
		json_decref(deps);
		if (rc < 0) {
			json_decref(report);
			return cli_fail(&err);
		}
	} else
		show(report, c->fmt);
	/* Without etcd there is nothing else to show: could not operate. */
	rc = json_object_get(json_object_get(report, "etcd"), "error") ? PAAS_EUNAVAIL : 0;
	if (rc)
		fprintf(stderr, "%s: etcd: %s\n", cli_prog, str(json_object_get(report, "etcd"), "error"));
	json_decref(report);
	return rc;
}

/* Checks -------------------------------------------------------------- */

struct judge {
	int level;
	json_t *problems;		/* [{"level","what","message"}] */
	long long desired, healthy;
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
	return !json_is_true(json_object_get(v, "global")) && num(v, "instances_desired") > 0 &&
	    num(v, "instances_running") > num(v, "instances_desired") &&
	    !json_is_true(json_object_get(v, "deploying"));
}

static void
assess(const json_t *r, int warn_pct, int crit_pct, struct judge *j)
{
	const json_t *etcd = json_object_get(r, "etcd"), *v;
	size_t i;
	int agents = 0;

	if (json_object_get(etcd, "error")) {
		problem(j, CRITICAL, "etcd", "etcd: %s", str(etcd, "error"));
		return;
	}
	json_array_foreach(json_object_get(r, "members"), i, v)
		if (!json_is_true(json_object_get(v, "healthy")))
			problem(j, WARNING, "member", "etcd member %s (%s) unhealthy: %s", str(v, "name"),
			    str(v, "id"), str(v, "error"));
	json_array_foreach(json_object_get(r, "hosts"), i, v)
		agents += json_is_true(json_object_get(v, "agent"));
	json_array_foreach(json_object_get(r, "hosts"), i, v) {
		if (!json_is_true(json_object_get(v, "reachable")))
			problem(j, CRITICAL, "host", "host %s down: %s", str(v, "name"), str(v, "error"));
		else if (json_object_get(v, "fleet")) {
			const json_t *x;
			size_t k;

			json_array_foreach(json_object_get(v, "machines"), k, x)
				if (!json_is_true(json_object_get(x, "agent")))
					problem(j, WARNING, "agent", "machine %.12s (%s) of fleet host %s "
					    "runs no agent", str(x, "id"), str(x, "address"), str(v, "name"));
			json_array_foreach(json_object_get(v, "units"), k, x)
				if (strcmp(str(x, "desired"), "launched") == 0 &&
				    strcmp(str(x, "state"), "active") != 0)
					problem(j, WARNING, "unit", "fleet host %s: unit %s is %s%s%.12s",
					    str(v, "name"), str(x, "name"), str(x, "state"),
					    json_is_string(json_object_get(x, "machine")) ? " on machine " : "",
					    json_is_string(json_object_get(x, "machine")) ? str(x, "machine") : "");
		} else if (agents && !json_is_true(json_object_get(v, "agent")))
			problem(j, WARNING, "agent", "host %s runs no agent", str(v, "name"));
	}
	json_array_foreach(json_object_get(r, "services"), i, v) {
		long long want = num(v, "instances_desired"), ok = num(v, "instances_healthy"), missing;
		const json_t *down = json_object_get(v, "down_hosts");
		int pct, level;

		if (surplus(v))
			problem(j, WARNING, "surplus", "%s/%s: %lld running, %lld wanted",
			    str(v, "deployment"), str(v, "service"), num(v, "instances_running"), want);
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
			    str(v, "deployment"), str(v, "service"), ok, want,
			    json_array_size(down) ? ", instances on down host " : "",
			    json_array_size(down) ? json_string_value(json_array_get(down, 0)) : "");
	}
	/* A record nobody can read: a host or release one stops every deploy
	 * it touches; anything else is left out where it is read. */
	json_array_foreach(json_object_get(r, "damaged"), i, v) {
		const char *key = str(v, "key");
		int bad = strstr(key, "/hosts/") || strstr(key, "/deployments/") ||
		    strstr(key, "/instances/");

		problem(j, bad ? CRITICAL : WARNING, "damaged", "%s", str(v, "error"));
	}
	/* Without its registry nothing can be built or pulled; what runs
	 * goes on running. */
	if ((v = json_object_get(r, "registry")) != NULL &&
	    !json_is_true(json_object_get(v, "reachable")))
		problem(j, WARNING, "registry", "registry %s does not answer: %s", str(v, "address"),
		    str(v, "error"));
	if (json_array_size(json_object_get(r, "routes")) &&
	    json_array_size(json_object_get(r, "routers")) == 0)
		problem(j, WARNING, "router", "%zu routes and no router serving them",
		    json_array_size(json_object_get(r, "routes")));
	json_array_foreach(json_object_get(r, "routers"), i, v) {
		const json_t *left = json_object_get(v, "left_out"), *x;
		size_t k;

		if (json_is_true(json_object_get(v, "behind")))
			problem(j, WARNING, "router", "router %s serves revision %lld, routing changed at %lld",
			    str(v, "name"), num(v, "revision"),
			    num(etcd, "routing_revision"));
		json_array_foreach(left, k, x)
			problem(j, WARNING, "left-out", "router %s leaves out %.400s", str(v, "name"),
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

struct moved {
	json_t *started;
	const char *dep;
	int verbose;
};

static void
repair_event(const json_t *ev, void *arg)
{
	struct moved *m = arg;

	if (strcmp(str(ev, "kind"), "start") == 0)
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
		    num(v, "instances_healthy") < num(v, "instances_desired") || surplus(v))
			json_object_set_new(deps, str(v, "deployment"), json_true());
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

int
cmd_check(const struct cluster_ctx *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "warn", required_argument, NULL, 'w' },
		{ "crit", required_argument, NULL, 'c' },
		{ "repair", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_survey_opts so = { 0 };
	struct paas_err err = PAAS_ERR_INIT;
	struct judge j = { OK, NULL, 0, 0 };
	json_t *report = NULL, *repaired = NULL, *v;
	int ch, warn = 1, crit = 100, do_repair = 0;
	long long t0 = paas_now_ms();
	struct paas_buf line = PAAS_BUF_INIT;
	size_t i, nhosts = 0, down = 0;

	so.etcd = paas_etcd_endpoints(c->etcd);
	so.timeout_ms = 10000;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 't': if (timeout_arg(optarg, &so.timeout_ms) < 0) return UNKNOWN; break;
		case 'w':
		case 'c':
			if (paas_parse_int(optarg[strlen(optarg) - 1] == '%' ?
			    (optarg[strlen(optarg) - 1] = '\0', optarg) : optarg, 1, 100,
			    ch == 'w' ? &warn : &crit) < 0) {
				cli_bad_usage("--%s %.32s: expected a percentage of a service's instances "
				    "not healthy, 1-100", ch == 'w' ? "warn" : "crit", optarg);
				return UNKNOWN;
			}
			break;
		case 'r': do_repair = 1; break;
		default: usage(stderr); return UNKNOWN;
		}
	}
	if (optind != argc) {
		cli_bad_usage("check: unexpected argument '%.64s'", argv[optind]);
		return UNKNOWN;
	}
	if (warn > crit) {
		cli_bad_usage("--warn %d%% is above --crit %d%%", warn, crit);
		return UNKNOWN;
	}
	if (paas_survey(&so, &report, &err) < 0) {
		printf("PAAS UNKNOWN - %s\n", err.msg);
		return UNKNOWN;
	}
	/* A router behind may be one reload away: look once more, in time. */
	if (any_behind(report) && so.timeout_ms - (paas_now_ms() - t0) > 1500) {
		paas_sleep_ms(1000);
		paas_survey_routers(so.etcd, so.timeout_ms - (paas_now_ms() - t0), report, &err);
	}
	if (do_repair && json_object_get(json_object_get(report, "etcd"), "error") == NULL) {
		const char *ep = str(json_object_get(report, "etcd"), "healthy_endpoints");

		repaired = repair(ep, report);
		if (json_array_size(repaired)) {
			json_decref(report);
			report = NULL;
			if (paas_survey(&so, &report, &err) < 0) {
				printf("PAAS UNKNOWN - after the repair: %s\n", err.msg);
				json_decref(repaired);
				return UNKNOWN;
			}
		}
	}
	j.problems = json_array();
	assess(report, warn, crit, &j);
	json_array_foreach(json_object_get(report, "hosts"), i, v) {
		nhosts++;
		down += !json_is_true(json_object_get(v, "reachable"));
	}
	paas_buf_addf(&line, "PAAS %s - ", level_name[j.level]);
	if (j.level == OK)
		paas_buf_addf(&line, "etcd %lld/%lld members healthy, %zu hosts, %zu services, "
		    "%lld of %lld instances healthy", num(json_object_get(report, "etcd"), "members_healthy"),
		    num(json_object_get(report, "etcd"), "members"), nhosts,
		    json_array_size(json_object_get(report, "services")), j.healthy, j.desired);
	json_array_foreach(j.problems, i, v)
		paas_buf_addf(&line, "%s%s", i ? "; " : "", str(v, "message"));
	paas_buf_addf(&line, " | hosts=%zu hosts_down=%zu instances_desired=%lld "
	    "instances_healthy=%lld time=%.3fs", nhosts, down, j.desired, j.healthy,
	    (double)(paas_now_ms() - t0) / 1000);
	if (c->fmt == PAAS_FORMAT_JSON) {
		json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:O, s:I, s:I}", "kind", "check", "status",
		    level_name[j.level], "code", j.level, "summary", line.data, "problems",
		    j.problems, "instances_desired", (json_int_t)j.desired, "instances_healthy",
		    (json_int_t)j.healthy);

		if (repaired)
			json_object_set(o, "repaired", repaired);
		paas_out_json(o);
		json_decref(o);
	} else {
		printf("%s\n", line.data);
		json_array_foreach(repaired, i, v) {
			size_t k;
			json_t *s;

			if (json_object_get(v, "error"))
				printf("repair of %s failed: %s\n", str(v, "deployment"), str(v, "error"));
			json_array_foreach(json_object_get(v, "started"), k, s)
				printf("repaired %s: %s instance %s started on %s\n", str(v, "deployment"),
				    str(s, "service"), str(s, "instance"), str(s, "host"));
		}
	}
	paas_buf_free(&line);
	json_decref(j.problems);
	json_decref(report);
	json_decref(repaired);
	return j.level;
}
