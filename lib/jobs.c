/*
 * Jobs: the agent's scheduler and the runs' records (jobs.h).
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "cron.h"
#include "jobs.h"
#include "jsonx.h"
#include "keys.h"
#include "labels.h"
#include "release.h"

#define SCAN_MS		500		/* templates and runs read from Docker */
#define TOLERANCE_S	10		/* a due time claimed at most this late... */
#define LOG_KEEP	65536		/* bytes of a run's output kept */

struct job {
	char *tid, *dep, *svc;
	int64_t release;
	struct paas_cron cron;
	struct paas_tz *tz;
	int allow, missed_run, active, seen, checked;
	long long timeout_ms;
	int64_t next, pending;		/* Unix seconds; pending 0: none */
	int64_t missed_due;		/* with missed: run, one to run late */
};

struct runc {
	char *id, *dep, *svc, *reason;
	int64_t due, lease;		/* lease: its running key's, 0 not held */
	int allow, running, seen, killed;
	long long timeout_ms;
	int64_t created;
};

struct paas_jobs {
	char *host;
	paas_log_fn log;
	void *arg;
	/* The fence: a thread of its own with a Docker client of its own, so
	 * that a main loop blocked on etcd cannot keep it from its time. */
	pthread_t fence;
	int fencing;
	struct paas_docker *fd;
	volatile sig_atomic_t *stop;
	long long deadline;		/* runs killed past it (atomic; 0: none yet) */
	pthread_mutex_t mu;
	json_t *fenced;			/* {ID: true}: killed by the fence */
	struct job **jobs;
	size_t njobs;
	struct runc **runs;
	size_t nruns;
	long long next_scan;
};

#define say(j, ...)	paas_logf((j)->log, (j)->arg, __VA_ARGS__)

struct paas_jobs *
paas_jobs_new(const char *host, paas_log_fn log, void *arg)
{
	struct paas_jobs *j = calloc(1, sizeof(*j));

	if (j == NULL)
		abort();
	j->host = paas_xstrdup(host);
	j->log = log;
	j->arg = arg;
	j->fenced = json_object();
	pthread_mutex_init(&j->mu, NULL);
	return j;
}

/* Past the deadline, every run on the host is killed. */
static void *
fence(void *arg)
{
	static const char *const labels[] = { PAAS_LABEL_JOB_DUE, NULL };
	struct paas_jobs *j = arg;

	while (!*j->stop) {
		long long until = __atomic_load_n(&j->deadline, __ATOMIC_ACQUIRE);
		struct paas_err err = PAAS_ERR_INIT;
		json_t *list = NULL, *c;
		size_t k;

		paas_sleep_ms(100);
		if (until == 0 || paas_now_ms() < until ||
		    paas_docker_containers(j->fd, labels, 0, &list, &err) < 0)
			continue;
		json_array_foreach(list, k, c) {
			const char *id = paas_json_str(c, "Id", "");
			int known;

			pthread_mutex_lock(&j->mu);
			known = json_object_get(j->fenced, id) != NULL;
			pthread_mutex_unlock(&j->mu);
			if (known || paas_docker_kill(j->fd, id, "SIGKILL", &err) < 0)
				continue;	/* killed already, or ended */
			pthread_mutex_lock(&j->mu);
			json_object_set_new(j->fenced, id, json_true());
			pthread_mutex_unlock(&j->mu);
			say(j, "job run %.12s killed: this agent has not reached etcd for two thirds "
			    "of its lease's TTL, and another agent may start the next run", id);
		}
		json_decref(list);
	}
	return NULL;
}

int
paas_jobs_fence(struct paas_jobs *j, struct paas_docker *d, volatile sig_atomic_t *stop)
{
	j->fd = d;
	j->stop = stop;
	if (pthread_create(&j->fence, NULL, fence, j) != 0) {
		j->fd = NULL;
		return -1;
	}
	j->fencing = 1;
	return 0;
}

static void
job_free(struct job *b)
{
	free(b->tid);
	free(b->dep);
	free(b->svc);
	paas_tz_free(b->tz);
	free(b);
}

static void
run_free(struct runc *r)
{
	free(r->id);
	free(r->dep);
	free(r->svc);
	free(r->reason);
	free(r);
}

