/*
 * The public calls of deploy.h: every change to a deployment is a new
 * release made current under the lock, then a convergence (rollout.h);
 * a failed one puts the previous release back.
 */
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "build.h"
#include "clock.h"
#include "deploy.h"
#include "etcd.h"
#include "git.h"
#include "jsonx.h"
#include "keys.h"
#include "release.h"
#include "rollout.h"
#include "route.h"
#include "secrets.h"
#include "spec.h"
#include "valid.h"

/* After a failed rollout of release `failed` (record rec): put `previous`
 * back, or with none, take everything down; the release is marked failed. */
static void
roll_back(struct run *r, int64_t failed, json_t *rec, int64_t previous, char *outcome,
    size_t size)
{
	struct paas_err e2 = PAAS_ERR_INIT;
	json_t *prev = NULL, *empty = NULL;
	int64_t mod = 0, cur;
	json_t *currec = NULL;

	paas_run_emit(r, json_pack("{s:s, s:I, s:I}", "kind", "rollback", "from", (json_int_t)failed,
	    "to", (json_int_t)previous));
	if (paas_release_current(r->e, r->o->deployment, &cur, &currec, &mod, &e2) < 0)
		goto fail;
	json_decref(currec);
	json_object_set_new(rec, "status", json_string("failed"));
	if (previous > 0 && paas_release_read(r->e, r->o->deployment, previous, &prev, &e2) < 0)
		goto fail;
	if (paas_release_set_current(r->e, r->o->deployment, prev ? previous : 0, rec, mod, &e2) < 0)
		goto fail;
	json_decref(r->vars);
	r->vars = NULL;
	if (prev) {
		r->spec = json_object_get(prev, "spec");
		r->release = previous;
		if (paas_secrets_get(r->e, r->o->deployment, previous, &r->vars, &e2) < 0)
			goto fail;
	} else {
		empty = json_pack("{s:{}, s:{}, s:{}, s:[]}", "services", "env", "domains", "secret_env");
		r->spec = empty;
	}
	r->failed = NULL;
	if (paas_run_converge(r, &e2) < 0)
		goto fail;
	json_decref(r->routes);
	r->routes = NULL;
	if (paas_route_want(r->e, r->o->deployment, r->spec, r->vars, &r->routes, &e2) == 0)
		paas_run_sync_routes(r, r->routes, &e2);
	if (prev)
		snprintf(outcome, size, "rolled back to release %" PRId64, previous);
	else
		snprintf(outcome, size, "nothing to roll back to: every instance of release %"
		    PRId64 " removed", failed);
	goto out;
fail:
	snprintf(outcome, size, "putting back release %" PRId64 " failed too: %s", previous, e2.msg);
out:
	r->spec = NULL;
	json_decref(prev);
	json_decref(empty);
}

static const char *
failure_action(const struct run *r)
{
	const json_t *svc = r->failed ? r->failed->a->svc : NULL;
	const char *s = json_string_value(json_object_get(json_object_get(svc, "update"),
	    "failure_action"));

	return s ? s : "rollback";
}

/* Keep the ${VAR} values release r->release runs with in the secrets store
 * (secrets.h), so that it can be run again without our environment. */
static int
store_secrets(struct run *r, const json_t *spec, struct paas_err *err)
{
	json_t *names = paas_spec_vars(spec), *vals = json_object(), *v;
	const char *k;
	int stored = 0, rc;

	/* Values set by config for no ${VAR} of this spec yet are kept too. */
	if (r->vars)
		json_object_update_missing(names, r->vars);
	json_object_foreach(names, k, v) {
		const char *x = json_string_value(json_object_get(r->vars, k));

		if (x == NULL)
			x = getenv(k);
		if (x)
			json_object_set_new(vals, k, json_string(x));
	}
	rc = paas_secrets_put(r->e, r->o->deployment, r->release, vals, &stored, err);
	if (rc == 0 && !stored && json_object_size(vals) > 0)
		paas_run_emit(r, json_pack("{s:s, s:s}", "kind", "warning", "message",
		    "no secrets key: the ${VAR} values of this release are not kept, so check "
		    "--repair, scale and rollback need them in their environment (paas(7), SECURITY)"));
	json_decref(names);
	json_decref(vals);
	return rc;
}

