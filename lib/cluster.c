/*
 * A cluster on one machine, up and down, and the model of every cluster:
 * the state directory's cluster.json.  See cluster.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access.h"
#include "buf.h"
#include "cluster-int.h"
#include "daemon.h"
#include "docker.h"
#include "etcd.h"
#include "file.h"
#include "hosts.h"
#include "jsonx.h"
#include "keys.h"
#include "unittext.h"

void
cluster_env(const struct paas_cluster *u, struct paas_component_env *env)
{
	env->dir = u->dir;
	env->etcd = u->etcd;
	env->systemd = u->systemd;
	env->event = u->event;
	env->arg = u->arg;
}

void
cluster_report(const struct paas_cluster *u, const char *component, const char *state,
    pid_t pid, const char *detail)
{
	struct paas_component_env env;

	cluster_env(u, &env);
	paas_component_report(&env, component, state, pid, detail);
}

int
cluster_running(const struct paas_cluster *u, const struct paas_component *c)
{
	struct paas_component_env env;

	cluster_env(u, &env);
	return paas_component_running(&env, c);
}

int
cluster_launch(const struct paas_cluster *u, const struct paas_component *c,
    char *const argv[], struct paas_err *err)
{
	struct paas_component_env env;

	cluster_env(u, &env);
	return paas_component_launch(&env, c, argv, err);
}

int
cluster_stop(const struct paas_cluster *u, const char *component, const char *file,
    const char *prog_name, struct paas_err *err)
{
	struct paas_component_env env;

	cluster_env(u, &env);
	return paas_component_stop(&env, component, file, prog_name, err);
}

int
cluster_conf_int(const json_t *conf, const char *k, int dflt)
{
	json_t *v = json_object_get(conf, k);

	return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

static int
start_etcd(struct paas_cluster *u, int port, int peer, struct paas_err *err)
{
	const struct paas_component c = { "etcd", "etcd", "etcd", u->etcd, 20000,
	    paas_component_etcd_ready, NULL };
	char *data, client[64], peers[64], cluster[80];
	int rc;

	/* Another etcd on its port was refused before (ports_free). */
	if (cluster_running(u, &c))
		return 0;
	data = paas_path_join(u->dir, "etcd");
	snprintf(client, sizeof(client), "http://127.0.0.1:%d", port);
	snprintf(peers, sizeof(peers), "http://127.0.0.1:%d", peer);
	snprintf(cluster, sizeof(cluster), "paas=%s", peers);
	{
		char *argv[] = { "etcd", "--name", "paas", "--data-dir", data,
		    "--listen-client-urls", client, "--advertise-client-urls", client,
		    "--listen-peer-urls", peers, "--initial-advertise-peer-urls", peers,
		    "--initial-cluster", cluster, "--initial-cluster-token", "paas-local",
		    /* The passwords are 192 random bits: a slow hash adds nothing
		     * to them, and would cost every command ~70 ms to log in. */
		    "--bcrypt-cost", "4",
		    "--auto-compaction-mode", PAAS_ETCD_COMPACTION_MODE,
		    "--auto-compaction-retention", PAAS_ETCD_COMPACTION_KEEP,
		    "--quota-backend-bytes", PAAS_ETCD_QUOTA, NULL };

		rc = paas_mkdir_p(data, 0700, err) < 0 ? -1 : cluster_launch(u, &c, argv, err);
	}
	free(data);
	return rc;
}

int
cluster_secure_etcd(struct paas_cluster *u, struct paas_err *err)
{
	char *dir = paas_path_join(u->dir, "etcd-auth"), *root = paas_path_join(dir, "root");
	int on = paas_access_enabled(u->etcd, err), rc = -1;

	if (on < 0)
		goto out;
	if (on) {
		if ((rc = paas_etcd_auth_load(root, err)) < 0)
			paas_err_wrap(err, "etcd at %s asks for a user", u->etcd);
		goto out;
	}
	if ((rc = paas_access_setup(u->etcd, dir, err)) == 0)
		cluster_report(u, "etcd", "secured", 0, "users root, deployer, agent, router, check");
out:
	free(dir);
	free(root);
	return rc;
}

int
cluster_secrets_key(struct paas_cluster *u, struct paas_err *err)
{
	char *p = paas_path_join(u->dir, "secrets.key");
	unsigned char key[32];
	int rc = 0;

	if (access(p, F_OK) != 0) {
		if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
			rc = paas_err_set(err, PAAS_EFAILED, "no random bytes: %s", strerror(errno));
		else if ((rc = paas_file_replace(p, key, sizeof(key), 0600, err)) == 0)
			cluster_report(u, "secrets", "added", 0, p);
		explicit_bzero(key, sizeof(key));
	}
	free(p);
	return rc;
}

