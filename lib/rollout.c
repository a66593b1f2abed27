/*
 * Rolling out (rollout.h): batches of new instances started and checked,
 * announced and served, then the old ones they replace withdrawn, drained
 * and stopped; the instances that stay recorded.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "etcd.h"
#include "health.h"
#include "jsonx.h"
#include "keys.h"
#include "lock.h"
#include "rollout.h"
#include "route.h"

#define PROBE_EVERY_MS		25	/* until the first pass; see health_deadline() */
#define SETTLE_MS		1000	/* running this long counts as healthy without a check */
#define LOG_LINES		10
#define ANNOUNCE_MS		10000	/* for the host's agent to announce a healthy instance */
#define ROUTER_MS		10000	/* for the routers to serve a change */
#define DRAIN_MS		2000	/* default: in-flight requests finish */
#define START_TRIES		16	/* a host port taken by something outside the plan */

/* Rolling out --------------------------------------------------------------- */

static json_t *
instance_value(const struct host *h, const char *name, const char *id,
    int64_t release, const char *version, const json_t *ports)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:O}", "host", h->p.name, "address",
	    h->addr, "container", name, "id", id, "release", (json_int_t)release, "version",
	    version, "ports", ports);
}

static int
start_instance(struct run *r, struct step *s, struct paas_err *err)
{
	struct paas_place_action *a = s->a;
	struct paas_instance_spec is = { r->o->deployment, a->service, a->instance, a->version,
	    r->release, s->h->p.name, r->o->etcd, a->svc, NULL, NULL, r->spec };
	json_t *env;
	int attempt, port_taken = 0, rc = -1;

	if ((env = paas_run_service_env(r, a, err)) == NULL)
		return -1;
	is.env = env;
	for (attempt = 0; attempt < START_TRIES; attempt++) {
		json_t *ports;

		is.ports = a->ports;
		if (r->t->ops->start(r->t, s->h->index, &is, &s->id, &s->cname, &port_taken,
		    err) == 0)
			break;
		if (!port_taken || attempt + 1 == START_TRIES)
			goto wrap;
		/* Something outside the plan holds a port it picked. */
		if ((ports = paas_place_ports(&s->h->p, a->svc, err)) == NULL)
			goto out;
		json_decref(a->ports);
		a->ports = ports;
		paas_err_clear(err);
	}
	s->t_start = paas_now_ms();
	s->next_probe = s->t_start;
	s->next_inspect = s->t_start + 500;
	r->started++;
	paas_run_emit(r, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s#, s:O, s:I}", "kind", "start",
	    "service", a->service, "instance", a->instance, "host", s->h->p.name, "container",
	    s->cname, "id", s->id, strchr(s->id, '@') ? (int)strlen(s->id) : 12, "ports", a->ports,
	    "release", (json_int_t)r->release));
	rc = 0;
	goto out;
wrap:
	paas_err_wrap(err, "cannot start %s instance %s on host %s", a->service, a->instance,
	    s->h->p.name);
out:
	json_decref(env);
	return rc;
}

/* How long a withdrawn instance keeps its requests in flight (< 0: not
 * withdrawn at all). */
static long long
drain_ms(const struct run *r)
{
	return r->o->drain_ms ? r->o->drain_ms : DRAIN_MS;
}

/* The withdrawals the routers serve as of revision rev: their drain
 * starts now. */
static void
drains_start(struct run *r, int64_t rev)
{
	size_t i;

	for (i = 0; i < r->ndraining; i++)
		if (r->draining[i].rev && r->draining[i].rev <= rev) {
			r->draining[i].rev = 0;
			r->draining[i].until = paas_now_ms() + drain_ms(r);
		}
}

/* Wait until every registered router serves etcd revision rev.  A router
 * that does not keep up is reported, not waited for forever; an etcd that
 * does not answer for the whole wait is an error (PAAS_EUNAVAIL): nobody
 * can tell what the routers serve.  Withdrawals up to rev are served. */
