#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
#include "daemon.h"
#include "route.h"

extern char **environ;

int
paas_route_read(struct paas_etcd *e, json_t **routes, json_t **servers,
    int64_t *rev, json_t *skipped, struct paas_err *err)
{
	struct paas_kv_list r, a;
	size_t i;

	*routes = *servers = NULL;
	if (paas_etcd_range(e, PAAS_ROUTES_PREFIX, 0, 0, &r, err) < 0)
		return -1;
	if (paas_etcd_range(e, PAAS_ANNOUNCE_PREFIX, 0, 0, &a, err) < 0) {
		paas_kv_list_free(&r);
		return -1;
	}
	*routes = json_object();
	*servers = json_array();
	for (i = 0; i < r.n; i++) {
		json_t *v = json_loadb(r.kvs[i].value, r.kvs[i].value_len, 0, NULL);
		const char *domain = r.kvs[i].key + strlen(PAAS_ROUTES_PREFIX);

		if (json_is_object(v))
			json_object_set_new(*routes, domain, v);
		else {
			json_decref(v);
			if (skipped)
				json_array_append_new(skipped, json_sprintf("%.200s: not a JSON "
				    "object", r.kvs[i].key));
		}
	}
	for (i = 0; i < a.n; i++) {
		json_t *v = json_loadb(a.kvs[i].value, a.kvs[i].value_len, 0, NULL);

		if (json_is_object(v))
			json_array_append_new(*servers, v);
		else {
			json_decref(v);
			if (skipped)
				json_array_append_new(skipped, json_sprintf("%.200s: not a JSON "
				    "object", a.kvs[i].key));
		}
	}
	if (rev)
		*rev = a.revision > r.revision ? a.revision : r.revision;
	paas_kv_list_free(&r);
	paas_kv_list_free(&a);
	return 0;
}

int
paas_routers_applied(struct paas_etcd *e, int64_t *min_rev, size_t *n,
    struct paas_err *err)
{
	struct paas_kv_list l;
	size_t i;

	*min_rev = INT64_MAX;
	*n = 0;
	if (paas_etcd_range(e, PAAS_ROUTERS_PREFIX, 0, 0, &l, err) < 0)
		return -1;
	for (i = 0; i < l.n; i++) {
		json_t *v = json_loadb(l.kvs[i].value, l.kvs[i].value_len, 0, NULL);
		int64_t r = json_integer_value(json_object_get(v, "revision"));

		json_decref(v);
		if (r < *min_rev)
			*min_rev = r;
		(*n)++;
	}
	paas_kv_list_free(&l);
	return 0;
}

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

/* From "show proc": the master's reload and failure counts and the PID of
 * the current worker (the first one under "# workers"). */
static int
parse_proc(const char *s, long *reloads, long *failed, long *worker)
{
	const char *p;
	int in_workers = 0;

	*reloads = *failed = -1;
	*worker = 0;
	for (p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		long pid, r, f;

		if (strncmp(p, "# workers", 9) == 0)
			in_workers = 1;
		else if (*p == '#')
			in_workers = 0;
		else if (sscanf(p, "%ld master %ld [failed: %ld]", &pid, &r, &f) == 3) {
			*reloads = r;
			*failed = f;
		} else if (in_workers && *worker == 0 && sscanf(p, "%ld worker", &pid) == 1)
			*worker = pid;
	}
	return *reloads >= 0 ? 0 : -1;
}

static int
show_proc(const char *sock, long *reloads, long *failed, long *worker,
    struct paas_err *err)
{
	char *out;
	int rc;

	if (paas_haproxy_cli(sock, "show proc", &out, err) < 0)
		return -1;
	rc = parse_proc(out, reloads, failed, worker);
	free(out);
	if (rc < 0)
		return paas_err_set(err, PAAS_EFAILED, "haproxy master socket %s: 'show proc' "
		    "answer not understood", sock);
	return 0;
}

int
paas_haproxy_reload(const char *sock, long timeout_ms, struct paas_err *err)
{
	long r0, f0, w0, r, f, w, deadline;

	if (timeout_ms <= 0)
		timeout_ms = 10000;
	deadline = paas_now_ms() + timeout_ms;
	if (show_proc(sock, &r0, &f0, &w0, err) < 0)
		return -1;
	if (paas_haproxy_cli(sock, "reload", NULL, err) < 0)
		return -1;
	/* The master re-executes itself: its socket may be gone for a moment. */
	for (;;) {
		struct paas_err e2 = PAAS_ERR_INIT;

		if (show_proc(sock, &r, &f, &w, &e2) == 0 && r > r0) {
			if (f > f0)
				return paas_err_set(err, PAAS_EFAILED, "haproxy failed to reload "
				    "(see its log); the previous workers still serve");
			if (w != 0 && w != w0)
				return 0;
		}
		if (paas_now_ms() >= deadline)
			return paas_err_set(err, PAAS_EFAILED, "haproxy did not start a new worker "
			    "within %ld ms of the reload", timeout_ms);
		paas_sleep_ms(5);
	}
}

/* Run argv with stdout and stderr collected into out; returns the exit
 * status (or -1 with err set when it could not run). */
static int
run(char *const argv[], struct paas_buf *out, struct paas_err *err)
{
	posix_spawn_file_actions_t fa;
	char chunk[4096];
	int pfd[2], st, rc;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return paas_err_set(err, PAAS_EFAILED, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		return paas_err_set(err, PAAS_EFAILED, "cannot run %s: %s", argv[0], strerror(rc));
	}
	while ((n = read(pfd[0], chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && out->len < 65536)
			paas_buf_add(out, chunk, (size_t)n);
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return paas_err_set(err, PAAS_EFAILED, "waitpid: %s", strerror(errno));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return paas_err_set(err, PAAS_EFAILED, "cannot run %s", argv[0]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
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

int
paas_route_install(const struct paas_route_apply_opts *o, const char *cfg,
    int *changed, struct paas_err *err)
{
	struct paas_buf staged = PAAS_BUF_INIT, out = PAAS_BUF_INIT, msg = PAAS_BUF_INIT;
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
	{
		char *argv[] = { (char *)hap, "-c", "-f", staged.data, NULL };

		st = run(argv, &out, err);
	}
	if (st != 0) {
		unlink(staged.data);
		if (st > 0) {
			alerts(out.data ? out.data : "", staged.data, o->config, &msg);
			paas_err_set(err, PAAS_EFAILED, "haproxy refused the new configuration, "
			    "%s is unchanged: %.700s", o->config, msg.data ? msg.data : "");
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
	paas_buf_free(&out);
	paas_buf_free(&msg);
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
	if ((st = run(argv, &out, err)) != 0) {
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
		long r, f, w;

		if (show_proc(sock, &r, &f, &w, &e2) == 0 && w != 0)
			return 0;
		if (paas_now_ms() >= deadline)
			return paas_err_set(err, PAAS_EFAILED, "haproxy started but its master socket "
			    "%s does not answer", sock);
		paas_sleep_ms(10);
	}
}
