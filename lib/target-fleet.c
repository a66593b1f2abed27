/*
 * The fleet target (target.h): a fleet cluster is one host of the plan; an
 * instance is a unit (unit.h's paas_unit_instance) that fleet places on one
 * of its machines, and that it moves when the machine is lost.  What runs
 * is read back from the units' [X-Paas] sections and fleet's unit states;
 * the instance answers at its machine's primary IP.  The mux at the end
 * gives each host of a run the target of its kind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fleet.h"
#include "jsonx.h"
#include "target.h"
#include "unit.h"

struct fleet_target {
	struct paas_target base;
	const json_t *hosts;
	struct paas_fleet **f;
	size_t n;
};

static struct fleet_target *
ft(struct paas_target *t)
{
	return (struct fleet_target *)t;
}

int
paas_host_is_fleet(const json_t *h)
{
	return json_is_string(json_object_get(h, "fleet"));
}

struct paas_fleet *
paas_host_fleet(const json_t *h, long timeout_ms, struct paas_err *err)
{
	struct paas_http_opts o = { 0 };

	o.timeout_ms = timeout_ms;
	o.connect_timeout_ms = timeout_ms < 5000 ? timeout_ms : 5000;
	return paas_fleet_new(paas_json_str(h, "fleet", ""), &o, err);
}

/* The value of the first option section/name of unit u, or NULL. */
static const char *
opt(const json_t *u, const char *section, const char *name)
{
	const json_t *o;
	size_t i;

	json_array_foreach(json_object_get(u, "options"), i, o)
		if (strcmp(paas_json_str(o, "section", ""), section) == 0 &&
		    strcmp(paas_json_str(o, "name", ""), name) == 0)
			return json_string_value(json_object_get(o, "value"));
	return NULL;
}

/* The [X-Paas] field name of unit u, or def. */
static const char *
xp(const json_t *u, const char *name, const char *def)
{
	const char *v = opt(u, "X-Paas", name);

	return v ? v : def;
}

/* The state of unit name in states (fleet's), or NULL. */
static const json_t *
state_of(const json_t *states, const char *name)
{
	const json_t *s;
	size_t i;

	json_array_foreach(states, i, s)
		if (strcmp(paas_json_str(s, "name", ""), name) == 0)
			return s;
	return NULL;
}

int
paas_fleet_instances(struct paas_fleet *f, json_t **out, struct paas_err *err)
{
	json_t *units = NULL, *states = NULL, *by = json_object(), *u, *o, *s;
	size_t i, k;

	*out = NULL;
	if (paas_fleet_units(f, &units, err) < 0 || paas_fleet_states(f, NULL, NULL, &states,
	    err) < 0) {
		json_decref(units);
		json_decref(by);
		return -1;
	}
	json_array_foreach(states, i, s)
		json_object_set(by, paas_json_str(s, "name", ""), s);
	*out = json_array();
	json_array_foreach(units, i, u) {
		const char *name = paas_json_str(u, "name", ""), *dep, *active;
		const json_t *st = json_object_get(by, name);
		json_t *ports, *host_ports;
		int running;

		if ((dep = xp(u, "Deployment", NULL)) == NULL)
			continue;
		ports = json_object();
		host_ports = json_array();
		json_array_foreach(json_object_get(u, "options"), k, o) {
			const char *v = paas_json_str(o, "value", ""), *c;
			char pk[16];

			if (strcmp(paas_json_str(o, "section", ""), "X-Paas") != 0 ||
			    strcmp(paas_json_str(o, "name", ""), "Port") != 0 ||
			    (c = strchr(v, ':')) == NULL)
				continue;
			snprintf(pk, sizeof(pk), "%.*s", (int)(c - v), v);
			json_object_set_new(ports, pk, json_integer(strtoll(c + 1, NULL, 10)));
			json_array_append_new(host_ports, json_integer(strtoll(c + 1, NULL, 10)));
		}
		/* Launched and not failed counts as running: a unit fleet
		 * has not placed yet, or that systemd is starting, is on its
		 * way; one whose machine was lost fleet places again. */
		active = st ? paas_json_str(st, "systemdActiveState", "") : "unplaced";
		running = strcmp(paas_json_str(u, "desiredState", ""), "launched") == 0 &&
		    strcmp(active, "failed") != 0;
		json_array_append_new(*out, json_pack("{s:s, s:s, s:b, s:s, s:I, s:s, s:s, s:s, s:s, "
		    "s:I, s:I, s:I, s:o, s:o, s:s?, s:s}", "id", name,
		    "name", xp(u, "Container", name), "running", running, "state", active,
		    "created", (json_int_t)0, "deployment", dep, "service", xp(u, "Service", ""),
		    "instance", xp(u, "Instance", ""), "version", xp(u, "Version", ""),
		    "release", (json_int_t)strtoll(xp(u, "Release", "0"), NULL, 10),
		    "cpu_milli", (json_int_t)strtoll(xp(u, "CpuMilli", "0"), NULL, 10),
		    "memory_bytes", (json_int_t)strtoll(xp(u, "MemoryBytes", "0"), NULL, 10),
		    "ports", ports, "host_ports", host_ports,
		    "machine", st ? json_string_value(json_object_get(st, "machineID")) : NULL,
		    "desired", paas_json_str(u, "desiredState", "")));
	}
	json_decref(units);
	json_decref(states);
	json_decref(by);
	return 0;
}

