#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "access.h"
#include "buf.h"
#include "etcd.h"
#include "file.h"
#include "jsonx.h"
#include "keys.h"

enum perm { READ, READWRITE };
struct grant {
	enum perm perm;
	const char *key, *end;	/* end NULL: every key starting with key */
};
#define ALL_BUT_SECRETS	{ READ, PAAS_PREFIX, PAAS_SECRETS_PREFIX }
static const struct role {
	const char *name;
	struct grant g[4];
	size_t n;
} roles[] = {
	{ "root", { { READ, NULL, NULL } }, 0 },
	{ "deployer", { { READWRITE, PAAS_PREFIX, NULL } }, 1 },
	{ "agent", { ALL_BUT_SECRETS, { READWRITE, PAAS_ANNOUNCE_PREFIX, NULL },
	    { READWRITE, PAAS_AGENTS_PREFIX, NULL }, { READWRITE, PAAS_JOBS_PREFIX, NULL } }, 4 },
	{ "router", { ALL_BUT_SECRETS, { READWRITE, PAAS_ROUTERS_PREFIX, NULL } }, 2 },
	{ "check", { ALL_BUT_SECRETS }, 1 },
};

/* The password in dir/name, or a new one written there. */
static char *
password(const char *dir, const char *name, struct paas_err *err)
{
	char *path, buf[256], *pw = NULL;
	unsigned char raw[24];
	FILE *f;
	size_t i;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		abort();
	if ((f = fopen(path, "re")) != NULL) {
		if (fgets(buf, sizeof(buf), f) && strchr(buf, ':')) {
			buf[strcspn(buf, "\r\n")] = '\0';
			pw = paas_xstrdup(strchr(buf, ':') + 1);
		}
		fclose(f);
		explicit_bzero(buf, sizeof(buf));
		if (pw == NULL || *pw == '\0') {
			free(pw);
			pw = NULL;
			paas_err_set(err, PAAS_EFAILED, "%s: expected one line USER:PASSWORD", path);
		}
		free(path);
		return pw;
	}
	if (errno != ENOENT) {
		paas_err_set(err, PAAS_EFAILED, "%s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		paas_err_set(err, PAAS_EFAILED, "no random bytes: %s", strerror(errno));
		free(path);
		return NULL;
	}
	pw = paas_xmalloc(2 * sizeof(raw) + 1);
	for (i = 0; i < sizeof(raw); i++)
		snprintf(pw + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof(raw));
	snprintf(buf, sizeof(buf), "%s:%s\n", name, pw);
	if (paas_file_replace(path, buf, strlen(buf), 0600, err) < 0) {
		free(pw);
		pw = NULL;
	}
	explicit_bzero(buf, sizeof(buf));
	free(path);
	return pw;
}

/* A call whose "already exists" answer is fine. */
static int
call_idem(struct paas_etcd *e, const char *path, json_t *req, struct paas_err *err)
{
	if (paas_etcd_call(e, path, req, NULL, err) == 0)
		return 0;
	if (strstr(err->msg, "already exists") || strstr(err->msg, "already granted")) {
		paas_err_clear(err);
		return 0;
	}
	return -1;
}

static int
make_user(struct paas_etcd *e, const struct role *r, const char *pw, struct paas_err *err)
{
	size_t i;

	if (paas_etcd_call(e, "/v3/auth/user/add", json_pack("{s:s, s:s}", "name", r->name,
	    "password", pw), NULL, err) < 0) {
		if (strstr(err->msg, "already exists") == NULL)
			return -1;
		/* Made by a run cut short: the file's password is the one. */
		paas_err_clear(err);
		if (paas_etcd_call(e, "/v3/auth/user/changepw", json_pack("{s:s, s:s}", "name",
		    r->name, "password", pw), NULL, err) < 0)
			return -1;
	}
	if (strcmp(r->name, "root") != 0) {
		if (call_idem(e, "/v3/auth/role/add", json_pack("{s:s}", "name", r->name), err) < 0)
			return -1;
		for (i = 0; i < r->n; i++) {
			const struct grant *g = &r->g[i];
			size_t elen = g->end ? strlen(g->end) : 0;
			char *end = g->end ? paas_xstrdup(g->end) : paas_etcd_prefix_end(g->key, &elen);
			json_t *perm;

			perm = json_pack("{s:s, s:o, s:o}", "permType",
			    g->perm == READ ? "READ" : "READWRITE",
			    "key", paas_json_base64(g->key, strlen(g->key)),
			    "range_end", paas_json_base64(end, elen));
			free(end);
			if (call_idem(e, "/v3/auth/role/grant", json_pack("{s:s, s:o}", "name", r->name,
			    "perm", perm), err) < 0)
				return -1;
		}
	}
	return call_idem(e, "/v3/auth/user/grant", json_pack("{s:s, s:s}", "user", r->name,
	    "role", r->name), err);
}

int
paas_access_enabled(const char *endpoints, struct paas_err *err)
{
	struct paas_etcd *e;
	struct paas_kv kv;
	int found, rc;

	if (paas_etcd_auth_load(NULL, err) < 0 || (e = paas_etcd_new(endpoints, NULL, err)) == NULL)
		return -1;
	rc = paas_etcd_get(e, PAAS_HOSTS_PREFIX, &kv, &found, NULL, err);
	paas_etcd_free(e);
	if (rc == 0) {
		paas_kv_clear(&kv);
		return 0;
	}
	if (strstr(err->msg, "wants a user")) {
		paas_err_clear(err);
		return 1;
	}
	return -1;
}

int
paas_access_setup(const char *endpoints, const char *dir, struct paas_err *err)
{
	struct paas_etcd *e = NULL;
	char *root = NULL;
	size_t i;
	int rc = -1;

	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || chmod(dir, 0700) < 0) {
		paas_err_set(err, PAAS_EFAILED, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (paas_etcd_auth_load(NULL, err) < 0 || (e = paas_etcd_new(endpoints, NULL, err)) == NULL)
		return -1;
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		char *pw = password(dir, roles[i].name, err);

		if (pw == NULL)
			goto out;
		rc = make_user(e, &roles[i], pw, err);
		explicit_bzero(pw, strlen(pw));
		free(pw);
		if (rc < 0)
			goto out;
		rc = -1;
	}
	if (paas_etcd_call(e, "/v3/auth/enable", json_object(), NULL, err) < 0)
		goto out;
	if (asprintf(&root, "%s/root", dir) < 0)
		abort();
	rc = paas_etcd_auth_load(root, err);
out:
	free(root);
	paas_etcd_free(e);
	return rc;
}