static int
wait_routers(struct run *r, int64_t rev, const char *why, struct paas_err *err)
{
	long long t0 = paas_now_ms();
	size_t n;

	if (paas_routers_wait(r->e, rev, ROUTER_MS, &n, err) == 0) {
		if (n)
			paas_run_emit(r, json_pack("{s:s, s:s, s:I, s:I, s:I}", "kind", "served",
			    "what", why, "routers", (json_int_t)n, "revision", (json_int_t)rev,
			    "ms", (json_int_t)(paas_now_ms() - t0)));
		drains_start(r, rev);
		return 0;
	}
	if (err->status == PAAS_EUNAVAIL)
		return paas_err_wrap(err, "cannot tell whether the routers serve the change");
	paas_run_emit(r, json_pack("{s:s, s:s}", "kind", "warning", "message", err->msg));
	paas_err_clear(err);
	drains_start(r, rev);
	return 0;
}

int
paas_run_sync_routes(struct run *r, const json_t *want, struct paas_err *err)
{
	json_t *set = json_array(), *removed = json_array();
	int64_t rev;
	int rc = -1;

	if (paas_route_sync(r->e, r->o->deployment, want, set, removed, &rev, err) < 0)
		goto out;
	if (json_array_size(set) || json_array_size(removed)) {
		paas_run_emit(r, json_pack("{s:s, s:O, s:O}", "kind", "routes", "set", set,
		    "removed", removed));
		if (wait_routers(r, rev, "routes", err) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(set);
	json_decref(removed);
	return rc;
}

/* Does an agent announce on host h?  Asked once per run.  An etcd that
 * does not answer is asked again for ANNOUNCE_MS, then an error: taking
 * it for "no agent" would stop an instance the routers still send to. */
static int
has_agent(struct run *r, struct host *h, struct paas_err *err)
{
	long long t0 = paas_now_ms();
	struct paas_kv kv;
	char *key;
	int found = 0;

	if (h->agent >= 0)
		return h->agent;
	key = paas_key_agent(h->p.name);
	while (paas_etcd_get(r->e, key, &kv, &found, NULL, err) < 0) {
		if (paas_now_ms() - t0 >= ANNOUNCE_MS) {
			free(key);
			paas_err_wrap(err, "cannot tell whether host %s runs an agent", h->p.name);
			err->status = PAAS_EUNAVAIL;
			return -1;
		}
		paas_sleep_ms(200);
		paas_err_clear(err);
	}
	if (found)
		paas_kv_clear(&kv);
	free(key);
	return h->agent = found;
}

/* A new instance is in service once its host's agent has announced it
 * healthy and the routers serve that. */
static int
wait_announced(struct run *r, struct step *s, struct paas_err *err)
{
	long long t0 = paas_now_ms();
	char *key;
	int rc = -1;

	if (s->keep || s->id == NULL)
		return 0;
	if ((rc = has_agent(r, s->h, err)) <= 0)
		return rc;
	rc = -1;
	key = paas_key_announce(r->o->deployment, s->a->service, s->a->instance, s->id);
	for (;;) {
		struct paas_kv kv;
		int found = 0, healthy = 0;
		int64_t rev = 0;

		if (paas_etcd_get(r->e, key, &kv, &found, NULL, err) < 0)
			goto out;
		if (found) {
			json_t *v = json_loadb(kv.value, kv.value_len, 0, NULL);

			healthy = json_is_true(json_object_get(v, "healthy"));
			rev = kv.mod_revision;
			json_decref(v);
			paas_kv_clear(&kv);
		}
		if (healthy) {
			paas_run_emit(r, json_pack("{s:s, s:s, s:s, s:s, s:I}", "kind", "announced",
			    "service", s->a->service, "instance", s->a->instance, "host", s->h->p.name,
			    "ms", (json_int_t)(paas_now_ms() - t0)));
			rc = wait_routers(r, rev, "start", err);
			goto out;
		}
		if (paas_now_ms() - t0 >= ANNOUNCE_MS) {
			r->failed = s;
			paas_err_set(&s->last, PAAS_EFAILED, "the agent on host %s did not announce it "
			    "healthy within %d s", s->h->p.name, ANNOUNCE_MS / 1000);
			paas_err_set(err, PAAS_EFAILED, "%s instance %s on host %s: %s",
			    s->a->service, s->a->instance, s->h->p.name, s->last.msg);
			goto out;
		}
		paas_sleep_ms(20);
	}
out:
	free(key);
	return rc;
}

/* The announcement of container id (service svc, instance inst) goes, and
 * a drain mark under lease (0: none) keeps the agent from writing it again:
 * *rev the revision of both, *found whether it was announced. */
static int
withdraw_mark(struct run *r, const char *svc, const char *inst, const char *id, int64_t lease,
    int64_t *rev, int *found, struct paas_err *err)
{
	char *key = paas_key_announce(r->o->deployment, svc, inst, id), *drain = paas_key_drain(id);
	char val[64];
	struct paas_kv kv;
	int ok, rc = -1;

	*found = 0;
	snprintf(val, sizeof(val), "{\"since\":%ld}", (long)time(NULL));
	if (paas_etcd_get(r->e, key, &kv, found, NULL, err) == 0) {
		struct paas_op ops[2] = {
			{ PAAS_OP_PUT, drain, val, strlen(val), lease },
			{ PAAS_OP_DELETE, key, NULL, 0, 0 },
		};

		if (*found)
			paas_kv_clear(&kv);
		rc = paas_etcd_txn(r->e, NULL, 0, ops, 2, NULL, 0, &ok, rev, err);
	}
	free(key);
	free(drain);
	return rc;
}

/* Before an announced container stops: its announcement goes (and a
 * drain mark, bound to our lock's lease, keeps the agent from writing it
 * again).  *rev gets the revision the routers must serve before the
 * requests in flight get drain_ms to finish (0: nothing to wait for: no
 * agent, or not running).  Not announced now is not unserved: a router
 * holds what an etcd stall took (hold.h) until it sees the drain mark. */
static int
withdraw(struct run *r, struct ctr *c, int64_t *rev, struct paas_err *err)
{
	int found, rc;

	*rev = 0;
	if (drain_ms(r) < 0 || !c->p.running)
		return 0;
	if ((rc = has_agent(r, c->h, err)) <= 0)
		return rc;
	if (withdraw_mark(r, c->service, c->instance, c->id, paas_lock_lease(r->lock), rev, &found,
	    err) < 0)
		return paas_err_wrap(err, "cannot withdraw %s", c->name);
	if (found)
		paas_run_emit(r, json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "withdrawn",
		    "service", c->service, "instance", c->instance, "host", c->h->p.name,
		    "container", c->name));
	return 0;
}

#define FREED_TTL	3600	/* a removed container's host ports rest this long */

/*
 * The host ports of a removed container are not handed out again for an
 * hour: a router whose watch has stopped (killed, or between a SIGTERM and
 * its successor) keeps sending a domain to them, and an instance of
 * another deployment there would answer for it.  Best effort: a port not
 * recorded is only one the next placement may take.
 */
static void
quarantine(struct run *r, const struct ctr *c)
{
	struct paas_err err = PAAS_ERR_INIT;
	const char *k;
	json_t *v;

	if (r->freed_lease == 0 && paas_etcd_lease_grant(r->e, FREED_TTL, &r->freed_lease,
	    &err) < 0) {
		r->freed_lease = 0;
		return;
	}
	json_object_foreach(c->ports, k, v) {
		char *key = paas_key_freed(c->h->p.name, (long long)json_integer_value(v));
		json_t *val = json_pack("{s:s, s:I}", "deployment", r->o->deployment, "time",
		    (json_int_t)(paas_now_ms() / 1000));

		paas_etcd_put_json(r->e, key, val, r->freed_lease, NULL, &err);
		paas_err_clear(&err);
		json_decref(val);
		free(key);
	}
}

static int
removed(struct run *r, struct ctr *c, int drop_key, struct paas_err *err)
{
	if (r->t->ops->remove(r->t, c->h->index, c->id, err) < 0)
		return paas_err_wrap(err, "cannot remove %s on host %s", c->name, c->h->p.name);
	if (json_object_size(c->ports))
		quarantine(r, c);
	if (drop_key) {
		char *key = paas_key_instance(r->o->deployment, c->service, c->instance);
		int rc = paas_etcd_delete(r->e, key, 0, NULL, err);

		free(key);
		if (rc < 0)
			return -1;
	}
	r->stopped++;
	paas_run_emit(r, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "kind", "stop", "service",
	    c->service, "instance", c->instance, "host", c->h->p.name, "container", c->name,
	    "release", (json_int_t)c->release));
	c->p.running = 0;
	return 0;
}

