/*
 * paas-cluster up --host NAME=USER@ADDR ...: one cluster across machines
 * reached over SSH.  On each, as systemd units installed over its session
 * (remote.h): an etcd member (peers on the hosts' addresses, speaking TLS
 * to each other with certificates of the cluster's CA, each peer's
 * certificate required), the host's agent and a router.  Each host is
 * registered as ssh://USER@ADDR.  This machine keeps the state directory:
 * cluster.json, the CA and peer certificates (peers/), the etcd users'
 * credentials, the secrets key.  Run again, nothing changes; down stops
 * the units everywhere and keeps the data.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "clock.h"
#include "cluster-up.h"
#include "etcd.h"
#include "hosts.h"
#include "keys.h"
#include "paas-cluster.h"
#include "pki.h"
#include "remote.h"
#include "ssh.h"
#include "valid.h"

#define ETCD_UNIT	"/etc/systemd/system/paas-etcd.service"
#define ETCD_ENV	"/etc/default/paas-etcd"
#define PEER_CRT	PAAS_REMOTE_ETC "/etcd-peer.crt"
#define PEER_KEY	PAAS_REMOTE_ETC "/etcd-peer.key"
#define PEER_CA		PAAS_REMOTE_ETC "/ca.crt"
#define ROUTER_BIN	PAAS_REMOTE_BIN_DIR "/paas-route"
#define ROUTER_UNIT	"/etc/systemd/system/paas-router.service"
#define ROUTER_ENV	"/etc/default/paas-router"
#define ROUTER_AUTH	PAAS_REMOTE_ETC "/etcd-auth-router"
#define ROUTE_DIR	"/var/lib/paas/route"
#define MAX_HOSTS	16

static const char etcd_unit[] =
    "# An etcd member of a paas-tools cluster, installed by paas-cluster up --host\n"
    "# (paas-cluster(1)); its settings in " ETCD_ENV ".\n"
    "[Unit]\n"
    "Description=paas-tools etcd member\n"
    "Documentation=man:paas-cluster(1)\n"
    "After=network-online.target\n"
    "Wants=network-online.target\n"
    "\n"
    "[Service]\n"
    "Type=notify\n"
    "EnvironmentFile=" ETCD_ENV "\n"
    "StateDirectory=paas/etcd\n"
    "StateDirectoryMode=0700\n"
    "ExecStart=/usr/bin/etcd\n"
    "Restart=always\n"
    "RestartSec=2\n"
    "LimitNOFILE=65536\n"
    "\n"
    "[Install]\n"
    "WantedBy=multi-user.target\n";

static const char router_unit[] =
    "# The router of a paas-tools cluster, installed by paas-cluster up --host\n"
    "# (paas-route(1)); its settings in " ROUTER_ENV ".  HAProxy, its child,\n"
    "# outlives a restart of the router (KillMode=process).\n"
    "[Unit]\n"
    "Description=paas-tools router (HAProxy from etcd)\n"
    "Documentation=man:paas-route(1)\n"
    "After=network-online.target paas-etcd.service\n"
    "Wants=network-online.target\n"
    "\n"
    "[Service]\n"
    "EnvironmentFile=" ROUTER_ENV "\n"
    "ExecStartPre=/bin/mkdir -p " ROUTE_DIR "\n"
    "ExecStart=" ROUTER_BIN " watch $ROUTER_ARGS\n"
    "KillMode=process\n"
    "Restart=always\n"
    "RestartSec=2\n"
    "\n"
    "[Install]\n"
    "WantedBy=multi-user.target\n";

struct rhost {
	char *name, *target, *addr;
};

/* NAME=USER@ADDR[:PORT] */
static int
parse_spec(const char *spec, struct rhost *h)
{
	const char *eq = strchr(spec, '='), *t, *at, *colon;

	memset(h, 0, sizeof(*h));
	if (eq == NULL)
		return -1;
	t = eq + 1;
	h->name = paas_xstrndup(spec, (size_t)(eq - spec));
	h->target = paas_xstrdup(t);
	at = strrchr(t, '@');
	t = at ? at + 1 : t;
	colon = strchr(t, ':');
	h->addr = colon ? paas_xstrndup(t, (size_t)(colon - t)) : paas_xstrdup(t);
	if (!paas_valid_name(h->name) || !paas_ssh_target_ok(h->target) || at == NULL ||
	    strlen(h->target) > 200 || !paas_only_chars(h->addr, ".-:"))
		return -1;
	return 0;
}

static void
hosts_free(struct rhost *h, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].target);
		free(h[i].addr);
	}
}

