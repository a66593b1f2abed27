/*
 * One run of a deployment (rollout.h): its lock, its hosts and their
 * target, what runs on them, and the plan over it.
 */
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "etcd.h"
#include "exec.h"
#include "keys.h"
#include "hosts.h"
#include "jsonx.h"
#include "lock.h"
#include "private.h"
#include "registry.h"
#include "rollout.h"
#include "secrets.h"
#include "spec.h"
#include "valid.h"

#define DOCKER_TIMEOUT_MS	60000

void
paas_run_emit(struct run *r, json_t *ev)
{
	char now[40];

	/* Every event says when it happened. */
	paas_utc_now_ms(now, sizeof(now));
	if (!json_object_get(ev, "time"))
		json_object_set_new(ev, "time", json_string(now));
	json_object_set_new(ev, "deployment", json_string(r->o->deployment));
	if (r->o->event)
		r->o->event(ev, r->o->arg);
	json_decref(ev);
}

static int
host_port_free(void *arg, long long port)
{
	struct host *h = arg;

	return h->t->ops->port_free(h->t, h->index, port);
}

static int
load_hosts(struct run *r, struct paas_err *err)
{
	size_t i;

	if (paas_host_list(r->e, &r->hosts_json, err) < 0)
		return -1;
	for (i = 0; r->o->skip_hosts && i < json_array_size(r->hosts_json); ) {
		const char *name = json_string_value(json_object_get(json_array_get(r->hosts_json, i),
		    "name"));
		size_t k;

		for (k = 0; r->o->skip_hosts[k] && strcmp(r->o->skip_hosts[k], name ? name : ""); k++)
			;
		if (r->o->skip_hosts[k])
			json_array_remove(r->hosts_json, i);
		else
			i++;
	}
	r->nhosts = json_array_size(r->hosts_json);
	r->hosts = calloc(r->nhosts ? r->nhosts : 1, sizeof(*r->hosts));
	r->plan.hosts = calloc(r->nhosts ? r->nhosts : 1, sizeof(*r->plan.hosts));
	if (r->hosts == NULL || r->plan.hosts == NULL)
		abort();
	r->plan.nhosts = r->nhosts;
	r->plan.deployment = r->o->deployment;
	for (i = 0; i < r->nhosts; i++) {
		struct host *h = &r->hosts[i];

		h->obj = json_array_get(r->hosts_json, i);
		h->index = i;
		h->p.name = json_string_value(json_object_get(h->obj, "name"));
		h->p.labels = json_object_get(h->obj, "labels");
		h->p.cpu_cap = json_integer_value(json_object_get(h->obj, "cpu_milli"));
		h->p.mem_cap = json_integer_value(json_object_get(h->obj, "memory_bytes"));
		h->p.count = json_object();
		h->addr = paas_host_address(h->obj);
		h->agent = -1;
		/* fleet places on its machines, where its Global agent runs. */
		if (paas_host_is_fleet(h->obj)) {
			h->p.scheduler = 1;
			h->agent = 1;
		}
		r->plan.hosts[i] = &h->p;
	}
	if ((r->t = paas_target_hosts(r->hosts_json, DOCKER_TIMEOUT_MS, err)) == NULL)
		return -1;
	for (i = 0; i < r->nhosts; i++) {
		r->hosts[i].t = r->t;
		r->hosts[i].p.port_free = host_port_free;
		r->hosts[i].p.port_arg = &r->hosts[i];
	}
	return 0;
}

int
paas_run_begin(struct run *r, const struct paas_deploy_opts *o, struct paas_err *err)
{
	char host[HOST_NAME_MAX + 1] = "";

	memset(r, 0, sizeof(*r));
	r->o = o;
	r->t0 = paas_now_ms();
	if ((r->user = o->user) == NULL) {
		struct passwd *pw = getpwuid(getuid());

		r->user = getenv("USER") ? getenv("USER") : pw ? pw->pw_name : "unknown";
	}
	if (gethostname(host, sizeof(host) - 1) < 0)
		strcpy(host, "localhost");
	snprintf(r->holder, sizeof(r->holder), "%s@%s pid %ld", r->user, host, (long)getpid());
	if (o->deployment == NULL || !paas_valid_name(o->deployment))
		return paas_err_set(err, PAAS_EINVAL, "invalid deployment name '%.64s': use lower-case "
		    "letters, digits and '-', starting with a letter, at most 63",
		    o->deployment ? o->deployment : "");
	if ((r->e = paas_etcd_new(o->etcd, NULL, err)) == NULL)
		return -1;
	if (!o->dry_run) {
		if (paas_lock_acquire(o->etcd, o->deployment, r->holder,
		    o->lock_ttl > 0 ? o->lock_ttl : 15, &r->lock, err) < 0)
			return -1;
		paas_run_emit(r, json_pack("{s:s, s:s}", "kind", "lock", "holder", r->holder));
	}
	return load_hosts(r, err);
}