static int
f_list(struct paas_target *t, size_t h, json_t **out, struct paas_err *err)
{
	return paas_fleet_instances(ft(t)->f[h], out, err);
}

/* The machines pull the image when they start the unit. */
static int
f_image(struct paas_target *t, size_t h, const char *image, const char *auth, char **id,
    struct paas_err *err)
{
	(void)t;
	(void)h;
	(void)auth;
	(void)err;
	*id = paas_xstrdup(image);
	return 0;
}

static int
f_start(struct paas_target *t, size_t h, const struct paas_instance_spec *is, char **id,
    char **name, int *port_taken, struct paas_err *err)
{
	struct paas_fleet *f = ft(t)->f[h];
	json_t *opts = NULL;
	char *unit = NULL;

	*id = *name = NULL;
	*port_taken = 0;
	if (paas_unit_instance(is->spec, is, &unit, &opts, err) < 0)
		return -1;
	/* A unit of that name left by a run that died goes first: fleet
	 * takes other options under an existing name as a new unit anyway. */
	if (paas_fleet_delete(f, unit, NULL, err) < 0 ||
	    paas_fleet_put(f, unit, opts, "launched", err) < 0) {
		free(unit);
		json_decref(opts);
		return -1;
	}
	if (asprintf(name, "%s-%s-%.8s-%s-%lld", is->deployment, is->service, is->version,
	    is->instance, (long long)is->release) < 0)
		abort();
	*id = unit;
	json_decref(opts);
	return 0;
}

/* 1 when the unit is gone, failed, or stopped as asked (err says which),
 * else 0. */
static int
f_exited(struct paas_target *t, size_t h, const char *id, struct paas_err *err)
{
	struct paas_fleet *f = ft(t)->f[h];
	struct paas_err e2 = PAAS_ERR_INIT;
	json_t *u = NULL, *states = NULL;
	const json_t *st;
	int gone = 0;

	if (paas_fleet_unit(f, id, &u, &e2) < 0)
		return 0;
	if (u == NULL) {
		paas_err_set(err, PAAS_EFAILED, "fleet has no unit %s", id);
		return 1;
	}
	if (paas_fleet_states(f, NULL, id, &states, &e2) == 0) {
		const char *a;

		st = state_of(states, id);
		a = st ? paas_json_str(st, "systemdActiveState", "") : "";
		if (strcmp(a, "failed") == 0) {
			paas_err_set(err, PAAS_EFAILED, "unit %s failed on machine %.12s (%s)", id,
			    paas_json_str(st, "machineID", "?"), paas_json_str(st, "systemdSubState",
			    ""));
			gone = 1;
		} else if (strcmp(paas_json_str(u, "desiredState", ""), "launched") != 0 &&
		    strcmp(a, "active") != 0 && strcmp(a, "deactivating") != 0 &&
		    strcmp(a, "activating") != 0 && strcmp(a, "reloading") != 0) {
			paas_err_set(err, PAAS_EFAILED, "unit %s is stopped (%s)", id, st ? a :
			    "not on a machine");
			gone = 1;
		}
	}
	json_decref(u);
	json_decref(states);
	return gone;
}

/* Destroyed: fleet's agent on the machine stops it (the container's init
 * passes SIGTERM on) and unloads it.  Waiting for fleet to report the
 * unit inactive would cost its reporting lag (seconds) for nothing: the
 * instance was withdrawn and drained before, and a unit fleet no longer
 * has is one exited() calls gone. */
static int
f_signal_stop(struct paas_target *t, size_t h, const char *id, struct paas_err *err)
{
	return paas_fleet_delete(ft(t)->f[h], id, NULL, err);
}

