/*
 * The registry that paas-cluster up runs: a docker-registry with TLS from
 * the cluster's CA and htpasswd from the deployer's credentials, recorded
 * in etcd and trusted by this machine's Docker daemons; or an external one
 * recorded; and registry gc, which keeps the images of the last releases
 * of every deployment and removes the rest.  See cluster.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cluster-int.h"
#include "etcd.h"
#include "file.h"
#include "jsonx.h"
#include "keys.h"
#include "lock.h"
#include "pki.h"
#include "private.h"
#include "registry.h"

/* Up, and asking for its credentials (arg: the record, with its CA). */
static int
registry_ready(const struct paas_component_env *env, void *arg)
{
	struct paas_err err = PAAS_ERR_INIT;

	(void)env;
	return paas_registry_ping(arg, 1000, &err) == 0;
}

/* The deployer's credentials for the registry, made once, and the
 * registry's htpasswd from them. */
static int
registry_users(struct paas_cluster *u, const char *dir, struct paas_err *err)
{
	char *cred = paas_path_join(u->dir, "registry-auth"), *ht = paas_path_join(dir, "htpasswd");
	char *user = NULL, *pw = NULL, line[128], hex[49];
	unsigned char raw[24];
	int rc = -1;
	size_t i;

	if (access(cred, F_OK) != 0) {
		if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
			paas_err_set(err, PAAS_EFAILED, "no random bytes: %s", strerror(errno));
			goto out;
		}
		for (i = 0; i < sizeof(raw); i++)
			snprintf(hex + 2 * i, 3, "%02x", raw[i]);
		explicit_bzero(raw, sizeof(raw));
		snprintf(line, sizeof(line), "paas:%s\n", hex);
		explicit_bzero(hex, sizeof(hex));
		rc = paas_file_replace(cred, line, strlen(line), 0600, err);
		explicit_bzero(line, sizeof(line));
		if (rc < 0)
			goto out;
		unlink(ht);
		rc = -1;
	}
	if (access(ht, F_OK) != 0 &&
	    (paas_private_credentials("registry credentials", cred, &user, &pw, err) < 0 ||
	    paas_registry_htpasswd(ht, user, pw, err) < 0))
		goto out;
	rc = 0;
out:
	free(user);
	paas_secret_free(pw);
	free(cred);
	free(ht);
	return rc;
}

static int
registry_config(struct paas_cluster *u, const char *dir, const char *address,
    struct paas_err *err)
{
	char *cfg = paas_path_join(dir, "config.yml");
	struct paas_buf b = PAAS_BUF_INIT;
	int rc;

	/* Paths are the state directory's, which the operator chose: quoted
	 * as YAML single-quoted scalars. */
	paas_buf_adds(&b, "# Written by paas-cluster up: changes are lost at the next up.\n"
	    "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\n"
	    "storage:\n  filesystem:\n    rootdirectory: '");
	paas_buf_adds(&b, dir);
	paas_buf_addf(&b, "/data'\n  delete:\n    enabled: true\n"
	    "http:\n  addr: '%s'\n  tls:\n    certificate: '%s/tls.crt'\n    key: '%s/tls.key'\n"
	    "  headers:\n    X-Content-Type-Options: [nosniff]\n"
	    "auth:\n  htpasswd:\n    realm: paas\n    path: '%s/htpasswd'\n", address, dir, dir, dir);
	rc = strchr(dir, '\'') || strchr(dir, '\n') ? paas_err_set(err, PAAS_EINVAL,
	    "state directory %s: a quote or newline in its path", u->dir) :
	    paas_file_replace(cfg, b.data, b.len, 0600, err);
	paas_buf_free(&b);
	free(cfg);
	return rc;
}

/* The registry's record: address, managed, and the CA in ca_file (NULL:
 * none); NULL with err set when the file is not a PEM certificate. */
static json_t *
registry_of(const char *address, int managed, const char *ca_file, struct paas_err *err)
{
	char *pem = NULL;
	json_t *reg = NULL;
	size_t len;
	FILE *f;

	if (ca_file) {
		if ((f = fopen(ca_file, "re")) == NULL) {
			paas_err_set(err, PAAS_EINVAL, "registry CA %s: %s", ca_file, strerror(errno));
			return NULL;
		}
		pem = paas_xmalloc(65537);
		len = fread(pem, 1, 65536, f);
		fclose(f);
		pem[len] = '\0';
		if (strstr(pem, "-----BEGIN CERTIFICATE-----") == NULL) {
			paas_err_set(err, PAAS_EINVAL, "registry CA %s: not a PEM certificate", ca_file);
			free(pem);
			return NULL;
		}
	}
	reg = json_pack("{s:s, s:s?, s:b}", "address", address, "ca", pem, "managed", managed);
	free(pem);
	return reg;
}

