/*
 * The ${VAR} values kept with a deployment's releases, as config
 * (deploy.h): reading the arguments of config set and unset, and listing
 * names (never values unless one is asked for).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "deploy.h"
#include "etcd.h"
#include "release.h"
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
paas_deploy_config_current(struct run *r, int64_t *cur, json_t **currec, int64_t *mod, json_t **kept,
    struct paas_err *err)
{
	if (paas_release_current(r->e, r->o->deployment, cur, currec, mod, err) < 0)
		return -1;
	if (*cur == 0)
		return paas_err_set(err, PAAS_EFAILED, "deployment %s has no release: deploy a "
		    "Servicefile first", r->o->deployment);
	if (paas_secrets_get(r->e, r->o->deployment, *cur, kept, err) < 0)
		return -1;
	if (*kept == NULL)
		*kept = json_object();
	return 0;
}

int
paas_deploy_config_list(const struct paas_deploy_opts *o, const char *name, json_t **out,
    struct paas_err *err)
{
	struct run r;
	json_t *currec = NULL, *kept = NULL, *spec, *names = NULL, *svc, *d, *v;
	int64_t cur, mod;
	const char *k, *s;
	int rc = -1;

	*out = NULL;
	memset(&r, 0, sizeof(r));
	r.o = o;
	if ((r.e = paas_etcd_new(o->etcd, NULL, err)) == NULL ||
	    paas_deploy_config_current(&r, &cur, &currec, &mod, &kept, err) < 0)
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
	*out = json_array();
	json_object_foreach(names, k, v) {
		json_t *e = json_pack("{s:s, s:s, s:b, s:[], s:[]}", "kind", "config", "name", k, "kept",
		    json_object_get(kept, k) != NULL, "services", "domains");

		json_object_foreach(json_object_get(spec, "services"), s, svc) {
			json_t *used = paas_spec_service_vars(spec, s);

			if (json_object_get(used, k))
				json_array_append_new(json_object_get(e, "services"), json_string(s));
			json_decref(used);
		}
		json_object_foreach(json_object_get(spec, "domains"), s, d) {
			const char *u;
			json_t *h;

			json_object_foreach(json_object_get(d, "auth"), u, h)
				if (strstr(json_string_value(h) ? json_string_value(h) : "", k))
					json_array_append_new(json_object_get(e, "domains"), json_string(s));
		}
		json_array_append_new(*out, e);
	}
	rc = 0;
out:
	json_decref(names);
	json_decref(kept);
	json_decref(currec);
	paas_etcd_free(r.e);
	return rc;
}
