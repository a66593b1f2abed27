#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "etcd.h"
#include "jsonx.h"
#include "keys.h"
#include "route.h"
#include "spec.h"
#include "valid.h"

int
paas_route_read(struct paas_etcd *e, json_t **routes, json_t **servers,
    int64_t *rev, json_t *skipped, struct paas_err *err)
{
	struct paas_kv_list r, a, m;
	json_t *maint;
	size_t i;

	*routes = *servers = NULL;
	if (paas_etcd_range(e, PAAS_ROUTES_PREFIX, 0, 0, &r, err) < 0)
		return -1;
	/* At the routes' revision: the revision a router says it serves must
	 * cover both.  (Announcements read later than the routes once made a
	 * router claim a route written between the two reads.) */
	if (paas_etcd_range_at(e, PAAS_ANNOUNCE_PREFIX, 0, 0, r.revision, &a, err) < 0) {
		paas_kv_list_free(&r);
		return -1;
	}
	/* Deployments in maintenance, at the same revision. */
	if (paas_etcd_range_at(e, PAAS_MAINTENANCE_PREFIX, 0, 0, r.revision, &m, err) < 0) {
		paas_kv_list_free(&r);
		paas_kv_list_free(&a);
		return -1;
	}
	maint = json_object();
	for (i = 0; i < m.n; i++) {
		json_t *x = json_loadb(m.kvs[i].value, m.kvs[i].value_len, 0, NULL);

		json_object_set_new(maint, paas_key_tail(m.kvs[i].key, PAAS_MAINTENANCE_PREFIX),
		    json_is_object(x) ? x : json_object());
		if (!json_is_object(x))
			json_decref(x);
	}
	*routes = json_object();
	*servers = json_array();
	for (i = 0; i < r.n; i++) {
		json_t *v = json_loadb(r.kvs[i].value, r.kvs[i].value_len, 0, NULL);
		const char *domain = paas_key_tail(r.kvs[i].key, PAAS_ROUTES_PREFIX);

		if (json_is_object(v)) {
			const char *dep = json_string_value(json_object_get(v, "deployment"));
			json_t *x = dep ? json_object_get(maint, dep) : NULL;

			/* Its deployment in maintenance: the record (shared). */
			if (x)
				json_object_set(v, "maintenance", x);
			json_object_set_new(*routes, domain, v);
		} else {
			json_decref(v);
			if (skipped)
				json_array_append_new(skipped, json_sprintf("%.200s: not a JSON "
				    "object", r.kvs[i].key));
		}
	}
	for (i = 0; i < a.n; i++) {
		json_t *v = json_loadb(a.kvs[i].value, a.kvs[i].value_len, 0, NULL);

		if (json_is_object(v)) {
			/* Where it came from, for messages about it. */
			json_object_set_new(v, "key", json_string(a.kvs[i].key));
			json_object_set_new(v, "lease", json_integer(a.kvs[i].lease));
			json_array_append_new(*servers, v);
		}
		else {
			json_decref(v);
			if (skipped)
				json_array_append_new(skipped, json_sprintf("%.200s: not a JSON "
				    "object", a.kvs[i].key));
		}
	}
	if (rev)
		*rev = r.revision;
	paas_kv_list_free(&r);
	paas_kv_list_free(&a);
	paas_kv_list_free(&m);
	json_decref(maint);
	return 0;
}

int
paas_routers_applied(struct paas_etcd *e, int64_t *min_rev, size_t *n,
    struct paas_err *err)
{
	struct paas_kv_list l;
	size_t i;

	*min_rev = INT64_MAX;
	*n = 0;
	if (paas_etcd_range(e, PAAS_ROUTERS_PREFIX, 0, 0, &l, err) < 0)
		return -1;
	for (i = 0; i < l.n; i++) {
		json_t *v = json_loadb(l.kvs[i].value, l.kvs[i].value_len, 0, NULL);
		int64_t r = json_integer_value(json_object_get(v, "revision"));

		json_decref(v);
		if (r < *min_rev)
			*min_rev = r;
		(*n)++;
	}
	paas_kv_list_free(&l);
	return 0;
}

int
paas_routers_wait(struct paas_etcd *e, int64_t rev, long timeout_ms, size_t *n,
    struct paas_err *err)
{
	long long t0 = paas_now_ms();
	int64_t min;

	for (;;) {
		paas_err_clear(err);
		if (paas_routers_applied(e, &min, n, err) == 0 && (*n == 0 || min >= rev))
			return 0;
		if (paas_now_ms() - t0 >= timeout_ms) {
			/* etcd's error stays (PAAS_EUNAVAIL): nobody knows. */
			if (err->msg[0] == '\0')
				paas_err_set(err, PAAS_EFAILED, "a router has not applied the change "
				    "within %ld s; carrying on", timeout_ms / 1000);
			return -1;
		}
		paas_sleep_ms(20);
	}
}

/* Writing the routes ---------------------------------------------------- */