static int
stop_timeout_s(struct run *r)
{
	return r->o->stop_timeout > 0 ? r->o->stop_timeout : 10;
}

/* A withdrawal holds while its drain mark does: the mark goes with the
 * lock's lease (etcd did not hear from us for its TTL, a stall), and the
 * agent then announces the container again, so it is not stopped. */
static int
still_withdrawn(struct run *r, const struct ctr *c, struct paas_err *err)
{
	char *drain = paas_key_drain(c->id);
	struct paas_kv kv;
	int found = 0, rc;

	rc = paas_etcd_get(r->e, drain, &kv, &found, NULL, err);
	free(drain);
	if (rc < 0)
		return paas_err_wrap(err, "%s: cannot tell whether it is still withdrawn", c->name);
	if (!found)
		return paas_err_set(err, PAAS_EUNAVAIL, "%s: its withdrawal lapsed with the lock's "
		    "lease (etcd did not hear from us for its TTL); it may be served again: not "
		    "stopping it", c->name);
	paas_kv_clear(&kv);
	return 0;
}

/* Stop and remove c, withdrawn and drained already. */
static int
stop_remove(struct run *r, struct ctr *c, int drop_key, struct paas_err *err)
{
	if (c->p.running && r->t->ops->stop(r->t, c->h->index, c->id, stop_timeout_s(r),
	    err) < 0)
		return paas_err_wrap(err, "cannot stop %s on host %s", c->name, c->h->p.name);
	return removed(r, c, drop_key, err);
}