/* Where the registry is, for the deployers and the hosts. */
static int
registry_record(struct paas_cluster *u, const json_t *reg, struct paas_err *err)
{
	const char *pem = json_string_value(json_object_get(reg, "ca"));
	struct paas_etcd *e = NULL;
	int rc = -1;

	if ((e = paas_etcd_new(u->etcd, NULL, err)) == NULL || paas_registry_put(e, reg, err) < 0)
		goto out;
	if (pem) {
		struct paas_err e2 = PAAS_ERR_INIT;

		/* The Docker daemons of this machine trust it; other machines'
		 * are the operator's to set up (paas-cluster(1)). */
		if (paas_registry_trust(json_string_value(json_object_get(reg, "address")), pem,
		    NULL, &e2) < 0)
			cluster_report(u, "registry", "untrusted", 0, e2.msg);
	}
	rc = 0;
out:
	paas_etcd_free(e);
	return rc;
}

int
cluster_registry_up(struct paas_cluster *u, struct paas_err *err)
{
	const char *mode = json_string_value(json_object_get(u->conf, "registry"));
	const char *address = json_string_value(json_object_get(u->conf, "registry_address"));
	char *dir = NULL, *cadir = NULL, *cfg = NULL, *crt = NULL, *key = NULL, *cacrt = NULL;
	json_t *reg = NULL;
	int made, rc = -1;

	if (mode && strcmp(mode, "none") == 0)
		return 0;
	if (mode && strcmp(mode, "external") == 0) {
		if ((reg = registry_of(address, 0, json_string_value(json_object_get(u->conf,
		    "registry_ca")), err)) == NULL || registry_record(u, reg, err) < 0) {
			json_decref(reg);
			return -1;
		}
		json_decref(reg);
		cluster_report(u, "registry", "external", 0, address);
		return 0;
	}
	{
		struct paas_component c = { "registry", "the registry", "docker-registry", address,
		    20000, registry_ready, NULL };

		dir = paas_path_join(u->dir, "registry");
		cadir = paas_path_join(u->dir, "ca");
		cfg = paas_path_join(dir, "config.yml");
		crt = paas_path_join(dir, "tls.crt");
		key = paas_path_join(dir, "tls.key");
		if (paas_mkdir_p(dir, 0700, err) < 0 || paas_pki_ca(cadir, &made, err) < 0)
			goto out;
		if (made)
			cluster_report(u, "ca", "added", 0, cadir);
		if (access(crt, F_OK) != 0 || made) {
			char *host = paas_xstrndup(address, strrchr(address, ':') - address);
			const char *names[] = { host, strcmp(host, "127.0.0.1") ? "127.0.0.1" : NULL,
			    NULL };

			rc = paas_pki_issue(cadir, names, crt, key, err);
			free(host);
			if (rc < 0)
				goto out;
			rc = -1;
		}
		cacrt = paas_path_join(cadir, "ca.crt");
		if (registry_users(u, dir, err) < 0 || registry_config(u, dir, address, err) < 0 ||
		    (reg = registry_of(address, 1, cacrt, err)) == NULL)
			goto out;
		c.arg = reg;
		if (!cluster_running(u, &c)) {
			char *argv[] = { "docker-registry", "serve", cfg, NULL };

			if (cluster_launch(u, &c, argv, err) < 0)
				goto out;
		}
		rc = registry_record(u, reg, err);
	}
out:
	json_decref(reg);
	free(cacrt);
	free(dir);
	free(cadir);
	free(cfg);
	free(crt);
	free(key);
	return rc;
}

/* The registry's own garbage-collect over its data, while it is stopped:
 * the layers no manifest names any more go. */
