/*
 * The units of the cluster's components and their settings files.  See
 * unittext.h.  Each unit is written here once, with what differs between
 * the places it is installed in named where it differs.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "unittext.h"

static const char *const names[] = { "etcd", "registry", "agent", "router" };

const char *
paas_unittext_name(enum paas_unittext_kind k)
{
	return names[k];
}

int
paas_unittext_kind_of(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

void
paas_unittext_paths(enum paas_unittext_kind k, struct paas_unittext_paths *p)
{
	static const struct paas_unittext_paths all[] = {
		{ NULL, PAAS_HOST_UNIT_DIR "/paas-etcd.service", PAAS_HOST_DEFAULTS "/paas-etcd",
		    NULL },
		{ NULL, PAAS_HOST_UNIT_DIR "/paas-registry.service",
		    PAAS_HOST_DEFAULTS "/paas-registry", NULL },
		{ PAAS_HOST_BIN_DIR "/paas-cluster", PAAS_HOST_UNIT_DIR "/paas-agent.service",
		    PAAS_HOST_DEFAULTS "/paas-agent", PAAS_HOST_ETC "/etcd-auth-agent" },
		{ PAAS_HOST_BIN_DIR "/paas-route", PAAS_HOST_UNIT_DIR "/paas-router.service",
		    PAAS_HOST_DEFAULTS "/paas-router", PAAS_HOST_ETC "/etcd-auth-router" },
	};

	*p = all[k];
}

/* [Install] and the end of the unit. */
static void
install(struct paas_buf *b)
{
	paas_buf_adds(b, "\n[Install]\nWantedBy=multi-user.target\n");
}

/* What every component's [Service] ends with: systemd brings it back
 * whatever ended it. */
static void
restart(struct paas_buf *b)
{
	paas_buf_adds(b, "Restart=always\nRestartSec=2\n");
}

static void
etcd(const struct paas_unittext_opts *o, struct paas_buf *b)
{
	if (o->place == PAAS_UNITTEXT_PACKAGE)
		paas_buf_adds(b,
		    "# The cluster's etcd as paas-cluster(1) up makes it on one machine: data in\n"
		    "# /var/lib/paas/etcd, clients on 127.0.0.1:2379 (the commands' default\n"
		    "# PAAS_ETCD), peers on 127.0.0.1:2380.  etcd reads its ETCD_* variables;\n"
		    "# /etc/default/paas-etcd overrides them (a member of a larger cluster:\n"
		    "# ETCD_NAME, ETCD_LISTEN_PEER_URLS, ETCD_INITIAL_CLUSTER, ...).\n"
		    "[Unit]\nDescription=paas-tools etcd\n");
	else
		paas_buf_adds(b,
		    "# An etcd member of a paas-tools cluster, installed by paas-cluster up --host\n"
		    "# (paas-cluster(1)); its settings in " PAAS_HOST_DEFAULTS "/paas-etcd.\n"
		    "[Unit]\nDescription=paas-tools etcd member\n");
	paas_buf_adds(b, "Documentation=man:paas-cluster(1)\nAfter=network-online.target\n"
	    "Wants=network-online.target\n\n[Service]\nType=notify\n");
	if (o->place == PAAS_UNITTEXT_PACKAGE)
		paas_buf_adds(b,
		    "Environment=ETCD_NAME=paas\n"
		    "Environment=ETCD_DATA_DIR=" PAAS_HOST_ETCD_DIR "\n"
		    "Environment=ETCD_LISTEN_CLIENT_URLS=http://127.0.0.1:2379\n"
		    "Environment=ETCD_ADVERTISE_CLIENT_URLS=http://127.0.0.1:2379\n"
		    "Environment=ETCD_LISTEN_PEER_URLS=http://127.0.0.1:2380\n"
		    "Environment=ETCD_INITIAL_ADVERTISE_PEER_URLS=http://127.0.0.1:2380\n"
		    "Environment=ETCD_INITIAL_CLUSTER=paas=http://127.0.0.1:2380\n"
		    "Environment=ETCD_INITIAL_CLUSTER_TOKEN=paas-local\n"
		    "Environment=ETCD_BCRYPT_COST=4\n"
		    "Environment=ETCD_AUTO_COMPACTION_MODE=" PAAS_ETCD_COMPACTION_MODE "\n"
		    "Environment=ETCD_AUTO_COMPACTION_RETENTION=" PAAS_ETCD_COMPACTION_KEEP "\n"
		    "Environment=ETCD_QUOTA_BACKEND_BYTES=" PAAS_ETCD_QUOTA "\n"
		    "EnvironmentFile=-" PAAS_HOST_DEFAULTS "/paas-etcd\n");
	else
		paas_buf_adds(b, "EnvironmentFile=" PAAS_HOST_DEFAULTS "/paas-etcd\n");
	paas_buf_adds(b, "StateDirectory=paas/etcd\nStateDirectoryMode=0700\n"
	    "ExecStart=/usr/bin/etcd\n");
	restart(b);
	paas_buf_adds(b, "LimitNOFILE=65536\n");
	install(b);
}