int
paas_run_remove(struct run *r, struct ctr *c, int drop_key, struct paas_err *err)
{
	int64_t rev;

	if (withdraw(r, c, &rev, err) < 0)
		return -1;
	if (rev) {
		if (wait_routers(r, rev, "stop", err) < 0)
			return paas_err_wrap(err, "%s is withdrawn but not known to be drained; "
			    "not stopping it", c->name);
		paas_sleep_ms(drain_ms(r));
		if (still_withdrawn(r, c, err) < 0)
			return -1;
	}
	return stop_remove(r, c, drop_key, err);
}

/* An old container replaced: withdrawn now; drained once the routers
 * serve that (the next wait for them says so) and drain_ms more; then
 * asked to stop, and removed once it has, by reap(), while the roll goes
 * on. */
static int
retire(struct run *r, struct ctr *c, struct paas_err *err)
{
	struct draining *d;
	int64_t rev;

	if (withdraw(r, c, &rev, err) < 0)
		return -1;
	r->draining = paas_xrealloc(r->draining, (r->ndraining + 1) * sizeof(*r->draining));
	d = &r->draining[r->ndraining++];
	d->c = c;
	d->rev = rev;
	d->marked = rev != 0;
	d->until = paas_now_ms();
	d->kill_by = 0;
	return 0;
}

/* Move the retired ones on: the drained asked to stop, the stopped (or
 * those past the stop timeout, killed) removed.  With all, until every
 * one is gone: the routers waited for and each drain waited out. */
