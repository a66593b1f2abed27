#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haproxy.h"
#include "keys.h"
#include "record.h"
#include "valid.h"

static int
has_str(const json_t *v, const char *k)
{
	return json_is_string(json_object_get(v, k));
}

static int
opt_int(const json_t *v, const char *k)
{
	const json_t *x = json_object_get(v, k);

	return x == NULL || json_is_null(x) || (json_is_integer(x) && json_integer_value(x) >= 0);
}

/* NULL when host record v of host name is whole, else what is wrong. */
static const char *
host_damage(const char *name, const json_t *v)
{
	const json_t *tls = json_object_get(v, "tls"), *x;
	const char *k;

	if (!has_str(v, "name") || strcmp(json_string_value(json_object_get(v, "name")), name))
		return "its name is not its key's";
	if (json_object_get(v, "fleet") && !has_str(v, "fleet"))
		return "fleet is not an endpoint string";
	if (!json_object_get(v, "fleet") && !has_str(v, "docker"))
		return "docker is not a URL string";
	if (tls && !json_is_null(tls) && (!json_is_object(tls) || !has_str(tls, "ca") ||
	    !has_str(tls, "cert") || !has_str(tls, "key")))
		return "tls is not {ca, cert, key} paths";
	json_object_foreach((json_t *)json_object_get(v, "labels"), k, x)
		if (!json_is_string(x))
			return "a label value is not a string";
	if (json_object_get(v, "labels") && !json_is_object(json_object_get(v, "labels")))
		return "labels is not a mapping";
	if (!opt_int(v, "cpu_milli") || !opt_int(v, "memory_bytes"))
		return "cpu_milli or memory_bytes is not a count";
	x = json_object_get(v, "address");
	if (x && !json_is_null(x) && (!json_is_string(x) || !paas_valid_address(json_string_value(x))))
		return "address is not an address";
	return NULL;
}

static const char *
release_damage(long long n, const json_t *v)
{
	const json_t *spec = json_object_get(v, "spec");

	if (!json_is_integer(json_object_get(v, "release")) ||
	    json_integer_value(json_object_get(v, "release")) != n)
		return "release is not its key's number";
	if (!has_str(v, "kind") || !has_str(v, "status"))
		return "kind or status is missing";
	if (!json_is_object(spec) || !json_is_object(json_object_get(spec, "services")))
		return "spec is not a canonical spec";
	if (json_object_get(v, "images") && !json_is_object(json_object_get(v, "images")))
		return "images is not a mapping";
	return NULL;
}

static const char *
instance_damage(const json_t *v)
{
	if (!has_str(v, "host") || !has_str(v, "container") || !has_str(v, "id") ||
	    !has_str(v, "version") || !json_is_integer(json_object_get(v, "release")) ||
	    !json_is_object(json_object_get(v, "ports")))
		return "host, container, id, release, version or ports is missing";
	return NULL;
}

static const char *
announcement_damage(const json_t *v)
{
	if (!has_str(v, "deployment") || !has_str(v, "service") || !has_str(v, "instance") ||
	    !has_str(v, "address") || !json_is_integer(json_object_get(v, "port")))
		return "deployment, service, instance, address or port is missing";
	if (!json_is_boolean(json_object_get(v, "healthy")))
		return "healthy is not true or false";
	return NULL;
}

int
paas_record_check(const char *key, const json_t *v, struct paas_err *err)
{
	struct paas_err e2 = PAAS_ERR_INIT;
	const char *t, *kind = NULL, *why = NULL;
	long long n;

	if (!json_is_object(v))
		return paas_err_set(err, PAAS_EFAILED, "etcd key %.300s: damaged record: not a JSON "
		    "object", key);
	if ((t = paas_key_tail(key, PAAS_HOSTS_PREFIX)) != NULL) {
		kind = "host";
		why = host_damage(t, v);
	} else if ((n = paas_key_release_num(key)) > 0) {
		kind = "release";
		why = release_damage(n, v);
	} else if (paas_key_tail(key, PAAS_INSTANCES_PREFIX)) {
		kind = "instance";
		why = instance_damage(v);
	} else if (paas_key_tail(key, PAAS_ANNOUNCE_PREFIX)) {
		kind = "announcement";
		why = announcement_damage(v);
	} else if ((t = paas_key_tail(key, PAAS_ROUTES_PREFIX)) != NULL) {
		kind = "route";
		if (paas_haproxy_check_route(t, v, &e2) < 0)
			why = e2.msg;
	}
	if (why)
		return paas_err_set(err, PAAS_EFAILED, "etcd key %.300s: damaged %s record: %s", key,
		    kind, why);
	return 0;
}

int
paas_record_parse(const char *key, const char *value, size_t len, json_t **out,
    struct paas_err *err)
{
	json_t *v = json_loadb(value, len, 0, NULL);

	*out = NULL;
	if (paas_record_check(key, v, err) < 0) {
		json_decref(v);
		return -1;
	}
	*out = v;
	return 0;
}