static void
say(const struct up *u, const char *component, const char *state, const char *host)
{
	if (paas_out_is_table(u->fmt)) {
		printf("%-8s %-10s %s\n", component, state, host);
		fflush(stdout);
	} else {
		json_t *o = json_pack("{s:s, s:s, s:s}", "component", component, "state", state,
		    "host", host);

		paas_out_record("component", o);
		json_decref(o);
	}
}

/* What the host must have: Docker for the user, etcd, HAProxy, systemd. */
static int
preflight(const struct rhost *h, struct paas_err *err)
{
	return paas_remote_run(h->target, "not ready for the cluster",
	    "test -d /run/systemd/system || { echo 'systemd does not run this host' >&2; exit 1; }; "
	    "test -x /usr/bin/etcd || { echo 'no /usr/bin/etcd (Debian: etcd-server)' >&2; exit 1; }; "
	    "command -v haproxy >/dev/null || { echo 'no haproxy' >&2; exit 1; }; "
	    "docker version --format '{{.Server.Version}}' >/dev/null", NULL, NULL, err);
}

/* The member on h: its settings, unit, peer certificate. */
static int
etcd_member(struct up *u, const struct rhost *hs, int n, int i, const char *token,
    const struct up_hosts_opts *o, int *started, struct paas_err *err)
{
	const struct rhost *h = &hs[i];
	struct paas_buf env = PAAS_BUF_INIT, unit = PAAS_BUF_INIT, crt = PAAS_BUF_INIT,
	    key = PAAS_BUF_INIT, ca = PAAS_BUF_INIT, v = PAAS_BUF_INIT;
	char *cadir = path_in(u->dir, "ca"), *pdir = path_in(u->dir, "peers"), *cp, *kp, *cap;
	int rc = -1, j, changed = 0;

	if (asprintf(&cp, "%s/%s.crt", pdir, h->name) < 0 ||
	    asprintf(&kp, "%s/%s.key", pdir, h->name) < 0)
		abort();
	cap = path_in(cadir, "ca.crt");
	if (access(cp, F_OK) != 0 || access(kp, F_OK) != 0) {
		const char *names[] = { h->addr, h->name, NULL };

		if (mkdir_p(pdir, 0700, err) < 0 || paas_pki_issue(cadir, names, cp, kp, err) < 0)
			goto out;
	}
	if (paas_remote_read("the peer certificate", cp, &crt, err) < 0 ||
	    paas_remote_read_secret("the peer key", kp, 8192, &key, err) < 0 ||
	    paas_remote_read("the CA certificate", cap, &ca, err) < 0)
		goto out;
	paas_buf_adds(&unit, etcd_unit);
	paas_buf_adds(&env, "# Written by paas-cluster up --host: this host's etcd member.\n");
	paas_remote_env(&env, "ETCD_NAME", h->name);
	paas_remote_env(&env, "ETCD_DATA_DIR", "/var/lib/paas/etcd");
	paas_buf_addf(&v, "http://%s:%d,http://127.0.0.1:%d", h->addr, o->etcd_port, o->etcd_port);
	paas_remote_env(&env, "ETCD_LISTEN_CLIENT_URLS", v.data);
	paas_buf_reset(&v);
	paas_buf_addf(&v, "http://%s:%d", h->addr, o->etcd_port);
	paas_remote_env(&env, "ETCD_ADVERTISE_CLIENT_URLS", v.data);
	paas_buf_reset(&v);
	paas_buf_addf(&v, "https://%s:%d", h->addr, o->peer_port);
	paas_remote_env(&env, "ETCD_LISTEN_PEER_URLS", v.data);
	paas_remote_env(&env, "ETCD_INITIAL_ADVERTISE_PEER_URLS", v.data);
	paas_buf_reset(&v);
	for (j = 0; j < n; j++)
		paas_buf_addf(&v, "%s%s=https://%s:%d", j ? "," : "", hs[j].name, hs[j].addr,
		    o->peer_port);
	paas_remote_env(&env, "ETCD_INITIAL_CLUSTER", v.data);
	paas_remote_env(&env, "ETCD_INITIAL_CLUSTER_STATE", "new");
	paas_remote_env(&env, "ETCD_INITIAL_CLUSTER_TOKEN", token);
	paas_remote_env(&env, "ETCD_PEER_CERT_FILE", PEER_CRT);
	paas_remote_env(&env, "ETCD_PEER_KEY_FILE", PEER_KEY);
	paas_remote_env(&env, "ETCD_PEER_TRUSTED_CA_FILE", PEER_CA);
	paas_remote_env(&env, "ETCD_PEER_CLIENT_CERT_AUTH", "true");
	/* The passwords are 192 random bits (access.h): no slow hash. */
	paas_remote_env(&env, "ETCD_BCRYPT_COST", "4");
	{
		const struct paas_remote_file f[] = {
			{ PEER_CA, "644", &ca },
			{ PEER_CRT, "644", &crt },
			{ PEER_KEY, "600", &key },
			{ ETCD_ENV, "600", &env },
			{ ETCD_UNIT, "644", &unit },
		};

		/* No waiting on the start: a new member waits for the others. */
		if (paas_remote_install(h->target, "paas-etcd.service", f, 5, NULL, 1, &changed,
		    started, err) < 0)
			goto out;
	}
	rc = 0;
out:
	if (key.data)
		explicit_bzero(key.data, key.len);
	paas_buf_free(&env);
	paas_buf_free(&unit);
	paas_buf_free(&crt);
	paas_buf_free(&key);
	paas_buf_free(&ca);
	paas_buf_free(&v);
	free(cp);
	free(kp);
	free(cap);
	free(cadir);
	free(pdir);
	return rc;
}

