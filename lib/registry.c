/*
 * The cluster's image registry (registry.h).
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "daemon.h"
#include "docker.h"
#include "http.h"
#include "keys.h"
#include "registry.h"
#include "state.h"
#include "valid.h"

int
paas_registry_address_ok(const char *s)
{
	const char *colon = strrchr(s, ':');
	int port;
	char *host;
	int ok;

	if (colon == NULL || colon == s || paas_parse_int(colon + 1, 1, 65535, &port) < 0)
		return 0;
	host = paas_xstrndup(s, (size_t)(colon - s));
	ok = paas_only_chars(host, ".-") && strlen(host) < 254;
	free(host);
	return ok;
}

int
paas_registry_get(struct paas_etcd *e, json_t **reg, struct paas_err *err)
{
	struct paas_kv kv = { 0 };
	char *key = paas_key_registry();
	int found = 0, rc = -1;

	*reg = NULL;
	if (paas_etcd_get(e, key, &kv, &found, NULL, err) < 0)
		goto out;
	if (found) {
		*reg = json_loadb(kv.value, kv.value_len, 0, NULL);
		if (!json_is_object(*reg) || !json_is_string(json_object_get(*reg, "address")) ||
		    !paas_registry_address_ok(json_string_value(json_object_get(*reg, "address")))) {
			json_decref(*reg);
			*reg = NULL;
			paas_err_set(err, PAAS_EFAILED, "%s: damaged registry record", key);
			goto out;
		}
	}
	rc = 0;
out:
	paas_kv_clear(&kv);
	free(key);
	return rc;
}

int
paas_registry_put(struct paas_etcd *e, const json_t *reg, struct paas_err *err)
{
	char *key = paas_key_registry();
	int rc = paas_etcd_put_json(e, key, reg, 0, NULL, err);

	free(key);
	return rc;
}

int
paas_registry_auth(const char *address, char **auth, struct paas_err *err)
{
	char *p = paas_state_file("PAAS_REGISTRY_AUTH", "registry-auth"), *user, *pw;
	int rc;

	*auth = NULL;
	if (p == NULL)
		return 0;
	rc = paas_private_credentials("registry credentials", p, &user, &pw, err);
	if (rc == 0) {
		*auth = paas_docker_auth_encode(address, user, pw);
		explicit_bzero(pw, strlen(pw));
		free(user);
		free(pw);
	}
	free(p);
	return rc;
}

int
paas_registry_trust(const char *address, const char *ca_pem, const char *certs_dir,
    struct paas_err *err)
{
	const char *base = certs_dir ? certs_dir : "/etc/docker/certs.d";
	char *dir, *file;
	int rc = -1;

	if (!paas_registry_address_ok(address))
		return paas_err_set(err, PAAS_EINVAL, "'%.80s' is not a registry address (HOST:PORT)",
		    address);
	if (asprintf(&dir, "%s/%s", base, address) < 0 || asprintf(&file, "%s/ca.crt", dir) < 0)
		abort();
	if ((mkdir(base, 0755) < 0 && errno != EEXIST) || (mkdir(dir, 0755) < 0 && errno != EEXIST)) {
		paas_err_set(err, PAAS_EFAILED, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	rc = paas_file_replace(file, ca_pem, strlen(ca_pem), 0644, err);
out:
	free(dir);
	free(file);
	return rc;
}

int
paas_registry_htpasswd(const char *path, const char *user, const char *password,
    struct paas_err *err)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char *salt, *hash, line[512];
	int rc = -1;

	if (cd == NULL)
		abort();
	/* bcrypt, as the registry's htpasswd wants; cost 10 costs ~60 ms
	 * per push or pull that logs in, once per connection. */
	if ((salt = crypt_gensalt_ra("$2b$", 10, NULL, 0)) == NULL ||
	    (hash = crypt_r(password, salt, cd)) == NULL || hash[0] == '*') {
		paas_err_set(err, PAAS_EFAILED, "cannot hash the registry's password: %s",
		    strerror(errno));
		goto out;
	}
	snprintf(line, sizeof(line), "%s:%s\n", user, hash);
	rc = paas_file_replace(path, line, strlen(line), 0600, err);
out:
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	free(salt);
	return rc;
}

int
paas_registry_ping(const json_t *reg, long timeout_ms, struct paas_err *err)
{
	struct paas_http_opts ho = { 0 };
	struct paas_http_req hr = { .method = "GET", .path = "/v2/" };
	struct paas_http_resp resp;
	struct paas_http *h;
	char *url;
	int rc = -1;

	if (asprintf(&url, "https://%s", json_string_value(json_object_get(reg, "address"))) < 0)
		abort();
	ho.ca_pem = json_string_value(json_object_get(reg, "ca"));
	ho.timeout_ms = timeout_ms;
	ho.connect_timeout_ms = timeout_ms < 2000 ? timeout_ms : 2000;
	if ((h = paas_http_new("registry", url, &ho, err)) != NULL &&
	    paas_http_do(h, &hr, &resp, err) == 0) {
		/* It answers, and asks for credentials (or needs none). */
		if (resp.status == 401 || resp.status == 200)
			rc = 0;
		else
			paas_err_set(err, PAAS_EFAILED, "registry at %s answered %ld to /v2/", url,
			    resp.status);
		paas_http_resp_free(&resp);
	}
	paas_http_free(h);
	free(url);
	return rc;
}