void
paas_jobs_free(struct paas_jobs *j)
{
	size_t k;

	if (j == NULL)
		return;
	if (j->fencing)
		pthread_join(j->fence, NULL);
	paas_docker_free(j->fd);
	json_decref(j->fenced);
	pthread_mutex_destroy(&j->mu);
	for (k = 0; k < j->njobs; k++)
		job_free(j->jobs[k]);
	for (k = 0; k < j->nruns; k++)
		run_free(j->runs[k]);
	free(j->jobs);
	free(j->runs);
	free(j->host);
	free(j);
}

/* The running key of a run: one per job, or one per run with overlap. */
static char *
running_key(const char *dep, const char *svc, int allow, int64_t due)
{
	return paas_key_job(dep, svc, "running", allow ? due : 0);
}

/* Its value, byte for byte what claim() puts and finish() and hold()
 * compare with: {"due":DUE,"host":HOST}. */
static void
running_value(const struct paas_jobs *j, int64_t due, char *out, size_t size)
{
	snprintf(out, size, "{\"due\":%" PRId64 ",\"host\":\"%s\"}", due, j->host);
}

/* A template's job from its labels; NULL when they are not whole. */
static struct job *
job_new(const char *tid, const json_t *l)
{
	const char *dep = paas_json_str(l, PAAS_LABEL_JOB, NULL);
	const char *svc = paas_json_str(l, PAAS_LABEL_JOB_SERVICE, NULL);
	const char *rel = paas_json_str(l, PAAS_LABEL_JOB_RELEASE, "0");
	json_t *s = json_loads(paas_json_str(l, PAAS_LABEL_JOB_SCHEDULE, ""), 0, NULL);
	struct paas_err err = PAAS_ERR_INIT;
	struct job *b = calloc(1, sizeof(*b));

	if (b == NULL)
		abort();
	if (!dep || !svc || atoll(rel) <= 0 || !json_is_object(s) ||
	    paas_cron_parse(paas_json_str(s, "cron", ""), &b->cron, &err) < 0 ||
	    paas_tz_load(paas_json_str(s, "timezone", "UTC"), &b->tz, &err) < 0) {
		json_decref(s);
		free(b);
		return NULL;
	}
	b->tid = paas_xstrdup(tid);
	b->dep = paas_xstrdup(dep);
	b->svc = paas_xstrdup(svc);
	b->release = atoll(rel);
	b->allow = strcmp(paas_json_str(s, "overlap", "skip"), "allow") == 0;
	b->missed_run = strcmp(paas_json_str(s, "missed", "skip"), "run") == 0;
	b->timeout_ms = json_integer_value(json_object_get(s, "timeout_ms"));
	json_decref(s);
	return b;
}