/* Run fn with PAAS_ETCD_AUTH naming role's file when the etcd is ours. */
static int
as_role(struct paas_cluster *u, const char *role,
    int (*fn)(struct paas_cluster *, void *, struct paas_err *), void *arg, struct paas_err *err)
{
	char *was = getenv("PAAS_ETCD_AUTH") ? paas_xstrdup(getenv("PAAS_ETCD_AUTH")) : NULL;
	char name[64], *p = NULL;
	int rc;

	if (u->private_etcd) {
		snprintf(name, sizeof(name), "etcd-auth/%s", role);
		p = paas_path_join(u->dir, name);
		setenv("PAAS_ETCD_AUTH", p, 1);
	}
	rc = fn(u, arg, err);
	if (u->private_etcd) {
		if (was)
			setenv("PAAS_ETCD_AUTH", was, 1);
		else
			unsetenv("PAAS_ETCD_AUTH");
	}
	free(was);
	free(p);
	return rc;
}

/* Register the local Docker as host "local", unless it already is. */
static int
register_local(struct paas_cluster *u, const char *docker, struct paas_err *err)
{
	struct paas_etcd *e = NULL;
	struct paas_docker *d = NULL;
	json_t *host, *have = NULL;
	struct paas_kv kv = { 0 };
	char *key = NULL;
	int found = 0, rc = -1;

	host = json_pack("{s:s, s:s, s:n, s:b, s:{}, s:n, s:n, s:n}", "name", "local",
	    "docker", docker, "tls", "insecure", 0, "labels", "cpu_milli", "memory_bytes",
	    "address");
	if ((d = paas_host_docker(host, 5000, err)) == NULL)
		goto out;
	if (paas_docker_ping(d, err) < 0) {
		paas_err_wrap(err, "the local Docker does not answer (is dockerd running?)");
		err->status = PAAS_EUNAVAIL;
		goto out;
	}
	if ((e = paas_etcd_new(u->etcd, NULL, err)) == NULL ||
	    paas_etcd_get(e, key = paas_key_host("local"), &kv, &found, NULL, err) < 0)
		goto out;
	if (found && (have = json_loadb(kv.value, kv.value_len, 0, NULL)) != NULL) {
		const char *was = json_string_value(json_object_get(have, "docker"));

		if (was && strcmp(was, docker) == 0) {
			cluster_report(u, "host", "registered", 0, "local");
			rc = 0;
			goto out;
		}
		paas_err_set(err, PAAS_EFAILED, "host local is registered with Docker at %s, not %s: "
		    "`paas-cluster hosts rm local` first, or give up --docker %s", was ? was : "?",
		    docker, was ? was : "?");
		goto out;
	}
	if (paas_host_put(e, host, 0, err) < 0)
		goto out;
	cluster_report(u, "host", "added", 0, "local");
	rc = 0;
out:
	free(key);
	paas_kv_clear(&kv);
	json_decref(host);
	json_decref(have);
	paas_docker_free(d);
	paas_etcd_free(e);
	return rc;
}

static int
start_agent(struct paas_cluster *u, void *arg, struct paas_err *err)
{
	char *key = paas_key_agent("local"), *self;
	const struct paas_component c = { "agent", "the agent", "paas-cluster", "local", 15000,
	    paas_component_key_ready, key };
	int rc = 0;

	(void)arg;
	if (cluster_running(u, &c))
		goto out;
	self = paas_component_program("paas-cluster");
	{
		char *argv[] = { self, "--etcd", (char *)u->etcd, "agent", "--host", "local", NULL };

		rc = cluster_launch(u, &c, argv, err);
	}
	free(self);
out:
	free(key);
	return rc;
}

