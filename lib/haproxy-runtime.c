/*
 * A live HAProxy's control: its master CLI, a reload that is known to
 * have taken, servers changed through the runtime API, a configuration
 * checked and installed, a master started.  See haproxy.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "daemon.h"
#include "file.h"
#include "haproxy.h"
#include "private.h"

#define MASTER_GONE_MS	1000	/* no answer on the master CLI for this long */

extern char **environ;

/* The HAProxy master CLI. */

static int
cli_connect(const char *sock, struct paas_err *err)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return paas_err_set(err, PAAS_EINVAL, "%s: socket path too long", sock);
	strcpy(sa.sun_path, sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return paas_err_set(err, PAAS_EFAILED, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		paas_err_set(err, PAAS_EUNAVAIL, "haproxy master socket %s: %s", sock,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
paas_haproxy_cli(const char *sock, const char *cmd, char **out, struct paas_err *err)
{
	struct paas_buf b = PAAS_BUF_INIT;
	struct paas_buf c = PAAS_BUF_INIT;
	char chunk[4096];
	long deadline = paas_now_ms() + 5000;
	ssize_t n;
	int fd;

	if (out)
		*out = NULL;
	if ((fd = cli_connect(sock, err)) < 0)
		return -1;
	paas_buf_addf(&c, "%s\n", cmd);
	n = send(fd, c.data, c.len, MSG_NOSIGNAL);
	paas_buf_free(&c);
	if (n >= 0)
		shutdown(fd, SHUT_WR);	/* the master answers, then closes */
	if (n < 0) {
		close(fd);
		return paas_err_set(err, PAAS_EUNAVAIL, "haproxy master socket %s: %s", sock,
		    strerror(errno));
	}
	/* The master answers one command and closes. */
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		long left = deadline - paas_now_ms();

		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			close(fd);
			paas_buf_free(&b);
			return paas_err_set(err, PAAS_EUNAVAIL, "haproxy master socket %s: no "
			    "answer to '%s' within 5 s", sock, cmd);
		}
		if ((n = read(fd, chunk, sizeof(chunk))) <= 0)
			break;
		paas_buf_add(&b, chunk, (size_t)n);
	}
	close(fd);
	if (out)
		*out = paas_buf_detach(&b, NULL);
	else
		paas_buf_free(&b);
	return 0;
}

/* From "show proc": the master's PID, reload and failure counts, and the
 * PID of the current worker (the first one under "# workers"). */
static int
parse_proc(const char *s, long *master, long *reloads, long *failed, long *worker)
{
	const char *p;
	int in_workers = 0;

	*reloads = *failed = -1;
	*worker = *master = 0;
	for (p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		long pid, r, f;

		if (strncmp(p, "# workers", 9) == 0)
			in_workers = 1;
		else if (*p == '#')
			in_workers = 0;
		else if (sscanf(p, "%ld master %ld [failed: %ld]", &pid, &r, &f) == 3) {
			*reloads = r;
			*failed = f;
			*master = pid;
		} else if (in_workers && *worker == 0 && sscanf(p, "%ld worker", &pid) == 1)
			*worker = pid;
	}
	return *reloads >= 0 ? 0 : -1;
}

static int
show_proc(const char *sock, long *master, long *reloads, long *failed, long *worker,
    struct paas_err *err)
{
	char *out;
	int rc;

	if (paas_haproxy_cli(sock, "show proc", &out, err) < 0)
		return -1;
	rc = parse_proc(out, master, reloads, failed, worker);
	free(out);
	if (rc < 0)
		return paas_err_set(err, PAAS_EFAILED, "haproxy master socket %s: 'show proc' "
		    "answer not understood", sock);
	return 0;
}

/* Whether pid runs (a zombie does not); unknown (pid <= 0) counts as
 * running.  Not daemon.c's test of the command line: a master in the
 * middle of its re-exec can show an empty one, and is not gone. */
static int
process_alive(long pid)
{
	char path[64], buf[256], *p;
	FILE *fp;
	int alive = 1;

	if (pid <= 0)
		return 1;
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "re")) == NULL)
		return errno != ENOENT;
	if (fgets(buf, sizeof(buf), fp) && (p = strrchr(buf, ')')) != NULL && p[1] == ' ')
		alive = p[2] != 'Z' && p[2] != 'X';
	fclose(fp);
	return alive;
}

