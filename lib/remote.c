/*
 * A systemd unit and its files brought up to date on a host over SSH.  See
 * remote.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "private.h"
#include "remote.h"
#include "ssh.h"

#define BIN_MAX		(256L << 20)
/* A command there may wait on systemd: stopping a unit takes up to its
 * TimeoutStopSec (90 s by default). */
#define RUN_MS		120000L

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

int
paas_remote_read(const char *what, const char *path, struct paas_buf *b, struct paas_err *err)
{
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return paas_err_set(err, PAAS_EFAILED, "%s %s: %s", what, path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && b->len <= (size_t)BIN_MAX)
		paas_buf_add(b, chunk, (size_t)n);
	close(fd);
	if (n < 0 || b->len > (size_t)BIN_MAX)
		return paas_err_set(err, PAAS_EFAILED, "%s %s: %s", what, path,
		    n < 0 ? strerror(errno) : "over 256 MiB");
	return 0;
}

int
paas_remote_read_secret(const char *what, const char *path, size_t max, struct paas_buf *b,
    struct paas_err *err)
{
	char *data;
	size_t n;

	if (paas_private_read(what, path, max, &data, &n, err) < 0)
		return -1;
	paas_buf_add(b, data, n);
	explicit_bzero(data, n);
	free(data);
	return 0;
}

/* Run a constant command there; a non-zero status is an error naming what
 * was done and the command's last words. */
int
paas_remote_run(const char *target, const char *what, const char *command,
    const struct paas_buf *in, struct paas_buf *out, struct paas_err *err)
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

int
paas_remote_install(const char *target, const char *unit, const struct paas_remote_file *f,
    size_t n, const char *check, int no_block, int *changed, int *started,
    struct paas_err *err)
{
	struct paas_buf probe = PAAS_BUF_INIT, cmd = PAAS_BUF_INIT;
	char *line, *save = NULL;
	int rc = -1, active, *differs = paas_xmalloc((n ? n : 1) * sizeof(int));
	size_t i;

	*changed = 0;
	/* What is there: a line per file, its SHA-256 or "-"; then whether
	 * the unit runs. */
	paas_buf_adds(&cmd, "test -d /run/systemd/system || "
	    "{ echo 'systemd does not run this host' >&2; exit 1; }; "
	    "command -v sha256sum >/dev/null || { echo 'no sha256sum' >&2; exit 1; }; for f in");
	for (i = 0; i < n; i++)
		paas_buf_addf(&cmd, " %s", f[i].path);
	paas_buf_adds(&cmd, "; do if [ -f \"$f\" ]; then sha256sum <\"$f\"; else echo -; fi; done");
	paas_buf_addf(&cmd, "; systemctl is-active --quiet %s && echo active || echo inactive", unit);
	if (paas_remote_run(target, "systemd", cmd.data, NULL, &probe, err) < 0)
		goto out;
	line = strtok_r(probe.data ? probe.data : (char *)"", "\n", &save);
	for (i = 0; i < n; i++, line = strtok_r(NULL, "\n", &save)) {
		char hex[65];
		int there = line && strlen(line) >= 64 && line[0] != '-';

		if (f[i].content) {
			sha256_hex(f[i].content->data ? f[i].content->data : "", f[i].content->len, hex);
			differs[i] = !there || strncmp(line, hex, 64) != 0;
		} else
			differs[i] = there;
	}
	active = line && strcmp(line, "active") == 0;
	for (i = 0; i < n; i++) {
		char what[256];
		const char *slash = strrchr(f[i].path, '/');

		if (!differs[i])
			continue;
		*changed = 1;
		paas_buf_reset(&cmd);
		if (f[i].content == NULL) {
			paas_buf_addf(&cmd, "rm -f %s", f[i].path);
			snprintf(what, sizeof(what), "removing %s", f[i].path);
		} else {
			paas_buf_addf(&cmd, "umask 077 && mkdir -p %.*s && cat >%s.paas-new && "
			    "chmod %s %s.paas-new && mv -f %s.paas-new %s",
			    (int)(slash ? slash - f[i].path : 1), slash ? f[i].path : "/", f[i].path,
			    f[i].mode, f[i].path, f[i].path, f[i].path);
			snprintf(what, sizeof(what), "writing %s", f[i].path);
		}
		if (paas_remote_run(target, what, cmd.data, f[i].content, NULL, err) < 0)
			goto out;
	}
	if (*changed && check && paas_remote_run(target, "a copied program does not run there",
	    check, NULL, NULL, err) < 0)
		goto out;
	paas_buf_reset(&cmd);
	if (*changed)
		paas_buf_addf(&cmd, "systemctl daemon-reload && systemctl enable --quiet %s && "
		    "systemctl restart%s %s", unit, no_block ? " --no-block" : "", unit);
	else
		paas_buf_addf(&cmd, "systemctl enable --quiet %s && systemctl start%s %s", unit,
		    no_block ? " --no-block" : "", unit);
	if (paas_remote_run(target, "starting the service", cmd.data, NULL, NULL, err) < 0)
		goto out;
	if (started)
		*started = *changed || !active;
	rc = 0;
out:
	free(differs);
	paas_buf_free(&probe);
	paas_buf_free(&cmd);
	return rc;
}

int
paas_remote_active(const char *target, const char *unit, char **why, struct paas_err *err)
{
	struct paas_buf out = PAAS_BUF_INIT;
	char cmd[512];
	int st;

	*why = NULL;
	snprintf(cmd, sizeof(cmd), "systemctl is-active --quiet %s || journalctl -u %s -n 3 "
	    "--no-pager -o cat 2>&1 | tail -n 1; systemctl is-active --quiet %s", unit, unit, unit);
	if (paas_ssh_run(target, cmd, RUN_MS, &out, &st, err) < 0) {
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
