/*
 * paas-cluster's registry: the private docker-registry `up` runs (TLS from
 * the cluster's CA, htpasswd from the deployer's credentials), and
 * `registry gc`, which keeps the images of the last releases of every
 * deployment and removes the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cluster-up.h"
#include "etcd.h"
#include "file.h"
#include "keys.h"
#include "lock.h"
#include "paas-cluster.h"
#include "pki.h"
#include "private.h"
#include "registry.h"
#include "state.h"
#include "valid.h"

/* Up, and asking for its credentials (arg: the record, with its CA). */
static int
registry_ready(const struct up *u, void *arg)
{
	struct paas_err err = PAAS_ERR_INIT;

	(void)u;
	return paas_registry_ping(arg, 1000, &err) == 0;
}

/* The deployer's credentials for the registry, made once, and the
 * registry's htpasswd from them. */
static int
registry_users(struct up *u, const char *dir, struct paas_err *err)
{
	char *cred = path_in(u->dir, "registry-auth"), *ht = path_in(dir, "htpasswd");
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
registry_config(struct up *u, const char *dir, const char *address, struct paas_err *err)
{
	char *cfg = path_in(dir, "config.yml");
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
registry_record(struct up *u, const json_t *reg, struct paas_err *err)
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
			report(u, "registry", "untrusted", 0, e2.msg);
	}
	rc = 0;
out:
	paas_etcd_free(e);
	return rc;
}

int
up_registry(struct up *u, struct paas_err *err)
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
		report(u, "registry", "external", 0, address);
		return 0;
	}
	{
		struct component c = { "registry", "the registry", "docker-registry", address,
		    20000, registry_ready, NULL };

		dir = path_in(u->dir, "registry");
		cadir = path_in(u->dir, "ca");
		cfg = path_in(dir, "config.yml");
		crt = path_in(dir, "tls.crt");
		key = path_in(dir, "tls.key");
		if (mkdir_p(dir, 0700, err) < 0 || paas_pki_ca(cadir, &made, err) < 0)
			goto out;
		if (made)
			report(u, "ca", "added", 0, cadir);
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
		cacrt = path_in(cadir, "ca.crt");
		if (registry_users(u, dir, err) < 0 || registry_config(u, dir, address, err) < 0 ||
		    (reg = registry_of(address, 1, cacrt, err)) == NULL)
			goto out;
		c.arg = reg;
		if (!running(u, &c)) {
			char *argv[] = { "docker-registry", "serve", cfg, NULL };

			if (launch(u, &c, argv, err) < 0)
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
collect_blobs(struct up *u, struct paas_err *err)
{
	char *cfg = path_in(u->dir, "registry/config.yml"), *log = path_in(u->dir, "registry.log");
	struct paas_err e2 = PAAS_ERR_INIT;
	int status = 0, fd, rc = -1;
	pid_t pid;

	if (stop_one(u, "registry", "registry.pid", "docker-registry", err) < 0)
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
	report(u, "registry", rc == 0 ? "collected" : "not-collected", 0, NULL);
	/* Started again whatever happened. */
	if (up_registry(u, rc == 0 ? err : &e2) < 0)
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
	snprintf(holder, sizeof(holder), "paas-cluster registry gc@%s pid %ld", host, (long)getpid());
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

int
cmd_registry(const struct cluster_ctx *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "keep", required_argument, NULL, 'k' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "state-dir", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_err err = PAAS_ERR_INIT;
	const char *etcd = paas_etcd_endpoints(c->etcd), *dirflag = NULL;
	struct paas_lock **locks = NULL;
	struct paas_etcd *e = NULL;
	struct up u = { 0 };
	json_t *reg = NULL, *rep = NULL, *v;
	int ch, keep = 5, dry = 0, rc = PAAS_EINVAL;
	size_t i, nlocks = 0;

	if (argc < 2 || strcmp(argv[1], "gc") != 0)
		return cli_bad_usage("registry: expected gc");
	argc--;
	argv++;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			if (paas_parse_int(optarg, 1, 10000, &keep) < 0)
				return cli_bad_usage("--keep %.32s: expected a number of releases, 1-10000",
				    optarg);
			break;
		case 'n': dry = 1; break;
		case 's': dirflag = optarg; break;
		default: usage(stderr); return PAAS_EINVAL;
		}
	}
	if (optind != argc)
		return cli_bad_usage("registry gc: unexpected argument '%.64s'", argv[optind]);
	u.fmt = c->fmt;
	u.dir = paas_state_dir(dirflag);
	u.conf = load_conf(u.dir, &u);
	u.etcd = etcd;
	if ((e = paas_etcd_new(etcd, NULL, &err)) == NULL || paas_registry_get(e, &reg, &err) < 0)
		goto fail;
	if (reg == NULL) {
		paas_err_set(&err, PAAS_EFAILED, "the cluster has no registry (paas-cluster up makes one)");
		goto fail;
	}
	if ((!dry && lock_all(etcd, e, &locks, &nlocks, &err) < 0) ||
	    paas_registry_gc(e, reg, keep, dry, &rep, &err) < 0)
		goto fail;
	json_array_foreach(json_object_get(rep, "deleted"), i, v) {
		if (paas_out_is_table(u.fmt))
			printf("%s %s\n", dry ? "would delete" : "deleted",
			    json_string_value(json_object_get(v, "image")));
		else
			paas_out_record("image_deleted", v);
	}
	if (paas_out_is_table(u.fmt))
		printf("%lld image(s) kept, %zu %sdeleted (the last %d releases of each deployment "
		    "and every current one are kept)\n",
		    (long long)json_integer_value(json_object_get(rep, "kept")),
		    json_array_size(json_object_get(rep, "deleted")), dry ? "to be " : "", keep);
	else {
		json_t *sum = json_pack("{s:s, s:O, s:I, s:i, s:b}", "kind", "gc", "kept",
		    json_object_get(rep, "kept"), "deleted",
		    (json_int_t)json_array_size(json_object_get(rep, "deleted")), "keep", keep,
		    "dry_run", dry);

		paas_out_json(sum);
		json_decref(sum);
	}
	fflush(stdout);
	/* Our registry's layers go too, while every deployment is locked. */
	if (!dry && json_array_size(json_object_get(rep, "deleted")) &&
	    json_is_true(json_object_get(reg, "managed")) &&
	    strcmp(str(u.conf, "registry"), "managed") == 0 && collect_blobs(&u, &err) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	rc = cli_fail(&err);
out:
	for (i = 0; i < nlocks; i++)
		paas_lock_release(locks[i]);
	free(locks);
	json_decref(reg);
	json_decref(rep);
	json_decref(u.conf);
	free(u.dir);
	paas_etcd_free(e);
	return rc;
}