static int
collect_blobs(struct paas_cluster *u, struct paas_err *err)
{
	char *cfg = paas_path_join(u->dir, "registry/config.yml");
	char *log = paas_path_join(u->dir, "registry.log");
	struct paas_err e2 = PAAS_ERR_INIT;
	int status = 0, fd, rc = -1;
	pid_t pid;

	if (cluster_stop(u, "registry", "registry.pid", "docker-registry", err) < 0)
		goto out;
	if ((pid = fork()) < 0) {
		paas_err_set(err, PAAS_EFAILED, "cannot fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		if ((fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("docker-registry", "docker-registry", "garbage-collect", cfg, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		paas_err_set(err, PAAS_EFAILED, "docker-registry garbage-collect failed; see %s", log);
	else
		rc = 0;
	cluster_report(u, "registry", rc == 0 ? "collected" : "not-collected", 0, NULL);
	/* Started again whatever happened. */
	if (cluster_registry_up(u, rc == 0 ? err : &e2) < 0)
		rc = -1;
out:
	free(cfg);
	free(log);
	return rc;
}

/* Every deployment's lock, so that no deploy pushes or records an image
 * while the registry is swept. */
static int
lock_all(const char *etcd, struct paas_etcd *e, struct paas_lock ***locks, size_t *n,
    struct paas_err *err)
{
	struct paas_kv_list l;
	json_t *deps = json_object(), *v;
	char holder[300], host[256] = "localhost";
	const char *dep;
	size_t i;
	int rc = -1;

	*locks = NULL;
	*n = 0;
	gethostname(host, sizeof(host) - 1);
	snprintf(holder, sizeof(holder), "paas-cluster registry gc@%s pid %ld", host,
	    (long)getpid());
	if (paas_etcd_range(e, PAAS_DEPLOYMENTS_PREFIX, 0, 0, &l, err) < 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		const char *k = l.kvs[i].key + strlen(PAAS_DEPLOYMENTS_PREFIX);
		const char *slash = strchr(k, '/');

		if (slash) {
			char *d = paas_xstrndup(k, (size_t)(slash - k));

			json_object_set_new(deps, d, json_true());
			free(d);
		}
	}
	paas_kv_list_free(&l);
	*locks = paas_xmalloc((json_object_size(deps) + 1) * sizeof(**locks));
	json_object_foreach(deps, dep, v) {
		if (paas_lock_acquire(etcd, dep, holder, 15, &(*locks)[*n], err) < 0)
			goto out;
		(*n)++;
	}
	rc = 0;
out:
	json_decref(deps);
	return rc;
}

static void
event(const struct paas_cluster *u, json_t *ev)
{
	if (u->event)
		u->event(ev, u->arg);
	json_decref(ev);
}

int
paas_cluster_registry_gc(struct paas_cluster *u, int keep, int dry, struct paas_err *err)
{
	struct paas_lock **locks = NULL;
	struct paas_etcd *e = NULL;
	json_t *reg = NULL, *rep = NULL, *v;
	size_t i, nlocks = 0;
	int rc = -1;

	if ((e = paas_etcd_new(u->etcd, NULL, err)) == NULL || paas_registry_get(e, &reg, err) < 0)
		goto out;
	if (reg == NULL) {
		paas_err_set(err, PAAS_EFAILED, "the cluster has no registry (paas-cluster up makes "
		    "one)");
		goto out;
	}
	if ((!dry && lock_all(u->etcd, e, &locks, &nlocks, err) < 0) ||
	    paas_registry_gc(e, reg, keep, dry, &rep, err) < 0)
		goto out;
	json_array_foreach(json_object_get(rep, "deleted"), i, v) {
		json_t *ev = json_copy(v);

		json_object_set_new(ev, "kind", json_string("image_deleted"));
		event(u, ev);
	}
	event(u, json_pack("{s:s, s:O, s:I, s:i, s:b}", "kind", "gc", "kept",
	    json_object_get(rep, "kept"), "deleted",
	    (json_int_t)json_array_size(json_object_get(rep, "deleted")), "keep", keep,
	    "dry_run", dry));
	/* Our registry's layers go too, while every deployment is locked. */
	if (!dry && json_array_size(json_object_get(rep, "deleted")) &&
	    json_is_true(json_object_get(reg, "managed")) &&
	    strcmp(paas_json_str(u->conf, "registry", "-"), "managed") == 0 &&
	    collect_blobs(u, err) < 0)
		goto out;
	rc = 0;
out:
	for (i = 0; i < nlocks; i++)
		paas_lock_release(locks[i]);
	free(locks);
	json_decref(reg);
	json_decref(rep);
	paas_etcd_free(e);
	return rc;
}