/*
 * The one way a release changes: under the lock, with the current release
 * known (cur, currec, mod), make spec current as a new release of kind
 * `kind` (unless it is the current spec, when a half-done earlier run is
 * finished), and converge.  from: the release a rollback copies.  vars_from:
 * the release whose kept secrets the ${VAR}s are read from first (0: our
 * environment alone).
 */
static int
release_and_converge(struct run *r, const json_t *spec, const char *kind, int64_t from,
    const json_t *images_from, int64_t vars_from, int64_t cur, json_t *currec, int64_t mod,
    struct paas_err *err)
{
	json_t *images = NULL, *rec = NULL;
	char *a = paas_spec_dump(spec), *b = currec ? paas_spec_dump(json_object_get(currec, "spec")) : NULL;
	int same = b && strcmp(a, b) == 0, rc = -1;
	int64_t last, previous;
	char when[32];

	free(a);
	free(b);
	r->spec = spec;
	if (vars_from >= 0) {
		json_decref(r->vars);
		r->vars = NULL;
	}
	/* A deploy takes a ${VAR} from the environment, else the value the
	 * current release kept (paas-deploy config set). */
	if ((vars_from > 0 || (vars_from == 0 && cur > 0)) && paas_secrets_get(r->e,
	    r->o->deployment, vars_from ? vars_from : cur, &r->vars, err) < 0)
		goto out;
	if (vars_from == 0 && r->vars) {
		json_t *names = paas_spec_vars(spec), *v;
		const char *k;

		json_object_foreach(names, k, v)
			if (getenv(k))
				json_object_set_new(r->vars, k, json_string(getenv(k)));
		json_decref(names);
	}
	/* The same spec with other ${VAR} values is a release of its own, and
	 * a change of config always is. */
	paas_run_digests(r);
	if (strcmp(kind, "config") == 0)
		same = 0;
	if (same && !json_equal(json_object_get(currec, "vars_digest"),
	    json_object_get(r->digests, "*")) && (json_object_get(currec, "vars_digest") ||
	    json_object_get(r->digests, "*")))
		same = 0;
	if (same)
		r->release = cur;
	else {
		if (paas_release_last(r->e, r->o->deployment, &last, err) < 0)
			goto out;
		r->release = last + 1;
	}
	if (paas_run_observe(r, err) < 0 || paas_run_plan(r, err) < 0)
		goto out;
	if (same && paas_plan_empty(&r->plan)) {
		struct paas_err e2 = PAAS_ERR_INIT;

		/* Routes lost or written by an older version come back; with a
		 * ${VAR} unset they stay as they are. */
		if (!r->o->dry_run && paas_route_want(r->e, r->o->deployment, spec, r->vars, &r->routes,
		    &e2) == 0)
			paas_run_sync_routes(r, r->routes, &e2);
		/* And job templates lost with a host. */
		if (!r->o->dry_run && paas_run_jobs(r, spec, &e2) < 0)
			paas_run_emit(r, json_pack("{s:s, s:s}", "kind", "warning", "message", e2.msg));
		paas_run_emit(r, json_pack("{s:s, s:I}", "kind", "unchanged", "release", (json_int_t)cur));
		rc = 0;
		goto out;
	}
	if (!r->o->dry_run && (paas_run_prepare(r, &images, err) < 0 ||
	    paas_route_want(r->e, r->o->deployment, spec, r->vars, &r->routes, err) < 0))
		goto out;
	if (!paas_plan_empty(&r->plan) || r->o->dry_run) {
		json_t *ev = paas_run_plan_event(r);

		json_object_set_new(ev, "dry_run", json_boolean(r->o->dry_run));
		paas_run_emit(r, ev);
	}
	if (r->o->dry_run) {
		rc = 0;
		goto out;
	}
	/* The release phase: once per new release, before anything is
	 * replaced and before the release is recorded (a rollback and a scale
	 * run none). */
	if (!same && strcmp(kind, "scale") && strcmp(kind, "rollback") &&
	    paas_run_release_phase(r, err) < 0)
		goto out;
	paas_utc_now(when, sizeof(when));
	if (same) {
		rec = json_deep_copy(currec);
		previous = json_integer_value(json_object_get(rec, "previous"));
		paas_run_emit(r, json_pack("{s:s, s:I}", "kind", "resume", "release", (json_int_t)cur));
	} else {
		if (images_from)
			json_object_update_missing(images, (json_t *)images_from);
		previous = cur;
		rec = json_pack("{s:I, s:s, s:O, s:O, s:s?, s:s, s:s, s:s}", "release",
		    (json_int_t)r->release, "kind", kind, "spec", spec, "images", images,
		    "git", r->o->git, "time", when, "user", r->user,
		    "status", "ok");
		json_object_set_new(rec, "previous", previous ? json_integer(previous) : json_null());
		if (json_object_get(r->digests, "*"))
			json_object_set(rec, "vars_digest", json_object_get(r->digests, "*"));
		json_object_set_new(rec, "from", from ? json_integer(from) : json_null());
		if (r->origin) {
			json_object_set(rec, "origin", (json_t *)r->origin);
			if (json_object_get(r->origin, "git"))
				json_object_set(rec, "git", json_object_get(r->origin, "git"));
		}
		if (store_secrets(r, spec, err) < 0 ||
		    paas_release_set_current(r->e, r->o->deployment, r->release, rec, mod, err) < 0)
			goto out;
		paas_run_emit(r, json_pack("{s:s, s:I, s:s}", "kind", "release", "release",
		    (json_int_t)r->release, "release_kind", kind));
	}
	if (paas_run_rollout(r, err) == 0 && paas_run_sync_routes(r, r->routes, err) == 0) {
		paas_run_emit(r, json_pack("{s:s, s:I, s:i, s:i, s:I}", "kind", "done", "release",
		    (json_int_t)r->release, "started", r->started, "stopped", r->stopped,
		    "ms", (json_int_t)(paas_now_ms() - r->t0)));
		rc = 0;
		goto out;
	}
	if (r->failed == NULL)
		goto out;
	{
		char *logs = paas_run_report_unhealthy(r), outcome[512], *what = paas_xstrdup(err->msg);

		if (strcmp(failure_action(r), "pause") == 0)
			snprintf(outcome, sizeof(outcome), "rollout of release %" PRId64 " paused "
			    "(failure_action: pause)", r->release);
		else
			roll_back(r, r->release, rec, previous, outcome, sizeof(outcome));
		paas_err_set(err, PAAS_EFAILED, "%s; %s%s", what, outcome, logs);
		free(what);
		free(logs);
	}
out:
	json_decref(images);
	json_decref(rec);
	return rc;
}