static int
f_stop(struct paas_target *t, size_t h, const char *id, int timeout_s, struct paas_err *err)
{
	(void)timeout_s;
	return f_signal_stop(t, h, id, err);
}

static int
f_remove(struct paas_target *t, size_t h, const char *id, struct paas_err *err)
{
	return paas_fleet_delete(ft(t)->f[h], id, NULL, err);
}

static int
f_logs(struct paas_target *t, size_t h, const char *id, int lines, struct paas_buf *out,
    struct paas_err *err)
{
	(void)lines;
	(void)out;
	return paas_err_set(err, PAAS_EFAILED, "fleet does not serve output: `journalctl -u %s` "
	    "on its machine (fleet %s)", id, paas_fleet_endpoint(ft(t)->f[h]));
}

static int
f_port_free(struct paas_target *t, size_t h, long long p)
{
	(void)t;
	(void)h;
	(void)p;
	return 1;
}

static int
f_address(struct paas_target *t, size_t h, const char *id, char **addr, struct paas_err *err)
{
	struct paas_fleet *f = ft(t)->f[h];
	json_t *states = NULL, *machines = NULL, *m;
	const json_t *st;
	const char *mid;
	size_t i;
	int rc = -1;

	*addr = NULL;
	if (paas_fleet_states(f, NULL, id, &states, err) < 0)
		return -1;
	if ((st = state_of(states, id)) == NULL || (mid = json_string_value(json_object_get(st,
	    "machineID"))) == NULL) {
		paas_err_set(err, PAAS_EFAILED, "fleet has not placed %s on a machine", id);
		goto out;
	}
	if (paas_fleet_machines(f, &machines, err) < 0)
		goto out;
	json_array_foreach(machines, i, m)
		if (strcmp(paas_json_str(m, "id", ""), mid) == 0 &&
		    json_string_value(json_object_get(m, "primaryIP"))) {
			*addr = paas_xstrdup(json_string_value(json_object_get(m, "primaryIP")));
			rc = 0;
			goto out;
		}
	paas_err_set(err, PAAS_EFAILED, "%s is on machine %.12s, which fleet no longer lists", id,
	    mid);
out:
	json_decref(states);
	json_decref(machines);
	return rc;
}

static void
f_free(struct paas_target *t)
{
	size_t i;

	for (i = 0; i < ft(t)->n; i++)
		paas_fleet_free(ft(t)->f[i]);
	free(ft(t)->f);
	free(t);
}

/* Jobs run where an agent can start their runs: Docker hosts. */
static int
f_jobs(struct paas_target *t, size_t h, const char *dep, const struct paas_instance_spec *is,
    size_t n, struct paas_err *err)
{
	(void)dep;
	if (n == 0)
		return 0;
	return paas_err_set(err, PAAS_EINVAL, "service %s is a job: jobs run on Docker hosts, and "
	    "%s is a fleet cluster (a constraint keeps the job off it)", is->service,
	    json_string_value(json_object_get(json_array_get(ft(t)->hosts, h), "name")));
}

static const struct paas_target_ops fleet_ops = {
	f_list, f_image, f_start, f_exited, f_stop, f_signal_stop, f_remove, f_logs, f_port_free,
	f_address, f_jobs, f_free,
};

struct paas_target *
paas_target_fleet(const json_t *hosts, long timeout_ms, struct paas_err *err)
{
	struct fleet_target *t = paas_xmalloc(sizeof(*t));
	size_t i;

	t->base.ops = &fleet_ops;
	t->hosts = hosts;
	t->n = 0;
	t->f = paas_xmalloc((json_array_size(hosts) ? json_array_size(hosts) : 1) * sizeof(*t->f));
	for (i = 0; i < json_array_size(hosts); i++) {
		const json_t *h = json_array_get(hosts, i);

		if ((t->f[i] = paas_host_fleet(h, timeout_ms, err)) == NULL) {
			paas_err_wrap(err, "host %s", paas_json_str(h, "name", "?"));
			f_free(&t->base);
			return NULL;
		}
		t->n++;
	}
	return &t->base;
}

/* The mux: host i is index[i] of docker or of fleet. ------------------- */

struct mux_target {
	struct paas_target base;
	json_t *dh, *fh;		/* the hosts of each kind */
	struct paas_target *docker, *fleet;
	size_t *index;
	unsigned char *is_fleet;
	size_t n;
};

