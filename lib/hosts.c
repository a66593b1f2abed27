/*
 * The cluster's hosts in etcd.  See hosts.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "docker.h"
#include "etcd.h"
#include "hosts.h"
#include "jsonx.h"
#include "keys.h"
#include "record.h"
#include "valid.h"

int
paas_host_put(struct paas_etcd *e, const json_t *host, int create_only,
    struct paas_err *err)
{
	const char *name = json_string_value(json_object_get(host, "name"));
	char *key, *val;
	int won = 1, rc;

	if (name == NULL || !paas_valid_name(name))
		return paas_err_set(err, PAAS_EINVAL, "invalid host name '%.64s': use lower-case "
		    "letters, digits and '-', starting with a letter, at most 63", name ? name : "");
	key = paas_key_host(name);
	val = json_dumps(host, JSON_COMPACT | JSON_SORT_KEYS);
	if (create_only)
		rc = paas_etcd_cas(e, key, val, strlen(val), 0, 0, &won, err);
	else
		rc = paas_etcd_put(e, key, val, strlen(val), 0, NULL, err);
	free(key);
	free(val);
	if (rc == 0 && !won)
		return paas_err_set(err, PAAS_EFAILED, "host %s exists (remove it first)", name);
	return rc;
}

int
paas_host_list(struct paas_etcd *e, json_t **hosts, struct paas_err *err)
{
	struct paas_kv_list l;
	size_t i;

	*hosts = NULL;
	if (paas_etcd_range(e, PAAS_HOSTS_PREFIX, 0, 0, &l, err) < 0)
		return -1;
	*hosts = json_array();
	for (i = 0; i < l.n; i++) {
		json_t *h;

		if (paas_record_parse(l.kvs[i].key, l.kvs[i].value, l.kvs[i].value_len, &h,
		    err) < 0) {
			paas_kv_list_free(&l);
			json_decref(*hosts);
			*hosts = NULL;
			return -1;
		}
		json_array_append_new(*hosts, h);
	}
	paas_kv_list_free(&l);
	if (json_array_size(*hosts) == 0)
		json_array_append_new(*hosts, json_pack("{s:s, s:s, s:n, s:b, s:{}, s:n, s:n, s:b}",
		    "name", "local", "docker", PAAS_LOCAL_DOCKER, "tls", "insecure", 0, "labels",
		    "cpu_milli", "memory_bytes", "implicit", 1));
	return 0;
}

int
paas_host_remove(struct paas_etcd *e, const char *name, struct paas_err *err)
{
	char *key = paas_key_host(name);
	int64_t n = 0;
	int rc = paas_etcd_delete(e, key, 0, &n, err);

	free(key);
	if (rc == 0 && n == 0)
		return paas_err_set(err, PAAS_EFAILED, "no host %s", name);
	return rc;
}

struct paas_docker *
paas_host_docker(const json_t *host, long timeout_ms, struct paas_err *err)
{
	return paas_host_docker_cancel(host, timeout_ms, NULL, err);
}

struct paas_docker *
paas_host_docker_cancel(const json_t *host, long timeout_ms, volatile sig_atomic_t *cancel,
    struct paas_err *err)
{
	const json_t *tls = json_object_get(host, "tls");
	struct paas_http_opts o = { 0 };

	o.cancel = cancel;
	o.ca_file = json_string_value(json_object_get(tls, "ca"));
	o.cert_file = json_string_value(json_object_get(tls, "cert"));
	o.key_file = json_string_value(json_object_get(tls, "key"));
	o.insecure = json_is_true(json_object_get(host, "insecure"));
	o.timeout_ms = timeout_ms;
	/* A host that drops packets should not hold a deploy for a whole
	 * request timeout before it is named. */
	o.connect_timeout_ms = timeout_ms < 5000 ? timeout_ms : 5000;
	return paas_docker_new(json_string_value(json_object_get(host, "docker")), &o, err);
}

char *
paas_host_address(const json_t *h)
{
	const char *a = json_string_value(json_object_get(h, "address"));
	const char *url = json_string_value(json_object_get(h, "docker"));
	const char *p, *end;

	if (a && *a)
		return paas_xstrdup(a);
	if (url == NULL || strncmp(url, "unix://", 7) == 0 || (p = strstr(url, "://")) == NULL)
		return paas_xstrdup("127.0.0.1");
	p += 3;
	/* ssh://user@host:port */
	if ((end = strchr(p, '@')) != NULL && end < p + strcspn(p, "/"))
		p = end + 1;
	if (*p == '[' && (end = strchr(p, ']')) != NULL)
		return paas_xstrndup(p + 1, (size_t)(end - p - 1));
	end = p + strcspn(p, ":/");
	return paas_xstrndup(p, (size_t)(end - p));
}

int
paas_host_find(struct paas_etcd *e, const char *name, json_t **h, struct paas_err *err)
{
	json_t *all, *v;
	size_t i;

	*h = NULL;
	if (paas_host_list(e, &all, err) < 0)
		return -1;
	json_array_foreach(all, i, v)
		if (strcmp(paas_json_str(v, "name", "-"), name) == 0 &&
		    !json_is_true(json_object_get(v, "implicit")))
			*h = json_incref(v);
	json_decref(all);
	return 0;
}