static int
start_router(struct paas_cluster *u, void *arg, struct paas_err *err)
{
	int port = *(int *)arg;
	char sport[16], detail[64], *rdir, *cfg, *route, *key = paas_key_router("local");
	const struct paas_component c = { "router", "the router", "paas-route", detail, 15000,
	    paas_component_key_ready, key };
	int rc;

	snprintf(sport, sizeof(sport), "%d", port);
	snprintf(detail, sizeof(detail), "port %d", port);
	if (cluster_running(u, &c)) {
		free(key);
		return 0;
	}
	rdir = paas_path_join(u->dir, "route");
	cfg = paas_path_join(rdir, "haproxy.cfg");
	route = paas_component_program("paas-route");
	{
		char *argv[] = { route, "--etcd", (char *)u->etcd, "watch", "--config", cfg,
		    "--port", sport, "--name", "local", NULL };

		rc = paas_mkdir_p(rdir, 0750, err) < 0 ? -1 : cluster_launch(u, &c, argv, err);
	}
	free(rdir);
	free(cfg);
	free(route);
	free(key);
	return rc;
}

void
paas_cluster_open(struct paas_cluster *u, const char *dir)
{
	char *p = paas_path_join(dir, "cluster.json");

	memset(u, 0, sizeof(*u));
	u->dir = paas_xstrdup(dir);
	u->conf = json_load_file(p, 0, NULL);
	free(p);
	if (!json_is_object(u->conf)) {
		json_decref(u->conf);
		u->conf = json_object();
	}
	u->systemd = json_is_true(json_object_get(u->conf, "systemd"));
	u->private_etcd = !json_is_false(json_object_get(u->conf, "private_etcd"));
	u->etcd = json_string_value(json_object_get(u->conf, "etcd"));
}

void
paas_cluster_close(struct paas_cluster *u)
{
	json_decref(u->conf);
	free(u->dir);
	u->conf = NULL;
	u->dir = NULL;
}

const json_t *
paas_cluster_hosts(const struct paas_cluster *u)
{
	const json_t *h = json_object_get(u->conf, "hosts");

	return json_is_array(h) ? h : NULL;
}

int
paas_cluster_save(const struct paas_cluster *u, struct paas_err *err)
{
	char *p = paas_path_join(u->dir, "cluster.json");
	char *s = json_dumps(u->conf, JSON_SORT_KEYS | JSON_INDENT(2));
	int rc;

	rc = paas_file_replace(p, s, strlen(s), 0644, err);
	free(p);
	free(s);
	return rc;
}

/* The etcd of up: one given (not the private one given back), or the
 * private one on its ports. */
static int
choose_etcd(struct paas_cluster *u, const struct paas_cluster_up_opts *o, int *eport, int *pport,
    struct paas_err *err)
{
	const char *ext = o->etcd && *o->etcd ? o->etcd : NULL;
	const char *was = json_string_value(json_object_get(u->conf, "etcd"));

	/* The private etcd given back as PAAS_ETCD is still the private one. */
	if (ext && !(json_is_true(json_object_get(u->conf, "private_etcd")) && was &&
	    strcmp(ext, was) == 0)) {
		if (o->etcd_port || o->peer_port)
			return paas_err_set(err, PAAS_EINVAL, "--etcd-port and --etcd-peer-port are for "
			    "the private etcd, not one given with --etcd or PAAS_ETCD");
		json_object_set_new(u->conf, "etcd", json_string(ext));
		json_object_set_new(u->conf, "private_etcd", json_false());
		json_object_del(u->conf, "etcd_port");
		json_object_del(u->conf, "etcd_peer_port");
		u->private_etcd = 0;
	} else {
		*eport = o->etcd_port ? o->etcd_port : cluster_conf_int(u->conf, "etcd_port", 2379);
		*pport = o->peer_port ? o->peer_port :
		    cluster_conf_int(u->conf, "etcd_peer_port", *eport + 1);
		if (*pport == *eport)
			return paas_err_set(err, PAAS_EINVAL, "--etcd-peer-port %d: the client port "
			    "already", *pport);
		json_object_set_new(u->conf, "etcd", json_sprintf("http://127.0.0.1:%d", *eport));
		u->private_etcd = 1;
		json_object_set_new(u->conf, "private_etcd", json_true());
		json_object_set_new(u->conf, "etcd_port", json_integer(*eport));
		json_object_set_new(u->conf, "etcd_peer_port", json_integer(*pport));
	}
	u->etcd = json_string_value(json_object_get(u->conf, "etcd"));
	return 0;
}

/* The registry of up: none, an external one, or the managed one at its
 * address (as before, unless the options move it). */
