/*
 * A one-off container of a deployment's service (paas-deploy exec): its
 * current release's image and environment, secrets included (the kept
 * values of the release, else this process's environment), on one host;
 * its output streamed, its exit status handed back, the container removed.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "clock.h"
#include "docker.h"
#include "etcd.h"
#include "exec.h"
#include "file.h"
#include "hosts.h"
#include "labels.h"
#include "private.h"
#include "registry.h"
#include "release.h"
#include "secrets.h"
#include "spec.h"
#include "valid.h"

#define EXEC_TIMEOUT_MS	60000

/* The host named, or the first by name whose Docker answers. */
static const json_t *
pick_host(const json_t *hosts, const char *name, struct paas_docker **d, struct paas_err *err)
{
	const json_t *h;
	size_t i;

	json_array_foreach(hosts, i, h) {
		const char *n = json_string_value(json_object_get(h, "name"));
		struct paas_err e2 = PAAS_ERR_INIT;

		if (name && strcmp(name, n ? n : ""))
			continue;
		if ((*d = paas_host_docker(h, EXEC_TIMEOUT_MS, &e2)) != NULL &&
		    paas_docker_ping(*d, &e2) == 0)
			return h;
		paas_docker_free(*d);
		*d = NULL;
		if (name) {
			paas_err_set(err, PAAS_EUNAVAIL, "host %s: %s", name, e2.msg);
			return NULL;
		}
	}
	if (name)
		paas_err_set(err, PAAS_EINVAL, "no host %.64s is registered", name);
	else
		paas_err_set(err, PAAS_EUNAVAIL, "no registered host answers");
	return NULL;
}

/* The image on the host, pulled (with the cluster registry's credentials)
 * when it is not. */
static int
have_image(struct paas_etcd *e, struct paas_docker *d, const char *image, struct paas_err *err)
{
	json_t *info = NULL, *reg = NULL;
	char *auth = NULL;
	int rc;

	if (paas_docker_image_inspect(d, image, &info, err) < 0)
		return -1;
	if (info) {
		json_decref(info);
		return 0;
	}
	if (paas_registry_get(e, &reg, err) < 0 || (reg && paas_registry_auth(json_string_value(
	    json_object_get(reg, "address")), &auth, err) < 0)) {
		json_decref(reg);
		return -1;
	}
	rc = paas_docker_image_pull_auth(d, image, auth, err);
	if (auth)
		paas_secret_free(auth);
	json_decref(reg);
	return rc;
}

/* Sets stop when the caller cancels, or late and stop at the deadline. */
struct watch {
	volatile sig_atomic_t *cancel, stop, late, done;
	long long until;
};

static void *
watchdog(void *arg)
{
	struct watch *w = arg;

	while (!w->done && !w->stop) {
		if (w->cancel && *w->cancel)
			w->stop = 1;
		else if (w->until && paas_now_ms() >= w->until)
			w->late = w->stop = 1;
		else
			paas_sleep_ms(50);
	}
	return NULL;
}