static int
reap(struct run *r, int all, struct paas_err *err)
{
	int64_t need = 0;
	size_t i;

	for (i = 0; all && i < r->ndraining; i++)
		if (r->draining[i].rev > need)
			need = r->draining[i].rev;
	if (need && wait_routers(r, need, "stop", err) < 0) {
		for (i = 0; i < r->ndraining; i++)
			if (r->draining[i].rev)
				break;
		return paas_err_wrap(err, "%s is withdrawn but not known to be drained; not "
		    "stopping it", r->draining[i].c->name);
	}
	while (r->ndraining) {
		long long now = paas_now_ms(), next = now + 50;

		for (i = 0; i < r->ndraining; ) {
			struct draining *d = &r->draining[i];
			struct ctr *c = d->c;
			struct paas_err why = PAAS_ERR_INIT;
			int gone;

			if (d->rev || d->until > now) {
				if (!d->rev && d->until < next)
					next = d->until;
				i++;
				continue;
			}
			if (d->kill_by == 0) {
				if (c->p.running && d->marked && still_withdrawn(r, c, err) < 0)
					return -1;
				if (c->p.running && r->t->ops->signal_stop(r->t, c->h->index, c->id,
				    err) < 0)
					return paas_err_wrap(err, "cannot stop %s on host %s", c->name,
					    c->h->p.name);
				d->kill_by = paas_now_ms() + stop_timeout_s(r) * 1000LL;
			}
			/* Past the stop timeout: removing it kills it. */
			gone = !c->p.running || paas_now_ms() >= d->kill_by ||
			    r->t->ops->exited(r->t, c->h->index, c->id, &why);
			if (!gone) {
				i++;
				continue;
			}
			if (removed(r, c, 0, err) < 0)
				return -1;
			memmove(d, d + 1, (r->ndraining - i - 1) * sizeof(*d));
			r->ndraining--;
		}
		if (!all || r->ndraining == 0)
			break;
		paas_sleep_ms(next - paas_now_ms());
	}
	return 0;
}

static long long
health_deadline(const json_t *health)
{
	if (!json_is_object(health))
		return SETTLE_MS + 5000;
	return json_integer_value(json_object_get(health, "start_period_ms")) +
	    json_integer_value(json_object_get(health, "retries")) *
	    json_integer_value(json_object_get(health, "interval_ms")) +
	    json_integer_value(json_object_get(health, "timeout_ms"));
}

/* One health check of instance id of step s on host port hp, at its
 * host's address or where its target says it runs (asked until it says,
 * then kept). */
static int
probe_at(struct run *r, struct step *s, const char *id, int hp, const json_t *health)
{
	if (s->addr == NULL && r->t->ops->address && r->t->ops->address(r->t, s->h->index, id,
	    &s->addr, &s->last) < 0)
		return -1;
	return paas_health_probe(s->addr ? s->addr : s->h->addr, hp, health,
	    json_integer_value(json_object_get(health, "timeout_ms")), &s->last);
}

/* One look at step s: 1 healthy, -1 failed (s->last says why), 0 not yet;
 * *next gets when to look again. */
static int
probe_step(struct run *r, struct step *s, long long *next)
{
	const json_t *health = json_object_get(s->a->svc, "health");
	const char *id = s->keep ? s->keep->id : s->id;
	const json_t *ports = s->keep ? s->keep->ports : s->a->ports;
	struct paas_target *t = r->t;
	long long every = PROBE_EVERY_MS, now = paas_now_ms();
	int ok = -1;

	if (now >= s->next_inspect) {
		if (t->ops->exited(t, s->h->index, id, &s->last))
			return -1;
		s->next_inspect = now + 500;
	}
	if (now >= s->next_probe) {
		if (json_is_object(health)) {
			char pp[16];
			int hp;

			snprintf(pp, sizeof(pp), "%lld",
			    (long long)json_integer_value(json_object_get(health, "port")));
			hp = (int)json_integer_value(json_object_get(ports, pp));
			if (json_integer_value(json_object_get(health, "interval_ms")) < every)
				every = json_integer_value(json_object_get(health, "interval_ms"));
			paas_err_clear(&s->last);
			ok = probe_at(r, s, id, hp, health);
		} else if (now - s->t_start >= SETTLE_MS) {
			if (t->ops->exited(t, s->h->index, id, &s->last))
				return -1;
			ok = 0;
		}
		s->next_probe = paas_now_ms() + every;
	}
	if (ok == 0)
		return 1;
	if (paas_now_ms() >= s->deadline) {
		if (s->last.msg[0] == '\0')
			paas_err_set(&s->last, PAAS_EFAILED, "no check passed");
		return -1;
	}
	if (s->next_probe < *next)
		*next = s->next_probe;
	if (s->next_inspect < *next)
		*next = s->next_inspect;
	if (s->deadline < *next)
		*next = s->deadline;
	return 0;
}

