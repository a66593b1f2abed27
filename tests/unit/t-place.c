/*
 * Placement (place.h) without servers: each rule with a case that fails
 * when the rule is taken out.  Hosts are named a, b, c in that order.
 */
#include <stdlib.h>
#include <string.h>

#include "paas.h"
#include "place.h"
#include "spec.h"
#include "tap.h"

#define MAXH 4
#define MAXC 8

struct world {
	json_t *spec;
	struct paas_place_host host[MAXH], *hp[MAXH];
	struct paas_place_ctr ctr[MAXC], *cp[MAXC];
	json_t *labels[MAXH];
	struct paas_plan plan;
	struct paas_err err;
	char versions[MAXC][17];
};

static void
world(struct world *w, const char *yaml, int nhosts)
{
	int i;

	memset(w, 0, sizeof(*w));
	if (paas_spec_parse("t.yml", yaml, strlen(yaml), &w->spec, &w->err) < 0) {
		printf("# spec: %s\n", w->err.msg);
		abort();
	}
	for (i = 0; i < nhosts; i++) {
		static const char *const names[] = { "a", "b", "c", "d" };

		w->host[i].name = names[i];
		w->labels[i] = json_object();
		w->host[i].labels = w->labels[i];
		w->hp[i] = &w->host[i];
	}
	w->plan.spec = w->spec;
	w->plan.deployment = "shop";
	w->plan.hosts = w->hp;
	w->plan.nhosts = (size_t)nhosts;
	w->plan.ctrs = w->cp;
}

static void
label(struct world *w, int h, const char *k, const char *v)
{
	json_object_set_new(w->labels[h], k, json_string(v));
}

/* A container of ours: service svc, instance id on host h; current says
 * whether it runs the spec's version of svc. */
static struct paas_place_ctr *
ctr(struct world *w, int h, const char *svc, const char *id, int current, int running)
{
	size_t n = w->plan.nctrs++;
	struct paas_place_ctr *c = &w->ctr[n];

	if (current)
		paas_spec_service_version(w->spec, "shop", svc, NULL, w->versions[n]);
	else
		strcpy(w->versions[n], "0000000000000000");
	c->service = svc;
	c->instance = id;
	c->version = w->versions[n];
	c->running = running;
	c->h = &w->host[h];
	w->cp[n] = c;
	return c;
}

static void
world_free(struct world *w)
{
	int i;

	paas_plan_free(&w->plan);
	for (i = 0; i < MAXH; i++) {
		json_decref(w->labels[i]);
		json_decref(w->host[i].count);
	}
	json_decref(w->spec);
}

/* Where instance id of svc goes ("-" when it keeps a container, NULL when
 * there is no action for it). */
static const char *
where(const struct world *w, const char *svc, const char *id)
{
	size_t i;

	for (i = 0; i < w->plan.nacts; i++)
		if (!strcmp(w->plan.acts[i].service, svc) && !strcmp(w->plan.acts[i].instance, id))
			return w->plan.acts[i].keep ? "-" : w->plan.acts[i].h->name;
	return NULL;
}

/* A host where something outside the plan holds 30000 and 30001. */
static int
below_30002_taken(void *arg, long long port)
{
	(void)arg;
	return port >= 30002;
}

static int
place(struct world *w)
{
	paas_err_clear(&w->err);
	return paas_place(&w->plan, &w->err);
}