/* The terminal's size of fd into the container's, when it has one. */
static void
resize(const struct paas_exec_opts *o, struct paas_docker *d, const char *id)
{
	struct paas_err e2 = PAAS_ERR_INIT;
	struct winsize ws;

	if (o->tty && ioctl(o->in_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
		paas_docker_resize(d, id, ws.ws_row, ws.ws_col, &e2);
}

/* Out of Docker's frames ([stream, 0, 0, 0, size (big-endian)] and size
 * bytes) as they come in buf, to out_fd or err_fd. */
struct demux {
	unsigned char head[8];
	size_t have;			/* bytes of head */
	uint32_t left;			/* of the frame's payload */
	int fd;
};

static void
demux(const struct paas_exec_opts *o, struct demux *m, const char *buf, size_t n)
{
	while (n) {
		if (m->left == 0) {
			m->head[m->have++] = (unsigned char)*buf++;
			n--;
			if (m->have == 8) {
				m->left = (uint32_t)m->head[4] << 24 | (uint32_t)m->head[5] << 16 |
				    (uint32_t)m->head[6] << 8 | m->head[7];
				m->fd = m->head[0] == 2 ? o->err_fd : o->out_fd;
				m->have = 0;
			}
			continue;
		}
		{
			size_t k = n < m->left ? n : m->left;

			paas_write_all(m->fd, buf, k);
			buf += k;
			n -= k;
			m->left -= (uint32_t)k;
		}
	}
}

/* Attached, started, its terminal sized; in_fd to it and its output out,
 * until it closes the stream; *code its exit status. */
static int
interact(const struct paas_exec_opts *o, const json_t *h, struct paas_docker *d,
    const char *id, int64_t *code, struct paas_err *err)
{
	struct paas_http_conn *k = NULL;
	struct paas_docker *da;
	struct termios saved, raw;
	struct demux m = { { 0 }, 0, 0, 1 };
	int in_open = 1, rawed = 0, rc = -1;
	char buf[16384];

	if ((da = paas_host_docker(h, 0, err)) == NULL)
		return -1;
	if (paas_docker_attach(da, id, &k, err) < 0 || paas_docker_start(d, id, err) < 0)
		goto out;
	resize(o, d, id);
	if (o->tty && isatty(o->in_fd) && tcgetattr(o->in_fd, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		rawed = tcsetattr(o->in_fd, TCSANOW, &raw) == 0;
	}
	for (;;) {
		struct pollfd p[2] = { { paas_http_conn_fd(k), POLLIN, 0 }, { o->in_fd, POLLIN, 0 } };
		size_t n;
		int r;

		if (o->resized && *o->resized) {
			*o->resized = 0;
			resize(o, d, id);
		}
		if (o->cancel && *o->cancel) {
			struct paas_err e2 = PAAS_ERR_INIT;

			paas_docker_kill(d, id, "SIGTERM", &e2);
		}
		/* What is there already (TLS keeps some past the socket's). */
		while ((r = paas_http_conn_recv(k, buf, sizeof(buf), &n, err)) == 0 && n > 0) {
			if (o->tty)
				paas_write_all(o->out_fd, buf, n);
			else
				demux(o, &m, buf, n);
		}
		if (r < 0 || (r == 0 && n == 0))
			break;		/* its end (or the connection's) */
		paas_err_clear(err);
		if (poll(p, in_open ? 2 : 1, 100) < 0 && errno != EINTR)
			break;
		if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t got = read(o->in_fd, buf, sizeof(buf));

			if (got > 0 && paas_http_conn_send(k, buf, (size_t)got, err) < 0)
				break;
			if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
				in_open = 0;
				/* Its input ends with ours; a terminal's ends with Ctrl-D. */
				if (!o->tty)
					shutdown(paas_http_conn_fd(k), SHUT_WR);
			}
		}
	}
	paas_err_clear(err);
	rc = paas_docker_wait(d, id, code, err);
out:
	if (rawed)
		tcsetattr(o->in_fd, TCSANOW, &saved);
	paas_http_conn_close(k);
	paas_docker_free(da);
	return rc;
}

int
paas_exec_run(const struct paas_exec_opts *o, int *status, struct paas_err *err)
{
	struct watch w = { NULL, 0, 0, 0, 0 };
	pthread_t th;
	int watching = 0;
	struct paas_etcd *e;
	struct paas_docker *d = NULL, *ds = NULL;
	const json_t *svc, *h;
	json_t *rec = NULL, *vars = NULL, *env = NULL, *hosts = NULL, *cfg = NULL, *v, *envl, *cmd;
	const char *k, *image;
	char *id = NULL, rel[32];
	int64_t cur = 0, code = -1;
	size_t i;
	int rc = -1;

	*status = -1;
	if (!paas_valid_name(o->deployment) || !paas_valid_name(o->service))
		return paas_err_set(err, PAAS_EINVAL, "invalid deployment or service name");
	if ((e = o->e ? o->e : paas_etcd_new(o->etcd, NULL, err)) == NULL)
		return -1;
	if (o->spec) {
		rec = json_pack("{s:O}", "spec", o->spec);
		cur = o->release;
		vars = o->vars ? json_deep_copy(o->vars) : NULL;
		if ((svc = json_object_get(json_object_get(o->spec, "services"), o->service)) == NULL) {
			paas_err_set(err, PAAS_EINVAL, "no service %s", o->service);
			goto out;
		}
	} else if (paas_release_require(e, o->deployment, &cur, &rec, err) < 0 ||
	    (svc = paas_release_service(rec, o->deployment, o->service, err)) == NULL)
		goto out;
	if ((image = json_string_value(json_object_get(svc, "image"))) == NULL) {
		paas_err_set(err, PAAS_EFAILED, "service %s has no image (not built)", o->service);
		goto out;
	}
	/* The release's own values first, then ours, as a rollout. */
	if (!o->spec && paas_secrets_get(e, o->deployment, cur, &vars, err) < 0)
		goto out;
	env = paas_spec_service_env(json_object_get(rec, "spec"), svc, NULL);
	envl = json_array();
	json_object_foreach(env, k, v) {
		char *x, what[300];

		snprintf(what, sizeof(what), "service %s: env %s", o->service, k);
		if (paas_spec_expand(what, json_string_value(v), vars, &x, err) < 0) {
			json_decref(envl);
			goto out;
		}
		json_array_append_new(envl, json_sprintf("%s=%s", k, x));
		paas_secret_free(x);
	}
	snprintf(rel, sizeof(rel), "%lld", (long long)cur);
	json_array_append_new(envl, json_sprintf("PAAS_DEPLOYMENT=%s", o->deployment));
	json_array_append_new(envl, json_sprintf("PAAS_SERVICE=%s", o->service));
	json_array_append_new(envl, json_sprintf("PAAS_RELEASE=%s", rel));
	json_array_append_new(envl, json_string("PAAS_INSTANCE=run"));
	if (o->argv && o->argv[0]) {
		cmd = json_array();
		for (i = 0; o->argv[i]; i++)
			json_array_append_new(cmd, json_string(o->argv[i]));
	} else
		cmd = json_deep_copy(json_object_get(svc, "cmd"));
	if (paas_host_list(e, &hosts, err) < 0 || (h = pick_host(hosts, o->host, &d, err)) == NULL) {
		json_decref(envl);
		json_decref(cmd);
		goto out;
	}
	json_array_append_new(envl, json_sprintf("PAAS_HOST=%s",
	    json_string_value(json_object_get(h, "name"))));
	/* Labelled as a run, not as an instance: no agent announces it, no
	 * rollout counts it. */
	cfg = json_pack("{s:s, s:o, s:o, s:o, s:{s:b}}", "Image", image, "Env", envl,
	    "Cmd", json_is_array(cmd) ? cmd : json_array(), "Labels",
	    paas_labels_run(o->deployment, o->service, cur), "HostConfig",
	    "Init", 1);
	if (!json_is_array(cmd))
		json_decref(cmd);
	if (json_array_size(json_object_get(cfg, "Cmd")) == 0)
		json_object_del(cfg, "Cmd");
	if (o->interactive) {
		json_object_set_new(cfg, "Tty", json_boolean(o->tty));
		json_object_set_new(cfg, "OpenStdin", json_true());
		json_object_set_new(cfg, "StdinOnce", json_true());
		json_object_set_new(cfg, "AttachStdin", json_true());
		json_object_set_new(cfg, "AttachStdout", json_true());
		json_object_set_new(cfg, "AttachStderr", json_true());
	}
	if (have_image(e, d, image, err) < 0 || paas_docker_create(d, NULL, cfg, &id, err) < 0)
		goto host_fail;
	if (o->interactive) {
		if (interact(o, h, d, id, &code, err) < 0)
			goto host_fail;
		*status = (int)code;
		rc = 0;
		goto out;
	}
	if (paas_docker_start(d, id, err) < 0)
		goto host_fail;
	/* The output on its own connection, which follow keeps open until the
	 * container ends (or o->cancel, or the deadline). */
	w.cancel = o->cancel;
	w.until = o->timeout_ms > 0 ? paas_now_ms() + o->timeout_ms : 0;
	watching = pthread_create(&th, NULL, watchdog, &w) == 0;
	if ((ds = paas_host_docker_cancel(h, 0, &w.stop, err)) == NULL ||
	    paas_docker_logs_stream(ds, id, 1, 0, 0, 0, o->out, o->arg, err) < 0) {
		if (!w.stop)
			goto host_fail;
		paas_err_clear(err);
	}
	if (w.stop) {
		struct paas_err e2 = PAAS_ERR_INIT;

		paas_docker_kill(d, id, w.late ? "SIGKILL" : "SIGTERM", &e2);
	}
	if (w.late) {
		paas_err_set(err, PAAS_EFAILED, "service %s: stopped after its %ld s", o->service,
		    o->timeout_ms / 1000);
		goto out;
	}
	if (paas_docker_wait(d, id, &code, err) < 0)
		goto host_fail;
	*status = (int)code;
	rc = 0;
	goto out;
host_fail:
	paas_err_wrap(err, "host %s", json_string_value(json_object_get(h, "name")));
out:
	if (watching) {
		w.done = 1;
		pthread_join(th, NULL);
	}
	if (id && d) {
		struct paas_err e2 = PAAS_ERR_INIT;

		paas_docker_remove(d, id, 1, &e2);
	}
	free(id);
	paas_docker_free(d);
	paas_docker_free(ds);
	json_decref(cfg);
	json_decref(hosts);
	json_decref(env);
	json_decref(vars);
	json_decref(rec);
	if (e != o->e)
		paas_etcd_free(e);
	return rc;
}