/* Every member answers healthy within ms, else which does not and why. */
static int
members_ready(const struct rhost *hs, int n, int port, long ms, struct paas_err *err)
{
	long long until = paas_now_ms() + ms;
	struct paas_http_opts ho = { .connect_timeout_ms = 1000, .timeout_ms = 2000 };
	int i, ok;

	for (;;) {
		const struct rhost *bad = NULL;

		for (i = 0, ok = 0; i < n; i++) {
			struct paas_err e2 = PAAS_ERR_INIT;
			struct paas_etcd *e;
			char ep[300];

			snprintf(ep, sizeof(ep), "http://%s:%d", hs[i].addr, port);
			if ((e = paas_etcd_new(ep, &ho, &e2)) != NULL && paas_etcd_health(e, &e2) == 0)
				ok++;
			else if (bad == NULL)
				bad = &hs[i];
			paas_etcd_free(e);
		}
		if (ok == n)
			return 0;
		if (paas_now_ms() >= until) {
			char *why = NULL;
			struct paas_err e2 = PAAS_ERR_INIT;

			paas_remote_active(bad->target, "paas-etcd.service", &why, &e2);
			paas_err_set(err, PAAS_EFAILED, "the etcd member on %s is not healthy after "
			    "%ld s%s%s", bad->name, ms / 1000, why ? ": " : "", why ? why : "");
			free(why);
			return -1;
		}
		paas_sleep_ms(300);
	}
}

/* The router on h, registered within 30 s. */
static int
router(struct up *u, struct paas_etcd *e, const struct rhost *h, int port,
    struct paas_err *err)
{
	struct paas_buf bin = PAAS_BUF_INIT, unit = PAAS_BUF_INIT, env = PAAS_BUF_INIT,
	    auth = PAAS_BUF_INIT, args = PAAS_BUF_INIT;
	char *self = sibling("paas-route"), *ap = path_in(u->dir, "etcd-auth/router");
	char *key = paas_key_router(h->name), *why = NULL;
	int rc = -1, changed = 0, started = 0;

	if (paas_remote_read("paas-route", self, &bin, err) < 0 ||
	    paas_remote_read_secret("the router's etcd credentials", ap, 510,
	    &auth, err) < 0)
		goto out;
	paas_buf_adds(&unit, router_unit);
	paas_buf_adds(&env, "# Written by paas-cluster up --host: this host's router.\n");
	paas_remote_env(&env, "PAAS_ETCD", u->etcd);
	paas_remote_env(&env, "PAAS_ETCD_AUTH", ROUTER_AUTH);
	paas_buf_addf(&args, "--config " ROUTE_DIR "/haproxy.cfg --port %d --name %s", port,
	    h->name);
	paas_remote_env(&env, "ROUTER_ARGS", args.data);
	{
		const struct paas_remote_file f[] = {
			{ ROUTER_BIN, "755", &bin },
			{ ROUTER_AUTH, "600", &auth },
			{ ROUTER_ENV, "600", &env },
			{ ROUTER_UNIT, "644", &unit },
		};

		if (paas_remote_install(h->target, "paas-router.service", f, 4,
		    ROUTER_BIN " --version 2>&1", 0, &changed, &started, err) < 0)
			goto out;
	}
	if (!key_wait(e, key, 30000)) {
		paas_remote_active(h->target, "paas-router.service", &why, err);
		paas_err_set(err, PAAS_EFAILED, "the router on %s did not register in 30 s%s%s",
		    h->name, why ? ": " : "", why ? why : "");
		goto out;
	}
	say(u, "router", started ? "started" : "running", h->name);
	rc = 0;
out:
	if (auth.data)
		explicit_bzero(auth.data, auth.len);
	paas_buf_free(&bin);
	paas_buf_free(&unit);
	paas_buf_free(&env);
	paas_buf_free(&auth);
	paas_buf_free(&args);
	free(self);
	free(ap);
	free(key);
	free(why);
	return rc;
}