/* The name the router's status page takes is no deployment's (router.h);
 * one deployed under it before may still be destroyed. */
static int
reserved(const struct paas_deploy_opts *o, struct paas_err *err)
{
	if (o->deployment && strcmp(o->deployment, PAAS_STATUS_DEPLOYMENT) == 0)
		return paas_err_set(err, PAAS_EINVAL, "deployment name '%s' is reserved for the "
		    "router's status page", o->deployment);
	return 0;
}

/* Converge spec under the lock; NULL: the current release's own spec (a
 * resumed rollout; with no release, nothing to do). */
static int
apply_spec(const struct paas_deploy_opts *o, const json_t *spec, struct paas_err *err)
{
	struct paas_build *b = NULL;
	struct run r;
	json_t *currec = NULL, *built = NULL;
	int64_t cur, mod;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	/* Builds checked before the lock, built before the release: bad
	 * input and a failed build change nothing. */
	if (reserved(o, err) < 0 ||
	    (spec && paas_build_needed(spec) && paas_build_open(o, spec, &b, err) < 0) ||
	    paas_run_begin(&r, o, err) < 0 ||
	    paas_release_current(r.e, o->deployment, &cur, &currec, &mod, err) < 0)
		goto out;
	if (spec == NULL && currec == NULL) {
		paas_run_emit(&r, json_pack("{s:s, s:I}", "kind", "unchanged", "release", (json_int_t)0));
		rc = 0;
		goto out;
	}
	if (b) {
		if (paas_build_run(b, &r, json_object_get(currec, "spec"), &built, err) < 0)
			goto out;
		spec = built;
	}
	rc = release_and_converge(&r, spec ? spec : json_object_get(currec, "spec"), "deploy", 0,
	    NULL, spec ? 0 : cur, cur, currec, mod, err);
out:
	paas_build_free(b);
	json_decref(built);
	json_decref(currec);
	paas_run_free(&r);
	return rc;
}

