/*
 * The cluster's components installed on a host over SSH.  See install.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "install.h"
#include "valid.h"

/* A role's etcd credentials file: one line USER:PASSWORD. */
#define AUTH_MAX	510

int
paas_install_component(const struct paas_install *o, int *changed, int *started,
    struct paas_err *err)
{
	struct paas_buf bin = PAAS_BUF_INIT, unit = PAAS_BUF_INIT, auth = PAAS_BUF_INIT;
	struct paas_unittext_opts uo = { 0 };
	struct paas_unittext_paths p;
	struct paas_remote_file *f = paas_xmalloc((o->nextra + 4) * sizeof(*f));
	char service[64], check[256], what[64];
	size_t n = 0, i;
	int rc = -1;

	*changed = 0;
	paas_unittext_paths(o->kind, &p);
	uo.kind = o->kind;
	uo.place = PAAS_UNITTEXT_SSH;
	paas_unittext(&uo, &unit);
	snprintf(service, sizeof(service), "paas-%s.service", paas_unittext_name(o->kind));
	for (i = 0; i < o->nextra; i++)
		f[n++] = o->extra[i];
	if (p.bin) {
		snprintf(what, sizeof(what), "the %s's binary", paas_unittext_name(o->kind));
		if (paas_remote_read(what, o->binary, &bin, err) < 0)
			goto out;
		f[n++] = (struct paas_remote_file){ p.bin, "755", &bin };
		snprintf(check, sizeof(check), "%s --version 2>&1", p.bin);
	}
	if (p.auth) {
		snprintf(what, sizeof(what), "the %s's etcd credentials", paas_unittext_name(o->kind));
		if (o->auth && paas_remote_read_secret(what, o->auth, AUTH_MAX, &auth, err) < 0)
			goto out;
		f[n++] = (struct paas_remote_file){ p.auth, "600", o->auth ? &auth : NULL };
	}
	f[n++] = (struct paas_remote_file){ p.settings, "600", o->settings };
	f[n++] = (struct paas_remote_file){ p.unit, "644", &unit };
	rc = paas_remote_install(o->target, service, f, n, p.bin ? check : NULL, o->no_block,
	    changed, started, err);
out:
	if (auth.data)
		explicit_bzero(auth.data, auth.len);
	paas_buf_free(&bin);
	paas_buf_free(&unit);
	paas_buf_free(&auth);
	free(f);
	return rc;
}

int
paas_install_active(enum paas_unittext_kind k, const char *target, char **why,
    struct paas_err *err)
{
	char service[64];

	snprintf(service, sizeof(service), "paas-%s.service", paas_unittext_name(k));
	return paas_remote_active(target, service, why, err);
}

int
paas_install_remove(enum paas_unittext_kind k, const char *target, struct paas_err *err)
{
	struct paas_unittext_paths p;
	struct paas_buf cmd = PAAS_BUF_INIT;
	char what[64];
	int rc;

	/* Constants of ours alone reach the remote shell. */
	paas_unittext_paths(k, &p);
	paas_buf_addf(&cmd, "if [ -f %s ]; then systemctl disable --now --quiet paas-%s.service "
	    "2>/dev/null; fi; rm -f", p.unit, paas_unittext_name(k));
	if (p.bin)
		paas_buf_addf(&cmd, " %s", p.bin);
	paas_buf_addf(&cmd, " %s %s", p.unit, p.settings);
	if (p.auth)
		paas_buf_addf(&cmd, " %s", p.auth);
	paas_buf_adds(&cmd, " && { systemctl daemon-reload 2>/dev/null; true; }");
	snprintf(what, sizeof(what), "removing the %s", paas_unittext_name(k));
	rc = paas_remote_run(target, what, cmd.data, NULL, NULL, err);
	paas_buf_free(&cmd);
	return rc;
}

int
paas_install_agent(const struct paas_install_agent *o, int *changed, int *started,
    struct paas_err *err)
{
	struct paas_install in = { 0 };
	struct paas_buf env = PAAS_BUF_INIT;
	const char *docker = o->docker ? o->docker : "unix:///var/run/docker.sock";
	int rc;

	*changed = 0;
	if (!paas_valid_name(o->host) || strncmp(docker, "unix:///", 8) != 0 ||
	    strpbrk(docker, " \t\n\"'\\$`") != NULL || strpbrk(o->etcd, " \t\n\"'\\$`") != NULL)
		return paas_err_set(err, PAAS_EINVAL, "agent for %s: invalid host name, Docker URL "
		    "or etcd endpoints", o->host);
	paas_unittext_settings_agent(o->etcd, o->host, docker, o->auth != NULL, &env);
	in.kind = PAAS_UNITTEXT_AGENT;
	in.target = o->target;
	in.settings = &env;
	in.binary = o->binary ? o->binary : "/proc/self/exe";
	in.auth = o->auth;
	rc = paas_install_component(&in, changed, started, err);
	paas_buf_free(&env);
	return rc;
}