static void
ctrs_free(struct run *r)
{
	size_t i;

	for (i = 0; i < r->nctrs; i++) {
		struct ctr *c = &r->ctrs[i];

		free(c->id);
		free(c->name);
		free(c->service);
		free(c->instance);
		free(c->version);
		json_decref(c->ports);
	}
	free(r->ctrs);
	free(r->plan.ctrs);
	r->ctrs = NULL;
	r->plan.ctrs = NULL;
	r->nctrs = r->plan.nctrs = 0;
}

static void
steps_free(struct run *r)
{
	size_t i;

	for (i = 0; r->steps && i < r->plan.nacts; i++) {
		free(r->steps[i].id);
		free(r->steps[i].cname);
		free(r->steps[i].addr);
	}
	free(r->steps);
	r->steps = NULL;
	paas_plan_free(&r->plan);
}

void
paas_run_free(struct run *r)
{
	size_t i;

	steps_free(r);
	ctrs_free(r);
	for (i = 0; i < r->nhosts; i++) {
		free(r->hosts[i].addr);
		json_decref(r->hosts[i].p.count);
	}
	paas_target_free(r->t);
	free(r->draining);
	json_decref(r->registry);
	paas_secret_free(r->registry_auth);
	free(r->hosts);
	free(r->plan.hosts);
	json_decref(r->hosts_json);
	json_decref(r->routes);
	json_decref(r->vars);
	json_decref(r->digests);
	paas_lock_release(r->lock);
	paas_etcd_free(r->e);
}

/* Observing and planning ---------------------------------------------------- */

int
paas_run_observe(struct run *r, struct paas_err *err)
{
	struct paas_kv_list freed;
	size_t i, j, k;

	ctrs_free(r);
	if (paas_etcd_range(r->e, PAAS_FREED_PREFIX, 0, 1, &freed, err) < 0)
		return -1;
	for (i = 0; i < r->nhosts; i++) {
		struct host *h = &r->hosts[i];
		json_t *list, *c, *p;

		memset(h->p.ports, 0, sizeof(h->p.ports));
		/* Ports whose containers went in the last hour (rollout.c). */
		for (j = 0; j < freed.n; j++) {
			const char *tail = paas_key_tail(freed.kvs[j].key, PAAS_FREED_PREFIX);
			size_t hl = strlen(h->p.name);

			if (tail && strncmp(tail, h->p.name, hl) == 0 && tail[hl] == '/')
				paas_place_mark_port(&h->p, strtoll(tail + hl + 1, NULL, 10));
		}
		h->p.cpu_used = h->p.mem_used = 0;
		if (r->t->ops->list(r->t, h->index, &list, err) < 0) {
			paas_kv_list_free(&freed);
			return paas_err_wrap(err, "host %s", h->p.name);
		}
		json_array_foreach(list, j, c) {
			const char *dep = json_string_value(json_object_get(c, "deployment"));
			int running = json_is_true(json_object_get(c, "running"));
			struct ctr *x;

			json_array_foreach(json_object_get(c, "host_ports"), k, p)
				paas_place_mark_port(&h->p, json_integer_value(p));
			if (dep == NULL || strcmp(dep, r->o->deployment) != 0) {
				if (running) {
					h->p.cpu_used += json_integer_value(json_object_get(c, "cpu_milli"));
					h->p.mem_used += json_integer_value(json_object_get(c, "memory_bytes"));
				}
				continue;
			}
			r->ctrs = paas_xrealloc(r->ctrs, (r->nctrs + 1) * sizeof(*r->ctrs));
			x = &r->ctrs[r->nctrs++];
			memset(x, 0, sizeof(*x));
			x->id = paas_xstrdup(json_string_value(json_object_get(c, "id")));
			x->name = paas_xstrdup(json_string_value(json_object_get(c, "name")));
			x->service = paas_xstrdup(json_string_value(json_object_get(c, "service")));
			x->instance = paas_xstrdup(json_string_value(json_object_get(c, "instance")));
			x->version = paas_xstrdup(json_string_value(json_object_get(c, "version")));
			x->release = json_integer_value(json_object_get(c, "release"));
			x->ports = json_incref(json_object_get(c, "ports"));
			x->h = h;
			x->p.running = running;
		}
		json_decref(list);
	}
	paas_kv_list_free(&freed);
	/* Pointers last: r->ctrs moved while it grew. */
	r->plan.nctrs = r->nctrs;
	r->plan.ctrs = paas_xmalloc((r->nctrs ? r->nctrs : 1) * sizeof(*r->plan.ctrs));
	for (i = 0; i < r->nctrs; i++) {
		struct ctr *x = &r->ctrs[i];

		x->p.service = x->service;
		x->p.instance = x->instance;
		x->p.version = x->version;
		x->p.h = &x->h->p;
		r->plan.ctrs[i] = &x->p;
	}
	return 0;
}

