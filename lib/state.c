#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "spec.h"
#include "state.h"

const char *
paas_etcd_endpoints(const char *flag)
{
	const char *env = getenv("PAAS_ETCD");

	if (flag && *flag)
		return flag;
	if (env && *env)
		return env;
	return "http://127.0.0.1:2379";
}

static char *
host_key(const char *name)
{
	struct paas_buf b = PAAS_BUF_INIT;

	paas_buf_addf(&b, PAAS_HOSTS_PREFIX "%s", name);
	return paas_buf_detach(&b, NULL);
}

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
	key = host_key(name);
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
		json_t *h = json_loadb(l.kvs[i].value, l.kvs[i].value_len, 0, NULL);

		if (!json_is_object(h)) {
			json_decref(h);
			paas_err_set(err, PAAS_EFAILED, "etcd key %s does not hold a host", l.kvs[i].key);
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
	char *key = host_key(name);
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
	const json_t *tls = json_object_get(host, "tls");
	struct paas_http_opts o = { 0 };

	o.ca_file = json_string_value(json_object_get(tls, "ca"));
	o.cert_file = json_string_value(json_object_get(tls, "cert"));
	o.key_file = json_string_value(json_object_get(tls, "key"));
	o.insecure = json_is_true(json_object_get(host, "insecure"));
	o.timeout_ms = timeout_ms;
	o.connect_timeout_ms = timeout_ms;
	return paas_docker_new(json_string_value(json_object_get(host, "docker")), &o, err);
}
