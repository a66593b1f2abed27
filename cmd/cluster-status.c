/*
 * paas-cluster status and check: one survey of the cluster (survey.h),
 * shown as tables, records or a page (status), or judged with Nagios's
 * exit statuses, and with --repair mended first (check, check.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "cli.h"
#include "file.h"
#include "jsonx.h"
#include "listing.h"
#include "paas-cluster.h"
#include "state.h"
#include "statuspage.h"
#include "survey.h"
#include "valid.h"

#define S(o, k)		paas_json_str(o, k, "-")

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
show_json(const json_t *r)
{
	static const char *const kinds[][2] = { { "members", "member" }, { "hosts", "host" },
		{ "services", "service" }, { "routes", "route" }, { "routers", "router" },
		{ "jobs", "job" }, { "certs", "certificate" } };
	json_t *e = json_deep_copy(json_object_get(r, "etcd")), *v;
	size_t i, k;

	json_object_del(e, "healthy_endpoints");
	paas_out_record("etcd", e);
	json_decref(e);
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		json_array_foreach(json_object_get(r, kinds[k][0]), i, v)
			paas_out_record(kinds[k][1], v);
	if (json_object_get(r, "registry"))
		paas_out_record("registry", json_object_get(r, "registry"));
}

/* "k=v,k=v" of an object of strings, or "-" (caller frees the buffer). */
static const char *
pairs(struct paas_buf *l, const json_t *o)
{
	const char *k;
	json_t *x;

	json_object_foreach((json_t *)o, k, x)
		paas_buf_addf(l, "%s%s=%s", l->len ? "," : "", k, json_string_value(x));
	return l->len ? l->data : "-";
}

static void
show_hosts(const json_t *r, json_t *rows)
{
	const json_t *v, *x;
	size_t i, k;

	json_array_foreach(json_object_get(r, "hosts"), i, v) {
		struct paas_buf l = PAAS_BUF_INIT;

		if (!json_is_true(json_object_get(v, "reachable")))
			json_array_append_new(rows, json_pack("[s, s, s, s, s, s, s]", S(v, "name"),
			    "NO", "", "", "", "", S(v, "error")));
		else
			json_array_append_new(rows, json_pack("[s, s, s, o, o, s, s]", S(v, "name"),
			    "yes", S(v, "version"), json_sprintf("%lld", num(v, "containers")),
			    json_sprintf("%lld", num(v, "containers_running")),
			    json_is_true(json_object_get(v, "agent")) ? "yes" : "no",
			    pairs(&l, json_object_get(v, "labels"))));
		paas_buf_free(&l);
	}
	table(rows, "HOST", "REACHABLE", "DOCKER", "CONTAINERS", "RUNNING", "AGENT", "LABELS");
	/* A fleet cluster's machines and paas's units on them. */
	json_array_foreach(json_object_get(r, "hosts"), i, v)
		json_array_foreach(json_object_get(v, "machines"), k, x) {
			struct paas_buf l = PAAS_BUF_INIT;

			json_array_append_new(rows, json_pack("[s, o, s, s, s]", S(v, "name"),
			    json_sprintf("%.12s", S(x, "id")), S(x, "address"),
			    json_is_true(json_object_get(x, "agent")) ? "yes" : "NO",
			    pairs(&l, json_object_get(x, "metadata"))));
			paas_buf_free(&l);
		}
	if (json_array_size(rows))
		table(rows, "FLEET", "MACHINE", "ADDRESS", "AGENT", "METADATA");
	json_array_foreach(json_object_get(r, "hosts"), i, v)
		json_array_foreach(json_object_get(v, "units"), k, x)
			json_array_append_new(rows, json_pack("[s, s, s, o]", S(v, "name"),
			    S(x, "name"), S(x, "state"), json_sprintf("%.12s", S(x, "machine"))));
	if (json_array_size(rows))
		table(rows, "FLEET", "UNIT", "STATE", "MACHINE");
}