static int
wait_healthy(struct run *r, struct step **batch, size_t n, struct paas_err *err)
{
	size_t i, left = n;

	for (i = 0; i < n; i++) {
		struct step *s = batch[i];

		if (s->keep) {
			s->t_start = paas_now_ms();
			s->next_probe = s->t_start;
			s->next_inspect = s->t_start;
		}
		s->deadline = s->t_start + health_deadline(json_object_get(s->a->svc, "health"));
		s->done = 0;
		paas_err_clear(&s->last);
	}
	while (left) {
		long long next = paas_now_ms() + 1000;

		for (i = 0; i < n; i++) {
			struct step *s = batch[i];
			int st;

			if (s->done)
				continue;
			if ((st = probe_step(r, s, &next)) < 0) {
				r->failed = s;
				return paas_err_set(err, PAAS_EFAILED, "%s instance %s on host %s did "
				    "not become healthy within %.1f s: %s", s->a->service, s->a->instance,
				    s->h->p.name, (paas_now_ms() - s->t_start) / 1000.0, s->last.msg);
			}
			if (st == 0)
				continue;
			s->done = 1;
			left--;
			paas_run_emit(r, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "kind", "healthy",
			    "service", s->a->service, "instance", s->a->instance, "host", s->h->p.name,
			    "container", s->keep ? s->keep->name : s->cname,
			    "ms", (json_int_t)(paas_now_ms() - s->t_start)));
		}
		if (left)
			paas_sleep_ms(next - paas_now_ms());
	}
	return 0;
}

/* A failed new container goes, withdrawn first where an agent runs (as
 * withdraw() does): it may have announced it after we gave up waiting (an
 * etcd stall), and a router may serve it.  Its drain mark has no lease
 * (our lock's may be gone) and goes with it. */
static void
retract_failed(struct run *r, struct step *s)
{
	struct paas_err ignore = PAAS_ERR_INIT;
	int64_t trev = 0;
	int found, marked;

	marked = drain_ms(r) >= 0 && has_agent(r, s->h, &ignore) > 0 &&
	    withdraw_mark(r, s->a->service, s->a->instance, s->id, 0, &trev, &found, &ignore) == 0;
	if (marked && wait_routers(r, trev, "stop", &ignore) == 0)
		paas_sleep_ms(drain_ms(r));
	paas_err_clear(&ignore);
	r->t->ops->remove(r->t, s->h->index, s->id, &ignore);
	if (marked) {
		char *drain = paas_key_drain(s->id);

		paas_etcd_delete(r->e, drain, 0, NULL, &ignore);
		free(drain);
	}
}

char *
paas_run_report_unhealthy(struct run *r)
{
	struct step *s = r->failed;
	struct paas_buf logs = PAAS_BUF_INIT;
	struct paas_err ignore = PAAS_ERR_INIT;
	const char *id = s->keep ? s->keep->id : s->id;
	json_t *lines = json_array();
	char *line, *save = NULL;

	if (r->t->ops->logs(r->t, s->h->index, id, LOG_LINES, &logs, &ignore) == 0 && logs.len) {
		for (line = strtok_r(logs.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			struct paas_buf p = PAAS_BUF_INIT;

			paas_buf_add_printable(&p, line);
			json_array_append_new(lines, json_string(p.data));
			paas_buf_free(&p);
		}
	}
	paas_run_emit(r, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O}", "kind", "unhealthy",
	    "service", s->a->service, "instance", s->a->instance, "host", s->h->p.name,
	    "container", s->keep ? s->keep->name : s->cname, "error", s->last.msg, "logs", lines));
	paas_buf_reset(&logs);
	if (json_array_size(lines)) {
		size_t i;

		paas_buf_adds(&logs, "; its last log lines:");
		for (i = 0; i < json_array_size(lines); i++)
			paas_buf_addf(&logs, "\n  %s", json_string_value(json_array_get(lines, i)));
	}
	json_decref(lines);
	if (!s->keep && s->id)
		retract_failed(r, s);
	return paas_buf_detach(&logs, NULL);
}