static void
choose_registry(struct paas_cluster *u, const struct paas_cluster_up_opts *o)
{
	const char *mode = json_string_value(json_object_get(u->conf, "registry"));

	if (o->no_registry) {
		json_object_set_new(u->conf, "registry", json_string("none"));
		json_object_del(u->conf, "registry_address");
	} else if (o->registry) {
		json_object_set_new(u->conf, "registry", json_string("external"));
		json_object_set_new(u->conf, "registry_address", json_string(o->registry));
		if (o->registry_ca)
			json_object_set_new(u->conf, "registry_ca", json_string(o->registry_ca));
	} else if (o->registry_port || o->registry_address || mode == NULL ||
	    strcmp(mode, "managed") == 0) {
		const char *was = json_string_value(json_object_get(u->conf, "registry_address"));
		char *wasport = was && mode && strcmp(mode, "managed") == 0 ? strrchr(was, ':') : NULL;
		char *washost = wasport ? paas_xstrndup(was, (size_t)(wasport - was)) : NULL;

		json_object_set_new(u->conf, "registry_address", json_sprintf("%s:%d",
		    o->registry_address ? o->registry_address : washost ? washost : "127.0.0.1",
		    o->registry_port ? o->registry_port : wasport ? atoi(wasport + 1) : 5000));
		free(washost);
		json_object_set_new(u->conf, "registry", json_string("managed"));
		json_object_del(u->conf, "registry_ca");
	}
}

/* The components a cluster of units needs installed. */
static int
systemd_check(const struct paas_cluster *u, struct paas_err *err)
{
	const char *names[4];
	const char *reg = json_string_value(json_object_get(u->conf, "registry"));
	struct paas_component_env env;
	size_t n = 0;

	if (u->private_etcd)
		names[n++] = "etcd";
	if (reg && strcmp(reg, "managed") == 0)
		names[n++] = "registry";
	names[n++] = "agent";
	names[n++] = "router";
	cluster_env(u, &env);
	return paas_component_systemd_check(&env, names, n, err);
}

static int
taken(int port, const char *address, const char *what, const char *flag, struct paas_err *err)
{
	if (!paas_port_taken(address, port))
		return 0;
	return paas_err_set(err, PAAS_EFAILED, "port %d is taken by another program on this "
	    "machine (%s): give up another %s, or stop what listens there", port, what, flag);
}

/* Every port up needs is free, or its own component's: checked before
 * anything starts, so that nothing is left half up. */
static int
ports_free(const struct paas_cluster *u, int eport, int pport, int port, struct paas_err *err)
{
	const char *reg = json_string_value(json_object_get(u->conf, "registry"));
	const char *raddr = json_string_value(json_object_get(u->conf, "registry_address"));
	struct paas_component_env env;
	char *haproxy;
	int ours;

	cluster_env(u, &env);
	if (u->private_etcd && !paas_component_alive(&env, "etcd", "etcd")) {
		if (paas_component_etcd_ready(&env, NULL))
			return paas_err_set(err, PAAS_EFAILED, "an etcd that is not this cluster's "
			    "already answers at %s: give up another --etcd-port, or use it with "
			    "PAAS_ETCD", u->etcd);
		if (taken(eport, "127.0.0.1", "etcd's client port", "--etcd-port", err) < 0 ||
		    taken(pport, "127.0.0.1", "etcd's peer port", "--etcd-peer-port", err) < 0)
			return -1;
	}
	if (reg && strcmp(reg, "managed") == 0 && raddr && strrchr(raddr, ':') &&
	    !paas_component_alive(&env, "registry", "docker-registry")) {
		char *host = paas_xstrndup(raddr, (size_t)(strrchr(raddr, ':') - raddr));
		int rc = taken(atoi(strrchr(raddr, ':') + 1), host, "the registry's port",
		    "--registry-port", err);

		free(host);
		if (rc < 0)
			return -1;
	}
	/* HAProxy outlives its router: the port is still ours then. */
	haproxy = paas_path_join(u->dir, "route/haproxy.pid");
	ours = paas_component_alive(&env, "router", "paas-route") ||
	    paas_daemon_alive(haproxy, "haproxy");
	free(haproxy);
	return ours ? 0 : taken(port, NULL, "the routers' HTTP port", "--port", err);
}