static void
registry(struct paas_buf *b)
{
	paas_buf_adds(b,
	    "# The cluster's image registry as paas-cluster(1) up configures it: TLS from\n"
	    "# the cluster CA and one htpasswd user, its configuration written by up in\n"
	    "# /var/lib/paas/registry/config.yml (PAAS_REGISTRY_CONFIG in\n"
	    "# /etc/default/paas-registry, which up --systemd writes, names another).\n"
	    "[Unit]\nDescription=paas-tools image registry\nDocumentation=man:paas-cluster(1)\n"
	    "After=network-online.target\nWants=network-online.target\n\n[Service]\n"
	    "Environment=PAAS_REGISTRY_CONFIG=/var/lib/paas/registry/config.yml\n"
	    "EnvironmentFile=-" PAAS_HOST_DEFAULTS "/paas-registry\n"
	    "ExecStart=/usr/bin/docker-registry serve ${PAAS_REGISTRY_CONFIG}\n");
	restart(b);
	install(b);
}

static void
agent(const struct paas_unittext_opts *o, struct paas_buf *b)
{
	if (o->place == PAAS_UNITTEXT_FLEET) {
		paas_buf_addf(b, "[Unit]\nDescription=paas-tools agent of fleet cluster %s\n"
		    "After=docker.service fleet.service\n\n[Service]\n"
		    "Environment=PAAS_ETCD=%s\n"
		    "EnvironmentFile=-" PAAS_HOST_DEFAULTS "/paas-agent\n"
		    "ExecStart=" PAAS_HOST_BIN_DIR "/paas-cluster agent --fleet %s%s%s\n",
		    o->fleet, o->etcd, o->fleet, o->docker ? " --docker " : "",
		    o->docker ? o->docker : "");
		restart(b);
		paas_buf_adds(b, "\n[X-Fleet]\nGlobal=true\n");
		return;
	}
	if (o->place == PAAS_UNITTEXT_PACKAGE)
		paas_buf_adds(b,
		    "# The host agent of paas-tools (paas-cluster(1) agent): announces this\n"
		    "# host's healthy instances in etcd under a lease, withdraws them on stop.\n"
		    "# Settings: PAAS_ETCD, PAAS_STATE_DIR and the agent's flags in\n"
		    "# /etc/default/paas-tools (AGENT_ARGS, e.g. \"--host web1\"), then\n"
		    "# /etc/default/paas-agent (which paas-cluster up --systemd writes).\n");
	else
		paas_buf_adds(b,
		    "# The host agent of paas-tools, installed by paas-cluster hosts add --ssh\n"
		    "# (paas-cluster(1)); its settings in " PAAS_HOST_DEFAULTS "/paas-agent.\n");
	paas_buf_addf(b, "[Unit]\nDescription=paas-tools host agent\n"
	    "Documentation=man:paas-cluster(1)\nAfter=network-online.target docker.service%s\n"
	    "Wants=network-online.target\n\n[Service]\n",
	    o->place == PAAS_UNITTEXT_PACKAGE ? " paas-etcd.service" : "");
	if (o->place == PAAS_UNITTEXT_PACKAGE)
		paas_buf_addf(b, "EnvironmentFile=-" PAAS_HOST_DEFAULTS "/paas-tools\n"
		    "EnvironmentFile=-" PAAS_HOST_DEFAULTS "/paas-agent\n"
		    "ExecStart=%s/paas-cluster agent $AGENT_ARGS\n", o->bindir);
	else
		paas_buf_adds(b, "EnvironmentFile=" PAAS_HOST_DEFAULTS "/paas-agent\n"
		    "ExecStart=" PAAS_HOST_BIN_DIR "/paas-cluster agent $AGENT_ARGS\n");
	restart(b);
	install(b);
}