static void
show_services(const json_t *r, json_t *rows)
{
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(r, "services"), i, v) {
		const json_t *down = json_object_get(v, "down_hosts");

		json_array_append_new(rows, json_pack("[o, o, o, o, o, o, o]",
		    json_sprintf("%s/%s", S(v, "deployment"), S(v, "service")),
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
		json_array_append_new(rows, json_pack("[s, o, o]", S(v, "domain"),
		    json_sprintf("%s:%s", S(v, "deployment"), S(v, "service")),
		    json_sprintf("%lld", num(v, "servers"))));
	table(rows, "ROUTE", "TARGET", "SERVERS");
	json_array_foreach(json_object_get(r, "routers"), i, v)
		json_array_append_new(rows, json_pack("[s, o, s]", S(v, "name"),
		    json_sprintf("%lld", num(v, "revision")),
		    json_is_true(json_object_get(v, "behind")) ? "NO" : "yes"));
	table(rows, "ROUTER", "REVISION", "SERVES THE LATEST");
}

static void
show(const json_t *r, enum paas_format fmt)
{
	const json_t *etcd = json_object_get(r, "etcd"), *v;
	json_t *rows;
	size_t i;

	if (!paas_out_is_table(fmt)) {
		show_json(r);
		return;
	}
	rows = json_array();
	printf("etcd: %lld members, %lld healthy, leader %s, revision %lld%s%s\n",
	    num(etcd, "members"), num(etcd, "members_healthy"), S(etcd, "leader_name"),
	    num(etcd, "revision"), json_object_get(etcd, "error") ? "; " : "",
	    json_object_get(etcd, "error") ? S(etcd, "error") : "");
	json_array_foreach(json_object_get(r, "members"), i, v)
		json_array_append_new(rows, json_pack("[s, s, s, s, o, s, s, s]", S(v, "id"),
		    S(v, "name"), json_is_true(json_object_get(v, "healthy")) ? "yes" : "NO",
		    json_is_true(json_object_get(v, "leader")) ? "*" : "",
		    json_sprintf("%lld", num(v, "db_size")), S(v, "version"),
		    S(v, "client_urls"), json_object_get(v, "error") ? S(v, "error") : ""));
	table(rows, "MEMBER", "NAME", "HEALTHY", "LEADER", "DB", "VERSION", "CLIENT URLS", "ERROR");
	show_hosts(r, rows);
	show_services(r, rows);
	json_decref(rows);
	if ((v = json_object_get(r, "registry")) != NULL)
		printf("\nregistry: %s (%s), %s%s%s\n", S(v, "address"),
		    json_is_true(json_object_get(v, "managed")) ? "the cluster's" : "external",
		    json_is_true(json_object_get(v, "reachable")) ? "answering" : "NOT answering",
		    json_object_get(v, "error") ? ": " : "",
		    json_object_get(v, "error") ? S(v, "error") : "");
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
		default: cli_usage(stderr); return PAAS_EINVAL;
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
		fprintf(stderr, "%s: etcd: %s\n", cli_prog, S(json_object_get(report, "etcd"), "error"));
	json_decref(report);
	return rc;
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
	struct paas_check_opts o = { 0 };
	struct paas_err err = PAAS_ERR_INIT;
	json_t *out, *v;
	int ch, code;
	size_t i;

	o.etcd = paas_etcd_endpoints(c->etcd);
	o.timeout_ms = 10000;
	o.warn_pct = 1;
	o.crit_pct = 100;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (timeout_arg(optarg, &o.timeout_ms) < 0)
				return PAAS_CHECK_UNKNOWN;
			break;
		case 'w':
		case 'c':
			if (paas_parse_int(optarg[strlen(optarg) - 1] == '%' ?
			    (optarg[strlen(optarg) - 1] = '\0', optarg) : optarg, 1, 100,
			    ch == 'w' ? &o.warn_pct : &o.crit_pct) < 0) {
				cli_bad_usage("--%s %.32s: expected a percentage of a service's instances "
				    "not healthy, 1-100", ch == 'w' ? "warn" : "crit", optarg);
				return PAAS_CHECK_UNKNOWN;
			}
			break;
		case 'r': o.repair = 1; break;
		default: cli_usage(stderr); return PAAS_CHECK_UNKNOWN;
		}
	}
	if (optind != argc) {
		cli_bad_usage("check: unexpected argument '%.64s'", argv[optind]);
		return PAAS_CHECK_UNKNOWN;
	}
	if (o.warn_pct > o.crit_pct) {
		cli_bad_usage("--warn %d%% is above --crit %d%%", o.warn_pct, o.crit_pct);
		return PAAS_CHECK_UNKNOWN;
	}
	if (paas_check(&o, &out, &err) < 0) {
		printf("PAAS UNKNOWN - %s\n", err.msg);
		return PAAS_CHECK_UNKNOWN;
	}
	code = (int)json_integer_value(json_object_get(out, "code"));
	if (c->fmt == PAAS_FORMAT_JSON) {
		paas_out_record("check", out);
		json_decref(out);
		return code;
	}
	printf("%s\n", S(out, "summary"));
	json_array_foreach(json_object_get(out, "repaired"), i, v) {
		size_t k;
		json_t *s;

		if (json_object_get(v, "error"))
			printf("repair of %s failed: %s\n", S(v, "deployment"), S(v, "error"));
		json_array_foreach(json_object_get(v, "started"), k, s)
			printf("repaired %s: %s instance %s started on %s\n", S(v, "deployment"),
			    S(s, "service"), S(s, "instance"), S(s, "host"));
	}
	json_decref(out);
	return code;
}
