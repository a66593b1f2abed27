/*
 * A cluster across machines reached over SSH (paas-cluster up --host
 * NAME=USER@ADDR ...).  On each, as systemd units installed over its
 * session (install.h): an etcd member (peers on the hosts' addresses,
 * speaking TLS to each other with certificates of the cluster's CA, each
 * peer's certificate required), the host's agent and a router.  Each host
 * is registered as ssh://USER@ADDR.  This machine keeps the state
 * directory: cluster.json, the CA and peer certificates (peers/), the etcd
 * users' credentials, the secrets key.  Run again, nothing changes; down
 * stops the units everywhere and keeps the data.  See cluster.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "cluster-int.h"
#include "enrol.h"
#include "etcd.h"
#include "file.h"
#include "hosts.h"
#include "install.h"
#include "jsonx.h"
#include "keys.h"
#include "pki.h"
#include "remote.h"
#include "ssh.h"
#include "unittext.h"
#include "valid.h"

#define MAX_HOSTS	16
#define S(o, k)		paas_json_str(o, k, "-")

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
say(const struct paas_cluster *u, const char *component, const char *state, const char *host)
{
	json_t *o;

	if (u->event == NULL)
		return;
	o = json_pack("{s:s, s:s, s:s, s:s}", "kind", "component", "component", component,
	    "state", state, "host", host);
	u->event(o, u->arg);
	json_decref(o);
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
etcd_member(struct paas_cluster *u, const struct rhost *hs, int n, int i, const char *token,
    const struct cluster_hosts_opts *o, int *started, struct paas_err *err)
{
	const struct rhost *h = &hs[i];
	struct paas_buf env = PAAS_BUF_INIT, crt = PAAS_BUF_INIT, key = PAAS_BUF_INIT,
	    ca = PAAS_BUF_INIT, v = PAAS_BUF_INIT;
	struct paas_unittext_member m;
	char *cadir = paas_path_join(u->dir, "ca"), *pdir = paas_path_join(u->dir, "peers");
	char *cp, *kp, *cap;
	int rc = -1, j, changed = 0;

	if (asprintf(&cp, "%s/%s.crt", pdir, h->name) < 0 ||
	    asprintf(&kp, "%s/%s.key", pdir, h->name) < 0)
		abort();
	cap = paas_path_join(cadir, "ca.crt");
	if (access(cp, F_OK) != 0 || access(kp, F_OK) != 0) {
		const char *names[] = { h->addr, h->name, NULL };

		if (paas_mkdir_p(pdir, 0700, err) < 0 || paas_pki_issue(cadir, names, cp, kp, err) < 0)
			goto out;
	}
	if (paas_remote_read("the peer certificate", cp, &crt, err) < 0 ||
	    paas_remote_read_secret("the peer key", kp, 8192, &key, err) < 0 ||
	    paas_remote_read("the CA certificate", cap, &ca, err) < 0)
		goto out;
	for (j = 0; j < n; j++)
		paas_buf_addf(&v, "%s%s=https://%s:%d", j ? "," : "", hs[j].name, hs[j].addr,
		    o->peer_port);
	m.name = h->name;
	m.addr = h->addr;
	m.client_port = o->etcd_port;
	m.peer_port = o->peer_port;
	m.initial_cluster = v.data;
	m.token = token;
	paas_unittext_settings_member(&m, &env);
	{
		const struct paas_remote_file f[] = {
			{ PAAS_HOST_CA, "644", &ca },
			{ PAAS_HOST_PEER_CRT, "644", &crt },
			{ PAAS_HOST_PEER_KEY, "600", &key },
		};
		struct paas_install in = { 0 };

		in.kind = PAAS_UNITTEXT_ETCD;
		in.target = h->target;
		in.settings = &env;
		in.extra = f;
		in.nextra = 3;
		/* No waiting on the start: a new member waits for the others. */
		in.no_block = 1;
		if (paas_install_component(&in, &changed, started, err) < 0)
			goto out;
	}
	rc = 0;
out:
	if (key.data)
		explicit_bzero(key.data, key.len);
	paas_buf_free(&env);
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

			paas_install_active(PAAS_UNITTEXT_ETCD, bad->target, &why, &e2);
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
router(struct paas_cluster *u, struct paas_etcd *e, const struct rhost *h, int port,
    struct paas_err *err)
{
	struct paas_buf env = PAAS_BUF_INIT;
	struct paas_install in = { 0 };
	char *self = paas_component_program("paas-route");
	char *ap = paas_path_join(u->dir, "etcd-auth/router");
	char *key = paas_key_router(h->name), *why = NULL;
	int rc = -1, changed = 0, started = 0;