void
paas_run_digests(struct run *r)
{
	unsigned char key[PAAS_SECRETS_KEY_LEN];
	struct paas_err e2 = PAAS_ERR_INIT;
	json_t *all = paas_spec_vars(r->spec), *vals = json_object(), *svc, *v;
	const char *k;
	char *path = NULL, d[17];
	int have = 0;

	json_decref(r->digests);
	r->digests = json_object();
	if (json_object_size(all) == 0 || paas_secrets_key(key, &have, &path, &e2) < 0 || !have)
		goto out;
	json_object_foreach(all, k, v) {
		const char *x = json_string_value(json_object_get(r->vars, k));

		if ((x = x ? x : getenv(k)) != NULL)
			json_object_set_new(vals, k, json_string(x));
	}
	paas_secrets_digest(key, "*", all, vals, d);
	json_object_set_new(r->digests, "*", json_string(d));
	json_object_foreach((json_t *)json_object_get(r->spec, "services"), k, svc) {
		json_t *names = paas_spec_service_vars(r->spec, k);

		if (json_object_size(names)) {
			paas_secrets_digest(key, k, names, vals, d);
			json_object_set_new(r->digests, k, json_string(d));
		}
		json_decref(names);
	}
	explicit_bzero(key, sizeof(key));
out:
	free(path);
	json_decref(all);
	json_decref(vals);
}

int
paas_run_plan(struct run *r, struct paas_err *err)
{
	size_t i;

	steps_free(r);
	r->plan.spec = r->spec;
	paas_run_digests(r);
	r->plan.digests = r->digests;
	if (paas_place(&r->plan, err) < 0)
		return -1;
	r->steps = calloc(r->plan.nacts ? r->plan.nacts : 1, sizeof(*r->steps));
	if (r->steps == NULL)
		abort();
	for (i = 0; i < r->plan.nacts; i++) {
		struct paas_place_action *a = &r->plan.acts[i];

		r->steps[i].a = a;
		r->steps[i].h = (struct host *)a->h;	/* the first member */
		r->steps[i].keep = a->keep ? paas_ctr_of(a->keep) : NULL;
	}
	return 0;
}

json_t *
paas_run_plan_event(const struct run *r)
{
	json_t *start = json_array(), *stop = json_array();
	size_t i;

	for (i = 0; i < r->plan.nacts; i++)
		if (!r->steps[i].keep)
			json_array_append_new(start, json_pack("{s:s, s:s, s:s, s:O}", "service",
			    r->plan.acts[i].service, "instance", r->plan.acts[i].instance, "host",
			    r->steps[i].h->p.name, "ports", r->plan.acts[i].ports));
	for (i = 0; i < r->nctrs; i++)
		if (r->ctrs[i].p.fate == PAAS_REMOVE)
			json_array_append_new(stop, json_pack("{s:s, s:s, s:s, s:s}", "service",
			    r->ctrs[i].service, "instance", r->ctrs[i].instance, "host",
			    r->ctrs[i].h->p.name, "container", r->ctrs[i].name));
	return json_pack("{s:s, s:I, s:o, s:o}", "kind", "plan", "release", (json_int_t)r->release,
	    "start", start, "stop", stop);
}

json_t *
paas_run_service_env(struct run *r, const struct paas_place_action *a, struct paas_err *err)
{
	json_t *env = paas_spec_service_env(r->spec, a->svc, NULL), *v;
	const char *k;

	json_object_foreach(env, k, v) {
		char *x, what[300];

		snprintf(what, sizeof(what), "service %s: env %s", a->service, k);
		if (paas_spec_expand(what, json_string_value(v), r->vars, &x, err) < 0) {
			json_decref(env);
			return NULL;
		}
		json_object_set_new(env, k, json_string(x));
		free(x);
	}
	return env;
}