static int
lock_ok(struct run *r, struct paas_err *err)
{
	if (r->lock && !paas_lock_held(r->lock))
		return paas_err_set(err, PAAS_EUNAVAIL, "lost the lock of deployment %s (etcd did not "
		    "hear from us for its TTL); stopping here, the next run carries on", r->o->deployment);
	return 0;
}

/* Record the instances that stay and drop the keys of those that went. */
static int
record_instances(struct run *r, struct paas_err *err)
{
	struct paas_kv_list l;
	char *prefix = paas_key_instance(r->o->deployment, NULL, NULL);
	json_t *want = json_object(), *v;
	const char *k;
	size_t i;
	int rc = -1;

	for (i = 0; i < r->nctrs; i++) {
		struct ctr *c = &r->ctrs[i];
		char *key;

		if (c->p.fate != PAAS_KEEP)
			continue;
		key = paas_key_instance(r->o->deployment, c->service, c->instance);
		json_object_set_new(want, key, instance_value(c->h, c->name, c->id, c->release,
		    c->version, c->ports));
		free(key);
	}
	for (i = 0; i < r->plan.nacts; i++) {
		struct step *s = &r->steps[i];
		char *key;

		if (s->keep || s->id == NULL)
			continue;
		key = paas_key_instance(r->o->deployment, s->a->service, s->a->instance);
		json_object_set_new(want, key, instance_value(s->h, s->cname, s->id, r->release,
		    s->a->version, s->a->ports));
		free(key);
	}
	if (paas_etcd_range(r->e, prefix, 0, 0, &l, err) < 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		json_t *have = json_loadb(l.kvs[i].value, l.kvs[i].value_len, 0, NULL);
		json_t *w = json_object_get(want, l.kvs[i].key);

		if (w == NULL) {
			if (paas_etcd_delete(r->e, l.kvs[i].key, 0, NULL, err) < 0) {
				json_decref(have);
				paas_kv_list_free(&l);
				goto out;
			}
		} else if (json_equal(have, w))
			json_object_del(want, l.kvs[i].key);
		json_decref(have);
	}
	paas_kv_list_free(&l);
	json_object_foreach(want, k, v)
		if (paas_etcd_put_json(r->e, k, v, 0, NULL, err) < 0)
			goto out;
	rc = 0;
out:
	json_decref(want);
	free(prefix);
	return rc;
}

/* One batch: old ones that must go first, the new started and checked,
 * announced and served, recorded; then the old ones they replace go. */
static int
roll_batch(struct run *r, struct step **batch, size_t nb, int stop_first, struct paas_err *err)
{
	size_t j, k;

	if (lock_ok(r, err) < 0 || reap(r, 0, err) < 0)
		return -1;
	for (j = 0; j < nb; j++) {
		struct paas_place_action *a = batch[j]->a;

		/* Stopped leftovers hold the name; running old ones wait for
		 * their replacement unless the order is stop-first. */
		for (k = 0; k < a->nold; k++)
			if ((stop_first || !a->old[k]->running) &&
			    paas_run_remove(r, paas_ctr_of(a->old[k]), stop_first, err) < 0)
				return -1;
		if (!batch[j]->keep && start_instance(r, batch[j], err) < 0)
			return -1;
	}
	if (wait_healthy(r, batch, nb, err) < 0)
		return -1;
	for (j = 0; j < nb; j++)
		if (wait_announced(r, batch[j], err) < 0)
			return -1;
	for (j = 0; j < nb; j++) {
		struct step *b = batch[j];

		if (!b->keep) {
			char *key = paas_key_instance(r->o->deployment, b->a->service, b->a->instance);
			json_t *v = instance_value(b->h, b->cname, b->id, r->release, b->a->version,
			    b->a->ports);
			int prc = paas_etcd_put_json(r->e, key, v, 0, NULL, err);

			free(key);
			json_decref(v);
			if (prc < 0)
				return -1;
		}
		/* The old ones drain while the next batch starts. */
		for (k = 0; k < b->a->nold; k++)
			if (b->a->old[k]->running && retire(r, paas_ctr_of(b->a->old[k]), err) < 0)
				return -1;
	}
	/* Those with nothing to drain are asked to stop now. */
	return reap(r, 0, err);
}

