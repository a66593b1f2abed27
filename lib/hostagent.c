/*
 * A host's agent installed over SSH (paas-cluster hosts add --ssh): the
 * binary, its unit and its settings copied over the host's session as the
 * standard input of constant commands, then started under systemd.  See
 * hostagent.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hostagent.h"
#include "ssh.h"
#include "valid.h"

#define BIN_MAX		(256L << 20)
#define RUN_MS		30000L

/* The files, in this order everywhere (the probe prints a line each). */
enum { F_BIN, F_UNIT, F_ENV, F_AUTH, F_N };
static const struct {
	const char *path, *dir, *mode;
} files[F_N] = {
	{ PAAS_AGENT_BIN, "/opt/paas-tools/bin", "755" },
	{ PAAS_AGENT_UNIT, "/etc/systemd/system", "644" },
	{ PAAS_AGENT_ENV, "/etc/default", "600" },
	{ PAAS_AGENT_AUTH, "/etc/paas-tools", "600" },
};

static const char unit_text[] =
    "# The host agent of paas-tools, installed by paas-cluster hosts add --ssh\n"
    "# (paas-cluster(1)); its settings in " PAAS_AGENT_ENV ".\n"
    "[Unit]\n"
    "Description=paas-tools host agent\n"
    "Documentation=man:paas-cluster(1)\n"
    "After=network-online.target docker.service\n"
    "Wants=network-online.target\n"
    "\n"
    "[Service]\n"
    "EnvironmentFile=" PAAS_AGENT_ENV "\n"
    "ExecStart=" PAAS_AGENT_BIN " agent $AGENT_ARGS\n"
    "Restart=always\n"
    "RestartSec=2\n"
    "\n"
    "[Install]\n"
    "WantedBy=multi-user.target\n";