/* Whether svc is a job that may run on h: a Docker host its constraints
 * allow. */
static int
job_on(const struct host *h, const json_t *svc)
{
	return json_object_get(svc, "schedule") && !h->p.scheduler &&
	    paas_place_allows(&h->p, svc);
}

/* Every job of r->spec has a Docker host its constraints allow. */
static int
jobs_placeable(struct run *r, struct paas_err *err)
{
	const char *name;
	json_t *svc;
	size_t h;

	json_object_foreach((json_t *)json_object_get(r->spec, "services"), name, svc) {
		for (h = 0; h < r->nhosts && json_object_get(svc, "schedule"); h++)
			if (job_on(&r->hosts[h], svc))
				break;
		if (json_object_get(svc, "schedule") && h == r->nhosts)
			return paas_err_set(err, PAAS_EINVAL, "service %s is a job, and no Docker host "
			    "meets its constraints", name);
	}
	return 0;
}

int
paas_run_prepare(struct run *r, json_t **images, struct paas_err *err)
{
	const char *auth = NULL;
	size_t i;

	*images = json_object();
	if (jobs_placeable(r, err) < 0)
		goto fail;
	for (i = 0; i < r->plan.nacts; i++) {
		struct step *s = &r->steps[i];
		const char *image = json_string_value(json_object_get(s->a->svc, "image"));
		json_t *per, *env;
		char *id;

		if (s->keep)
			continue;
		if (s->h->p.scheduler && json_is_true(json_object_get(s->a->svc, "global"))) {
			paas_err_set(err, PAAS_EINVAL, "service %s is global: on fleet host %s its "
			    "Global unit is paas-unitgen's, not a deploy's", s->a->service,
			    s->h->p.name);
			goto fail;
		}
		/* The service's image and environment once, its image per host. */
		if ((per = json_object_get(*images, s->a->service)) == NULL) {
			if (image == NULL) {
				paas_err_set(err, PAAS_EINVAL, "service %s: no image (not built)",
				    s->a->service);
				goto fail;
			}
			if ((env = paas_run_service_env(r, s->a, err)) == NULL)
				goto fail;
			json_decref(env);
			json_object_set_new(*images, s->a->service, per = json_object());
		}
		if (json_object_get(per, s->h->p.name))
			continue;
		/* Built images come from the cluster's registry, which wants its
		 * credentials. */
		if (auth == NULL && json_is_object(json_object_get(s->a->svc, "build"))) {
			const json_t *reg;

			if (paas_run_registry(r, &reg, &auth, err) < 0)
				goto fail;
		}
		if (r->t->ops->image(r->t, s->h->index, image, auth, &id, err) < 0)
			goto fail;
		json_object_set_new(per, s->h->p.name, json_string(id));
		free(id);
	}
	return 0;
fail:
	json_decref(*images);
	*images = NULL;
	return -1;
}

int
paas_run_registry(struct run *r, const json_t **reg, const char **auth, struct paas_err *err)
{
	if (!r->registry_read) {
		if (paas_registry_get(r->e, &r->registry, err) < 0 || (r->registry &&
		    paas_registry_auth(json_string_value(json_object_get(r->registry, "address")),
		    &r->registry_auth, err) < 0))
			return -1;
		r->registry_read = 1;
	}
	*reg = r->registry;
	*auth = r->registry_auth;
	return 0;
}

/* Jobs -------------------------------------------------------------------- */