static void
router(const struct paas_unittext_opts *o, struct paas_buf *b)
{
	if (o->place == PAAS_UNITTEXT_PACKAGE)
		paas_buf_adds(b,
		    "# The router of paas-tools (paas-route(1) watch): renders HAProxy's\n"
		    "# configuration from etcd and reloads it; starts HAProxy when none runs.\n"
		    "# HAProxy outlives a stop of the router (KillMode=process), so a restart\n"
		    "# of the router drops no connection.  Settings: PAAS_ETCD, PAAS_STATE_DIR,\n"
		    "# PAAS_ROUTE_CONFIG, PAAS_ROUTE_PORT and ROUTER_ARGS in\n"
		    "# /etc/default/paas-tools, then /etc/default/paas-router (which\n"
		    "# paas-cluster up --systemd writes).\n");
	else
		paas_buf_adds(b,
		    "# The router of a paas-tools cluster, installed by paas-cluster up --host\n"
		    "# (paas-route(1)); its settings in " PAAS_HOST_DEFAULTS "/paas-router.  HAProxy, "
		    "its child,\n"
		    "# outlives a restart of the router (KillMode=process).\n");
	paas_buf_adds(b, "[Unit]\nDescription=paas-tools router (HAProxy from etcd)\n"
	    "Documentation=man:paas-route(1)\nAfter=network-online.target paas-etcd.service\n"
	    "Wants=network-online.target\n\n[Service]\n");
	if (o->place == PAAS_UNITTEXT_PACKAGE)
		paas_buf_addf(b, "EnvironmentFile=-" PAAS_HOST_DEFAULTS "/paas-tools\n"
		    "EnvironmentFile=-" PAAS_HOST_DEFAULTS "/paas-router\n"
		    "ExecStart=%s/paas-route watch $ROUTER_ARGS\n", o->bindir);
	else
		paas_buf_adds(b, "EnvironmentFile=" PAAS_HOST_DEFAULTS "/paas-router\n"
		    "ExecStartPre=/bin/mkdir -p " PAAS_HOST_ROUTE_DIR "\n"
		    "ExecStart=" PAAS_HOST_BIN_DIR "/paas-route watch $ROUTER_ARGS\n");
	paas_buf_adds(b, "KillMode=process\n");
	restart(b);
	install(b);
}

void
paas_unittext(const struct paas_unittext_opts *o, struct paas_buf *out)
{
	switch (o->kind) {
	case PAAS_UNITTEXT_ETCD: etcd(o, out); break;
	case PAAS_UNITTEXT_REGISTRY: registry(out); break;
	case PAAS_UNITTEXT_AGENT: agent(o, out); break;
	case PAAS_UNITTEXT_ROUTER: router(o, out); break;
	}
}

/* A line of a settings file: NAME="VALUE", with " \ $ escaped. */
static void
env_line(struct paas_buf *b, const char *name, const char *value)
{
	const char *p;

	paas_buf_addf(b, "%s=\"", name);
	for (p = value; *p; p++) {
		if (*p == '"' || *p == '\\' || *p == '$')
			paas_buf_add(b, "\\", 1);
		paas_buf_add(b, p, 1);
	}
	paas_buf_adds(b, "\"\n");
}

/* A value for a unit's EnvironmentFile that its ExecStart expands as
 * words: no space, quote, backslash, dollar or control character. */
int
paas_unittext_word(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || strchr("\"'\\$`;", *s) || *s == 0x7f)
			return 0;
	return 1;
}

static int
word_add(struct paas_buf *b, const char *var, const char *value, struct paas_err *err)
{
	if (!paas_unittext_word(value))
		return paas_err_set(err, PAAS_EINVAL, "--systemd: %.200s (for %s) may not hold "
		    "spaces, quotes, backslashes or $", value, var);
	paas_buf_addf(b, "%s=%s\n", var, value);
	return 0;
}

int
paas_unittext_settings_local(enum paas_unittext_kind k, const char *what,
    char *const argv[], const char *state_dir, struct paas_buf *b, struct paas_err *err)
{
	size_t i;

	paas_buf_addf(b, "# Written by paas-cluster up --systemd: %s's settings.\n", what);
	if (k == PAAS_UNITTEXT_ETCD) {
		for (i = 1; argv[i] && argv[i + 1]; i += 2) {
			char var[64];
			size_t c;

			snprintf(var, sizeof(var), "ETCD_%s", argv[i] + 2);
			for (c = 5; var[c]; c++)
				var[c] = var[c] == '-' ? '_' : (char)toupper((unsigned char)var[c]);
			if (word_add(b, var, argv[i + 1], err) < 0)
				return -1;
		}
		return 0;
	}
	if (k == PAAS_UNITTEXT_REGISTRY)
		return word_add(b, "PAAS_REGISTRY_CONFIG", argv[2], err);
	if (word_add(b, "PAAS_ETCD", argv[2], err) < 0 ||
	    word_add(b, "PAAS_STATE_DIR", state_dir, err) < 0)
		return -1;
	paas_buf_addf(b, "%s_ARGS=\"", k == PAAS_UNITTEXT_AGENT ? "AGENT" : "ROUTER");
	for (i = 4; argv[i]; i++) {
		if (!paas_unittext_word(argv[i]))
			return paas_err_set(err, PAAS_EINVAL, "--systemd: %.200s may not hold spaces, "
			    "quotes, backslashes or $", argv[i]);
		paas_buf_addf(b, "%s%s", i > 4 ? " " : "", argv[i]);
	}
	paas_buf_adds(b, "\"\n");
	return 0;
}