int
paas_deploy_apply(const struct paas_deploy_opts *o, const json_t *spec,
    struct paas_err *err)
{
	return apply_spec(o, spec, err);
}

int
paas_deploy_repair(const struct paas_deploy_opts *o, struct paas_err *err)
{
	return apply_spec(o, NULL, err);
}

int
paas_deploy_rollback(const struct paas_deploy_opts *o, int64_t n, struct paas_err *err)
{
	struct run r;
	json_t *currec = NULL, *target = NULL;
	int64_t cur, mod, i;
	int rc = -1;

	if (reserved(o, err) < 0 || paas_run_begin(&r, o, err) < 0 ||
	    paas_release_current(r.e, o->deployment, &cur, &currec, &mod, err) < 0)
		goto out;
	if (cur == 0) {
		paas_err_set(err, PAAS_EFAILED, "deployment %s has no current release", o->deployment);
		goto out;
	}
	for (i = n ? n : cur - 1; i > 0; i--) {
		if (paas_release_read(r.e, o->deployment, i, &target, err) < 0)
			goto out;
		if (n || (target && strcmp(json_string_value(json_object_get(target, "status")) ?
		    json_string_value(json_object_get(target, "status")) : "", "failed") != 0))
			break;
		json_decref(target);
		target = NULL;
	}
	if (target == NULL) {
		if (n)
			paas_err_set(err, PAAS_EFAILED, "deployment %s has no release %" PRId64,
			    o->deployment, n);
		else
			paas_err_set(err, PAAS_EFAILED, "deployment %s has no release before %" PRId64
			    " to roll back to", o->deployment, cur);
		goto out;
	}
	/* Never "the same spec as now": a rollback is a release of its own. */
	json_decref(currec);
	currec = NULL;
	rc = release_and_converge(&r, json_object_get(target, "spec"), "rollback", i,
	    json_object_get(target, "images"), i, cur, NULL, mod, err);
out:
	json_decref(currec);
	json_decref(target);
	paas_run_free(&r);
	return rc;
}

/* spec's services that build take the image and build record of from's;
 * one that from did not build is an error naming it. */
static int
take_images(json_t *spec, const json_t *from, const char *fromdep, struct paas_err *err)
{
	const char *name;
	json_t *svc;

	json_object_foreach(json_object_get(spec, "services"), name, svc) {
		const json_t *theirs = json_object_get(json_object_get(from, "services"), name);
		const char *image = json_string_value(json_object_get(theirs, "image"));

		if (!json_is_object(json_object_get(svc, "build")))
			continue;
		if (image == NULL || !json_is_object(json_object_get(theirs, "build")) ||
		    strchr(image, '@') == NULL)
			return paas_err_set(err, PAAS_EFAILED, "service %s: deployment %s's current "
			    "release has no image built for it to promote", name, fromdep);
		json_object_set(svc, "build", json_object_get(theirs, "build"));
		json_object_set(svc, "image", json_object_get(theirs, "image"));
	}
	return 0;
}

int
paas_deploy_promote(const struct paas_deploy_opts *o, const char *from, const json_t *spec,
    struct paas_err *err)
{
	struct run r;
	json_t *currec = NULL, *fromrec = NULL, *mine = NULL, *origin = NULL;
	int64_t cur, mod, fn, fmod;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	if (from == NULL || !paas_valid_name(from))
		return paas_err_set(err, PAAS_EINVAL, "invalid deployment name '%.64s'",
		    from ? from : "");
	if (strcmp(from, o->deployment) == 0)
		return paas_err_set(err, PAAS_EINVAL, "deployment %s cannot be promoted to itself",
		    from);
	if (paas_run_begin(&r, o, err) < 0 ||
	    paas_release_current(r.e, o->deployment, &cur, &currec, &mod, err) < 0 ||
	    paas_release_current(r.e, from, &fn, &fromrec, &fmod, err) < 0)
		goto out;
	if (fromrec == NULL) {
		paas_err_set(err, PAAS_EFAILED, "deployment %s has no release to promote", from);
		goto out;
	}
	if (spec == NULL && currec == NULL) {
		paas_err_set(err, PAAS_EFAILED, "deployment %s has no release of its own: give its "
		    "Servicefile to promote %s into it", o->deployment, from);
		goto out;
	}
	mine = json_deep_copy(spec ? spec : json_object_get(currec, "spec"));
	if (take_images(mine, json_object_get(fromrec, "spec"), from, err) < 0)
		goto out;
	origin = json_pack("{s:s, s:I, s:O?}", "deployment", from, "release", (json_int_t)fn, "git",
	    json_object_get(fromrec, "git"));
	r.origin = origin;
	paas_run_emit(&r, json_pack("{s:s, s:s, s:I}", "kind", "promote", "from", from,
	    "release", (json_int_t)fn));
	rc = release_and_converge(&r, mine, "promote", 0, NULL, spec ? 0 : cur, cur, currec, mod,
	    err);
out:
	json_decref(currec);
	json_decref(fromrec);
	json_decref(mine);
	json_decref(origin);
	paas_run_free(&r);
	return rc;
}