/* Templates and runs on the host, against what we knew. */
static void
scan(struct paas_jobs *j, struct paas_etcd *e, struct paas_docker *d)
{
	static const char *const labels[] = { PAAS_LABEL_JOB, NULL };
	struct paas_err err = PAAS_ERR_INIT;
	json_t *list, *c, *current = json_object();
	size_t k, n;

	if (paas_docker_containers(d, labels, 1, &list, &err) < 0) {
		json_decref(current);
		return;
	}
	for (k = 0; k < j->njobs; k++)
		j->jobs[k]->seen = 0;
	for (k = 0; k < j->nruns; k++)
		j->runs[k]->seen = 0;
	json_array_foreach(list, k, c) {
		const json_t *l = json_object_get(c, "Labels");
		const char *id = paas_json_str(c, "Id", ""), *due = paas_json_str(l, PAAS_LABEL_JOB_DUE,
		    NULL);

		if (due) {
			struct runc *r = NULL;

			for (n = 0; n < j->nruns && !r; n++)
				if (strcmp(j->runs[n]->id, id) == 0)
					r = j->runs[n];
			if (r == NULL) {
				struct job *b = job_new(id, l);

				if (b == NULL || atoll(due) <= 0) {
					if (b)
						job_free(b);
					continue;
				}
				r = calloc(1, sizeof(*r));
				if (r == NULL)
					abort();
				r->id = paas_xstrdup(id);
				r->dep = paas_xstrdup(b->dep);
				r->svc = paas_xstrdup(b->svc);
				r->due = atoll(due);
				r->allow = b->allow;
				r->timeout_ms = b->timeout_ms;
				r->created = json_integer_value(json_object_get(c, "Created"));
				job_free(b);
				j->runs = paas_xrealloc(j->runs, (j->nruns + 1) * sizeof(*j->runs));
				j->runs[j->nruns++] = r;
			}
			r->seen = 1;
			r->running = strcmp(paas_json_str(c, "State", ""), "running") == 0;
			continue;
		}
		for (n = 0; n < j->njobs; n++)
			if (strcmp(j->jobs[n]->tid, id) == 0)
				break;
		if (n == j->njobs) {
			struct job *b = job_new(id, l);

			if (b == NULL)
				continue;
			j->jobs = paas_xrealloc(j->jobs, (j->njobs + 1) * sizeof(*j->jobs));
			j->jobs[j->njobs++] = b;
		}
		j->jobs[n]->seen = 1;
	}
	json_decref(list);
	for (k = n = 0; k < j->njobs; k++)
		if (j->jobs[k]->seen)
			j->jobs[n++] = j->jobs[k];
		else
			job_free(j->jobs[k]);
	j->njobs = n;
	for (k = n = 0; k < j->nruns; k++)
		if (j->runs[k]->seen)
			j->runs[n++] = j->runs[k];
		else
			run_free(j->runs[k]);
	j->nruns = n;
	/* A template runs only while its release is its deployment's. */
	for (k = 0; k < j->njobs; k++) {
		struct job *b = j->jobs[k];
		json_t *cur = json_object_get(current, b->dep);
		int64_t rel;

		if (cur == NULL) {
			paas_err_clear(&err);
			if (paas_release_number(e, b->dep, &rel, NULL, &err) < 0)
				continue;	/* etcd away: as it was */
			json_object_set_new(current, b->dep, cur = json_integer(rel));
		}
		b->active = json_integer_value(cur) == b->release;
	}
	json_decref(current);
}

static void
put_record(struct paas_etcd *e, const char *dep, const char *svc, int64_t due, json_t *rec,
    struct paas_err *err)
{
	char *k = paas_key_job(dep, svc, "runs", due);

	paas_etcd_put_json(e, k, rec, 0, NULL, err);
	free(k);
}

/* A container copied from template tid for the run due at due. */
static int
start_run(struct paas_docker *d, const struct job *b, int64_t due, char **id,
    struct paas_err *err)
{
	json_t *t = NULL, *cfg, *c, *hc, *nhc, *labels, *env, *v;
	char name[256], dues[32];
	const char *k;
	int rc = -1;

	*id = NULL;
	if (paas_docker_inspect(d, b->tid, &t, err) < 0)
		return -1;
	if (t == NULL)
		return paas_err_set(err, PAAS_EFAILED, "its template %.12s is gone", b->tid);
	c = json_object_get(t, "Config");
	hc = json_object_get(t, "HostConfig");
	snprintf(dues, sizeof(dues), "%" PRId64, due);
	labels = json_deep_copy(json_object_get(c, "Labels"));
	json_object_set_new(labels, PAAS_LABEL_JOB_DUE, json_string(dues));
	env = json_deep_copy(json_object_get(c, "Env"));
	json_array_append_new(env, json_sprintf("PAAS_JOB_DUE=%s", dues));
	/* The template's command and limits; a run's own labels, due time
	 * and restart policy. */
	nhc = json_pack("{s:b, s:{s:s}}", "Init", 1, "RestartPolicy", "Name", "no");
	json_object_foreach(hc, k, v)
		if ((!strcmp(k, "Mounts") && json_is_array(v)) || ((!strcmp(k, "Memory") ||
		    !strcmp(k, "NanoCpus")) && json_integer_value(v)))
			json_object_set(nhc, k, v);
	cfg = json_pack("{s:O, s:o, s:o, s:o}", "Image", json_object_get(t, "Image"), "Env", env,
	    "Labels", labels, "HostConfig", nhc);
	json_object_foreach(c, k, v)
		if (!strcmp(k, "Cmd") || !strcmp(k, "Entrypoint") || !strcmp(k, "WorkingDir") ||
		    !strcmp(k, "User"))
			json_object_set(cfg, k, v);
	snprintf(name, sizeof(name), "%s.%s.run.%" PRId64, b->dep, b->svc, due);
	if (paas_docker_create(d, name, cfg, id, err) == 0 && paas_docker_start(d, *id, err) == 0)
		rc = 0;
	else if (*id) {
		struct paas_err e2 = PAAS_ERR_INIT;

		paas_docker_remove(d, *id, 1, &e2);
		free(*id);
		*id = NULL;
	}
	json_decref(cfg);
	json_decref(t);
	return rc;
}