void
paas_unittext_settings_member(const struct paas_unittext_member *m, struct paas_buf *b)
{
	struct paas_buf v = PAAS_BUF_INIT;

	paas_buf_adds(b, "# Written by paas-cluster up --host: this host's etcd member.\n");
	env_line(b, "ETCD_NAME", m->name);
	env_line(b, "ETCD_DATA_DIR", PAAS_HOST_ETCD_DIR);
	paas_buf_addf(&v, "http://%s:%d,http://127.0.0.1:%d", m->addr, m->client_port,
	    m->client_port);
	env_line(b, "ETCD_LISTEN_CLIENT_URLS", v.data);
	paas_buf_reset(&v);
	paas_buf_addf(&v, "http://%s:%d", m->addr, m->client_port);
	env_line(b, "ETCD_ADVERTISE_CLIENT_URLS", v.data);
	paas_buf_reset(&v);
	paas_buf_addf(&v, "https://%s:%d", m->addr, m->peer_port);
	env_line(b, "ETCD_LISTEN_PEER_URLS", v.data);
	env_line(b, "ETCD_INITIAL_ADVERTISE_PEER_URLS", v.data);
	env_line(b, "ETCD_INITIAL_CLUSTER", m->initial_cluster);
	env_line(b, "ETCD_INITIAL_CLUSTER_STATE", "new");
	env_line(b, "ETCD_INITIAL_CLUSTER_TOKEN", m->token);
	env_line(b, "ETCD_AUTO_COMPACTION_MODE", PAAS_ETCD_COMPACTION_MODE);
	env_line(b, "ETCD_AUTO_COMPACTION_RETENTION", PAAS_ETCD_COMPACTION_KEEP);
	env_line(b, "ETCD_QUOTA_BACKEND_BYTES", PAAS_ETCD_QUOTA);
	env_line(b, "ETCD_PEER_CERT_FILE", PAAS_HOST_PEER_CRT);
	env_line(b, "ETCD_PEER_KEY_FILE", PAAS_HOST_PEER_KEY);
	env_line(b, "ETCD_PEER_TRUSTED_CA_FILE", PAAS_HOST_CA);
	env_line(b, "ETCD_PEER_CLIENT_CERT_AUTH", "true");
	/* The passwords are 192 random bits (access.h): no slow hash. */
	env_line(b, "ETCD_BCRYPT_COST", "4");
	paas_buf_free(&v);
}

void
paas_unittext_settings_agent(const char *etcd, const char *host, const char *docker, int auth,
    struct paas_buf *b)
{
	struct paas_buf args = PAAS_BUF_INIT;

	paas_buf_addf(&args, "--host %s --docker %s", host, docker);
	paas_buf_adds(b, "# Written by paas-cluster (hosts add --ssh, up --host).\n");
	env_line(b, "PAAS_ETCD", etcd);
	env_line(b, "AGENT_ARGS", args.data);
	if (auth)
		env_line(b, "PAAS_ETCD_AUTH", PAAS_HOST_ETC "/etcd-auth-agent");
	paas_buf_free(&args);
}

void
paas_unittext_settings_router(const char *etcd, int port, const char *host, struct paas_buf *b)
{
	struct paas_buf args = PAAS_BUF_INIT;

	paas_buf_adds(b, "# Written by paas-cluster up --host: this host's router.\n");
	env_line(b, "PAAS_ETCD", etcd);
	env_line(b, "PAAS_ETCD_AUTH", PAAS_HOST_ETC "/etcd-auth-router");
	paas_buf_addf(&args, "--config " PAAS_HOST_ROUTE_DIR "/haproxy.cfg --port %d --name %s",
	    port, host);
	env_line(b, "ROUTER_ARGS", args.data);
	paas_buf_free(&args);
}
