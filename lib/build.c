/*
 * Builds on deploy (build.h): git tree -> tar -> /build on the build host
 * -> push to the registry -> the digest in the spec.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "build.h"
#include "clock.h"
#include "docker.h"
#include "git.h"
#include "hosts.h"
#include "state.h"

int
paas_build_needed(const json_t *spec)
{
	const json_t *svc;
	const char *k;

	json_object_foreach((json_t *)json_object_get(spec, "services"), k, svc)
		if (json_is_object(json_object_get(svc, "build")))
			return 1;
	return 0;
}

struct line_arg {
	struct run *r;
	const char *service;
};

static void
on_line(const char *line, size_t len, void *arg)
{
	struct line_arg *a = arg;
	struct paas_buf b = PAAS_BUF_INIT;

	paas_buf_add(&b, line, len);
	paas_run_emit(a->r, json_pack("{s:s, s:s, s:s}", "kind", "build", "service", a->service,
	    "line", b.data));
	paas_buf_free(&b);
}

/* The repositories of one run, opened once each. */
struct repos {
	char **where;
	struct paas_git **g;
	size_t n;
};

static int
repo_get(struct repos *rs, const struct paas_deploy_opts *o, const char *where,
    struct paas_git **g, struct paas_err *err)
{
	char *cache = NULL, *state;
	size_t i;
	int rc;

	for (i = 0; i < rs->n; i++)
		if (strcmp(rs->where[i], where) == 0) {
			*g = rs->g[i];
			return 0;
		}
	if (o->git_cache)
		cache = paas_xstrdup(o->git_cache);
	else {
		state = paas_state_dir(NULL);
		if (asprintf(&cache, "%s/git-cache", state) < 0)
			abort();
		free(state);
	}
	rc = paas_git_open(where, o->source_dir ? o->source_dir : ".", cache, g, err);
	free(cache);
	if (rc < 0)
		return -1;
	rs->where = paas_xrealloc(rs->where, (rs->n + 1) * sizeof(*rs->where));
	rs->g = paas_xrealloc(rs->g, (rs->n + 1) * sizeof(*rs->g));
	rs->where[rs->n] = paas_xstrdup(where);
	rs->g[rs->n++] = *g;
	return 0;
}

static void
repos_free(struct repos *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		free(rs->where[i]);
		paas_git_free(rs->g[i]);
	}
	free(rs->where);
	free(rs->g);
}

/*
 * May a push's deploy build from where (a build's git value)?  The pushed
 * repository itself, a relative path with no ".." in it, or a source the
 * operator allowed for the deployment; nothing else is ever opened, so
 * that a push key reads no other repository the server can reach.
 */
static int
source_allowed(const struct paas_deploy_opts *o, const char *where)
{
	const char *p;
	size_t i;

	for (i = 0; o->allowed_sources && o->allowed_sources[i]; i++)
		if (strcmp(o->allowed_sources[i], where) == 0)
			return 1;
	if (where[0] == '/' || where[0] == '~' || strchr(where, ':'))
		return 0;
	for (p = where; *p; p += strcspn(p, "/"), p += *p == '/')
		if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
			return 0;
	return 1;
}

/* The host builds go to. */
static const json_t *
build_host(struct run *r, struct paas_err *err)
{
	size_t i;

	if (r->o->build_host == NULL) {
		if (r->nhosts == 0)
			paas_err_set(err, PAAS_EFAILED, "no host to build on");
		return r->nhosts ? r->hosts[0].obj : NULL;
	}
	for (i = 0; i < r->nhosts; i++)
		if (strcmp(r->hosts[i].p.name, r->o->build_host) == 0)
			return r->hosts[i].obj;
	paas_err_set(err, PAAS_EINVAL, "--build-host %.64s: no such host (paas-cluster hosts ls)",
	    r->o->build_host);
	return NULL;
}

#define BUILD_TIMEOUT_MS	(30 * 60 * 1000L)	/* a build's deadline, unless its own */

/* A build's watch: its deadline, and the deploy's cancel, turned into the
 * flag its Docker client's streams stop on. */