static json_t *
run_record(const struct paas_jobs *j, const struct job *b, int64_t due, int late,
    const char *state)
{
	char when[32];

	paas_utc_of(due, when, sizeof(when));
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:b}", "kind", "job_run",
	    "time", when, "deployment", b->dep, "service", b->svc, "due", (json_int_t)due,
	    "host", j->host, "release", (json_int_t)b->release, "state", state, "late", late);
}

/* Try to take due time due: 1 taken (and started, or recorded failed), 0
 * another agent's or skipped, -1 etcd did not answer. */
static int
claim(struct paas_jobs *j, struct paas_etcd *e, struct paas_docker *d, struct job *b,
    int64_t due, int late, const struct paas_lease *lease)
{
	struct paas_err err = PAAS_ERR_INIT;
	char *rk = paas_key_job(b->dep, b->svc, "runs", due), *lk = running_key(b->dep, b->svc,
	    b->allow, due), *rv, lv[128], *id = NULL, now[32];
	json_t *rec = run_record(j, b, due, late, "running");
	int ok = 0, rc = -1;

	paas_utc_now(now, sizeof(now));
	json_object_set_new(rec, "start_time", json_string(now));
	running_value(j, due, lv, sizeof(lv));
	rv = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	{
		struct paas_cmp cmp[2] = {
			{ rk, PAAS_CMP_CREATE, PAAS_CMP_EQUAL, 0, NULL, 0 },
			{ lk, PAAS_CMP_CREATE, PAAS_CMP_EQUAL, 0, NULL, 0 },
		};
		struct paas_op put[2] = {
			{ PAAS_OP_PUT, rk, rv, strlen(rv), 0 },
			{ PAAS_OP_PUT, lk, lv, strlen(lv), lease->id },
		};

		if (paas_etcd_txn(e, cmp, b->allow ? 1 : 2, put, 2, NULL, 0, &ok, NULL, &err) < 0)
			goto out;
	}
	if (!ok) {
		struct paas_kv kv;
		int found = 0, won = 0;
		json_t *skip;
		char *sv;

		/* Another agent's, or the last run still going. */
		if (paas_etcd_get(e, rk, &kv, &found, NULL, &err) < 0)
			goto out;
		if (found) {
			paas_kv_clear(&kv);
			rc = 0;
			goto out;
		}
		skip = run_record(j, b, due, late, "skipped");
		json_object_set_new(skip, "reason", json_string("the last run still runs (overlap: "
		    "skip)"));
		sv = json_dumps(skip, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(skip);
		rc = paas_etcd_cas(e, rk, sv, strlen(sv), 0, 0, &won, &err) < 0 ? -1 : 0;
		free(sv);
		if (won)
			say(j, "job %s.%s: due %" PRId64 " skipped: the last run still runs", b->dep,
			    b->svc, due);
		goto out;
	}
	rc = 1;
	if (start_run(d, b, due, &id, &err) < 0) {
		struct paas_err e2 = PAAS_ERR_INIT;

		say(j, "job %s.%s: the run due %" PRId64 " cannot start: %s", b->dep, b->svc, due,
		    err.msg);
		json_object_set_new(rec, "state", json_string("failed"));
		json_object_set_new(rec, "reason", json_string(err.msg));
		put_record(e, b->dep, b->svc, due, rec, &e2);
		paas_etcd_delete(e, lk, 0, NULL, &e2);
		goto out;
	}
	say(j, "job %s.%s: run due %" PRId64 " started (%.12s)%s", b->dep, b->svc, due, id,
	    late ? ", late" : "");
	json_object_set_new(rec, "container", json_string(id));
	put_record(e, b->dep, b->svc, due, rec, &err);
	{
		struct runc *r = calloc(1, sizeof(*r));

		if (r == NULL)
			abort();
		r->id = id;
		id = NULL;
		r->dep = paas_xstrdup(b->dep);
		r->svc = paas_xstrdup(b->svc);
		r->due = due;
		r->lease = lease->id;
		r->allow = b->allow;
		r->running = r->seen = 1;
		r->timeout_ms = b->timeout_ms;
		r->created = (int64_t)time(NULL);
		j->runs = paas_xrealloc(j->runs, (j->nruns + 1) * sizeof(*j->runs));
		j->runs[j->nruns++] = r;
	}
out:
	free(id);
	free(rk);
	free(lk);
	free(rv);
	json_decref(rec);
	return rc;
}

/* How late a due time of b may still be claimed: TOLERANCE_S, or half
 * the job's period when that is shorter. */
static int64_t
tolerance(const struct job *b, int64_t now)
{
	int64_t p = paas_cron_period(&b->cron, b->tz, now);

	return p > 0 && p / 2 < TOLERANCE_S ? p / 2 : TOLERANCE_S;
}

/*
 * On first sight of a job, from its run records: a run this host claimed
 * that has no container here (its agent stopped between the claim and the
 * start, or the container went) is recorded failed; with missed: run, the
 * latest due time nobody ran since the last run becomes b->missed_due.
 */
static void
first_sight(struct paas_jobs *j, struct paas_etcd *e, struct job *b, int64_t before)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_kv_list l;
	char *p = paas_key_job(b->dep, b->svc, "runs", 0);
	int64_t last, d;
	size_t k, n;

	if (paas_etcd_range(e, p, 0, 0, &l, &err) == 0) {
		b->checked = 1;
		for (k = 0; k < l.n; k++) {
			json_t *r = json_loadb(l.kvs[k].value, l.kvs[k].value_len, 0, NULL);
			int64_t due = json_integer_value(json_object_get(r, "due"));

			for (n = 0; n < j->nruns; n++)
				if (j->runs[n]->due == due && !strcmp(j->runs[n]->svc, b->svc) &&
				    !strcmp(j->runs[n]->dep, b->dep))
					break;
			if (n == j->nruns && !strcmp(paas_json_str(r, "state", ""), "running") &&
			    !strcmp(paas_json_str(r, "host", ""), j->host)) {
				json_object_set_new(r, "state", json_string("failed"));
				json_object_set_new(r, "reason", json_string("its agent stopped before "
				    "the run started, or its container went"));
				put_record(e, b->dep, b->svc, due, r, &err);
			}
			json_decref(r);
		}
		last = l.n ? atoll(strrchr(l.kvs[l.n - 1].key, '/') + 1) : 0;
		if (b->missed_run && last > 0 && (d = paas_cron_latest(&b->cron, b->tz, last, before)) > 0) {
			b->missed_due = d;
			say(j, "job %s.%s: due %" PRId64 " was missed (missed: run): it runs now, late",
			    b->dep, b->svc, d);
		}
		paas_kv_list_free(&l);
	}
	free(p);
}

