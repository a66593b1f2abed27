#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonx.h"
#include "place.h"
#include "spec.h"

void
paas_place_mark_port(struct paas_place_host *h, long long port)
{
	if (port >= PAAS_PORT_MIN && port <= PAAS_PORT_MAX)
		h->ports[(port - PAAS_PORT_MIN) / 8] |= 1u << ((port - PAAS_PORT_MIN) % 8);
}

static long long
port_pick(struct paas_place_host *h)
{
	long long p;

	for (p = PAAS_PORT_MIN; p <= PAAS_PORT_MAX; p++) {
		if (h->ports[(p - PAAS_PORT_MIN) / 8] & (1u << ((p - PAAS_PORT_MIN) % 8)))
			continue;
		paas_place_mark_port(h, p);
		if (h->port_free == NULL || h->port_free(h->port_arg, p))
			return p;
	}
	return 0;
}

json_t *
paas_place_ports(struct paas_place_host *h, const json_t *svc, struct paas_err *err)
{
	const json_t *health = json_object_get(svc, "health"), *p;
	json_t *ports = json_object();
	const char *k;
	char pp[16];
	size_t i;

	json_array_foreach(json_object_get(svc, "ports"), i, p) {
		snprintf(pp, sizeof(pp), "%lld", (long long)json_integer_value(p));
		json_object_set_new(ports, pp, json_integer(port_pick(h)));
	}
	if (json_is_object(health)) {
		snprintf(pp, sizeof(pp), "%lld", (long long)json_integer_value(json_object_get(health, "port")));
		if (!json_object_get(ports, pp))
			json_object_set_new(ports, pp, json_integer(port_pick(h)));
	}
	json_object_foreach(ports, k, p)
		if (json_integer_value(p) == 0) {
			json_decref(ports);
			paas_err_set(err, PAAS_EFAILED, "host %s has no free port in %d-%d", h->name,
			    PAAS_PORT_MIN, PAAS_PORT_MAX);
			return NULL;
		}
	return ports;
}

static long long
count_on(const struct paas_place_host *h, const char *svc)
{
	return json_integer_value(json_object_get(h->count, svc));
}

static void
count_add(struct paas_place_host *h, const char *svc, const json_t *s)
{
	const json_t *res = json_object_get(s, "resources");

	json_object_set_new(h->count, svc, json_integer(count_on(h, svc) + 1));
	h->cpu_used += json_integer_value(json_object_get(res, "cpu_milli"));
	h->mem_used += json_integer_value(json_object_get(res, "memory_bytes"));
}

static long long
count_all(const struct paas_place_host *h)
{
	const char *k;
	json_t *v;
	long long n = 0;

	json_object_foreach((json_t *)h->count, k, v)
		n += json_integer_value(v);
	return n;
}

/* The constraints of svc that h's labels do not meet, appended to why. */
static void
misfit(const struct paas_place_host *h, const json_t *svc, struct paas_buf *why)
{
	const json_t *v;
	const char *k, *has;

	json_object_foreach((json_t *)json_object_get(svc, "constraints"), k, v) {
		has = json_string_value(json_object_get(h->labels, k));
		if (has == NULL)
			paas_buf_addf(why, ", wants %s=%s, has no %s", k, json_string_value(v), k);
		else if (strcmp(has, json_string_value(v)) != 0)
			paas_buf_addf(why, ", wants %s=%s, has %s=%s", k, json_string_value(v), k, has);
	}
}

int
paas_place_allows(const struct paas_place_host *h, const json_t *svc)
{
	struct paas_buf why = PAAS_BUF_INIT;
	int ok;

	misfit(h, svc, &why);
	ok = why.len == 0;
	paas_buf_free(&why);
	return ok;
}