int
paas_deploy_scale(const struct paas_deploy_opts *o, const json_t *counts,
    struct paas_err *err)
{
	struct run r;
	json_t *currec = NULL, *spec = NULL, *v;
	int64_t cur, mod;
	const char *k;
	int rc = -1;

	if (paas_run_begin(&r, o, err) < 0 || paas_release_current(r.e, o->deployment, &cur, &currec, &mod, err) < 0)
		goto out;
	if (cur == 0) {
		paas_err_set(err, PAAS_EFAILED, "deployment %s has no release: deploy a Servicefile first",
		    o->deployment);
		goto out;
	}
	spec = json_deep_copy(json_object_get(currec, "spec"));
	json_object_foreach((json_t *)counts, k, v) {
		json_t *svc = json_object_get(json_object_get(spec, "services"), k);

		if (svc == NULL) {
			paas_err_set(err, PAAS_EINVAL, "deployment %s has no service %s", o->deployment, k);
			goto out;
		}
		if (json_is_true(json_object_get(svc, "global"))) {
			paas_err_set(err, PAAS_EINVAL, "service %s is global (one per host): it cannot be "
			    "scaled", k);
			goto out;
		}
		json_object_set(svc, "instances", v);
	}
	rc = release_and_converge(&r, spec, "scale", 0, json_object_get(currec, "images"), cur, cur,
	    currec, mod, err);
out:
	json_decref(spec);
	json_decref(currec);
	paas_run_free(&r);
	return rc;
}

int
paas_deploy_destroy(const struct paas_deploy_opts *o, struct paas_err *err)
{
	struct run r;
	json_t *empty = json_pack("{s:{}}", "services");
	char *k1 = NULL, *k2 = NULL, *k3 = NULL, *k4 = NULL, *k5 = NULL;
	int rc = -1;
	size_t i;

	if (paas_run_begin(&r, o, err) < 0 || paas_run_observe(&r, err) < 0)
		goto out;
	r.spec = empty;
	if (paas_run_plan(&r, err) < 0)
		goto out;
	paas_run_emit(&r, paas_run_plan_event(&r));
	if (o->dry_run) {
		rc = 0;
		goto out;
	}
	for (i = 0; i < r.nctrs; i++)
		if (paas_run_remove(&r, &r.ctrs[i], 0, err) < 0)
			goto out;
	if (paas_run_jobs(&r, empty, err) < 0 || paas_run_sync_routes(&r, NULL, err) < 0)
		goto out;
	k1 = paas_key_instance(o->deployment, NULL, NULL);
	k2 = paas_key_announce(o->deployment, NULL, NULL, NULL);
	k3 = paas_key_deployment(o->deployment);
	k4 = paas_key_secrets(o->deployment, 0);
	k5 = paas_key_job(o->deployment, NULL, NULL, 0);
	if (paas_etcd_delete(r.e, k1, 1, NULL, err) < 0 ||
	    paas_etcd_delete(r.e, k5, 1, NULL, err) < 0 ||
	    paas_etcd_delete(r.e, k2, 1, NULL, err) < 0 ||
	    paas_etcd_delete(r.e, k4, 1, NULL, err) < 0 ||
	    paas_etcd_delete(r.e, k3, 1, NULL, err) < 0)
		goto out;
	paas_run_emit(&r, json_pack("{s:s, s:i, s:I}", "kind", "destroyed", "stopped", r.stopped,
	    "ms", (json_int_t)(paas_now_ms() - r.t0)));
	rc = 0;
out:
	free(k1);
	free(k2);
	free(k3);
	free(k4);
	free(k5);
	json_decref(empty);
	paas_run_free(&r);
	return rc;
}