#define MUX(t) ((struct mux_target *)(t))
#define SUB(t, h) (MUX(t)->is_fleet[h] ? MUX(t)->fleet : MUX(t)->docker)
#define IDX(t, h) (MUX(t)->index[h])

static int
m_list(struct paas_target *t, size_t h, json_t **out, struct paas_err *err)
{
	return SUB(t, h)->ops->list(SUB(t, h), IDX(t, h), out, err);
}

static int
m_image(struct paas_target *t, size_t h, const char *image, const char *auth, char **id,
    struct paas_err *err)
{
	return SUB(t, h)->ops->image(SUB(t, h), IDX(t, h), image, auth, id, err);
}

static int
m_start(struct paas_target *t, size_t h, const struct paas_instance_spec *is, char **id,
    char **name, int *port_taken, struct paas_err *err)
{
	return SUB(t, h)->ops->start(SUB(t, h), IDX(t, h), is, id, name, port_taken, err);
}

static int
m_exited(struct paas_target *t, size_t h, const char *id, struct paas_err *err)
{
	return SUB(t, h)->ops->exited(SUB(t, h), IDX(t, h), id, err);
}

static int
m_stop(struct paas_target *t, size_t h, const char *id, int timeout_s, struct paas_err *err)
{
	return SUB(t, h)->ops->stop(SUB(t, h), IDX(t, h), id, timeout_s, err);
}

static int
m_signal_stop(struct paas_target *t, size_t h, const char *id, struct paas_err *err)
{
	return SUB(t, h)->ops->signal_stop(SUB(t, h), IDX(t, h), id, err);
}

static int
m_remove(struct paas_target *t, size_t h, const char *id, struct paas_err *err)
{
	return SUB(t, h)->ops->remove(SUB(t, h), IDX(t, h), id, err);
}

static int
m_logs(struct paas_target *t, size_t h, const char *id, int lines, struct paas_buf *out,
    struct paas_err *err)
{
	return SUB(t, h)->ops->logs(SUB(t, h), IDX(t, h), id, lines, out, err);
}

static int
m_port_free(struct paas_target *t, size_t h, long long p)
{
	return SUB(t, h)->ops->port_free(SUB(t, h), IDX(t, h), p);
}

static int
m_address(struct paas_target *t, size_t h, const char *id, char **addr, struct paas_err *err)
{
	*addr = NULL;
	if (SUB(t, h)->ops->address == NULL)
		return 0;
	return SUB(t, h)->ops->address(SUB(t, h), IDX(t, h), id, addr, err);
}

static int
m_jobs(struct paas_target *t, size_t h, const char *dep, const struct paas_instance_spec *is,
    size_t n, struct paas_err *err)
{
	return SUB(t, h)->ops->jobs(SUB(t, h), IDX(t, h), dep, is, n, err);
}

static void
m_free(struct paas_target *t)
{
	paas_target_free(MUX(t)->docker);
	paas_target_free(MUX(t)->fleet);
	json_decref(MUX(t)->dh);
	json_decref(MUX(t)->fh);
	free(MUX(t)->index);
	free(MUX(t)->is_fleet);
	free(t);
}

static const struct paas_target_ops mux_ops = {
	m_list, m_image, m_start, m_exited, m_stop, m_signal_stop, m_remove, m_logs, m_port_free,
	m_address, m_jobs, m_free,
};

struct paas_target *
paas_target_hosts(const json_t *hosts, long timeout_ms, struct paas_err *err)
{
	struct mux_target *t;
	const json_t *h;
	size_t i, n = json_array_size(hosts);

	for (i = 0; i < n && !paas_host_is_fleet(json_array_get(hosts, i)); i++)
		;
	if (i == n)
		return paas_target_docker(hosts, timeout_ms, err);
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		abort();
	t->base.ops = &mux_ops;
	t->dh = json_array();
	t->fh = json_array();
	t->index = paas_xmalloc(n * sizeof(*t->index));
	t->is_fleet = paas_xmalloc(n);
	t->n = n;
	json_array_foreach(hosts, i, h) {
		t->is_fleet[i] = (unsigned char)paas_host_is_fleet(h);
		t->index[i] = json_array_size(t->is_fleet[i] ? t->fh : t->dh);
		json_array_append(t->is_fleet[i] ? t->fh : t->dh, (json_t *)h);
	}
	if ((t->docker = paas_target_docker(t->dh, timeout_ms, err)) == NULL ||
	    (t->fleet = paas_target_fleet(t->fh, timeout_ms, err)) == NULL) {
		m_free(&t->base);
		return NULL;
	}
	return &t->base;
}