/*
 * The job's due times: the latest that has come claimed while it is
 * within the tolerance; one found missed (this agent away, or the whole
 * cluster), with missed: run, claimed late once.
 */
static void
schedule(struct paas_jobs *j, struct paas_etcd *e, struct paas_docker *d, struct job *b,
    const struct paas_lease *lease, int lease_ok)
{
	int64_t now = (int64_t)time(NULL), tol = tolerance(b, now);

	if (b->next == 0)
		b->next = paas_cron_next(&b->cron, b->tz, now - tol - 1);
	/* Missed: the due times before the first this agent handles. */
	if (!b->checked && lease_ok)
		first_sight(j, e, b, b->next - 1);
	while (b->next > 0 && b->next <= now) {
		b->pending = b->next;
		b->next = paas_cron_next(&b->cron, b->tz, b->next);
	}
	if (b->pending && now - b->pending > tol) {
		if (b->missed_run && b->pending > b->missed_due)
			b->missed_due = b->pending;
		b->pending = 0;
	}
	if (!lease_ok)
		return;
	if (b->missed_due && b->missed_due != b->pending &&
	    claim(j, e, d, b, b->missed_due, 1, lease) >= 0)
		b->missed_due = 0;
	if (b->pending && claim(j, e, d, b, b->pending, 0, lease) >= 0)
		b->pending = 0;
}