/* Why service svc cannot go on h (appended to why), or 0 when it can. */
static int
unfit(const struct paas_plan *p, const struct paas_place_host *h, const char *name,
    const json_t *svc, struct paas_buf *why)
{
	const json_t *o;
	const json_t *res = json_object_get(svc, "resources");
	const char *k;
	long long cpu = json_integer_value(json_object_get(res, "cpu_milli"));
	long long mem = json_integer_value(json_object_get(res, "memory_bytes"));
	size_t n0 = why->len;

	if (h->scheduler)
		goto capacity;
	misfit(h, svc, why);
	json_object_foreach((json_t *)json_object_get(p->spec, "services"), k, o) {
		if (count_on(h, k) == 0)
			continue;
		if (paas_json_has(json_object_get(svc, "conflicts"), k))
			paas_buf_addf(why, ", runs %s (conflicts)", k);
		else if (paas_json_has(json_object_get(o, "conflicts"), name))
			paas_buf_addf(why, ", runs %s, which conflicts with %s", k, name);
	}
capacity:
	if (h->cpu_cap && cpu && h->cpu_used + cpu > h->cpu_cap)
		paas_buf_addf(why, ", needs %lld milli-CPUs, %lld of %lld free", cpu,
		    h->cpu_cap > h->cpu_used ? h->cpu_cap - h->cpu_used : 0, h->cpu_cap);
	if (h->mem_cap && mem && h->mem_used + mem > h->mem_cap)
		paas_buf_addf(why, ", needs %lld MiB of memory, %lld of %lld MiB free", mem >> 20,
		    h->mem_cap > h->mem_used ? (h->mem_cap - h->mem_used) >> 20 : 0, h->mem_cap >> 20);
	return why->len > n0;
}

/* Whether x is a better home than best for an instance of svc: the host
 * the instance ran on (prefer), then fewest of the service, then fewest of
 * the deployment; hosts come in name order, so ties go to the first. */
static int
better(const struct paas_place_host *x, const struct paas_place_host *best,
    const struct paas_place_host *prefer, const char *svc)
{
	if ((x == prefer) != (best == prefer))
		return x == prefer;
	if (count_on(x, svc) != count_on(best, svc))
		return count_on(x, svc) < count_on(best, svc);
	return count_all(x) < count_all(best);
}

static struct paas_place_action *
add_action(struct paas_plan *p, const char *service, const json_t *svc, const char *instance,
    const char *version)
{
	struct paas_place_action *a;

	p->acts = paas_xrealloc(p->acts, (p->nacts + 1) * sizeof(*p->acts));
	a = &p->acts[p->nacts++];
	memset(a, 0, sizeof(*a));
	a->service = service;
	a->svc = svc;
	a->instance = paas_xstrdup(instance);
	memcpy(a->version, version, 17);
	return a;
}

void
paas_plan_free(struct paas_plan *p)
{
	size_t i;

	for (i = 0; i < p->nacts; i++) {
		free(p->acts[i].instance);
		free(p->acts[i].old);
		json_decref(p->acts[i].ports);
	}
	free(p->acts);
	p->acts = NULL;
	p->nacts = 0;
}

/* The instance IDs a service wants: "1".."N", or for a global service the
 * names of the hosts its constraints allow. */
static json_t *
wanted_ids(const struct paas_plan *p, const json_t *svc)
{
	json_t *ids = json_array();
	long long i, n = json_integer_value(json_object_get(svc, "instances"));

	if (json_is_true(json_object_get(svc, "global"))) {
		for (i = 0; i < (long long)p->nhosts; i++) {
			const json_t *v;
			const char *k;
			int ok = 1;

			json_object_foreach((json_t *)json_object_get(svc, "constraints"), k, v)
				if (!json_equal(json_object_get(p->hosts[i]->labels, k), v))
					ok = 0;
			if (ok)
				json_array_append_new(ids, json_string(p->hosts[i]->name));
		}
		return ids;
	}
	for (i = 1; i <= n; i++)
		json_array_append_new(ids, json_sprintf("%lld", i));
	return ids;
}

/* The best fit host for instance id of service name, or NULL with err
 * naming each host and why not. */
static struct paas_place_host *
choose(struct paas_plan *p, const char *name, const json_t *svc, const char *id,
    const struct paas_place_host *prefer, struct paas_err *err)
{
	struct paas_place_host *best = NULL;
	struct paas_buf why = PAAS_BUF_INIT;
	size_t h;

	for (h = 0; h < p->nhosts; h++) {
		struct paas_place_host *x = p->hosts[h];
		size_t n0 = why.len;

		if (json_is_true(json_object_get(svc, "global")) && strcmp(x->name, id))
			continue;
		paas_buf_addf(&why, "; %s", x->name);
		if (unfit(p, x, name, svc, &why)) {
			/* "; a, wants role=web" -> "; a: wants role=web" */
			why.data[n0 + 2 + strlen(x->name)] = ':';
			continue;
		}
		why.len = n0;
		why.data[n0] = '\0';
		if (best == NULL || better(x, best, prefer, name))
			best = x;
	}
	if (best == NULL)
		paas_err_set(err, PAAS_EFAILED, "cannot place %s instance %s: %s", name, id,
		    why.len > 2 ? why.data + 2 : "no host");
	paas_buf_free(&why);
	return best;
}