int
paas_run_jobs(struct run *r, const json_t *spec, struct paas_err *err)
{
	const json_t *services = json_object_get(spec, "services"), *svc;
	json_t *envs = json_object();
	struct paas_instance_spec *is;
	const char *name, *auth = NULL;
	size_t h, n;
	int rc = -1;

	/* Each job's environment and registry credentials, once. */
	json_object_foreach((json_t *)services, name, svc) {
		struct paas_place_action a;
		json_t *env;

		if (!json_object_get(svc, "schedule"))
			continue;
		if (json_string_value(json_object_get(svc, "image")) == NULL) {
			json_decref(envs);
			return paas_err_set(err, PAAS_EINVAL, "service %s: no image (not built)", name);
		}
		if (auth == NULL && json_is_object(json_object_get(svc, "build"))) {
			const json_t *reg;

			if (paas_run_registry(r, &reg, &auth, err) < 0) {
				json_decref(envs);
				return -1;
			}
		}
		memset(&a, 0, sizeof(a));
		a.service = name;
		a.svc = svc;
		if ((env = paas_run_service_env(r, &a, err)) == NULL) {
			json_decref(envs);
			return -1;
		}
		json_object_set_new(envs, name, env);
	}
	is = paas_xmalloc((json_object_size(services) + 1) * sizeof(*is));
	for (h = 0; h < r->nhosts; h++) {
		struct host *hh = &r->hosts[h];

		n = 0;
		json_object_foreach((json_t *)services, name, svc) {
			const char *image = json_string_value(json_object_get(svc, "image"));
			json_t *env = json_object_get(envs, name);
			char *id;

			if (!job_on(hh, svc))
				continue;
			if (r->t->ops->image(r->t, hh->index, image, auth, &id, err) < 0)
				goto out;
			free(id);
			is[n++] = (struct paas_instance_spec){ r->o->deployment, name, "job", "job",
			    r->release, hh->p.name, r->o->etcd, svc, env, NULL, spec };
		}
		if (r->t->ops->jobs(r->t, hh->index, r->o->deployment, is, n, err) < 0)
			goto out;
	}
	rc = 0;
out:
	free(is);
	json_decref(envs);
	return rc;
}

/* The release phase ----------------------------------------------------- */

struct phase {
	struct run *r;
	const char *service;
	struct paas_tail tail;		/* the last 10 lines, for the error */
};

static int
phase_line(int stream, const char *line, size_t len, void *arg)
{
	struct phase *p = arg;
	const char *which = stream == 2 ? "stderr" : "stdout";
	json_t *ev = json_pack("{s:s, s:s, s:s, s:o}", "kind", "release_output", "service",
	    p->service, "stream", which, "line", paas_json_text(line, len));

	paas_tail_add(&p->tail, line, len);
	paas_run_emit(p->r, ev);
	return 0;
}

int
paas_run_release_phase(struct run *r, struct paas_err *err)
{
	const char *name;
	json_t *svc;

	json_object_foreach((json_t *)json_object_get(r->spec, "services"), name, svc) {
		const json_t *rel = json_object_get(svc, "release"), *cmd = json_object_get(rel, "cmd");
		struct paas_exec_opts xo;
		struct phase p;
		long long t0 = paas_now_ms();
		char **argv;
		size_t i;
		int status = -1, rc;

		if (!json_is_object(rel))
			continue;
		memset(&xo, 0, sizeof(xo));
		memset(&p, 0, sizeof(p));
		p.r = r;
		p.service = name;
		p.tail.keep = 10;
		argv = paas_xmalloc((json_array_size(cmd) + 1) * sizeof(*argv));
		for (i = 0; i < json_array_size(cmd); i++)
			argv[i] = (char *)json_string_value(json_array_get(cmd, i));
		argv[i] = NULL;
		xo.deployment = r->o->deployment;
		xo.service = name;
		xo.argv = argv;
		xo.out = phase_line;
		xo.arg = &p;
		xo.cancel = r->o->cancel;
		xo.spec = r->spec;
		xo.release = r->release;
		xo.vars = r->vars;
		xo.e = r->e;
		xo.timeout_ms = (long)json_integer_value(json_object_get(rel, "timeout_ms"));
		paas_run_emit(r, json_pack("{s:s, s:s, s:I}", "kind", "release_phase", "service", name,
		    "release", (json_int_t)r->release));
		rc = paas_exec_run(&xo, &status, err);
		free(argv);
		if (rc == 0)
			paas_run_emit(r, json_pack("{s:s, s:s, s:i, s:I}", "kind", "release_done",
			    "service", name, "exit_code", status, "ms", (json_int_t)(paas_now_ms() - t0)));
		if (rc == 0 && status != 0)
			paas_err_set(err, PAAS_EFAILED, "release command of service %s exited %d", name,
			    status);
		if (rc < 0 || status != 0) {
			struct paas_buf b = PAAS_BUF_INIT;

			paas_buf_addf(&b, "%s; nothing was replaced", err->msg);
			paas_tail_text(&p.tail, &b, 1);
			paas_err_set(err, PAAS_EFAILED, "%s", b.data);
			paas_buf_free(&b);
		}
		paas_tail_free(&p.tail);
		if (rc < 0 || status != 0)
			return -1;
	}
	return 0;
}