/*
 * The Servicefile, and where its builds come from.  With --git-dir the
 * file is read from the commit (--ref, else HEAD) of that repository, as
 * a push hook has it; else from the file system, its builds' relative git
 * paths starting at its directory.  o->git: the commit deployed.
 */
int
paas_deploy_load(struct paas_deploy_opts *o, const char *git_dir, const char *path,
    json_t **spec, struct paas_deploy_source *src, struct paas_err *err)
{
	struct paas_git *g = NULL;
	char *data = NULL, *copy;
	size_t len;
	int rc = -1;

	src->dir = NULL;
	src->git[0] = '\0';
	if (git_dir) {
		if (paas_git_open(git_dir, NULL, NULL, &g, err) < 0 ||
		    paas_git_resolve(g, o->ref, src->git, err) < 0 ||
		    paas_git_read(g, src->git, path, &data, &len, err) < 0 ||
		    paas_spec_parse_for(path, data, len, o->deployment, spec, err) < 0)
			goto out;
		o->git = src->git;
		o->ref = src->git;
		o->source_dir = git_dir;
		copy = paas_xstrdup(path);
		src->dir = paas_xstrdup(dirname(copy));
		free(copy);
		o->source_prefix = src->dir;
		rc = 0;
		goto out;
	}
	if (paas_spec_load_for(path, o->deployment, spec, err) < 0)
		goto out;
	if (strcmp(path, "-") != 0) {
		copy = paas_xstrdup(path);
		src->dir = paas_xstrdup(dirname(copy));
		free(copy);
		o->source_dir = src->dir;
		if (o->ref) {
			if (paas_git_open(".", src->dir, NULL, &g, err) < 0 ||
			    paas_git_resolve(g, o->ref, src->git, err) < 0) {
				json_decref(*spec);
				*spec = NULL;
				goto out;
			}
			o->git = src->git;
		} else if (paas_git_head(path, src->git) == 0)
			o->git = src->git;
	}
	rc = 0;
out:
	free(data);
	paas_git_free(g);
	return rc;
}

void
paas_deploy_source_free(struct paas_deploy_source *src)
{
	free(src->dir);
	src->dir = NULL;
}

/* The words of the events, for a terminal. ---------------------------- */

static void
text_list(struct paas_buf *b, const json_t *a, const char *verb)
{
	const json_t *x;
	size_t i;

	if (json_array_size(a) == 0)
		return;
	paas_buf_addf(b, "\n  %s:", verb);
	json_array_foreach(a, i, x)
		paas_buf_addf(b, " %s.%s@%s", json_string_value(json_object_get(x, "service")),
		    json_string_value(json_object_get(x, "instance")),
		    json_string_value(json_object_get(x, "host")));
}

/* Each string of a, after sep. */
static void
text_names(struct paas_buf *out, const json_t *a, const char *sep)
{
	const json_t *x;
	size_t i;

	json_array_foreach(a, i, x)
		paas_buf_addf(out, "%s%s", sep, json_string_value(x));
}