static void
sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (i = 0; i < n && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

static int
read_all(const char *what, const char *path, struct paas_buf *b, struct paas_err *err)
{
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return paas_err_set(err, PAAS_EFAILED, "%s %s: %s", what, path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && b->len < (size_t)BIN_MAX)
		paas_buf_add(b, chunk, (size_t)n);
	close(fd);
	if (n < 0)
		return paas_err_set(err, PAAS_EFAILED, "%s %s: %s", what, path, strerror(errno));
	return 0;
}

/* Run a constant command there; a non-zero status is an error naming what
 * was done and the command's last words. */
static int
run(const char *target, const char *what, const char *command, const struct paas_buf *in,
    struct paas_buf *out, struct paas_err *err)
{
	struct paas_buf o = PAAS_BUF_INIT;
	int st;
	char *nl;

	if (paas_ssh_run_input(target, command, in ? in->data : NULL, in ? in->len : 0, RUN_MS,
	    &o, &st, err) < 0) {
		paas_buf_free(&o);
		return -1;
	}
	if (st != 0) {
		paas_buf_rstrip(&o, "\n ");
		nl = o.data ? strrchr(o.data, '\n') : NULL;
		paas_err_set(err, PAAS_EUNAVAIL, "ssh://%s: %s: %s", target, what,
		    nl ? nl + 1 : o.len ? o.data : "it failed");
		paas_buf_free(&o);
		return -1;
	}
	if (out)
		paas_buf_add(out, o.data ? o.data : "", o.len);
	paas_buf_free(&o);
	return 0;
}

static void
env_line(struct paas_buf *b, const char *name, const char *value)
{
	/* systemd's EnvironmentFile: double quotes, with \ and " escaped;
	 * the values are validated before, this is the second line. */
	const char *p;

	paas_buf_addf(b, "%s=\"", name);
	for (p = value; *p; p++) {
		if (*p == '"' || *p == '\\' || *p == '$')
			paas_buf_add(b, "\\", 1);
		paas_buf_add(b, p, 1);
	}
	paas_buf_adds(b, "\"\n");
}

int
paas_agent_install(const struct paas_agent_install *o, int *changed, struct paas_err *err)
{
	struct paas_buf content[F_N] = { PAAS_BUF_INIT, PAAS_BUF_INIT, PAAS_BUF_INIT,
	    PAAS_BUF_INIT };
	struct paas_buf probe = PAAS_BUF_INIT, args = PAAS_BUF_INIT;
	int have[F_N] = { 1, 1, 1, 0 }, differs[F_N] = { 0 }, rc = -1, i;
	const char *docker = o->docker ? o->docker : "unix:///var/run/docker.sock";
	char *line, *save = NULL;

	*changed = 0;
	if (!paas_valid_name(o->host) || strncmp(docker, "unix:///", 8) != 0 ||
	    strpbrk(docker, " \t\n\"'\\$`") != NULL || strpbrk(o->etcd, " \t\n\"'\\$`") != NULL)
		return paas_err_set(err, PAAS_EINVAL, "agent for %s: invalid host name, Docker URL "
		    "or etcd endpoints", o->host);
	if (read_all("the agent's binary", o->binary ? o->binary : "/proc/self/exe",
	    &content[F_BIN], err) < 0)
		goto out;
	paas_buf_adds(&content[F_UNIT], unit_text);
	paas_buf_addf(&args, "--host %s --docker %s", o->host, docker);
	paas_buf_adds(&content[F_ENV], "# Written by paas-cluster hosts add --ssh.\n");
	env_line(&content[F_ENV], "PAAS_ETCD", o->etcd);
	env_line(&content[F_ENV], "AGENT_ARGS", args.data);
	if (o->auth) {
		char *data;
		size_t n;

		if (paas_private_read("the agent's etcd credentials", o->auth, 510, &data, &n,
		    err) < 0)
			goto out;
		paas_buf_add(&content[F_AUTH], data, n);
		explicit_bzero(data, n);
		free(data);
		have[F_AUTH] = 1;
		env_line(&content[F_ENV], "PAAS_ETCD_AUTH", PAAS_AGENT_AUTH);
	}
	/* What is there: a line per file, its SHA-256 or "-". */
	if (run(o->target, "systemd", "test -d /run/systemd/system || "
	    "{ echo 'systemd does not run this host' >&2; exit 1; }; "
	    "command -v sha256sum >/dev/null || { echo 'no sha256sum' >&2; exit 1; }; "
	    "for f in " PAAS_AGENT_BIN " " PAAS_AGENT_UNIT " " PAAS_AGENT_ENV " " PAAS_AGENT_AUTH "; "
	    "do if [ -f \"$f\" ]; then sha256sum <\"$f\"; else echo -; fi; done",
	    NULL, &probe, err) < 0)
		goto out;
	line = strtok_r(probe.data ? probe.data : (char *)"", "\n", &save);
	for (i = 0; i < F_N; i++, line = strtok_r(NULL, "\n", &save)) {
		char hex[65];
		int there = line && strlen(line) >= 64 && line[0] != '-';

		sha256_hex(content[i].data ? content[i].data : "", content[i].len, hex);
		differs[i] = have[i] ? !there || strncmp(line, hex, 64) != 0 : there;
	}
	for (i = 0; i < F_N; i++) {
		char cmd[512], what[128];

		if (!differs[i])
			continue;
		*changed = 1;
		if (!have[i]) {
			snprintf(cmd, sizeof(cmd), "rm -f %s", files[i].path);
			snprintf(what, sizeof(what), "removing %s", files[i].path);
		} else {
			snprintf(cmd, sizeof(cmd), "umask 077 && mkdir -p %s && cat >%s.paas-new && "
			    "chmod %s %s.paas-new && mv -f %s.paas-new %s", files[i].dir,
			    files[i].path, files[i].mode, files[i].path, files[i].path, files[i].path);
			snprintf(what, sizeof(what), "writing %s", files[i].path);
		}
		if (run(o->target, what, cmd, have[i] ? &content[i] : NULL, NULL, err) < 0)
			goto out;
	}
	/* A binary that cannot run there (a library missing) says so now. */
	if (differs[F_BIN] && run(o->target, "the copied agent does not run there",
	    PAAS_AGENT_BIN " --version 2>&1", NULL, NULL, err) < 0)
		goto out;
	if (run(o->target, "starting the agent", *changed ?
	    "systemctl daemon-reload && systemctl enable --quiet paas-agent.service && "
	    "systemctl restart paas-agent.service" :
	    "systemctl enable --quiet paas-agent.service && systemctl start paas-agent.service",
	    NULL, NULL, err) < 0)
		goto out;
	rc = 0;
out:
	for (i = 0; i < F_N; i++) {
		if (i == F_AUTH && content[i].data)
			explicit_bzero(content[i].data, content[i].len);
		paas_buf_free(&content[i]);
	}
	paas_buf_free(&probe);
	paas_buf_free(&args);
	return rc;
}

int
paas_agent_active(const char *target, char **why, struct paas_err *err)
{
	struct paas_buf out = PAAS_BUF_INIT;
	int st;

	*why = NULL;
	if (paas_ssh_run(target, "systemctl is-active --quiet paas-agent.service || "
	    "journalctl -u paas-agent.service -n 3 --no-pager -o cat 2>&1 | tail -n 1; "
	    "systemctl is-active --quiet paas-agent.service", RUN_MS, &out, &st, err) < 0) {
		paas_buf_free(&out);
		return -1;
	}
	if (st != 0) {
		paas_buf_rstrip(&out, "\n ");
		*why = paas_xstrdup(out.len ? out.data : "the unit is not active");
	}
	paas_buf_free(&out);
	return st == 0;
}

int
paas_agent_uninstall(const char *target, struct paas_err *err)
{
	return run(target, "removing the agent",
	    "if [ -f " PAAS_AGENT_UNIT " ]; then systemctl disable --now --quiet paas-agent.service "
	    "2>/dev/null; fi; rm -f " PAAS_AGENT_BIN " " PAAS_AGENT_UNIT " " PAAS_AGENT_ENV " "
	    PAAS_AGENT_AUTH " && { systemctl daemon-reload 2>/dev/null; true; }", NULL, NULL, err);
}