/* The host record of h, unless it is there already. */
static int
register_host(struct up *u, struct paas_etcd *e, const struct rhost *h, struct paas_err *err)
{
	char *key = paas_key_host(h->name), url[300];
	struct paas_kv kv = { 0 };
	json_t *have = NULL, *host;
	int found = 0, rc = -1;

	snprintf(url, sizeof(url), "ssh://%s", h->target);
	host = json_pack("{s:s, s:s, s:n, s:b, s:{}, s:n, s:n, s:s, s:b}", "name", h->name,
	    "docker", url, "tls", "insecure", 0, "labels", "cpu_milli", "memory_bytes",
	    "address", h->addr, "managed_agent", 1);
	if (paas_etcd_get(e, key, &kv, &found, NULL, err) < 0)
		goto out;
	if (found && (have = json_loadb(kv.value, kv.value_len, 0, NULL)) != NULL) {
		if (strcmp(str(have, "docker"), url) != 0) {
			paas_err_set(err, PAAS_EFAILED, "host %s is registered with Docker at %s, not "
			    "%s: `paas-cluster hosts rm %s` first", h->name, str(have, "docker"), url,
			    h->name);
			goto out;
		}
		say(u, "host", "registered", h->name);
	} else {
		if (paas_host_put(e, host, 0, err) < 0)
			goto out;
		say(u, "host", "added", h->name);
	}
	rc = 0;
out:
	paas_kv_clear(&kv);
	json_decref(have);
	json_decref(host);
	free(key);
	return rc;
}

/* The hosts of a cluster made before must be the ones given now. */
static int
same_hosts(const json_t *was, const struct rhost *hs, int n, struct paas_err *err)
{
	size_t i;
	json_t *h;

	if (was == NULL)
		return 0;
	if (json_array_size(was) == (size_t)n) {
		json_array_foreach(was, i, h)
			if (strcmp(str(h, "name"), hs[i].name) != 0 ||
			    strcmp(str(h, "target"), hs[i].target) != 0)
				break;
		if (i == (size_t)n)
			return 0;
	}
	return paas_err_set(err, PAAS_EINVAL, "this state directory's cluster was made with "
	    "other hosts (cluster.json): give the same --host options, in the same order "
	    "(members add and rm change etcd's membership)");
}