/* The instances of service name that stay: a running container of the
 * current version per wanted instance. */
static void
keep_current(struct paas_plan *p, const char *name, const json_t *svc, const json_t *ids,
    const char *version)
{
	size_t j, k;

	for (j = 0; j < json_array_size(ids); j++) {
		const char *id = json_string_value(json_array_get(ids, j));

		for (k = 0; k < p->nctrs; k++) {
			struct paas_place_ctr *c = p->ctrs[k];

			if (c->fate == PAAS_REMOVE && c->running && !strcmp(c->service, name) &&
			    !strcmp(c->instance, id) && !strcmp(c->version, version)) {
				c->fate = PAAS_KEEP;
				count_add(c->h, name, svc);
				break;
			}
		}
	}
}

/* One wanted instance: nothing to do, a kept container to check, or a
 * new one placed; either way the older containers of it are claimed. */
static int
place_instance(struct paas_plan *p, const char *name, const json_t *svc, const char *id,
    const char *version, struct paas_err *err)
{
	struct paas_place_ctr *keep = NULL, *prefer = NULL;
	struct paas_place_action *a;
	size_t nold = 0, k;

	for (k = 0; k < p->nctrs; k++) {
		struct paas_place_ctr *c = p->ctrs[k];

		if (strcmp(c->service, name) || strcmp(c->instance, id))
			continue;
		if (c->fate == PAAS_KEEP && !strcmp(c->version, version))
			keep = c;
		else if (c->fate == PAAS_REMOVE) {
			nold++;
			if (c->running && prefer == NULL)
				prefer = c;
		}
	}
	if (keep && nold == 0)
		return 0;
	a = add_action(p, name, svc, id, version);
	a->old = paas_xmalloc((nold ? nold : 1) * sizeof(*a->old));
	for (k = 0; k < p->nctrs; k++) {
		struct paas_place_ctr *c = p->ctrs[k];

		if (!strcmp(c->service, name) && !strcmp(c->instance, id) && c->fate == PAAS_REMOVE) {
			a->old[a->nold++] = c;
			c->claimed = 1;
		}
	}
	if (keep) {
		a->keep = keep;
		a->h = keep->h;
		return 0;
	}
	if ((a->h = choose(p, name, svc, id, prefer ? prefer->h : NULL, err)) == NULL)
		return -1;
	count_add(a->h, name, svc);
	return (a->ports = paas_place_ports(a->h, svc, err)) == NULL ? -1 : 0;
}

int
paas_place(struct paas_plan *p, struct paas_err *err)
{
	const json_t *services = json_object_get(p->spec, "services");
	size_t nnames, i, j;
	const char **names = paas_json_keys(services, &nnames);
	json_t **ids = paas_xmalloc((nnames ? nnames : 1) * sizeof(*ids));
	char (*versions)[17] = paas_xmalloc((nnames ? nnames : 1) * sizeof(*versions));
	int rc = -1;

	paas_plan_free(p);
	for (i = 0; i < p->nhosts; i++) {
		if (p->hosts[i]->count == NULL)
			p->hosts[i]->count = json_object();
		json_object_clear(p->hosts[i]->count);
	}
	for (i = 0; i < p->nctrs; i++) {
		p->ctrs[i]->fate = PAAS_REMOVE;
		p->ctrs[i]->claimed = 0;
	}
	/* First what stays, so that placing sees every service's instances. */
	for (i = 0; i < nnames; i++) {
		const json_t *svc = json_object_get(services, names[i]);

		ids[i] = wanted_ids(p, svc);
		paas_spec_service_version(p->spec, p->deployment, names[i],
		    json_string_value(json_object_get(p->digests, names[i])), versions[i]);
		keep_current(p, names[i], svc, ids[i], versions[i]);
	}
	for (i = 0; i < nnames; i++)
		for (j = 0; j < json_array_size(ids[i]); j++)
			if (place_instance(p, names[i], json_object_get(services, names[i]),
			    json_string_value(json_array_get(ids[i], j)), versions[i], err) < 0)
				goto out;
	rc = 0;
out:
	for (i = 0; i < nnames; i++)
		json_decref(ids[i]);
	free(ids);
	free(versions);
	free(names);
	return rc;
}

int
paas_plan_empty(const struct paas_plan *p)
{
	size_t i;

	if (p->nacts)
		return 0;
	for (i = 0; i < p->nctrs; i++)
		if (p->ctrs[i]->fate == PAAS_REMOVE)
			return 0;
	return 1;
}