int
main(void)
{
	struct world w;
	const char *one = "web: {image: x, ports: [8000], instances: 1}\n";

	/* Constraints. */
	world(&w, "web: {image: x, instances: 1, constraints: {role: web}}\n", 2);
	label(&w, 0, "role", "db");
	label(&w, 1, "role", "web");
	ok(place(&w) == 0, "constraints: placed");
	is_str(where(&w, "web", "1"), "b", "constraints: only the host with role=web");
	world_free(&w);

	world(&w, "web: {image: x, instances: 1, constraints: {role: web}}\n", 2);
	label(&w, 0, "role", "db");
	ok(place(&w) < 0 && w.err.status == PAAS_EFAILED, "constraints: no fit host fails");
	is_str(w.err.msg, "cannot place web instance 1: a: wants role=web, has role=db; b: wants "
	    "role=web, has no role", "constraints: why not, per host");
	world_free(&w);

	/* Conflicts, both ways round. */
	world(&w, "web: {image: x, instances: 2, conflicts: [web]}\n", 2);
	ok(place(&w) == 0 && strcmp(where(&w, "web", "1"), where(&w, "web", "2")) != 0,
	    "conflicts: a service that conflicts with itself, one per host");
	world_free(&w);
	world(&w, "web: {image: x, instances: 3, conflicts: [web]}\n", 2);
	ok(place(&w) < 0, "conflicts: a third instance on two hosts fails");
	is_str(w.err.msg, "cannot place web instance 3: a: runs web (conflicts); b: runs web "
	    "(conflicts)", "conflicts: why not");
	world_free(&w);
	world(&w, "db: {image: x, instances: 1, conflicts: [web]}\n"
	    "web: {image: x, instances: 1}\n", 1);
	ok(place(&w) < 0, "conflicts: the other service's conflict counts too");
	is_str(w.err.msg, "cannot place web instance 1: a: runs db, which conflicts with web",
	    "conflicts: why not, the other way round");
	world_free(&w);

	/* Capacity: CPU and memory, with what other deployments reserve. */
	world(&w, "web: {image: x, instances: 1, resources: {cpu: 0.6, memory: 512m}}\n", 2);
	w.host[0].cpu_cap = 1000;
	w.host[0].cpu_used = 500;
	w.host[1].cpu_cap = 1000;
	ok(place(&w) == 0, "capacity: placed");
	is_str(where(&w, "web", "1"), "b", "capacity: not where others' reservations leave too "
	    "little CPU");
	world_free(&w);
	world(&w, "web: {image: x, instances: 2, resources: {cpu: 0.6, memory: 512m}}\n", 1);
	w.host[0].mem_cap = 768LL << 20;
	ok(place(&w) < 0, "capacity: our own first instance counts against the host");
	is_str(w.err.msg, "cannot place web instance 2: a: needs 512 MiB of memory, 256 of 768 "
	    "MiB free", "capacity: why not");
	world_free(&w);
	world(&w, "web: {image: x, instances: 1, resources: {cpu: 2}}\n", 1);
	w.host[0].cpu_cap = 1500;
	ok(place(&w) < 0, "capacity: CPU");
	is_str(w.err.msg, "cannot place web instance 1: a: needs 2000 milli-CPUs, 1500 of 1500 "
	    "free", "capacity: CPU why not");
	world_free(&w);

	/* Spreading: fewest of the service first, then of the deployment. */
	world(&w, "db: {image: x, instances: 2}\nweb: {image: x, instances: 2}\n", 2);
	ctr(&w, 0, "db", "1", 1, 1);
	ctr(&w, 0, "db", "2", 1, 1);
	ok(place(&w) == 0, "spreading: placed");
	ok(where(&w, "web", "1") && where(&w, "web", "2") &&
	    strcmp(where(&w, "web", "1"), where(&w, "web", "2")) != 0,
	    "spreading: the service's instances on different hosts (b, then a)");
	is_str(where(&w, "web", "1"), "b", "spreading: the first on the host with fewer of the "
	    "deployment");
	world_free(&w);
	world(&w, "db: {image: x, instances: 1}\nweb: {image: x, instances: 1}\n", 2);
	ctr(&w, 0, "db", "1", 1, 1);
	ok(place(&w) == 0, "spreading by deployment: placed");
	is_str(where(&w, "web", "1"), "b", "spreading by deployment: not beside our db");
	world_free(&w);
	world(&w, "web: {image: x, instances: 1}\n", 3);
	ok(place(&w) == 0, "ties: placed");
	is_str(where(&w, "web", "1"), "a", "ties go to the first host by name");
	world_free(&w);

	/* Stickiness: a new version goes where the old one runs. */
	world(&w, one, 2);
	ctr(&w, 1, "web", "1", 0, 1);
	ok(place(&w) == 0, "stickiness: placed");
	is_str(where(&w, "web", "1"), "b", "stickiness: the host it ran on");
	ok(w.plan.nacts == 1 && w.plan.acts[0].nold == 1 && w.ctr[0].claimed &&
	    w.ctr[0].fate == PAAS_REMOVE, "stickiness: the old container is replaced by the action");
	world_free(&w);

	/* What stays. */
	world(&w, one, 2);
	ctr(&w, 1, "web", "1", 1, 1);
	ok(place(&w) == 0 && w.plan.nacts == 0 && w.ctr[0].fate == PAAS_KEEP &&
	    paas_plan_empty(&w.plan), "keep: the current version running is kept, nothing to do");
	world_free(&w);
	world(&w, one, 2);
	ctr(&w, 1, "web", "1", 1, 0);
	ok(place(&w) == 0 && w.plan.nacts == 1 && w.ctr[0].fate == PAAS_REMOVE,
	    "keep: a stopped one is not kept");
	world_free(&w);
	world(&w, one, 2);
	ctr(&w, 0, "web", "1", 1, 1);
	ctr(&w, 1, "web", "2", 1, 1);
	ctr(&w, 1, "gone", "1", 0, 1);
	ok(place(&w) == 0 && w.ctr[0].fate == PAAS_KEEP && w.ctr[1].fate == PAAS_REMOVE &&
	    !w.ctr[1].claimed && w.ctr[2].fate == PAAS_REMOVE && !paas_plan_empty(&w.plan),
	    "surplus instances and services no longer in the spec are removed");
	world_free(&w);

	/* Global services. */
	world(&w, "agent: {image: x, global: true, constraints: {role: edge}}\n", 3);
	label(&w, 0, "role", "edge");
	label(&w, 2, "role", "edge");
	ok(place(&w) == 0 && w.plan.nacts == 2, "global: one per host the constraints allow");
	is_str(where(&w, "agent", "a"), "a", "global: instance a on host a");
	is_str(where(&w, "agent", "c"), "c", "global: instance c on host c");
	world_free(&w);

	/* Ports. */
	world(&w, "web: {image: x, ports: [8000], instances: 1, health: {http: /, port: 9000}}\n", 1);
	paas_place_mark_port(&w.host[0], PAAS_PORT_MIN);
	ok(place(&w) == 0, "ports: placed");
	{
		char *s = json_dumps(w.plan.acts[0].ports, JSON_COMPACT | JSON_SORT_KEYS);

		is_str(s, "{\"8000\":30001,\"9000\":30002}", "ports: the service's and the health "
		    "check's, skipping a taken one");
		free(s);
	}
	world_free(&w);
	world(&w, one, 1);
	w.host[0].port_free = below_30002_taken;
	ok(place(&w) == 0, "ports: placed past ports held outside the plan");
	{
		char *s = json_dumps(w.plan.acts[0].ports, JSON_COMPACT | JSON_SORT_KEYS);

		is_str(s, "{\"8000\":30002}", "ports: one the host says is held is never picked");
		free(s);
	}
	world_free(&w);
	world(&w, one, 1);
	memset(w.host[0].ports, 0xff, sizeof(w.host[0].ports));
	ok(place(&w) < 0, "ports: none free fails");
	is_str(w.err.msg, "host a has no free port in 30000-32767", "ports: why");
	world_free(&w);
	return done_testing();
}