/* Containers that no action claimed and that match: services the spec
 * keeps with fewer instances (name given) or no longer has (NULL). */
static int
remove_unclaimed(struct run *r, const char *service, struct paas_err *err)
{
	size_t i;

	for (i = 0; i < r->nctrs; i++) {
		struct ctr *c = &r->ctrs[i];

		if (c->p.fate != PAAS_REMOVE || c->p.claimed)
			continue;
		if (service ? strcmp(c->service, service) != 0 :
		    json_object_get(json_object_get(r->spec, "services"), c->service) != NULL)
			continue;
		if (lock_ok(r, err) < 0 || paas_run_remove(r, c, 1, err) < 0)
			return -1;
	}
	return 0;
}

int
paas_run_rollout(struct run *r, struct paas_err *err)
{
	size_t nnames, s, i;
	const char **names = paas_json_keys(json_object_get(r->spec, "services"), &nnames);
	struct step **batch = paas_xmalloc((r->plan.nacts ? r->plan.nacts : 1) * sizeof(*batch));
	int rc = -1;

	if (paas_run_jobs(r, r->spec, err) < 0)
		goto out;
	for (s = 0; s < nnames; s++) {
		const json_t *svc = json_object_get(json_object_get(r->spec, "services"), names[s]);
		const json_t *update = json_object_get(svc, "update");
		size_t parallel = (size_t)json_integer_value(json_object_get(update, "parallel"));
		int stop_first = !strcmp(json_string_value(json_object_get(update, "order")), "stop-first");
		long long delay = json_integer_value(json_object_get(update, "delay_ms"));
		size_t nb = 0, first = 1;

		if (parallel == 0)
			parallel = 1;
		for (i = 0; i <= r->plan.nacts; i++) {
			struct step *st = i < r->plan.nacts ? &r->steps[i] : NULL;

			if (st && strcmp(st->a->service, names[s]) != 0)
				continue;
			if (st)
				batch[nb++] = st;
			if (nb < parallel && st)
				continue;
			if (nb == 0)
				break;
			if (!first && delay)
				paas_sleep_ms(delay);
			first = 0;
			if (roll_batch(r, batch, nb, stop_first, err) < 0)
				goto out;
			nb = 0;
		}
		/* Instances the service no longer wants. */
		if (remove_unclaimed(r, names[s], err) < 0)
			goto out;
	}
	/* Services the spec no longer has. */
	if (remove_unclaimed(r, NULL, err) < 0)
		goto out;
	rc = reap(r, 1, err) < 0 ? -1 : record_instances(r, err);
out:
	/* Withdrawn ones whose replacements serve go even when the roll
	 * failed: a rollback would otherwise find them running unannounced. */
	if (rc < 0 && r->ndraining) {
		struct paas_err e2 = PAAS_ERR_INIT;

		reap(r, 1, &e2);
	}
	free(batch);
	free(names);
	return rc;
}

int
paas_run_converge(struct run *r, struct paas_err *err)
{
	if (paas_run_observe(r, err) < 0 || paas_run_plan(r, err) < 0)
		return -1;
	if (!paas_plan_empty(&r->plan))
		paas_run_emit(r, paas_run_plan_event(r));
	return paas_run_rollout(r, err);
}