/* A run that has ended: its record, its output, its key, its container. */
static int
finish(struct paas_jobs *j, struct paas_etcd *e, struct paas_docker *d, struct runc *r)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_buf out = PAAS_BUF_INIT;
	char *rk = paas_key_job(r->dep, r->svc, "runs", r->due), *gk = paas_key_job(r->dep, r->svc,
	    "logs", r->due), *lk = running_key(r->dep, r->svc, r->allow, r->due);
	json_t *t = NULL, *rec = NULL, *st;
	struct paas_kv kv;
	int found = 0, rc = -1;
	int64_t code;
	const char *text;

	if (paas_docker_inspect(d, r->id, &t, &err) < 0 || paas_docker_logs(d, r->id, 0, &out,
	    &err) < 0 || paas_etcd_get(e, rk, &kv, &found, NULL, &err) < 0)
		goto out;
	if (found) {
		rec = json_loadb(kv.value, kv.value_len, 0, NULL);
		paas_kv_clear(&kv);
	}
	if (!json_is_object(rec)) {
		json_decref(rec);
		rec = json_pack("{s:s, s:s, s:s, s:I, s:s}", "kind", "job_run", "deployment", r->dep,
		    "service", r->svc, "due", (json_int_t)r->due, "host", j->host);
	}
	st = json_object_get(t, "State");
	code = json_integer_value(json_object_get(st, "ExitCode"));
	json_object_set_new(rec, "state", json_string(r->killed ? "killed" : code ? "failed" :
	    "succeeded"));
	json_object_set_new(rec, "exit_code", json_integer(code));
	json_object_set(rec, "start_time", json_object_get(st, "StartedAt"));
	json_object_set(rec, "end_time", json_object_get(st, "FinishedAt"));
	json_object_set_new(rec, "container", json_string(r->id));
	if (r->reason)
		json_object_set_new(rec, "reason", json_string(r->reason));
	text = out.data ? out.data : "";
	if (out.len > LOG_KEEP)
		text = strchr(out.data + out.len - LOG_KEEP, '\n') ?
		    strchr(out.data + out.len - LOG_KEEP, '\n') + 1 : out.data + out.len - LOG_KEEP;
	if (paas_etcd_put(e, gk, text, strlen(text), 0, NULL, &err) < 0 ||
	    paas_etcd_put_json(e, rk, rec, 0, NULL, &err) < 0)
		goto out;
	{
		/* The running key goes if it is still this run's. */
		char lv[128];
		struct paas_cmp cmp = { lk, PAAS_CMP_VALUE, PAAS_CMP_EQUAL, 0, lv, 0 };
		struct paas_op del = { PAAS_OP_DELETE, lk, NULL, 0, 0 };
		int ok;

		running_value(j, r->due, lv, sizeof(lv));
		cmp.value_len = strlen(lv);
		if (paas_etcd_txn(e, &cmp, 1, &del, 1, NULL, 0, &ok, NULL, &err) < 0)
			goto out;
	}
	say(j, "job %s.%s: run due %" PRId64 " %s (exit %" PRId64 ")", r->dep, r->svc, r->due,
	    json_string_value(json_object_get(rec, "state")), code);
	paas_docker_remove(d, r->id, 1, &err);
	rc = 0;
	/* The oldest runs beyond those kept go. */
	{
		struct paas_kv_list l;
		char *p = paas_key_job(r->dep, r->svc, "runs", 0);
		size_t k;

		if (paas_etcd_range(e, p, 0, 1, &l, &err) == 0) {
			for (k = 0; k + PAAS_JOB_RUNS_KEPT < l.n; k++) {
				long long old = atoll(strrchr(l.kvs[k].key, '/') + 1);
				char *ok2 = paas_key_job(r->dep, r->svc, "logs", old);

				paas_etcd_delete(e, l.kvs[k].key, 0, NULL, &err);
				paas_etcd_delete(e, ok2, 0, NULL, &err);
				free(ok2);
			}
			paas_kv_list_free(&l);
		}
		free(p);
	}
