/*
 * A fleet cluster as a host (paas-cluster(1), hosts add --fleet): its
 * record, and the Global unit that runs an agent on each of its machines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "etcd.h"
#include "fleet.h"
#include "hosts.h"
#include "keys.h"
#include "paas-cluster.h"
#include "target.h"
#include "unit.h"
#include "valid.h"

#define AGENTS_MS	60000	/* for every machine's agent to register */
#define FLEET_MS	10000	/* for each request to fleet */

int
hosts_add_fleet(struct paas_etcd *e, const char *name, const char *endpoint,
    const char *agent_etcd, const char *agent_docker, json_t *labels)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_fleet *f = NULL;
	json_t *machines = NULL, *opts = NULL, *host, *have = NULL, *rec = NULL, *m;
	char *unit = NULL;
	long long t0;
	size_t i, up = 0;
	int existed = 0, rc;

	if (!paas_valid_name(name))
		return cli_bad_usage("invalid host name '%.64s': use lower-case letters, digits and "
		    "'-', starting with a letter", name);
	host = json_pack("{s:s, s:s, s:n, s:b, s:O, s:n, s:n, s:n}", "name", name, "fleet",
	    endpoint, "tls", "insecure", 0, "labels", labels, "cpu_milli", "memory_bytes",
	    "address");
	if ((f = paas_host_fleet(host, FLEET_MS, &err)) == NULL ||
	    paas_unit_agent(name, agent_etcd, agent_docker, &unit, &opts, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (paas_fleet_machines(f, &machines, &err) < 0) {
		paas_err_wrap(&err, "host %s not added", name);
		err.status = PAAS_EUNAVAIL;
		rc = cli_fail(&err);
		goto out;
	}
	if (host_find(e, name, &have, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (have && strcmp(str(have, "fleet"), endpoint) != 0) {
		paas_err_set(&err, PAAS_EFAILED, "host %s exists with another %s (paas-cluster hosts "
		    "rm %s first)", name, json_object_get(have, "fleet") ? "fleet endpoint" :
		    "Docker URL", name);
		rc = cli_fail(&err);
		goto out;
	}
	existed = have != NULL;
	if (!existed && paas_host_put(e, host, 1, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (paas_fleet_put(f, unit, opts, "launched", &err) < 0) {
		struct paas_err e2 = PAAS_ERR_INIT;

		if (!existed)
			paas_host_remove(e, name, &e2);
		paas_err_wrap(&err, "host %s not added", name);
		rc = cli_fail(&err);
		goto out;
	}
	/* Every machine's agent registered (a machine fleet lists but that
	 * does not come up is named). */
	t0 = paas_now_ms();
	json_array_foreach(machines, i, m) {
		char an[96], *key;

		snprintf(an, sizeof(an), "%s-%s", name, str(m, "id"));
		key = paas_key_agent(an);
		if (key_wait(e, key, AGENTS_MS - (paas_now_ms() - t0)))
			up++;
		else
			fprintf(stderr, "%s: warning: the agent of machine %.12s (%s) did not register "
			    "within %d s (journalctl -u %s there)\n", cli_prog, str(m, "id"),
			    str(m, "primaryIP"), AGENTS_MS / 1000, unit);
		free(key);
	}
	rec = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "host", name, "fleet", endpoint, "unit",
	    unit, "machines", (json_int_t)json_array_size(machines), "agents", (json_int_t)up,
	    "state", existed ? "unchanged" : "installed");
	paas_out_record("agent", rec);
	rc = up == json_array_size(machines) ? 0 : PAAS_EFAILED;
out:
	json_decref(machines);
	json_decref(opts);
	json_decref(host);
	json_decref(have);
	json_decref(rec);
	free(unit);
	paas_fleet_free(f);
	return rc;
}

int
hosts_rm_fleet(const json_t *host, struct paas_err *err)
{
	struct paas_fleet *f;
	char *unit;
	int rc;

	if ((f = paas_host_fleet(host, FLEET_MS, err)) == NULL)
		return -1;
	if (asprintf(&unit, "paas-agent-%s.service", str(host, "name")) < 0)
		abort();
	rc = paas_fleet_delete(f, unit, NULL, err);
	free(unit);
	paas_fleet_free(f);
	return rc;
}