struct watch {
	long long deadline;
	volatile sig_atomic_t *outer;
	volatile sig_atomic_t flag, done;
	int late;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void *
watch_run(void *arg)
{
	struct watch *w = arg;
	struct timespec ts;

	pthread_mutex_lock(&w->mu);
	while (!w->done) {
		if (paas_now_ms() >= w->deadline)
			w->late = 1;
		if (w->late || (w->outer && *w->outer)) {
			w->flag = 1;
			break;
		}
		paas_timespec_in(CLOCK_REALTIME, 200, &ts);
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void
watch_stop(struct watch *w, pthread_t *t, int *watching)
{
	if (!*watching)
		return;
	pthread_mutex_lock(&w->mu);
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(*t, NULL);
	*watching = 0;
}

/* Build and push one service; *image gets REGISTRY/DEP/SVC@DIGEST. */
static int
build_one(struct run *r, struct paas_git *g, const char *svc, const char *context,
    const json_t *b,
    const char *commit, const json_t *reg, const char *auth, char **image,
    struct paas_err *err)
{
	const char *address = json_string_value(json_object_get(reg, "address"));
	struct line_arg la = { r, svc };
	struct paas_docker *d = NULL;
	const json_t *host;
	char *name = NULL, *tag = NULL, *df = NULL, *id = NULL, *digest = NULL;
	long long t0 = paas_now_ms();
	long long timeout = json_integer_value(json_object_get(b, "timeout_ms"));
	struct watch w = { .outer = r->o->cancel, .mu = PTHREAD_MUTEX_INITIALIZER,
		.cv = PTHREAD_COND_INITIALIZER };
	pthread_t wt;
	int watching = 0, failed;
	FILE *tar = NULL;
	int rc = -1;

	*image = NULL;
	if (asprintf(&name, "%s/%s/%s", address, r->o->deployment, svc) < 0 ||
	    asprintf(&tag, "%s:%.12s", name, commit) < 0)
		abort();
	if ((host = build_host(r, err)) == NULL)
		goto out;
	if ((tar = tmpfile()) == NULL) {
		paas_err_set(err, PAAS_EFAILED, "cannot make a temporary file for the build context");
		goto out;
	}
	if (paas_git_context_tar(g, commit, context,
	    json_string_value(json_object_get(b, "dockerfile")), tar, &df, NULL, err) < 0)
		goto out;
	paas_run_emit(r, json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "build", "service", svc,
	    "host", json_string_value(json_object_get(host, "name")), "line", "", "tag", tag));
	/* The build's deadline, and the deploy's cancel, stop its streams:
	 * dockerd stops a build whose client went away. */
	w.deadline = t0 + (timeout > 0 ? timeout : BUILD_TIMEOUT_MS);
	watching = pthread_create(&wt, NULL, watch_run, &w) == 0;
	failed = (d = paas_host_docker_cancel(host, 0, &w.flag, err)) == NULL ||
	    paas_docker_build(d, tar, tag, df, on_line, &la, &id, err) < 0 ||
	    paas_docker_push(d, name, tag + strlen(name) + 1, auth, on_line, &la, &digest, err) < 0;
	watch_stop(&w, &wt, &watching);
	if (failed || w.flag) {
		if (w.late)
			paas_err_set(err, PAAS_EFAILED, "its build did not end within %lld s (build "
			    "timeout; stopped)", (timeout > 0 ? timeout : BUILD_TIMEOUT_MS) / 1000);
		else if (w.flag)
			paas_err_set(err, PAAS_EFAILED, "its build was stopped: the deploy was "
			    "cancelled");
		paas_err_wrap(err, "service %s", svc);
		goto out;
	}
	if (asprintf(image, "%s@%s", name, digest) < 0)
		abort();
	paas_run_emit(r, json_pack("{s:s, s:s, s:s, s:s, s:I}", "kind", "built", "service", svc,
	    "image", *image, "commit", commit, "ms", (json_int_t)(paas_now_ms() - t0)));
	rc = 0;
out:
	watch_stop(&w, &wt, &watching);
	if (tar)
		fclose(tar);
	paas_docker_free(d);
	free(name);
	free(tag);
	free(df);
	free(id);
	free(digest);
	return rc;
}

/* One service to build: where from and what it would send. */
struct item {
	const char *service;		/* in spec */
	struct paas_git *g;		/* in repos */
	char commit[41], key[41];
	char *context;			/* from the top of the repository */
	json_t *uncommitted;		/* paths, or NULL */
};

struct paas_build {
	const struct paas_deploy_opts *o;
	json_t *spec;			/* a copy: items point into it */
	struct repos rs;
	struct item *items;
	size_t n;
};

void
paas_build_free(struct paas_build *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++) {
		json_decref(b->items[i].uncommitted);
		free(b->items[i].context);
	}
	free(b->items);
	repos_free(&b->rs);
	json_decref(b->spec);
	free(b);
}

/*
 * A build's context from the top of its repository.  A git path's context
 * is relative to that path (git: . and context: app, beside the
 * Servicefile: its directory's app); a URL's to the top.
 */
static char *
context_path(const struct paas_deploy_opts *o, struct paas_git *g, const char *where,
    const char *context)
{
	const char *wd = paas_git_workdir(g);
	char *joined, *base = NULL, *real = NULL, *rwd = NULL;
	size_t n;

	if (strstr(where, "://"))
		return paas_xstrdup(context);
	if (o->source_prefix) {
		if (asprintf(&joined, "%s/%s/%s", o->source_prefix, where, context) < 0)
			abort();
		return joined;
	}
	if (asprintf(&base, "%s/%s", o->source_dir ? o->source_dir : ".", where) < 0)
		abort();
	real = realpath(base, NULL);
	rwd = wd ? realpath(wd, NULL) : NULL;
	n = rwd ? strlen(rwd) : 0;
	if (real && rwd && strncmp(real, rwd, n) == 0 && (real[n] == '/' || real[n] == '\0')) {
		if (asprintf(&joined, "%s/%s", real[n] ? real + n + 1 : ".", context) < 0)
			abort();
	} else
		joined = paas_xstrdup(context);
	free(base);
	free(real);
	free(rwd);
	return joined;
}

int
paas_build_open(const struct paas_deploy_opts *o, const json_t *spec, struct paas_build **bp,
    struct paas_err *err)
{
	struct paas_build *b = calloc(1, sizeof(*b));
	const char *name;
	json_t *svc;

