/*
 * The cluster's image registry (registry.h).
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "buf.h"
#include "docker.h"
#include "etcd.h"
#include "file.h"
#include "http.h"
#include "keys.h"
#include "private.h"
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

/* ---- garbage collection ---- */

/* "REPO@DIGEST" of an image reference ADDRESS/REPO@DIGEST, or NULL. */
static char *
repo_digest(const char *image)
{
	const char *slash = strchr(image, '/');

	if (slash == NULL || strchr(slash, '@') == NULL)
		return NULL;
	return paas_xstrdup(slash + 1);
}

/* {"REPO@DIGEST": true} of the releases to keep: the last keep of each
 * deployment and every current one. */
static int
keep_set(struct paas_etcd *e, int keep, json_t **set, struct paas_err *err)
{
	struct paas_kv_list l;
	json_t *deps = json_object(), *cur = json_object(), *v;
	const char *dep;
	size_t i;

	*set = json_object();
	if (paas_etcd_range(e, PAAS_DEPLOYMENTS_PREFIX, 0, 0, &l, err) < 0) {
		json_decref(deps);
		json_decref(cur);
		return -1;
	}
	for (i = 0; i < l.n; i++) {
		const char *k = l.kvs[i].key + strlen(PAAS_DEPLOYMENTS_PREFIX);
		const char *slash = strchr(k, '/');
		char *d;
		json_t *rec;

		if (slash == NULL)
			continue;
		d = paas_xstrndup(k, (size_t)(slash - k));
		if (strcmp(slash, "/release") == 0) {
			char *n = paas_xstrndup(l.kvs[i].value, l.kvs[i].value_len);

			json_object_set_new(cur, d, json_integer(strtoll(n, NULL, 10)));
			free(n);
		} else if (strncmp(slash, "/releases/", 10) == 0 &&
		    (rec = json_loadb(l.kvs[i].value, l.kvs[i].value_len, 0, NULL)) != NULL) {
			if (json_object_get(deps, d) == NULL)
				json_object_set_new(deps, d, json_array());
			json_array_append_new(json_object_get(deps, d), rec);
		}
		free(d);
	}
	paas_kv_list_free(&l);
	json_object_foreach(deps, dep, v) {
		json_int_t current = json_integer_value(json_object_get(cur, dep)), max = 0, n;
		json_t *rec, *svc;
		const char *sn;
		size_t j;

		json_array_foreach(v, j, rec)
			if ((n = json_integer_value(json_object_get(rec, "release"))) > max)
				max = n;
		json_array_foreach(v, j, rec) {
			n = json_integer_value(json_object_get(rec, "release"));
			if (n <= max - keep && n != current)
				continue;
			json_object_foreach(json_object_get(json_object_get(rec, "spec"), "services"),
			    sn, svc) {
				const char *img = json_string_value(json_object_get(svc, "image"));
				char *rd = img ? repo_digest(img) : NULL;

				if (rd)
					json_object_set_new(*set, rd, json_true());
				free(rd);
			}
		}
	}
	json_decref(deps);
	json_decref(cur);
	return 0;
}

/* GET path into *out (JSON, or the raw body with raw). */
static int
reg_get(struct paas_http *h, const char *hdr, const char *path, int raw, json_t **out,
    char **body, size_t *len, struct paas_err *err)
{
	struct paas_http_req hr = { .method = "GET", .path = path, .header = hdr, .idempotent = 1 };
	struct paas_http_resp resp;

	if (paas_http_do(h, &hr, &resp, err) < 0)
		return -1;
	if (resp.status != 200) {
		paas_err_set(err, resp.status == 401 ? PAAS_EUNAVAIL : PAAS_EFAILED,
		    "registry at %s: GET %s answered %ld%s", paas_http_endpoint(h), path, resp.status,
		    resp.status == 401 ? " (credentials refused)" : "");
		paas_http_resp_free(&resp);
		return -1;
	}
	if (raw) {
		*body = resp.body;
		*len = resp.len;
		return 0;
	}
	*out = json_loadb(resp.body, resp.len, 0, NULL);
	paas_http_resp_free(&resp);
	return 0;
}

static int
name_ok(const char *s)
{
	return s && *s && paas_only_chars(s, "._-/") && strstr(s, "..") == NULL;
}

int
paas_registry_gc(struct paas_etcd *e, const json_t *reg, int keep, int dry_run, json_t **report,
    struct paas_err *err)
{
	static const char accept[] = "Accept: application/vnd.docker.distribution.manifest.v2+json,"
	    " application/vnd.oci.image.manifest.v1+json,"
	    " application/vnd.docker.distribution.manifest.list.v2+json,"
	    " application/vnd.oci.image.index.v1+json";
	const char *address = json_string_value(json_object_get(reg, "address"));
	char *cred = paas_state_file("PAAS_REGISTRY_AUTH", "registry-auth"), *user = NULL, *pw = NULL;
	struct paas_http_opts ho = { 0 };
	struct paas_http *h = NULL;
	struct paas_buf hdr = PAAS_BUF_INIT, mhdr = PAAS_BUF_INIT, up = PAAS_BUF_INIT;
	json_t *set = NULL, *cat = NULL, *repo, *deleted = json_array();
	char *url = NULL, *b64 = NULL;
	size_t i, kept = 0;
	int rc = -1;