/* The previous worker shares the listening sockets until it has been told
 * to stop (soft-stop): until then a new connection may still reach it and
 * its old configuration.  Done when its process is gone or it says
 * "Stopping: 1".  A question it does not answer (a loaded machine) is not
 * "gone" while its process lives: that took a live old worker for a
 * stopped one, and a deploy's first request met the old configuration. */
static int
old_worker_stopped(const char *sock, long pid, long long deadline, long timeout_ms,
    struct paas_err *err)
{
	char cmd[64];

	if (pid <= 0)
		return 0;
	snprintf(cmd, sizeof(cmd), "@!%ld show info", pid);
	for (;;) {
		struct paas_err e2 = PAAS_ERR_INIT;
		char *out = NULL;
		int stopping;

		if (paas_haproxy_cli(sock, cmd, &out, &e2) < 0 || out == NULL ||
		    strstr(out, "Pid: ") == NULL) {
			free(out);
			if (!process_alive(pid))
				return 0;	/* gone */
			stopping = 0;
		} else {
			stopping = strstr(out, "\nStopping: 1") != NULL;
			free(out);
		}
		if (stopping)
			return 0;
		if (paas_now_ms() >= deadline)
			return paas_err_set(err, PAAS_EFAILED, "the previous HAProxy worker %ld still "
			    "accepts connections %ld ms after the reload", pid, timeout_ms);
		paas_sleep_ms(5);
	}
}

int
paas_haproxy_reload(const char *sock, long timeout_ms, struct paas_err *err)
{
	long r0, f0, w0, r, f, w, deadline, master, m;
	long long silent;

	if (timeout_ms <= 0)
		timeout_ms = 10000;
	deadline = paas_now_ms() + timeout_ms;
	if (show_proc(sock, &master, &r0, &f0, &w0, err) < 0)
		return -1;
	if (paas_haproxy_cli(sock, "reload", NULL, err) < 0)
		return -1;
	/* The master re-executes itself (same PID): its socket may be gone
	 * for a moment, longer on a loaded machine.  Once its process is gone
	 * whoever watches it must start one, not wait here. */
	for (silent = 0;;) {
		struct paas_err e2 = PAAS_ERR_INIT;

		if (show_proc(sock, &m, &r, &f, &w, &e2) == 0) {
			silent = 0;
			if (r > r0 && f > f0)
				return paas_err_set(err, PAAS_EFAILED, "haproxy failed to reload "
				    "(see its log); the previous workers still serve");
			if (r > r0 && w != 0 && w != w0)
				return old_worker_stopped(sock, w0, deadline, timeout_ms, err);
		} else if (silent == 0)
			silent = paas_now_ms();
		/* Gone, or silent for long and not known to be alive (a
		 * re-executing master keeps its PID, and may take more than a
		 * second on a loaded machine). */
		else if (!process_alive(master) || (master <= 0 &&
		    paas_now_ms() - silent >= MASTER_GONE_MS))
			return paas_err_set(err, PAAS_EUNAVAIL, "the HAProxy master on %s stopped "
			    "answering during the reload: %s", sock, e2.msg);
		if (paas_now_ms() >= deadline)
			return paas_err_set(err, PAAS_EFAILED, "haproxy did not start a new worker "
			    "within %ld ms of the reload", timeout_ms);
		paas_sleep_ms(5);
	}
}

/* HAProxy's complaint in one line: its ALERT lines, joined, without their
 * "[ALERT] (PID) : " prefixes, the staged file named as the live one. */
static void
alerts(const char *text, const char *staged, const char *live, struct paas_buf *msg)
{
	const char *p, *nl, *q, *end;

	for (p = text; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		end = nl ? nl : p + strlen(p);
		if (strncmp(p, "[ALERT]", 7) != 0)
			continue;
		/* "[ALERT]    (123) : config : parsing [...]" */
		q = p + 7;
		while (q < end && *q == ' ')
			q++;
		if (q < end && *q == '(' && (q = memchr(q, ')', (size_t)(end - q))) != NULL &&
		    end - q > 3 && strncmp(q, ") : ", 4) == 0)
			p = q + 4;
		if (strncmp(p, "config : ", 9) == 0)
			p += 9;
		if (msg->len)
			paas_buf_adds(msg, "; ");
		while (p < end) {
			if (staged && strncmp(p, staged, strlen(staged)) == 0 &&
			    (size_t)(end - p) >= strlen(staged)) {
				paas_buf_adds(msg, live);
				p += strlen(staged);
			} else
				paas_buf_add(msg, p++, 1);
		}
	}
	if (msg->len == 0)
		paas_buf_adds(msg, text);
	while (msg->len && (msg->data[msg->len - 1] == '\n' || msg->data[msg->len - 1] == ' '))
		msg->data[--msg->len] = '\0';
}