void
paas_deploy_event_text(const json_t *ev, struct paas_buf *out)
{
	const char *e = json_string_value(json_object_get(ev, "kind"));
	const char *svc = json_string_value(json_object_get(ev, "service"));
	const char *inst = json_string_value(json_object_get(ev, "instance"));
	const char *host = json_string_value(json_object_get(ev, "host"));
	long long rel = json_integer_value(json_object_get(ev, "release"));

	if (!strcmp(e, "unchanged"))
		paas_buf_adds(out, "No changes.");
	else if (!strcmp(e, "lock"))
		paas_buf_addf(out, "locked %s as %s", json_string_value(json_object_get(ev, "deployment")),
		    json_string_value(json_object_get(ev, "holder")));
	else if (!strcmp(e, "plan")) {
		paas_buf_addf(out, "%splan for release %lld: start %zu, stop %zu",
		    json_is_true(json_object_get(ev, "dry_run")) ? "dry run: " : "", rel,
		    json_array_size(json_object_get(ev, "start")),
		    json_array_size(json_object_get(ev, "stop")));
		text_list(out, json_object_get(ev, "start"), "start");
		text_list(out, json_object_get(ev, "stop"), "stop ");
	} else if (!strcmp(e, "release"))
		paas_buf_addf(out, "release %lld (%s)", rel,
		    json_string_value(json_object_get(ev, "release_kind")));
	else if (!strcmp(e, "resume"))
		paas_buf_addf(out, "release %lld is current: finishing its rollout", rel);
	else if (!strcmp(e, "start"))
		paas_buf_addf(out, "%s.%s  started on %s as %s", svc, inst, host,
		    json_string_value(json_object_get(ev, "container")));
	else if (!strcmp(e, "healthy"))
		paas_buf_addf(out, "%s.%s  healthy after %.1f s", svc, inst,
		    json_integer_value(json_object_get(ev, "ms")) / 1000.0);
	else if (!strcmp(e, "unhealthy"))
		paas_buf_addf(out, "%s.%s  NOT healthy: %s", svc, inst,
		    json_string_value(json_object_get(ev, "error")));
	else if (!strcmp(e, "stop"))
		paas_buf_addf(out, "%s.%s  stopped %s on %s", svc, inst,
		    json_string_value(json_object_get(ev, "container")), host);
	else if (!strcmp(e, "rollback"))
		paas_buf_addf(out, "rolling back from release %lld to %lld",
		    (long long)json_integer_value(json_object_get(ev, "from")),
		    (long long)json_integer_value(json_object_get(ev, "to")));
	else if (!strcmp(e, "done"))
		paas_buf_addf(out, "release %lld done in %.1f s: %lld started, %lld stopped", rel,
		    json_integer_value(json_object_get(ev, "ms")) / 1000.0,
		    (long long)json_integer_value(json_object_get(ev, "started")),
		    (long long)json_integer_value(json_object_get(ev, "stopped")));
	else if (!strcmp(e, "announced"))
		paas_buf_addf(out, "%s.%s  announced by the agent on %s", svc, inst, host);
	else if (!strcmp(e, "served"))
		paas_buf_addf(out, "         %s: %lld router(s) serve revision %lld after %.2f s",
		    json_string_value(json_object_get(ev, "what")),
		    (long long)json_integer_value(json_object_get(ev, "routers")),
		    (long long)json_integer_value(json_object_get(ev, "revision")),
		    json_integer_value(json_object_get(ev, "ms")) / 1000.0);
	else if (!strcmp(e, "withdrawn"))
		paas_buf_addf(out, "%s.%s  withdrawn from the routers, draining", svc, inst);
	else if (!strcmp(e, "routes")) {
		paas_buf_adds(out, "routes:");
		text_names(out, json_object_get(ev, "set"), " +");
		text_names(out, json_object_get(ev, "removed"), " -");
	} else if (!strcmp(e, "build") && json_object_get(ev, "tag"))
		paas_buf_addf(out, "%s  building %s on %s", svc,
		    json_string_value(json_object_get(ev, "tag")), host);
	else if (!strcmp(e, "build")) {
		paas_buf_addf(out, "%s  | ", svc);
		paas_buf_add_printable(out, json_string_value(json_object_get(ev, "line")));
	} else if (!strcmp(e, "built") && json_is_true(json_object_get(ev, "cached")))
		paas_buf_addf(out, "%s  unchanged since its last build: %s", svc,
		    json_string_value(json_object_get(ev, "image")));
	else if (!strcmp(e, "built") && json_is_true(json_object_get(ev, "pending")))
		paas_buf_addf(out, "%s  would build %s", svc,
		    json_string_value(json_object_get(ev, "image")));
	else if (!strcmp(e, "built"))
		paas_buf_addf(out, "%s  built %s in %.1f s", svc,
		    json_string_value(json_object_get(ev, "image")),
		    json_integer_value(json_object_get(ev, "ms")) / 1000.0);
	else if (!strcmp(e, "uncommitted")) {
		const json_t *x;
		size_t i;

		paas_buf_addf(out, "warning: %s: building commit %.12s; not in it:", svc,
		    json_string_value(json_object_get(ev, "commit")));
		json_array_foreach(json_object_get(ev, "paths"), i, x) {
			paas_buf_adds(out, " ");
			paas_buf_add_printable(out, json_string_value(x));
		}
	} else if (!strcmp(e, "warning"))
		paas_buf_addf(out, "warning: %s", json_string_value(json_object_get(ev, "message")));
	else if (!strcmp(e, "destroyed"))
		paas_buf_addf(out, "destroyed %s: %lld containers removed",
		    json_string_value(json_object_get(ev, "deployment")),
		    (long long)json_integer_value(json_object_get(ev, "stopped")));
	else if (!strcmp(e, "maintenance"))
		paas_buf_addf(out, "%s: maintenance %s, served by %lld routers",
		    json_string_value(json_object_get(ev, "deployment")),
		    json_is_true(json_object_get(ev, "on")) ? "on" : "off",
		    (long long)json_integer_value(json_object_get(ev, "routers")));
	else if (!strcmp(e, "config")) {
		paas_buf_adds(out, "config:");
		text_names(out, json_object_get(ev, "names"), " ");
	} else if (!strcmp(e, "release_phase"))
		paas_buf_addf(out, "%s  release command of release %lld", svc, rel);
	else if (!strcmp(e, "release_output")) {
		paas_buf_addf(out, "%s  | ", svc);
		paas_buf_add_printable(out, json_string_value(json_object_get(ev, "line")));
	} else if (!strcmp(e, "release_done"))
		paas_buf_addf(out, "%s  release command exited %lld after %.1f s", svc,
		    (long long)json_integer_value(json_object_get(ev, "exit_code")),
		    json_integer_value(json_object_get(ev, "ms")) / 1000.0);
	else
		paas_buf_adds(out, e);
}