	*report = NULL;
	if (cred == NULL) {
		paas_err_set(err, PAAS_EINVAL, "no registry credentials: give their file in "
		    "PAAS_REGISTRY_AUTH");
		goto out;
	}
	if (paas_private_credentials("registry credentials", cred, &user, &pw, err) < 0 ||
	    keep_set(e, keep, &set, err) < 0)
		goto out;
	paas_buf_addf(&up, "%s:%s", user, pw);
	b64 = paas_base64_encode(up.data, up.len);
	paas_buf_addf(&hdr, "Authorization: Basic %s", b64);
	paas_buf_addf(&mhdr, "%s\n%s", hdr.data, accept);
	if (asprintf(&url, "https://%s", address) < 0)
		abort();
	ho.ca_pem = json_string_value(json_object_get(reg, "ca"));
	if ((h = paas_http_new("registry", url, &ho, err)) == NULL)
		goto out;
	/* The catalog, a page of at most 1000 at a time (the registry's limit). */
	cat = json_pack("{s:[]}", "repositories");
	for (;;) {
		struct paas_buf p = PAAS_BUF_INIT;
		json_t *page = NULL, *names;
		size_t last = json_array_size(json_object_get(cat, "repositories"));
		const char *after = last ? json_string_value(json_array_get(json_object_get(cat,
		    "repositories"), last - 1)) : NULL;

		paas_buf_adds(&p, "/v2/_catalog?n=1000");
		if (after && name_ok(after))
			paas_buf_addf(&p, "&last=%s", after);
		if (reg_get(h, hdr.data, p.data, 0, &page, NULL, NULL, err) < 0) {
			paas_buf_free(&p);
			goto out;
		}
		paas_buf_free(&p);
		names = json_object_get(page, "repositories");
		json_array_extend(json_object_get(cat, "repositories"), names);
		if (json_array_size(names) < 1000) {
			json_decref(page);
			break;
		}
		json_decref(page);
	}
	json_array_foreach(json_object_get(cat, "repositories"), i, repo) {
		const char *name = json_string_value(repo);
		json_t *tags = NULL, *tag, *seen = json_object();
		struct paas_buf p = PAAS_BUF_INIT;
		size_t j;

		if (!name_ok(name))
			continue;
		paas_buf_addf(&p, "/v2/%s/tags/list", name);
		if (reg_get(h, hdr.data, p.data, 0, &tags, NULL, NULL, err) < 0) {
			paas_buf_free(&p);
			json_decref(seen);
			goto out;
		}
		json_array_foreach(json_object_get(tags, "tags"), j, tag) {
			unsigned char md[32];
			char digest[72], *body = NULL;
			size_t len = 0, k;

			if (!name_ok(json_string_value(tag)))
				continue;
			paas_buf_reset(&p);
			paas_buf_addf(&p, "/v2/%s/manifests/%s", name, json_string_value(tag));
			if (reg_get(h, mhdr.data, p.data, 1, NULL, &body, &len, err) < 0) {
				json_decref(tags);
				json_decref(seen);
				paas_buf_free(&p);
				goto out;
			}
			/* The registry serves a manifest's bytes as pushed: their
			 * hash is its digest. */
			EVP_Digest(body, len, md, NULL, EVP_sha256(), NULL);
			free(body);
			strcpy(digest, "sha256:");
			for (k = 0; k < sizeof(md); k++)
				snprintf(digest + 7 + 2 * k, 3, "%02x", md[k]);
			if (json_object_get(seen, digest) == NULL)
				json_object_set_new(seen, digest, json_array());
			json_array_append(json_object_get(seen, digest), tag);
		}
		{
			const char *digest;
			json_t *tl;

			json_object_foreach(seen, digest, tl) {
				char *rd;

				if (asprintf(&rd, "%s@%s", name, digest) < 0)
					abort();
				if (json_object_get(set, rd)) {
					kept++;
					free(rd);
					continue;
				}
				if (!dry_run) {
					struct paas_http_req hr = { .method = "DELETE", .header = hdr.data };
					struct paas_http_resp resp;

					paas_buf_reset(&p);
					paas_buf_addf(&p, "/v2/%s/manifests/%s", name, digest);
					hr.path = p.data;
					if (paas_http_do(h, &hr, &resp, err) < 0) {
						free(rd);
						json_decref(tags);
						json_decref(seen);
						paas_buf_free(&p);
						goto out;
					}
					if (resp.status != 202 && resp.status != 404) {
						paas_err_set(err, PAAS_EFAILED, "registry at %s: DELETE %s "
						    "answered %ld", url, p.data, resp.status);
						paas_http_resp_free(&resp);
						free(rd);
						json_decref(tags);
						json_decref(seen);
						paas_buf_free(&p);
						goto out;
					}
					paas_http_resp_free(&resp);
				}
				json_array_append_new(deleted, json_pack("{s:s++, s:O}", "image",
				    address, "/", rd, "tags", tl));
				free(rd);
			}
		}
		json_decref(tags);
		json_decref(seen);
		paas_buf_free(&p);
	}
	*report = json_pack("{s:I, s:O, s:b}", "kept", (json_int_t)kept, "deleted", deleted,
	    "dry_run", dry_run);
	rc = 0;
out:
	if (b64)
		explicit_bzero(b64, strlen(b64));
	free(b64);
	if (up.data)
		explicit_bzero(up.data, up.len);
	if (hdr.data)
		explicit_bzero(hdr.data, hdr.len);
	if (mhdr.data)
		explicit_bzero(mhdr.data, mhdr.len);
	paas_buf_free(&up);
	paas_buf_free(&hdr);
	paas_buf_free(&mhdr);
	paas_http_free(h);
	json_decref(set);
	json_decref(cat);
	json_decref(deleted);
	free(url);
	free(user);
	paas_secret_free(pw);
	free(cred);
	return rc;
}