/* Each server line of cfg: "BACKEND/SERVER" -> the rest of its line (the
 * address and settings) in set; each backend's name -> true in backends. */
static void
servers_of(const char *cfg, json_t *set, json_t *backends)
{
	const char *p = cfg, *be = NULL, *nl;
	size_t belen = 0;

	for (; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (strncmp(p, "backend ", 8) == 0) {
			be = p + 8;
			belen = strcspn(be, " \n");
			json_object_setn_new(backends, be, belen, json_true());
		} else if (be && strncmp(p, "\tserver ", 8) == 0) {
			size_t n = strcspn(p + 8, " \n"), rest;
			const char *r = p + 8 + n;
			char *key = paas_xmalloc(belen + n + 2);

			memcpy(key, be, belen);
			key[belen] = '/';
			memcpy(key + belen + 1, p + 8, n);
			key[belen + n + 1] = '\0';
			r += strspn(r, " ");
			rest = strcspn(r, "\n");
			json_object_set_new(set, key, json_stringn(r, rest));
			free(key);
		}
	}
}

/* "@1 VERB BACKEND/SERVER [REST]" to the master CLI: the current
 * worker.  0, or -1 when refused. */
static int
worker_cmd(const char *sock, const char *verb, const char *srv, const char *rest)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_buf cmd = PAAS_BUF_INIT;
	char *out = NULL;
	int rc;

	paas_buf_addf(&cmd, "@1 %s %s%s%s", verb, srv, rest ? " " : "", rest ? rest : "");
	rc = paas_haproxy_cli(sock, cmd.data, &out, &err);
	/* The worker answers a refusal in words, not with a status. */
	if (rc == 0 && out && (strstr(out, "Unknown") || strstr(out, "No such") ||
	    strstr(out, "rror") || strstr(out, "not ") || strstr(out, "must ")))
		rc = -1;
	free(out);
	paas_buf_free(&cmd);
	return rc;
}

/* cfg without its server lines. */
static char *
without_servers(const char *cfg)
{
	struct paas_buf b = PAAS_BUF_INIT;
	const char *p, *nl;

	for (p = cfg; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (strncmp(p, "\tserver ", 8) != 0)
			paas_buf_add(&b, p, nl ? (size_t)(nl - p + 1) : strlen(p));
	}
	return paas_buf_detach(&b, NULL);
}

int
paas_haproxy_runtime_update(const char *sock, const char *path, const char *cfg, int max,
    struct paas_haproxy_runtime *r)
{
	struct paas_buf old = PAAS_BUF_INIT;
	json_t *was = json_object(), *now = json_object(), *was_be = json_object();
	json_t *now_be = json_object(), *v;
	const char *k;
	char chunk[65536], *x, *y;
	size_t n;
	FILE *f = fopen(path, "re");

	memset(r, 0, sizeof(*r));
	if (f == NULL)
		goto out;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		paas_buf_add(&old, chunk, n);
	fclose(f);
	if (old.data == NULL)
		goto out;
	servers_of(old.data, was, was_be);
	servers_of(cfg, now, now_be);
	/* Complete unless something below is left to the reload. */
	x = without_servers(old.data);
	y = without_servers(cfg);
	r->complete = strcmp(x, y) == 0;
	free(x);
	free(y);
	json_object_foreach(was, k, v) {
		const json_t *line = json_object_get(now, k);

		if (line) {
			/* The same name with other settings: the reload's. */
			if (!json_equal(line, v))
				r->complete = 0;
			continue;
		}
		if (r->removed < max && worker_cmd(sock, "set server", k, "state maint") == 0)
			r->removed++;
		else
			r->complete = 0;
	}
	json_object_foreach(now, k, v) {
		const char *line = json_string_value(v);
		char *be;

		if (json_object_get(was, k))
			continue;
		/* Only into a backend the worker has; a dynamic server takes
		 * no cookie (HAProxy 2.6): a sticky route waits for the
		 * reload. */
		be = paas_xstrndup(k, strcspn(k, "/"));
		if (r->added < max && json_object_get(was_be, be) && !strstr(line, " cookie ") &&
		    worker_cmd(sock, "add server", k, line) == 0 &&
		    worker_cmd(sock, "enable health", k, NULL) == 0 &&
		    worker_cmd(sock, "enable server", k, NULL) == 0)
			r->added++;
		else
			r->complete = 0;
		free(be);
	}
out:
	paas_buf_free(&old);
	json_decref(was);
	json_decref(now);
	json_decref(was_be);
	json_decref(now_be);
	return r->removed + r->added;
}