/* Config: the rest is config.c. */

int
paas_deploy_config_set(const struct paas_deploy_opts *o, const json_t *changes,
    struct paas_err *err)
{
	unsigned char key[PAAS_SECRETS_KEY_LEN];
	struct run r;
	json_t *currec = NULL, *names = NULL, *v;
	int64_t cur, mod;
	const char *k;
	char *path = NULL;
	int have = 0, rc = -1;

	memset(&r, 0, sizeof(r));
	if (paas_secrets_key(key, &have, &path, err) < 0)
		goto out;
	explicit_bzero(key, sizeof(key));
	if (!have) {
		paas_err_set(err, PAAS_EINVAL, "config needs the cluster's secrets key, where its "
		    "values are kept (PAAS_SECRETS_KEY, or secrets.key in the state directory)");
		goto out;
	}
	if (reserved(o, err) < 0 || paas_run_begin(&r, o, err) < 0 ||
	    paas_deploy_config_current(r.e, o->deployment, &cur, &currec, &mod, &r.vars, err) < 0)
		goto out;
	names = paas_spec_vars(json_object_get(currec, "spec"));
	json_object_foreach((json_t *)changes, k, v) {
		if (json_is_null(v) && json_object_get(names, k)) {
			paas_err_set(err, PAAS_EINVAL, "${%s} is taken by release %" PRId64 "'s "
			    "Servicefile: deploy one without it first", k, cur);
			goto out;
		}
		if (json_is_null(v) && json_object_get(r.vars, k) == NULL) {
			paas_err_set(err, PAAS_EINVAL, "%s is not set", k);
			goto out;
		}
		if (json_is_null(v))
			json_object_del(r.vars, k);
		else
			json_object_set(r.vars, k, v);
	}
	{
		size_t n, i;
		const char **keys = paas_json_keys(changes, &n);
		json_t *a = json_array();

		for (i = 0; i < n; i++)
			json_array_append_new(a, json_string(keys[i]));
		free(keys);
		paas_run_emit(&r, json_pack("{s:s, s:o}", "kind", "config", "names", a));
	}
	rc = release_and_converge(&r, json_object_get(currec, "spec"), "config", 0,
	    json_object_get(currec, "images"), -1, cur, currec, mod, err);
out:
	free(path);
	json_decref(names);
	json_decref(currec);
	paas_run_free(&r);
	return rc;
}
