/*
 * The parts of a service in a Servicefile (spec.c reads the rest): its
 * health check, update policy, resources and release command.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "spec.h"
#include "valid.h"
#include "cron.h"
#include "spec-int.h"
#include "ytree.h"

int
spec_parse_health(struct ctx *c, const Y *n, json_t *ports, json_t **out)
{
	static const char *const keys[] = { "http", "tcp", "port", "interval", "timeout",
	    "retries", "start_period", NULL };
	long interval = 2000, timeout = 1000, retries = 3, start = 0, port = 0;
	const char *http = NULL;
	int tcp = 0, have_port = 0;
	const Y *first = n;
	size_t i;

	if (spec_need_map(c, n, "health") < 0)
		return -1;
	for (i = 0; i < n->n; i += 2) {
		const Y *k = n->kids[i], *v = n->kids[i + 1];

		if (!spec_key_in(k->s, keys))
			return spec_unknown_key(c, k, "health", keys);
		if (!strcmp(k->s, "http")) {
			if (spec_get_str(c, v, "health http", &http) < 0)
				return -1;
			if (http[0] != '/' || !paas_only_chars(http, "/._-~%?=&+"))
				return spec_at(c, v, "health http: expected a path such as /healthz");
		} else if (!strcmp(k->s, "tcp")) {
			if (spec_get_bool(c, v, "health tcp", &tcp) < 0)
				return -1;
		} else if (!strcmp(k->s, "port")) {
			if (spec_get_int(c, v, "health port", 1, 65535, &port) < 0)
				return -1;
			have_port = 1;
		} else if (!strcmp(k->s, "interval")) {
			if (spec_get_duration(c, v, "health interval", &interval) < 0)
				return -1;
		} else if (!strcmp(k->s, "timeout")) {
			if (spec_get_duration(c, v, "health timeout", &timeout) < 0)
				return -1;
		} else if (!strcmp(k->s, "retries")) {
			if (spec_get_int(c, v, "health retries", 1, 100, &retries) < 0)
				return -1;
		} else if (spec_get_duration(c, v, "health start_period", &start) < 0) {
			return -1;
		}
	}
	if ((http != NULL) == (tcp != 0))
		return spec_at(c, first, "health: give exactly one of http: PATH or tcp: true");
	if (!have_port) {
		if (json_array_size(ports) == 0)
			return spec_at(c, first, "health: no port given and the service has no ports");
		port = (long)json_integer_value(json_array_get(ports, 0));
	}
	*out = json_pack("{s:o, s:b, s:I, s:I, s:I, s:I, s:I}",
	    "http", http ? json_string(http) : json_null(), "tcp", tcp, "port", (json_int_t)port,
	    "interval_ms", (json_int_t)interval, "timeout_ms", (json_int_t)timeout,
	    "retries", (json_int_t)retries, "start_period_ms", (json_int_t)start);
	return 0;
}

int
spec_parse_update(struct ctx *c, const Y *n, json_t **out)
{
	static const char *const keys[] = { "parallel", "order", "delay", "failure_action", NULL };
	const char *order = "start-first", *action = "rollback";
	long parallel = 1, delay = 0;
	size_t i;

	if (spec_need_map(c, n, "update") < 0)
		return -1;
	for (i = 0; i < n->n; i += 2) {
		const Y *k = n->kids[i], *v = n->kids[i + 1];

		if (!spec_key_in(k->s, keys))
			return spec_unknown_key(c, k, "update", keys);
		if (!strcmp(k->s, "parallel")) {
			if (spec_get_int(c, v, "update parallel", 1, 1000, &parallel) < 0)
				return -1;
		} else if (!strcmp(k->s, "order")) {
			if (spec_get_str(c, v, "update order", &order) < 0)
				return -1;
			if (strcmp(order, "start-first") && strcmp(order, "stop-first"))
				return spec_at(c, v, "update order: expected start-first or stop-first");
		} else if (!strcmp(k->s, "delay")) {
			if (spec_get_duration(c, v, "update delay", &delay) < 0)
				return -1;
		} else {
			if (spec_get_str(c, v, "update failure_action", &action) < 0)
				return -1;
			if (strcmp(action, "rollback") && strcmp(action, "pause"))
				return spec_at(c, v, "update failure_action: expected rollback or pause");
		}
	}
	*out = json_pack("{s:I, s:s, s:I, s:s}", "parallel", (json_int_t)parallel,
	    "order", order, "delay_ms", (json_int_t)delay, "failure_action", action);
	return 0;
}

int
spec_parse_resources(struct ctx *c, const Y *n, json_t **out)
{
	static const char *const keys[] = { "cpu", "memory", NULL };
	json_t *cpu = json_null(), *mem = json_null();
	size_t i;

	*out = NULL;
	if (spec_need_map(c, n, "resources") < 0)
		return -1;
	for (i = 0; i < n->n; i += 2) {
		const Y *k = n->kids[i], *v = n->kids[i + 1];

		if (!spec_key_in(k->s, keys)) {
			json_decref(cpu);
			json_decref(mem);
			return spec_unknown_key(c, k, "resources", keys);
		}
		if (!strcmp(k->s, "cpu")) {
			long long m;

			if (v->type != PAAS_Y_SCALAR || paas_parse_cpu(v->s, &m) < 0) {
				json_decref(cpu);
				json_decref(mem);
				return spec_at(c, v, "resources cpu: expected a number of CPUs such as 0.5 or 2 (at most 3 decimals)");
			}
			json_decref(cpu);
			cpu = json_integer(m);
		} else {
			long long bytes;

			if (v->type != PAAS_Y_SCALAR || paas_parse_memory(v->s, &bytes) < 0) {
				json_decref(cpu);
				json_decref(mem);
				return spec_at(c, v, "resources memory: expected bytes or a size such as 256m or 1g (at least 4m)");
			}
			json_decref(mem);
			mem = json_integer(bytes);
		}
	}
	*out = json_pack("{s:o, s:o}", "cpu_milli", cpu, "memory_bytes", mem);
	return 0;
}

#define RELEASE_TIMEOUT_MS	600000

/* release: a command (a list, or a string split as cmd is), or
 * {cmd, timeout}: {"cmd": [...], "timeout_ms": N}. */