static int
up_hosts(struct paas_cluster *u, const struct paas_cluster_up_opts *o, struct paas_err *err)
{
	struct cluster_hosts_opts ho = { 0 };

	ho.specs = o->hosts;
	ho.n = o->nhosts;
	ho.etcd_port = o->etcd_port ? o->etcd_port : cluster_conf_int(u->conf, "etcd_port", 2379);
	ho.peer_port = o->peer_port ? o->peer_port :
	    cluster_conf_int(u->conf, "etcd_peer_port", ho.etcd_port + 1);
	ho.port = o->port ? o->port : cluster_conf_int(u->conf, "port", 80);
	ho.agent_docker = o->agent_docker ? o->agent_docker :
	    json_string_value(json_object_get(u->conf, "agent_docker"));
	if (ho.peer_port == ho.etcd_port)
		return paas_err_set(err, PAAS_EINVAL, "--etcd-peer-port %d: the client port already",
		    ho.peer_port);
	return cluster_up_hosts(u, &ho, err);
}

int
paas_cluster_up(struct paas_cluster *u, const struct paas_cluster_up_opts *o,
    struct paas_err *err)
{
	const char *docker = o->docker;
	int eport = 0, pport = 0, port;

	if (paas_mkdir_p(u->dir, 0700, err) < 0)
		return -1;
	/* It holds credentials (paas(7)): 0700 whoever made it before. */
	if (chmod(u->dir, 0700) < 0)
		return paas_err_set(err, PAAS_EFAILED, "%s: %s", u->dir, strerror(errno));
	if (o->nhosts)
		return up_hosts(u, o, err);
	/* Once a cluster of units, always: its processes are systemd's. */
	if (o->systemd) {
		u->systemd = 1;
		json_object_set_new(u->conf, "systemd", json_true());
	}
	if (choose_etcd(u, o, &eport, &pport, err) < 0)
		return -1;
	if (docker == NULL)
		docker = json_string_value(json_object_get(u->conf, "docker"));
	if (docker == NULL && getenv("DOCKER_HOST") &&
	    strncmp(getenv("DOCKER_HOST"), "unix:///", 8) == 0)
		docker = getenv("DOCKER_HOST");
	json_object_set_new(u->conf, "docker", json_string(docker ? docker : PAAS_LOCAL_DOCKER));
	docker = json_string_value(json_object_get(u->conf, "docker"));
	port = o->port ? o->port : cluster_conf_int(u->conf, "port", geteuid() == 0 ? 80 : 8080);
	json_object_set_new(u->conf, "port", json_integer(port));
	choose_registry(u, o);
	if ((u->systemd && systemd_check(u, err) < 0) || ports_free(u, eport, pport, port, err) < 0 ||
	    paas_cluster_save(u, err) < 0 ||
	    (u->private_etcd && (start_etcd(u, eport, pport, err) < 0 ||
	    cluster_secure_etcd(u, err) < 0)))
		return -1;
	if (!u->private_etcd) {
		struct paas_component_env env;

		cluster_env(u, &env);
		if (!paas_component_etcd_ready(&env, NULL))
			return paas_err_set(err, PAAS_EUNAVAIL, "etcd at %s does not answer", u->etcd);
	}
	if (cluster_secrets_key(u, err) < 0 || cluster_registry_up(u, err) < 0 ||
	    register_local(u, docker, err) < 0 || as_role(u, "agent", start_agent, NULL, err) < 0 ||
	    as_role(u, "router", start_router, &port, err) < 0)
		return -1;
	return 0;
}

int
paas_cluster_down(struct paas_cluster *u, struct paas_err *err)
{
	static const char *const all[] = { "router", "agent", "registry", "etcd" };
	int managed = strcmp(paas_json_str(u->conf, "registry", "-"), "managed") == 0;
	int rc;
	size_t i;

	if (paas_cluster_hosts(u))
		return cluster_down_hosts(u, err);
	/* The router first, so that HAProxy is not started again under it;
	 * the agent before etcd, so that it can revoke its lease. */
	rc = cluster_stop(u, "router", "router.pid", "paas-route", err) < 0 ||
	    cluster_stop(u, "haproxy", "route/haproxy.pid", "haproxy", err) < 0 ||
	    cluster_stop(u, "agent", "agent.pid", "paas-cluster", err) < 0 ||
	    (managed && cluster_stop(u, "registry", "registry.pid", "docker-registry", err) < 0) ||
	    (u->private_etcd && cluster_stop(u, "etcd", "etcd.pid", "etcd", err) < 0) ? -1 : 0;
	/* Down stays down: not started again at the next boot. */
	for (i = 0; rc == 0 && u->systemd && i < sizeof(all) / sizeof(all[0]); i++) {
		struct paas_err e2 = PAAS_ERR_INIT;

		if ((i != 2 || managed) && (i != 3 || u->private_etcd))
			paas_component_disable(all[i], &e2);
	}
	return rc;
}