out:
	json_decref(t);
	json_decref(rec);
	paas_buf_free(&out);
	free(rk);
	free(gk);
	free(lk);
	return rc;
}

/* A run going on holds its running key under the current lease: again
 * after the agent restarted or was registered again, unless another run
 * has it (then this one is killed). */
static void
hold(struct paas_jobs *j, struct paas_etcd *e, struct paas_docker *d, struct runc *r,
    const struct paas_lease *lease)
{
	struct paas_err err = PAAS_ERR_INIT;
	char *lk = running_key(r->dep, r->svc, r->allow, r->due), lv[128];
	struct paas_kv kv;
	int found = 0, won = 0;

	running_value(j, r->due, lv, sizeof(lv));
	if (paas_etcd_get(e, lk, &kv, &found, NULL, &err) < 0)
		goto out;
	if (found && (kv.value_len != strlen(lv) || memcmp(kv.value, lv, kv.value_len))) {
		paas_kv_clear(&kv);
		/* Killed if it still runs; one that has ended is recorded as it
		 * ended. */
		if (paas_docker_kill(d, r->id, "SIGKILL", &err) == 0) {
			say(j, "job %s.%s: another run started while this agent was away: the run "
			    "due %" PRId64 " is killed", r->dep, r->svc, r->due);
			r->killed = 1;
			r->reason = paas_xstrdup("another run started while its agent was away");
		}
		r->lease = lease->id;	/* not asked again */
		goto out;
	}
	if (paas_etcd_cas(e, lk, lv, strlen(lv), found ? kv.mod_revision : 0, lease->id, &won,
	    &err) == 0 && won) {
		r->lease = lease->id;
		say(j, "job %s.%s: run due %" PRId64 " (%.12s) held again", r->dep, r->svc, r->due,
		    r->id);
	}
	if (found)
		paas_kv_clear(&kv);
out:
	free(lk);
}

void
paas_jobs_tick(struct paas_jobs *j, struct paas_etcd *e, struct paas_docker *d,
    const struct paas_lease *lease)
{
	/* Fenced once two refreshes in a row (due every ttl/3) have not gone
	 * through: a third of the TTL before the lease can lapse. */
	long long now = paas_now_ms(), until = lease->last_ok + lease->ttl * 2000LL / 3;
	int lease_ok = lease->id != 0 && now < until;
	size_t k, n;

	__atomic_store_n(&j->deadline, lease->id ? until : 1, __ATOMIC_RELEASE);

	if (now >= j->next_scan) {
		scan(j, e, d);
		j->next_scan = paas_now_ms() + SCAN_MS;
	}
	for (k = n = 0; k < j->nruns; k++) {
		struct runc *r = j->runs[k];
		struct paas_err err = PAAS_ERR_INIT;

		pthread_mutex_lock(&j->mu);
		if (!r->killed && json_object_get(j->fenced, r->id)) {
			r->killed = 1;
			r->reason = paas_xstrdup("its agent lost etcd (lease)");
		}
		pthread_mutex_unlock(&j->mu);
		if (r->running && r->timeout_ms && !r->killed &&
		    (int64_t)time(NULL) - r->created > r->timeout_ms / 1000) {
			say(j, "job %s.%s: the run due %" PRId64 " ran past its timeout: killed", r->dep,
			    r->svc, r->due);
			r->killed = 1;
			r->reason = paas_xstrdup("it ran past its timeout");
			paas_docker_kill(d, r->id, "SIGKILL", &err);
		} else if (r->running && !r->killed && lease_ok && r->lease != lease->id)
			hold(j, e, d, r, lease);
		if (!r->running && lease_ok && finish(j, e, d, r) == 0) {
			pthread_mutex_lock(&j->mu);
			json_object_del(j->fenced, r->id);
			pthread_mutex_unlock(&j->mu);
			run_free(r);
			continue;
		}
		j->runs[n++] = r;
	}
	j->nruns = n;
	for (k = 0; k < j->njobs; k++)
		if (j->jobs[k]->active)
			schedule(j, e, d, j->jobs[k], lease, lease_ok);
}