static int
same_text(const char *path, const char *cfg)
{
	FILE *f = fopen(path, "re");
	size_t len = strlen(cfg), n;
	char *buf;
	int same;

	if (f == NULL)
		return 0;
	buf = paas_xmalloc(len + 1);
	n = fread(buf, 1, len + 1, f);
	fclose(f);
	same = n == len && memcmp(buf, cfg, len) == 0;
	free(buf);
	return same;
}

/* haproxy -c on file (named live in messages): 0 accepted, a positive
 * exit status with err holding HAProxy's complaint, -1 it did not run. */
static int
check_file(const char *hap, const char *file, const char *live, struct paas_err *err)
{
	struct paas_buf out = PAAS_BUF_INIT, msg = PAAS_BUF_INIT;
	char *argv[] = { (char *)hap, "-c", "-f", (char *)file, NULL };
	int st = paas_run_cmd(argv, &out, err);

	if (st > 0) {
		alerts(out.data ? out.data : "", file, live, &msg);
		paas_err_set(err, PAAS_EFAILED, "%.700s", msg.data ? msg.data : "");
	}
	paas_buf_free(&out);
	paas_buf_free(&msg);
	return st;
}

int
paas_haproxy_check(const char *haproxy, const char *cfg, const char *near,
    struct paas_err *err)
{
	struct paas_buf staged = PAAS_BUF_INIT;
	size_t len = strlen(cfg);
	int fd, st;

	paas_buf_addf(&staged, "%s.check-XXXXXX", near);
	if ((fd = mkostemp(staged.data, O_CLOEXEC)) < 0) {
		paas_err_set(err, PAAS_EFAILED, "cannot stage %s: %s", staged.data, strerror(errno));
		paas_buf_free(&staged);
		return -1;
	}
	if (write(fd, cfg, len) != (ssize_t)len) {
		paas_err_set(err, PAAS_EFAILED, "cannot write %s: %s", staged.data, strerror(errno));
		st = -1;
	} else
		st = check_file(haproxy ? haproxy : "haproxy", staged.data, near, err);
	close(fd);
	unlink(staged.data);
	paas_buf_free(&staged);
	return st == 0 ? 0 : -1;
}

int
paas_haproxy_install(const struct paas_haproxy_install_opts *o, const char *cfg,
    int *changed, struct paas_err *err)
{
	struct paas_buf staged = PAAS_BUF_INIT;
	const char *hap = o->haproxy ? o->haproxy : "haproxy";
	size_t len = strlen(cfg);
	int fd, rc = -1, st;

	*changed = 0;
	if (same_text(o->config, cfg))
		return 0;
	paas_buf_addf(&staged, "%s.paas-XXXXXX", o->config);
	if ((fd = mkostemp(staged.data, O_CLOEXEC)) < 0) {
		paas_err_set(err, PAAS_EFAILED, "cannot stage %s: %s", staged.data, strerror(errno));
		goto out;
	}
	if (write(fd, cfg, len) != (ssize_t)len || fchmod(fd, 0640) < 0 || fsync(fd) < 0) {
		paas_err_set(err, PAAS_EFAILED, "cannot write %s: %s", staged.data, strerror(errno));
		close(fd);
		unlink(staged.data);
		goto out;
	}
	close(fd);
	if ((st = check_file(hap, staged.data, o->config, err)) != 0) {
		unlink(staged.data);
		if (st > 0) {
			paas_err_wrap(err, "haproxy refused the new configuration, %s is unchanged",
			    o->config);
			if (o->refused)
				*o->refused = 1;
		}
		goto out;
	}
	if (rename(staged.data, o->config) < 0) {
		paas_err_set(err, PAAS_EFAILED, "cannot rename %s to %s: %s", staged.data,
		    o->config, strerror(errno));
		unlink(staged.data);
		goto out;
	}
	paas_fsync_dir(o->config);
	*changed = 1;
	if (o->sock && paas_haproxy_reload(o->sock, o->reload_timeout_ms, err) < 0)
		goto out;
	rc = 0;
out:
	paas_buf_free(&staged);
	return rc;
}

