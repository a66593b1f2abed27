/*
 * The ${VAR} values kept with a deployment's releases, as config
 * (deploy.h): reading the arguments of config set and unset, and listing
 * names (never values unless one is asked for); and maintenance mode.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "deploy.h"
#include "clock.h"
#include "etcd.h"
#include "keys.h"
#include "release.h"
#include "route.h"
#include "rollout.h"
#include "secrets.h"
#include "spec.h"
#include "valid.h"

int
paas_deploy_config_args(char **argv, int unset, json_t **changes, struct paas_err *err)
{
	*changes = json_object();
	for (; *argv; argv++) {
		const char *eq = strchr(*argv, '=');
		char *name = paas_xstrndup(*argv, eq ? (size_t)(eq - *argv) : strlen(*argv));
		const char *val = unset ? NULL : eq ? eq + 1 : getenv(name);

		if (!paas_valid_env_name(name) || (unset && eq))
			paas_err_set(err, PAAS_EINVAL, "'%.64s': expected %s", name, unset ? "NAME" :
			    "NAME=VALUE, or NAME for the value in the environment");
		else if (!unset && val == NULL)
			paas_err_set(err, PAAS_EINVAL, "%s is not set in the environment", name);
		else
			json_object_set_new(*changes, name, val ? json_string(val) : json_null());
		free(name);
		if (err->msg[0]) {
			json_decref(*changes);
			*changes = NULL;
			return -1;
		}
	}
	return 0;
}

/* The current release and the values it kept; no release is an error. */
int
paas_deploy_config_current(struct paas_etcd *e, const char *dep, int64_t *cur, json_t **currec,
    int64_t *mod, json_t **kept, struct paas_err *err)
{
	if (paas_release_current(e, dep, cur, currec, mod, err) < 0)
		return -1;
	if (*cur == 0)
		return paas_err_set(err, PAAS_EFAILED, "deployment %s has no release: deploy a "
		    "Servicefile first", dep);
	if (paas_secrets_get(e, dep, *cur, kept, err) < 0)
		return -1;
	if (*kept == NULL)
		*kept = json_object();
	return 0;
}

/* Each service's (or domain's) ${VAR} names, once: {NAME: [SVC...]}. */
static void
takers(const json_t *spec, const char *what, json_t *(*vars)(const json_t *, const char *),
    json_t *out)
{
	const char *s, *k;
	json_t *x, *v;

	json_object_foreach(json_object_get(spec, what), s, x) {
		json_t *used = vars(spec, s);

		json_object_foreach(used, k, v) {
			if (json_object_get(out, k) == NULL)
				json_object_set_new(out, k, json_array());
			json_array_append_new(json_object_get(out, k), json_string(s));
		}
		json_decref(used);
	}
}

int
paas_deploy_config_list(const struct paas_deploy_opts *o, const char *name, json_t **out,
    struct paas_err *err)
{
	struct paas_etcd *e;
	json_t *currec = NULL, *kept = NULL, *spec, *names = NULL, *env_of = json_object();
	json_t *auth_of = json_object(), *v;
	int64_t cur, mod;
	const char *k;
	int rc = -1;

	*out = NULL;
	if ((e = paas_etcd_new(o->etcd, NULL, err)) == NULL ||
	    paas_deploy_config_current(e, o->deployment, &cur, &currec, &mod, &kept, err) < 0)
		goto out;
	spec = json_object_get(currec, "spec");
	if (name) {
		if (json_object_get(kept, name) == NULL) {
			paas_err_set(err, PAAS_EFAILED, "%s: no value kept by release %" PRId64, name,
			    cur);
			goto out;
		}
		*out = json_incref(json_object_get(kept, name));
		rc = 0;
		goto out;
	}
	names = paas_spec_vars(spec);
	json_object_update_missing(names, kept);
	takers(spec, "services", paas_spec_service_vars, env_of);
	takers(spec, "domains", paas_spec_domain_vars, auth_of);
	*out = json_array();
	json_object_foreach(names, k, v)
		json_array_append_new(*out, json_pack("{s:s, s:s, s:b, s:o, s:o}", "kind", "config",
		    "name", k, "kept", json_object_get(kept, k) != NULL, "env_of",
		    json_object_get(env_of, k) ? json_incref(json_object_get(env_of, k)) : json_array(),
		    "auth_of", json_object_get(auth_of, k) ? json_incref(json_object_get(auth_of, k)) :
		    json_array()));
	rc = 0;
out:
	json_decref(env_of);
	json_decref(auth_of);
	json_decref(names);
	json_decref(kept);
	json_decref(currec);
	paas_etcd_free(e);
	return rc;
}

#define PAGE_MAX	65536

/* The page of file (NULL: none): UTF-8 text of at most PAGE_MAX bytes. */
static int
read_page(const char *file, json_t **page, struct paas_err *err)
{
	char buf[PAGE_MAX + 1];
	size_t n;
	FILE *f;

	*page = NULL;
	if (file == NULL)
		return 0;
	if ((f = fopen(file, "r")) == NULL)
		return paas_err_set(err, PAAS_EINVAL, "%s: %s", file, strerror(errno));
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n > PAGE_MAX || memchr(buf, '\0', n) || (*page = json_stringn(buf, n)) == NULL)
		return paas_err_set(err, PAAS_EINVAL, "%s: a maintenance page is UTF-8 text of at "
		    "most %d bytes", file, PAGE_MAX);
	return 0;
}

int
paas_deploy_maintenance(const struct paas_deploy_opts *o, int on, const char *file,
    struct paas_err *err)
{
	struct paas_etcd *e;
	char *key = NULL, when[32];
	json_t *v = NULL, *page;
	int64_t rev = 0;
	size_t n = 0;
	int rc = -1;

	if (read_page(file, &page, err) < 0)
		return -1;
	if ((e = paas_etcd_new(o->etcd, NULL, err)) == NULL) {
		json_decref(page);
		return -1;
	}
	key = paas_key_maintenance(o->deployment);
	paas_utc_now(when, sizeof(when));
	if (on) {
		v = json_pack("{s:s, s:o?}", "since", when, "page", page);
		page = NULL;
		rc = paas_etcd_put_json(e, key, v, 0, &rev, err);
	} else {
		struct paas_op del = { PAAS_OP_DELETE, key, NULL, 0, 0 };
		int ok;

		rc = paas_etcd_txn(e, NULL, 0, &del, 1, NULL, 0, &ok, &rev, err);
	}
	/* Served by every router before we say so. */
	if (rc == 0 && paas_routers_wait(e, rev, 10000, &n, err) < 0)
		rc = -1;
	if (rc == 0 && o->event) {
		json_t *ev = json_pack("{s:s, s:s, s:b, s:I}", "kind", "maintenance", "deployment",
		    o->deployment, "on", on, "routers", (json_int_t)n);

		o->event(ev, o->arg);
		json_decref(ev);
	}
	json_decref(v);
	json_decref(page);
	free(key);
	paas_etcd_free(e);
	return rc;
}