	if (b == NULL)
		abort();
	b->o = o;
	b->spec = json_deep_copy(spec);
	json_object_foreach(json_object_get(b->spec, "services"), name, svc) {
		json_t *bd = json_object_get(svc, "build");
		const char *where = json_string_value(json_object_get(bd, "git"));
		const char *ctx = json_string_value(json_object_get(bd, "context"));
		struct item *it;

		if (!json_is_object(bd))
			continue;
		b->items = paas_xrealloc(b->items, (b->n + 1) * sizeof(*b->items));
		it = &b->items[b->n++];
		memset(it, 0, sizeof(*it));
		it->service = name;
		if (o->from_push && !source_allowed(o, where)) {
			paas_err_set(err, PAAS_EINVAL, "service %s: build git '%s' is not the pushed "
			    "repository: a push builds only from its own repository, or from a source "
			    "`paas-cluster git add --allow-source` allowed for %s (nothing was fetched)",
			    name, where, o->deployment);
			paas_build_free(b);
			*bp = NULL;
			return -1;
		}
		if (repo_get(&b->rs, o, where, &it->g, err) < 0) {
			paas_err_wrap(err, "service %s", name);
			paas_build_free(b);
			*bp = NULL;
			return -1;
		}
		it->context = context_path(o, it->g, where, ctx);
		if (paas_git_resolve(it->g, strstr(where, "://") ? NULL : o->ref, it->commit, err) < 0 ||
		    paas_git_context_key(it->g, it->commit, it->context,
		    json_string_value(json_object_get(bd, "dockerfile")), it->key, err) < 0 ||
		    (o->ref == NULL && paas_git_workdir(it->g) &&
		    paas_git_uncommitted(it->g, it->context, &it->uncommitted, err) < 0)) {
			paas_err_wrap(err, "service %s", name);
			paas_build_free(b);
			*bp = NULL;
			return -1;
		}
	}
	*bp = b;
	return 0;
}

int
paas_build_run(struct paas_build *b, struct run *r, const json_t *current, json_t **out,
    struct paas_err *err)
{
	json_t *copy = json_deep_copy(b->spec), *services = json_object_get(copy, "services");
	const json_t *reg = NULL;
	const char *auth = NULL;
	int rc = -1;
	size_t i;

	*out = NULL;
	for (i = 0; i < b->n; i++) {
		struct item *it = &b->items[i];
		const char *name = it->service;
		json_t *svc = json_object_get(services, name), *bd = json_object_get(svc, "build");
		const json_t *was = json_object_get(json_object_get(current, "services"), name);
		const char *wkey = json_string_value(json_object_get(json_object_get(was, "build"),
		    "key"));
		char *image = NULL;

		/* The same bytes to send: the current image, and its record. */
		if (wkey && strcmp(wkey, it->key) == 0 && json_is_string(json_object_get(was, "image"))) {
			json_object_set(svc, "build", json_object_get(was, "build"));
			json_object_set(svc, "image", json_object_get(was, "image"));
			paas_run_emit(r, json_pack("{s:s, s:s, s:O, s:b}", "kind", "built", "service",
			    name, "image", json_object_get(was, "image"), "cached", 1));
			continue;
		}
		if (json_array_size(it->uncommitted))
			paas_run_emit(r, json_pack("{s:s, s:s, s:s, s:O}", "kind", "uncommitted",
			    "service", name, "commit", it->commit, "paths", it->uncommitted));
		if (reg == NULL) {
			if (paas_run_registry(r, &reg, &auth, err) < 0)
				goto out;
			if (reg == NULL) {
				paas_err_set(err, PAAS_EFAILED, "service %s builds from git, but the cluster "
				    "has no registry to push to (paas-cluster up --registry-port or "
				    "--registry)", name);
				goto out;
			}
		}
		json_object_set_new(bd, "key", json_string(it->key));
		json_object_set_new(bd, "commit", json_string(it->commit));
		if (r->o->dry_run) {
			char *tag;

			if (asprintf(&tag, "%s/%s/%s:%.12s", json_string_value(json_object_get(reg,
			    "address")), r->o->deployment, name, it->commit) < 0)
				abort();
			json_object_set_new(svc, "image", json_string(tag));
			paas_run_emit(r, json_pack("{s:s, s:s, s:s, s:b}", "kind", "built", "service",
			    name, "image", tag, "pending", 1));
			free(tag);
			continue;
		}
		if (build_one(r, it->g, name, it->context, bd, it->commit, reg, auth, &image, err) < 0)
			goto out;
		json_object_set_new(svc, "image", json_string(image));
		free(image);
	}
	*out = copy;
	copy = NULL;
	rc = 0;
out:
	json_decref(copy);
	return rc;
}