int
paas_route_want(struct paas_etcd *e, const char *dep, const json_t *spec,
    const json_t *vars, json_t **out, struct paas_err *err)
{
	const json_t *domains = json_object_get(spec, "domains"), *d, *v;
	struct paas_kv_list l;
	json_t *routes = json_object();
	const char *name, *user;
	size_t i;

	*out = NULL;
	json_object_foreach((json_t *)domains, name, d) {
		const char *svcname = json_string_value(json_object_get(d, "service"));
		const json_t *svc = json_object_get(json_object_get(spec, "services"), svcname);
		const json_t *port = json_object_get(d, "port"), *health;
		json_t *auth;

		if (strcmp(json_string_value(json_object_get(d, "deployment")), dep) != 0)
			continue;
		if (svc == NULL) {
			json_decref(routes);
			return paas_err_set(err, PAAS_EINVAL, "domain %s: no service %s in this "
			    "Servicefile", name, svcname);
		}
		if (!json_is_integer(port))
			port = json_array_get(json_object_get(svc, "ports"), 0);
		auth = json_object();
		json_object_foreach(json_object_get(d, "auth"), user, v) {
			char what[400], *x;

			snprintf(what, sizeof(what), "domain %s: auth %s", name, user);
			if (paas_spec_expand(what, json_string_value(v), vars, &x, err) < 0) {
				json_decref(auth);
				json_decref(routes);
				return -1;
			}
			/* The router would leave the domain out: say so now, with
			 * nothing changed, and never what the value was. */
			if (!paas_valid_crypt(x)) {
				free(x);
				json_decref(auth);
				json_decref(routes);
				return paas_err_set(err, PAAS_EINVAL, "%s: the value is not a crypt(3) "
				    "hash (make one with: openssl passwd -6)", what);
			}
			json_object_set_new(auth, user, json_string(x));
			free(x);
		}
		health = json_object_get(json_object_get(svc, "health"), "http");
		json_object_set_new(routes, name, json_pack("{s:s, s:s, s:O, s:o, s:O, s:O, s:O}",
		    "deployment", dep, "service", svcname,
		    "port", port ? port : json_null(), "auth", auth,
		    "sticky", json_object_get(d, "sticky"),
		    "health", json_is_string(health) ? health : json_null(),
		    "tls", json_object_get(d, "tls")));
	}
	if (paas_etcd_range(e, PAAS_ROUTES_PREFIX, 0, 0, &l, err) < 0) {
		json_decref(routes);
		return -1;
	}
	for (i = 0; i < l.n; i++) {
		const char *dom = paas_key_tail(l.kvs[i].key, PAAS_ROUTES_PREFIX);
		json_t *have = json_loadb(l.kvs[i].value, l.kvs[i].value_len, 0, NULL);
		const char *owner = json_string_value(json_object_get(have, "deployment"));

		if (json_object_get(routes, dom) && owner && strcmp(owner, dep) != 0) {
			paas_err_set(err, PAAS_EFAILED, "domain %s is routed to deployment %s: change or "
			    "destroy that one first", dom, owner);
			json_decref(have);
			paas_kv_list_free(&l);
			json_decref(routes);
			return -1;
		}
		json_decref(have);
	}
	paas_kv_list_free(&l);
	*out = routes;
	return 0;
}

int
paas_route_sync(struct paas_etcd *e, const char *dep, const json_t *want, json_t *set,
    json_t *removed, int64_t *rev, struct paas_err *err)
{
	struct paas_kv_list l;
	json_t *same = json_array(), *v;
	const char *dom, **names = NULL;
	size_t i, n;
	int rc = -1;

	*rev = 0;
	if (paas_etcd_range(e, PAAS_ROUTES_PREFIX, 0, 0, &l, err) < 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		json_t *have = json_loadb(l.kvs[i].value, l.kvs[i].value_len, 0, NULL);
		const char *owner = json_string_value(json_object_get(have, "deployment"));

		dom = paas_key_tail(l.kvs[i].key, PAAS_ROUTES_PREFIX);
		if (owner && strcmp(owner, dep) == 0) {
			if ((v = json_object_get(want, dom)) == NULL) {
				if (paas_etcd_delete(e, l.kvs[i].key, 0, NULL, err) < 0) {
					json_decref(have);
					paas_kv_list_free(&l);
					goto out;
				}
				json_array_append_new(removed, json_string(dom));
			} else if (json_equal(have, v))
				json_array_append_new(same, json_string(dom));
		}
		json_decref(have);
	}
	paas_kv_list_free(&l);
	names = paas_json_keys(want, &n);
	for (i = 0; i < n; i++) {
		char *key;
		int prc;

		if (paas_json_has(same, names[i]))
			continue;
		key = paas_key_route(names[i]);
		prc = paas_etcd_put_json(e, key, json_object_get(want, names[i]), 0, rev, err);
		free(key);
		if (prc < 0)
			goto out;
		json_array_append_new(set, json_string(names[i]));
	}
	/* Deletions alone: the store's revision now covers them. */
	if (*rev == 0 && json_array_size(removed)) {
		struct paas_kv kv;
		int found;

		if (paas_etcd_get(e, PAAS_ROUTES_PREFIX, &kv, &found, rev, err) < 0)
			goto out;
		paas_kv_clear(&kv);
	}
	rc = 0;
out:
	free(names);
	json_decref(same);
	return rc;
}
