/*
 * Hosts enrolled and removed.  See enrol.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "docker.h"
#include "enrol.h"
#include "etcd.h"
#include "fleet.h"
#include "hosts.h"
#include "jsonx.h"
#include "keys.h"
#include "registry.h"
#include "ssh.h"
#include "target.h"
#include "unit.h"

#define AGENT_MS	30000	/* for an agent installed over SSH to register */
#define AGENTS_MS	60000	/* for every fleet machine's agent to register */
#define FLEET_MS	10000	/* for each request to fleet */
#define S(o, k)		paas_json_str(o, k, "-")

static void
warn(const struct paas_enrol *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
warn(const struct paas_enrol *o, const char *fmt, ...)
{
	char msg[PAAS_ERR_MSG_MAX + 100];
	va_list ap;
	json_t *ev;

	if (o->event == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ev = json_pack("{s:s, s:s}", "kind", "warning", "message", msg);
	o->event(ev, o->arg);
	json_decref(ev);
}

int
paas_enrol_agent(struct paas_etcd *e, const struct paas_install_agent *ai, int *changed,
    int *started, struct paas_err *err)
{
	char *key = paas_key_agent(ai->host), *why = NULL;
	int found;

	if (paas_install_agent(ai, changed, started, err) < 0) {
		free(key);
		return -1;
	}
	found = paas_etcd_wait_key(e, key, AGENT_MS);
	free(key);
	if (found)
		return 0;
	if (paas_install_active(PAAS_UNITTEXT_AGENT, ai->target, &why, err) < 0)
		return -1;
	if (why)
		paas_err_set(err, PAAS_EUNAVAIL, "the agent on %s did not register in etcd in 30 s: "
		    "%s", ai->target, why);
	else
		paas_err_set(err, PAAS_EUNAVAIL, "the agent on %s runs but did not register in etcd "
		    "in 30 s: can it reach %s from there?", ai->target, ai->etcd);
	free(why);
	return -1;
}

/* An ssh:// host has the Docker CLI, and the user may use its daemon: else
 * why not, in the words of the host (a constant command: no user data
 * reaches its shell). */
static int
ssh_docker_ok(const char *target, struct paas_err *err)
{
	struct paas_buf out = PAAS_BUF_INIT;
	int st, rc;

	if (paas_ssh_run(target, "docker version --format '{{.Server.Version}}'", 15000, &out,
	    &st, err) < 0) {
		paas_buf_free(&out);
		return -1;
	}
	if ((rc = st) != 0) {
		char *nl;

		paas_buf_rstrip(&out, "\n ");
		/* Its last line says why: the daemon refused, or no docker. */
		nl = out.data ? strrchr(out.data, '\n') : NULL;
		paas_err_set(err, PAAS_EUNAVAIL, "docker on ssh://%s: %s%s", target,
		    st == 127 ? "no docker command there: " : "",
		    nl ? nl + 1 : out.len ? out.data : "it failed");
	}
	paas_buf_free(&out);
	return rc == 0 ? 0 : -1;
}

/* A fleet cluster as a host: its record, and the Global unit that runs an
 * agent on each of its machines, each of which must register. */
static int
add_fleet(struct paas_etcd *e, const struct paas_enrol *o, json_t **agent, struct paas_err *err)
{
	struct paas_fleet *f = NULL;
	json_t *machines = NULL, *opts = NULL, *host, *have = NULL, *m;
	char *unit = NULL;
	long long t0;
	size_t i, up = 0;
	int existed = 0, rc = -1;

	host = json_pack("{s:s, s:s, s:n, s:b, s:O, s:n, s:n, s:n}", "name", o->name, "fleet",
	    o->fleet, "tls", "insecure", 0, "labels", o->labels, "cpu_milli", "memory_bytes",
	    "address");
	if ((f = paas_host_fleet(host, FLEET_MS, err)) == NULL ||
	    paas_unit_agent(o->name, o->agent_etcd, o->agent_docker, &unit, &opts, err) < 0)
		goto out;
	if (paas_fleet_machines(f, &machines, err) < 0) {
		paas_err_wrap(err, "host %s not added", o->name);
		err->status = PAAS_EUNAVAIL;
		goto out;
	}
	if (paas_host_find(e, o->name, &have, err) < 0)
		goto out;
	if (have && strcmp(S(have, "fleet"), o->fleet) != 0) {
		paas_err_set(err, PAAS_EFAILED, "host %s exists with another %s (paas-cluster hosts "
		    "rm %s first)", o->name, json_object_get(have, "fleet") ? "fleet endpoint" :
		    "Docker URL", o->name);
		goto out;
	}
	existed = have != NULL;
	if (!existed && paas_host_put(e, host, 1, err) < 0)
		goto out;
	if (paas_fleet_put(f, unit, opts, "launched", err) < 0) {
		struct paas_err e2 = PAAS_ERR_INIT;

		if (!existed)
			paas_host_remove(e, o->name, &e2);
		paas_err_wrap(err, "host %s not added", o->name);
		goto out;
	}
	/* Every machine's agent registered (a machine fleet lists but that
	 * does not come up is named). */
	t0 = paas_now_ms();
	json_array_foreach(machines, i, m) {
		char an[96], *key;

		snprintf(an, sizeof(an), "%s-%s", o->name, S(m, "id"));
		key = paas_key_agent(an);
		if (paas_etcd_wait_key(e, key, AGENTS_MS - (paas_now_ms() - t0)))
			up++;
		else
			warn(o, "the agent of machine %.12s (%s) did not register within %d s "
			    "(journalctl -u %s there)", S(m, "id"), S(m, "primaryIP"), AGENTS_MS / 1000,
			    unit);
		free(key);
	}
	*agent = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "host", o->name, "fleet", o->fleet,
	    "unit", unit, "machines", (json_int_t)json_array_size(machines), "agents",
	    (json_int_t)up, "state", existed ? "unchanged" : "installed");
	rc = 0;
out:
	json_decref(machines);
	json_decref(opts);
	json_decref(host);
	json_decref(have);
	free(unit);
	paas_fleet_free(f);
	return rc;
}

/* hosts add --ssh: the agent installed there and registered; nothing left
 * of a new host when it is not. */
static int
add_agent(struct paas_etcd *e, const struct paas_enrol *o, const char *docker, int existed,
    json_t **agent, struct paas_err *err)
{
	struct paas_install_agent ai = { 0 };
	int changed = 0;

	ai.target = o->ssh;
	ai.host = o->name;
	ai.etcd = o->agent_etcd;
	ai.docker = o->agent_docker;
	ai.auth = o->agent_auth;
	if (paas_enrol_agent(e, &ai, &changed, NULL, err) < 0) {
		struct paas_err e2 = PAAS_ERR_INIT;

		/* Nothing recorded that was not there before, and what was
		 * written there removed (nothing when the host was refused
		 * before a file was written). */
		if (!existed) {
			paas_host_remove(e, o->name, &e2);
			if (changed)
				paas_install_remove(PAAS_UNITTEXT_AGENT, o->ssh, &e2);
		}
		paas_err_wrap(err, "host %s not added", o->name);
		return -1;
	}
	*agent = json_pack("{s:s, s:s, s:s}", "host", o->name, "docker", docker, "state",
	    !existed ? "installed" : changed ? "updated" : "unchanged");
	return 0;
}

/* The cluster's registry trusted by this machine's Docker daemons (the
 * host's, when it is one of them); a remote machine's are the operator's
 * to set up (paas-cluster(1), The registry). */
static void
trust_registry(struct paas_etcd *e, const struct paas_enrol *o)
{
	struct paas_err e2 = PAAS_ERR_INIT;
	json_t *reg = NULL;
	const char *pem;

	if (paas_registry_get(e, &reg, &e2) == 0 && reg &&
	    (pem = json_string_value(json_object_get(reg, "ca"))) != NULL &&
	    paas_registry_trust(json_string_value(json_object_get(reg, "address")), pem, NULL,
	    &e2) < 0)
		warn(o, "the registry's CA is not trusted here: %s", e2.msg);
	json_decref(reg);
}

/* The host's record as hosts add writes it. */
static json_t *
record(const struct paas_enrol *o, const char *docker)
{
	json_t *host = json_pack("{s:s, s:s, s:o, s:b, s:O, s:o, s:o}", "name", o->name, "docker",
	    docker, "tls", o->tls_ca ? json_pack("{s:s, s:s, s:s}", "ca", o->tls_ca, "cert",
	    o->tls_cert, "key", o->tls_key) : json_null(), "insecure", o->insecure, "labels",
	    o->labels, "cpu_milli", o->cpu_milli ? json_integer(o->cpu_milli) : json_null(),
	    "memory_bytes", o->memory_bytes ? json_integer(o->memory_bytes) : json_null());

	json_object_set_new(host, "address", o->address ? json_string(o->address) : json_null());
	if (o->ssh)
		json_object_set_new(host, "managed_agent", json_true());
	return host;
}

int
paas_enrol_add(struct paas_etcd *e, const struct paas_enrol *o, json_t **agent,
    struct paas_err *err)
{
	struct paas_docker *d = NULL;
	json_t *host = NULL, *version = NULL;
	char sshurl[300];
	const char *docker = o->docker;
	int existed = 0, rc = -1;

	*agent = NULL;
	if (o->fleet)
		return add_fleet(e, o, agent, err);
	if (o->ssh) {
		snprintf(sshurl, sizeof(sshurl), "ssh://%s", o->ssh);
		docker = sshurl;
	}
	host = record(o, docker);
	/* A bad URL or plain TCP without --insecure is refused here, exit 3. */
	if ((d = paas_host_docker(host, 5000, err)) == NULL)
		goto out;
	if (o->check && strncmp(docker, "ssh://", 6) == 0 && ssh_docker_ok(docker + 6, err) < 0) {
		paas_err_wrap(err, "host %s not added", o->name);
		goto out;
	}
	if (o->check && paas_docker_version(d, &version, err) < 0) {
		paas_err_wrap(err, "host %s not added", o->name);
		err->status = PAAS_EUNAVAIL;
		goto out;
	}
	if (o->ssh) {
		/* Run again: the same host, its agent brought up to date. */
		json_t *h;

		if (paas_host_find(e, o->name, &h, err) < 0)
			goto out;
		if (h)
			existed = strcmp(S(h, "docker"), docker) == 0 ? 1 : -1;
		json_decref(h);
		if (existed < 0) {
			paas_err_set(err, PAAS_EFAILED, "host %s exists with another Docker URL "
			    "(paas-cluster hosts rm %s first)", o->name, o->name);
			goto out;
		}
	}
	if ((!existed && paas_host_put(e, host, 1, err) < 0) ||
	    (o->ssh && add_agent(e, o, docker, existed, agent, err) < 0))
		goto out;
	trust_registry(e, o);
	rc = 0;
out:
	json_decref(host);
	json_decref(version);
	paas_docker_free(d);
	return rc;
}

/* The Global agent unit of a fleet host gone from its fleet. */
static int
remove_fleet(const json_t *host, struct paas_err *err)
{
	struct paas_fleet *f;
	char *unit;
	int rc;

	if ((f = paas_host_fleet(host, FLEET_MS, err)) == NULL)
		return -1;
	if (asprintf(&unit, "paas-agent-%s.service", S(host, "name")) < 0)
		abort();
	rc = paas_fleet_delete(f, unit, NULL, err);
	free(unit);
	paas_fleet_free(f);
	return rc;
}

int
paas_enrol_remove(struct paas_etcd *e, const char *name, int force, paas_event_fn event,
    void *arg, struct paas_err *err)
{
	struct paas_enrol o = { 0 };
	json_t *found;
	int rc = 0;

	o.event = event;
	o.arg = arg;
	if (paas_host_find(e, name, &found, err) < 0)
		return -1;
	/* Its agent first: a fleet host's Global unit, or what --ssh installed. */
	if (found && paas_host_is_fleet(found))
		rc = remove_fleet(found, err);
	else if (found && json_is_true(json_object_get(found, "managed_agent")) &&
	    strncmp(S(found, "docker"), "ssh://", 6) == 0)
		rc = paas_install_remove(PAAS_UNITTEXT_AGENT, S(found, "docker") + 6, err);
	json_decref(found);
	if (rc < 0) {
		if (!force) {
			paas_err_wrap(err, "host %s kept (--force removes its record anyway)", name);
			return -1;
		}
		warn(&o, "%s; its record is removed anyway", err->msg);
		paas_err_clear(err);
	}
	return paas_host_remove(e, name, err);
}