	paas_unittext_settings_router(u->etcd, port, h->name, &env);
	in.kind = PAAS_UNITTEXT_ROUTER;
	in.target = h->target;
	in.settings = &env;
	in.binary = self;
	in.auth = ap;
	if (paas_install_component(&in, &changed, &started, err) < 0)
		goto out;
	if (!paas_etcd_wait_key(e, key, 30000)) {
		paas_install_active(PAAS_UNITTEXT_ROUTER, h->target, &why, err);
		paas_err_set(err, PAAS_EFAILED, "the router on %s did not register in 30 s%s%s",
		    h->name, why ? ": " : "", why ? why : "");
		goto out;
	}
	say(u, "router", started ? "started" : "running", h->name);
	rc = 0;
out:
	paas_buf_free(&env);
	free(self);
	free(ap);
	free(key);
	free(why);
	return rc;
}

/* The host record of h, unless it is there already. */
static int
register_host(struct paas_cluster *u, struct paas_etcd *e, const struct rhost *h,
    struct paas_err *err)
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
		if (strcmp(S(have, "docker"), url) != 0) {
			paas_err_set(err, PAAS_EFAILED, "host %s is registered with Docker at %s, not "
			    "%s: `paas-cluster hosts rm %s` first", h->name, S(have, "docker"), url,
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
			if (strcmp(S(h, "name"), hs[i].name) != 0 ||
			    strcmp(S(h, "target"), hs[i].target) != 0)
				break;
		if (i == (size_t)n)
			return 0;
	}
	return paas_err_set(err, PAAS_EINVAL, "this state directory's cluster was made with "
	    "other hosts (cluster.json): give the same --host options, in the same order "
	    "(members add and rm change etcd's membership)");
}

int
cluster_up_hosts(struct paas_cluster *u, const struct cluster_hosts_opts *o,
    struct paas_err *err)
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
		snprintf(token, sizeof(token), "%s", S(u->conf, "etcd_token"));
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
	u->etcd = json_string_value(json_object_get(u->conf, "etcd"));
	u->private_etcd = 1;
	{
		char *cadir = paas_path_join(u->dir, "ca");
		int made = 0, ok = paas_pki_ca(cadir, &made, err) == 0 && paas_cluster_save(u, err) == 0;

		free(cadir);
		if (!ok)
			goto out;
	}
	for (i = 0; i < nh; i++) {
		if (etcd_member(u, hs, nh, i, token, o, &started, err) < 0)
			goto out;
		say(u, "etcd", started ? "started" : "running", hs[i].name);
	}
	if (members_ready(hs, nh, o->etcd_port, 60000, err) < 0 || cluster_secure_etcd(u, err) < 0 ||
	    cluster_secrets_key(u, err) < 0 || (e = paas_etcd_new(u->etcd, NULL, err)) == NULL)
		goto out;
	ap = paas_path_join(u->dir, "etcd-auth/agent");
	for (i = 0; i < nh; i++) {
		struct paas_install_agent ai = { 0 };
		int changed = 0;

		ai.target = hs[i].target;
		ai.host = hs[i].name;
		ai.etcd = u->etcd;
		ai.docker = o->agent_docker;
		ai.auth = ap;
		if (register_host(u, e, &hs[i], err) < 0 || paas_enrol_agent(e, &ai, &changed,
		    &started, err) < 0)
			goto out;
		say(u, "agent", started ? "started" : "running", hs[i].name);
	}
	for (i = 0; i < nh; i++)
		if (router(u, e, &hs[i], o->port, err) < 0)
			goto out;
	rc = 0;
out:
	paas_etcd_free(e);
	free(ap);
	hosts_free(hs, nh);
	paas_buf_free(&eps);
	return rc;
}

int
cluster_down_hosts(struct paas_cluster *u, struct paas_err *err)
{
	json_t *list = json_object_get(u->conf, "hosts"), *h;
	size_t i;
	int pass, rc = 0;

	/* Routers and agents everywhere first (the agents revoke their
	 * leases while etcd has its quorum), then the members. */
	for (pass = 0; pass < 2; pass++) {
		json_array_foreach(list, i, h) {
			struct paas_err e2 = PAAS_ERR_INIT;

			if (paas_remote_run(S(h, "target"), "stopping the cluster's services",
			    pass == 0 ?
			    "systemctl disable --now --quiet paas-router.service; "
			    "if [ -f " PAAS_HOST_ROUTE_DIR "/haproxy.pid ]; then "
			    "kill $(cat " PAAS_HOST_ROUTE_DIR "/haproxy.pid) 2>/dev/null; fi; "
			    "systemctl disable --now --quiet paas-agent.service" :
			    "systemctl disable --now --quiet paas-etcd.service", NULL, NULL, &e2) < 0) {
				if (rc == 0)
					*err = e2;
				rc = -1;
				continue;
			}
			say(u, pass == 0 ? "router+agent" : "etcd", "stopped", S(h, "name"));
		}
	}
	return rc;
}