int
up_hosts(struct up *u, const struct up_hosts_opts *o, struct paas_err *err)
{
	struct rhost hs[MAX_HOSTS];
	struct paas_buf eps = PAAS_BUF_INIT;
	struct paas_etcd *e = NULL;
	char token[40], *ap = NULL;
	json_t *list;
	int i, j, rc = -1, nh = 0, started;

	if (o->n > MAX_HOSTS)
		return paas_err_set(err, PAAS_EINVAL, "up: at most %d --host", MAX_HOSTS);
	for (nh = 0; nh < o->n; nh++) {
		if (parse_spec(o->specs[nh], &hs[nh]) < 0) {
			paas_err_set(err, PAAS_EINVAL, "--host %.100s: expected NAME=USER@ADDRESS[:PORT], "
			    "NAME lower-case letters, digits and '-'", o->specs[nh]);
			nh++;
			goto out;
		}
		for (j = 0; j < nh; j++)
			if (strcmp(hs[j].name, hs[nh].name) == 0 || strcmp(hs[j].addr, hs[nh].addr) == 0) {
				paas_err_set(err, PAAS_EINVAL, "--host %s: that name or address twice",
				    o->specs[nh]);
				nh++;
				goto out;
			}
	}
	if (json_object_get(u->conf, "etcd") && !json_object_get(u->conf, "hosts")) {
		paas_err_set(err, PAAS_EINVAL, "%s holds a one-machine cluster: give --host "
		    "another --state-dir", u->dir);
		goto out;
	}
	if (same_hosts(json_object_get(u->conf, "hosts"), hs, nh, err) < 0)
		goto out;
	/* Every host first: nothing is started on any when one is not ready. */
	for (i = 0; i < nh; i++)
		if (preflight(&hs[i], err) < 0)
			goto out;
	if (json_string_value(json_object_get(u->conf, "etcd_token")))
		snprintf(token, sizeof(token), "%s", str(u->conf, "etcd_token"));
	else {
		unsigned char r[8];

		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			paas_err_set(err, PAAS_EFAILED, "no random bytes: %s", strerror(errno));
			goto out;
		}
		snprintf(token, sizeof(token), "paas-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1],
		    r[2], r[3], r[4], r[5], r[6], r[7]);
	}
	for (i = 0; i < nh; i++)
		paas_buf_addf(&eps, "%shttp://%s:%d", i ? "," : "", hs[i].addr, o->etcd_port);
	list = json_array();
	for (i = 0; i < nh; i++)
		json_array_append_new(list, json_pack("{s:s, s:s}", "name", hs[i].name, "target",
		    hs[i].target));
	json_object_set_new(u->conf, "hosts", list);
	json_object_set_new(u->conf, "etcd", json_string(eps.data));
	json_object_set_new(u->conf, "etcd_token", json_string(token));
	json_object_set_new(u->conf, "private_etcd", json_true());
	json_object_set_new(u->conf, "etcd_port", json_integer(o->etcd_port));
	json_object_set_new(u->conf, "etcd_peer_port", json_integer(o->peer_port));
	json_object_set_new(u->conf, "port", json_integer(o->port));
	json_object_set_new(u->conf, "registry", json_string("none"));
	if (o->agent_docker)
		json_object_set_new(u->conf, "agent_docker", json_string(o->agent_docker));
	u->etcd = eps.data;
	u->private_etcd = 1;
	{
		char *cadir = path_in(u->dir, "ca");
		int made = 0, ok = paas_pki_ca(cadir, &made, err) == 0 && save_conf(u, err) == 0;

		free(cadir);
		if (!ok)
			goto out;
	}
	for (i = 0; i < nh; i++) {
		if (etcd_member(u, hs, nh, i, token, o, &started, err) < 0)
			goto out;
		say(u, "etcd", started ? "started" : "running", hs[i].name);
	}
	if (members_ready(hs, nh, o->etcd_port, 60000, err) < 0 || secure_etcd(u, err) < 0 ||
	    secrets_key(u, err) < 0 || (e = paas_etcd_new(u->etcd, NULL, err)) == NULL)
		goto out;
	ap = path_in(u->dir, "etcd-auth/agent");
	for (i = 0; i < nh; i++) {
		struct paas_agent_install ai = { 0 };
		int changed = 0;

		ai.target = hs[i].target;
		ai.host = hs[i].name;
		ai.etcd = u->etcd;
		ai.docker = o->agent_docker;
		ai.auth = ap;
		if (register_host(u, e, &hs[i], err) < 0 || agent_bootstrap(e, &ai, &changed, &started,
		    err) < 0)
			goto out;
		say(u, "agent", started ? "started" : "running", hs[i].name);
	}
	for (i = 0; i < nh; i++)
		if (router(u, e, &hs[i], o->port, err) < 0)
			goto out;
	if (paas_out_is_table(u->fmt)) {
		printf("\nThe cluster is up on %d host%s; its state is in %s.\n", nh, nh > 1 ? "s" : "",
		    u->dir);
		printf("Point the commands at its etcd:  export PAAS_ETCD=%s\n", u->etcd);
		printf("and at its credentials:  export PAAS_STATE_DIR=%s\n", u->dir);
	}
	rc = 0;
out:
	paas_etcd_free(e);
	free(ap);
	hosts_free(hs, nh);
	/* u->etcd points into eps: the caller is done with it. */
	u->etcd = NULL;
	paas_buf_free(&eps);
	return rc;
}

int
down_hosts(struct up *u, struct paas_err *err)
{
	json_t *list = json_object_get(u->conf, "hosts"), *h;
	size_t i;
	int pass, rc = 0;

	/* Routers and agents everywhere first (the agents revoke their
	 * leases while etcd has its quorum), then the members. */
	for (pass = 0; pass < 2; pass++) {
		json_array_foreach(list, i, h) {
			struct paas_err e2 = PAAS_ERR_INIT;

			if (paas_remote_run(str(h, "target"), "stopping the cluster's services", pass == 0 ?
			    "systemctl disable --now --quiet paas-router.service; "
			    "if [ -f " ROUTE_DIR "/haproxy.pid ]; then "
			    "kill $(cat " ROUTE_DIR "/haproxy.pid) 2>/dev/null; fi; "
			    "systemctl disable --now --quiet paas-agent.service" :
			    "systemctl disable --now --quiet paas-etcd.service", NULL, NULL, &e2) < 0) {
				if (rc == 0)
					*err = e2;
				rc = -1;
				continue;
			}
			say(u, pass == 0 ? "router+agent" : "etcd", "stopped", str(h, "name"));
		}
	}
	return rc;
}