int
paas_haproxy_spawn(const char *haproxy, const char *config, const char *sock,
    const char *pidfile, struct paas_err *err)
{
	struct paas_buf out = PAAS_BUF_INIT, msg = PAAS_BUF_INIT;
	const char *hap = haproxy ? haproxy : "haproxy";
	char *argv[12];
	long deadline;
	int n = 0, st;

	argv[n++] = (char *)hap;
	argv[n++] = "-W";
	argv[n++] = "-D";
	argv[n++] = "-S";
	argv[n++] = (char *)sock;
	argv[n++] = "-f";
	argv[n++] = (char *)config;
	if (pidfile) {
		argv[n++] = "-p";
		argv[n++] = (char *)pidfile;
	}
	argv[n] = NULL;
	/* With -D the command returns once the master has gone to the
	 * background; its own stdout and stderr are closed then. */
	if ((st = paas_run_cmd(argv, &out, err)) != 0) {
		if (st > 0) {
			alerts(out.data ? out.data : "", NULL, NULL, &msg);
			paas_err_set(err, PAAS_EFAILED, "haproxy did not start: %.700s",
			    msg.data ? msg.data : "");
		}
		paas_buf_free(&out);
		paas_buf_free(&msg);
		return -1;
	}
	paas_buf_free(&out);
	paas_buf_free(&msg);
	deadline = paas_now_ms() + 10000;
	for (;;) {
		struct paas_err e2 = PAAS_ERR_INIT;
		long m, r, f, w;

		if (show_proc(sock, &m, &r, &f, &w, &e2) == 0 && w != 0)
			return 0;
		if (paas_now_ms() >= deadline)
			return paas_err_set(err, PAAS_EFAILED, "haproxy started but its master socket "
			    "%s does not answer", sock);
		paas_sleep_ms(10);
	}
}

/* One runtime command to the current worker: 0 when its answer has ok,
 * else -1 with the answer's first line. */
static int
cert_cmd(const char *sock, const char *cmd, const char *ok, const char *what,
    struct paas_err *err)
{
	char *out = NULL;
	int rc;

	if (paas_haproxy_cli(sock, cmd, &out, err) < 0)
		return -1;
	rc = out && strstr(out, ok) ? 0 : paas_err_set(err, PAAS_EFAILED, "haproxy: %s: %.*s", what,
	    out ? (int)strcspn(out, "\n") : 0, out ? out : "");
	free(out);
	return rc;
}

int
paas_haproxy_cert_update(const char *sock, const char *list, const char *path, int how,
    struct paas_err *err)
{
	struct paas_buf c = PAAS_BUF_INIT;
	char *pem = NULL;
	size_t n = 0;
	int rc = -1;

	if (how == PAAS_CERT_REMOVED) {
		paas_buf_addf(&c, "@1 del ssl crt-list %s %s", list, path);
		if (cert_cmd(sock, c.data, "deleted", "del ssl crt-list", err) == 0) {
			paas_buf_reset(&c);
			paas_buf_addf(&c, "@1 del ssl cert %s", path);
			rc = cert_cmd(sock, c.data, "deleted", "del ssl cert", err);
		}
		paas_buf_free(&c);
		return rc;
	}
	if (paas_read_file(path, 1 << 20, &pem, &n, err) < 0)
		return -1;
	if (how == PAAS_CERT_ADDED) {
		paas_buf_addf(&c, "@1 new ssl cert %s", path);
		if (cert_cmd(sock, c.data, "New empty", "new ssl cert", err) < 0)
			goto out;
		paas_buf_reset(&c);
	}
	/* The payload ends with an empty line: the PEM's own last newline
	 * and the one the CLI adds. */
	paas_buf_addf(&c, "@1 set ssl cert %s <<\n%s", path, pem);
	if (pem[n - 1] != '\n')
		paas_buf_adds(&c, "\n");
	if (cert_cmd(sock, c.data, "Transaction", "set ssl cert", err) < 0)
		goto out;
	paas_buf_reset(&c);
	paas_buf_addf(&c, "@1 commit ssl cert %s", path);
	if (cert_cmd(sock, c.data, "Success", "commit ssl cert", err) < 0)
		goto out;
	if (how == PAAS_CERT_ADDED) {
		paas_buf_reset(&c);
		paas_buf_addf(&c, "@1 add ssl crt-list %s %s", list, path);
		if (cert_cmd(sock, c.data, "Success", "add ssl crt-list", err) < 0)
			goto out;
	}
	rc = 0;
out:
	if (c.data)
		explicit_bzero(c.data, c.len);
	paas_buf_free(&c);
	paas_secret_free(pem);
	return rc;
}
