/*
 * The canonical spec once parsed (spec.h): its bytes, a service's
 * environment and version, and ${VAR} expansion.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonx.h"
#include "spec.h"

char *
paas_spec_dump(const json_t *spec)
{
	char *s = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);

	if (s == NULL)
		abort();
	return s;
}

json_t *
paas_spec_service_env(const json_t *spec, const json_t *svc, json_t **secret)
{
	const json_t *gsec = json_object_get(spec, "secret_env"), *ssec = json_object_get(svc, "secret_env");
	json_t *env = json_object(), *sec = json_object(), *v;
	const char *k;

	json_object_foreach(json_object_get(spec, "env"), k, v) {
		json_object_set(env, k, v);
		if (paas_json_has(gsec, k))
			json_object_set_new(sec, k, json_true());
	}
	json_object_foreach(json_object_get(svc, "env"), k, v) {
		json_object_set(env, k, v);
		if (paas_json_has(ssec, k))
			json_object_set_new(sec, k, json_true());
		else
			json_object_del(sec, k);
	}
	if (secret)
		*secret = sec;
	else
		json_decref(sec);
	return env;
}

void
paas_spec_service_version(const json_t *spec, const char *deployment,
    const char *service, const char *values, char out[17])
{
	const json_t *svc = json_object_get(json_object_get(spec, "services"), service);
	json_t *copy = json_deep_copy(svc), *env = paas_spec_service_env(spec, svc, NULL);
	struct paas_buf b = PAAS_BUF_INIT;
	char *s, *e;

	json_object_del(copy, "instances");
	json_object_del(copy, "update");
	s = paas_spec_dump(copy);
	e = paas_spec_dump(env);
	paas_buf_addf(&b, "%s\n%s\n%s\n%s", deployment, service, s, e);
	if (values)
		paas_buf_addf(&b, "\n%s", values);
	paas_hash_hex(b.data, b.len, out);
	paas_buf_free(&b);
	free(s);
	free(e);
	json_decref(copy);
	json_decref(env);
}

/* Each ${NAME} of value into names (an object, NAME: true). */
static void
names_in(const char *value, json_t *names)
{
	const char *p, *e;

	for (p = value; p && *p; p++) {
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			p += 2;
			continue;
		}
		if (p[0] == '$' && p[1] == '{' && (e = strchr(p + 2, '}')) != NULL) {
			char *name = paas_xstrndup(p + 2, (size_t)(e - p - 2));

			json_object_set_new(names, name, json_true());
			free(name);
			p = e;
		}
	}
}

json_t *
paas_spec_service_vars(const json_t *spec, const char *service)
{
	json_t *names = json_object(), *env, *v;
	const char *k;

	env = paas_spec_service_env(spec, json_object_get(json_object_get(spec, "services"),
	    service), NULL);
	json_object_foreach(env, k, v)
		names_in(json_string_value(v), names);
	json_decref(env);
	return names;
}

json_t *
paas_spec_domain_vars(const json_t *spec, const char *domain)
{
	json_t *names = json_object(), *v;
	const char *user;

	json_object_foreach(json_object_get(json_object_get(json_object_get(spec, "domains"),
	    domain), "auth"), user, v)
		names_in(json_string_value(v), names);
	return names;
}

json_t *
paas_spec_vars(const json_t *spec)
{
	json_t *names = json_object(), *svc, *d, *v;
	const char *k, *k2;

	json_object_foreach((json_t *)json_object_get(spec, "env"), k, v)
		names_in(json_string_value(v), names);
	json_object_foreach((json_t *)json_object_get(spec, "services"), k, svc)
		json_object_foreach(json_object_get(svc, "env"), k2, v)
			names_in(json_string_value(v), names);
	json_object_foreach((json_t *)json_object_get(spec, "domains"), k, d)
		json_object_foreach(json_object_get(d, "auth"), k2, v)
			names_in(json_string_value(v), names);
	return names;
}

int
paas_spec_expand(const char *what, const char *value, const json_t *vars, char **out,
    struct paas_err *err)
{
	struct paas_buf b = PAAS_BUF_INIT;
	const char *p, *e;

	*out = NULL;
	for (p = value; *p; p++) {
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			paas_buf_adds(&b, "${");
			p += 2;
			continue;
		}
		if (p[0] == '$' && p[1] == '{' && (e = strchr(p + 2, '}')) != NULL) {
			char *name = paas_xstrndup(p + 2, (size_t)(e - p - 2));
			const char *v = json_string_value(json_object_get(vars, name));

			if (v == NULL)
				v = getenv(name);
			if (v == NULL) {
				paas_err_set(err, PAAS_EINVAL, "%s: ${%s} is not set in the environment%s",
				    what, name, vars ? " nor in the release's secrets" : "");
				free(name);
				paas_buf_free(&b);
				return -1;
			}
			paas_buf_adds(&b, v);
			free(name);
			p = e;
			continue;
		}
		paas_buf_add(&b, p, 1);
	}
	*out = paas_buf_detach(&b, NULL);
	if (*out == NULL)
		*out = paas_xstrdup("");
	return 0;
}