int
spec_parse_release(struct ctx *c, const Y *n, json_t **out)
{
	static const char *const keys[] = { "cmd", "timeout", NULL };
	const Y *cmd_n = n;
	json_t *cmd = json_array();
	long timeout = RELEASE_TIMEOUT_MS;
	const char *str;
	size_t i;

	*out = NULL;
	if (n->type == PAAS_Y_MAP) {
		cmd_n = NULL;
		for (i = 0; i < n->n; i += 2) {
			const Y *k = n->kids[i], *v = n->kids[i + 1];

			if (!spec_key_in(k->s, keys)) {
				spec_unknown_key(c, k, "release", keys);
				goto fail;
			}
			if (!strcmp(k->s, "cmd"))
				cmd_n = v;
			else if (spec_get_duration(c, v, "release timeout", &timeout) < 0)
				goto fail;
			else if (timeout < 1000 || timeout > 86400000) {
				spec_at(c, v, "release timeout: expected 1s to 24h");
				goto fail;
			}
		}
		if (cmd_n == NULL) {
			spec_at(c, n, "release: needs a cmd");
			goto fail;
		}
	}
	if (cmd_n->type == PAAS_Y_SEQ) {
		for (i = 0; i < cmd_n->n; i++) {
			if (spec_get_str(c, cmd_n->kids[i], "release cmd", &str) < 0)
				goto fail;
			json_array_append_new(cmd, json_string(str));
		}
	} else if (spec_get_str(c, cmd_n, "release cmd", &str) < 0 ||
	    spec_split_cmd(c, cmd_n, str, cmd) < 0)
		goto fail;
	if (json_array_size(cmd) == 0) {
		spec_at(c, cmd_n, "release: the command is empty");
		goto fail;
	}
	*out = json_pack("{s:o, s:I}", "cmd", cmd, "timeout_ms", (json_int_t)timeout);
	return 0;
fail:
	json_decref(cmd);
	return -1;
}

/* schedule: a cron expression, or {cron, timezone, overlap, missed,
 * timeout}: {"cron", "timezone", "overlap": "skip"|"allow",
 * "missed": "skip"|"run", "timeout_ms": N (0: none)}. */
int
spec_parse_schedule(struct ctx *c, const Y *n, json_t **out)
{
	static const char *const keys[] = { "cron", "timezone", "overlap", "missed", "timeout",
		NULL };
	const char *cron = NULL, *zone = "UTC", *overlap = "skip", *missed = "skip";
	const Y *cron_n = n, *zone_n = NULL;
	struct paas_cron cr;
	struct paas_tz *tz = NULL;
	struct paas_err e2 = PAAS_ERR_INIT;
	long timeout = 0;
	size_t i;

	*out = NULL;
	if (n->type == PAAS_Y_MAP) {
		cron_n = NULL;
		for (i = 0; i < n->n; i += 2) {
			const Y *k = n->kids[i], *v = n->kids[i + 1];

			if (!spec_key_in(k->s, keys))
				return spec_unknown_key(c, k, "schedule", keys);
			if (!strcmp(k->s, "cron"))
				cron_n = v;
			else if (!strcmp(k->s, "timezone")) {
				if (spec_get_str(c, v, "schedule timezone", &zone) < 0)
					return -1;
				zone_n = v;
			} else if (!strcmp(k->s, "timeout")) {
				if (spec_get_duration(c, v, "schedule timeout", &timeout) < 0)
					return -1;
				if (timeout < 1000 || timeout > 7 * 86400000L)
					return spec_at(c, v, "schedule timeout: expected 1s to 7d");
			} else {
				const char **dst = !strcmp(k->s, "overlap") ? &overlap : &missed;
				const char *other = dst == &overlap ? "allow" : "run";

				if (spec_get_str(c, v, k->s, dst) < 0)
					return -1;
				if (strcmp(*dst, "skip") && strcmp(*dst, other))
					return spec_at(c, v, "schedule %s: expected skip or %s", k->s,
					    other);
			}
		}
		if (cron_n == NULL)
			return spec_at(c, n, "schedule: needs a cron expression (cron: \"0 3 * * *\")");
	}
	if (spec_get_str(c, cron_n, "schedule", &cron) < 0)
		return -1;
	if (paas_cron_parse(cron, &cr, &e2) < 0)
		return spec_at(c, cron_n, "schedule: %s", e2.msg);
	if (paas_tz_load(zone, &tz, &e2) < 0)
		return spec_at(c, zone_n, "schedule timezone: %s", e2.msg);
	paas_tz_free(tz);
	*out = json_pack("{s:s, s:s, s:s, s:s, s:I}", "cron", cron, "timezone", zone, "overlap",
	    overlap, "missed", missed, "timeout_ms", (json_int_t)timeout);
	return 0;
}
