/*
 * A component of the cluster on this machine: etcd, the registry, the
 * agent, the router (and HAProxy, the router's child), each a process with
 * NAME.pid and NAME.log in the state directory, or, in a cluster of units
 * (paas-cluster up --systemd), systemd's paas-NAME.service with its
 * settings in /etc/default/paas-NAME (unittext.h).  Started, awaited until
 * ready, found running, stopped.  See component.h.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "component.h"
#include "daemon.h"
#include "etcd.h"
#include "file.h"
#include "unittext.h"

/* The last n lines of a log, on one line, for an error message. */
static void
log_tail(const char *path, int n, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	char *lines[16] = { 0 }, *line = NULL;
	size_t cap = 0, i, k = 0, used = 0;

	out[0] = '\0';
	if (f == NULL)
		return;
	if (n > 16)
		n = 16;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		free(lines[k % (size_t)n]);
		lines[k % (size_t)n] = paas_xstrdup(line);
		k++;
	}
	free(line);
	fclose(f);
	for (i = k > (size_t)n ? k - (size_t)n : 0; i < k; i++) {
		const char *l = lines[i % (size_t)n];
		int w = snprintf(out + used, size - used, "%s%s", used ? " | " : "", l);

		if (w < 0 || (size_t)w >= size - used)
			break;
		used += (size_t)w;
	}
	for (i = 0; i < (size_t)n; i++)
		free(lines[i]);
}

char *
paas_component_program(const char *name)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *p;

	if (n <= 0)
		return paas_xstrdup(name);
	self[n] = '\0';
	p = paas_path_join(dirname(self), name);
	if (access(p, X_OK) == 0)
		return p;
	free(p);
	return paas_xstrdup(name);
}

/* Wait until the process is ready (ready() returns 1), failing early with
 * its log when it is gone. */
static int
await(const struct paas_component_env *env, const char *what, const char *pidfile,
    const char *prog_name, const char *logfile, long ms,
    int (*ready)(const struct paas_component_env *, void *), void *arg, struct paas_err *err)
{
	long long until = paas_now_ms() + ms;
	char tail[600];

	for (;;) {
		/* Ready, and still ours: not another process on the same port. */
		if (ready(env, arg) == 1 && paas_daemon_alive(pidfile, prog_name))
			return 0;
		if (!paas_daemon_alive(pidfile, prog_name)) {
			/* Exited: one more look, it may have gone after being ready. */
			log_tail(logfile, 4, tail, sizeof(tail));
			return paas_err_set(err, PAAS_EFAILED, "%s exited; the end of %s: %s", what,
			    logfile, tail[0] ? tail : "(empty)");
		}
		if (paas_now_ms() >= until) {
			log_tail(logfile, 4, tail, sizeof(tail));
			return paas_err_set(err, PAAS_EFAILED, "%s did not become ready in %ld s; the "
			    "end of %s: %s", what, ms / 1000, logfile, tail[0] ? tail : "(empty)");
		}
		paas_sleep_ms(100);
	}
}

int
paas_component_etcd_ready(const struct paas_component_env *env, void *arg)
{
	struct paas_http_opts ho = { .connect_timeout_ms = 500, .timeout_ms = 1000 };
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_etcd *e = paas_etcd_new(env->etcd, &ho, &err);
	int ok;

	(void)arg;
	if (e == NULL)
		return 0;
	ok = paas_etcd_health(e, &err) == 0;
	paas_etcd_free(e);
	return ok;
}

int
paas_component_key_ready(const struct paas_component_env *env, void *arg)
{
	struct paas_http_opts ho = { .connect_timeout_ms = 500, .timeout_ms = 1000 };
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_etcd *e = paas_etcd_new(env->etcd, &ho, &err);
	struct paas_kv kv;
	int found = 0;

	if (e == NULL)
		return 0;
	if (paas_etcd_get(e, arg, &kv, &found, NULL, &err) == 0)
		paas_kv_clear(&kv);
	paas_etcd_free(e);
	return found;
}

/* systemctl VERB... paas-NAME.service (NULL-terminated verbs): 0, or -1
 * with its words in err. */
static int
systemctl(const char *name, struct paas_err *err, ...)
{
	struct paas_buf out = PAAS_BUF_INIT;
	char unit[64], *argv[8];
	const char *v;
	va_list ap;
	int n = 0, st;

	snprintf(unit, sizeof(unit), "paas-%s.service", name);
	argv[n++] = "systemctl";
	va_start(ap, err);
	while ((v = va_arg(ap, const char *)) != NULL && n < 6)
		argv[n++] = (char *)v;
	va_end(ap);
	argv[n++] = unit;
	argv[n] = NULL;
	if ((st = paas_run_cmd(argv, &out, err)) > 0) {
		paas_buf_rstrip(&out, "\n ");
		paas_err_set(err, PAAS_EFAILED, "systemctl %s %s: %s", argv[1], unit,
		    out.len ? out.data : "failed");
	}
	paas_buf_free(&out);
	return st == 0 ? 0 : -1;
}

static int
unit_active(const char *name)
{
	struct paas_err err = PAAS_ERR_INIT;

	return systemctl(name, &err, "is-active", "--quiet", NULL) == 0;
}

static pid_t
unit_pid(const char *name)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_buf out = PAAS_BUF_INIT;
	char unit[64];
	char *argv[] = { "systemctl", "show", "--property=MainPID", "--value", unit, NULL };
	pid_t pid = 0;

	snprintf(unit, sizeof(unit), "paas-%s.service", name);
	if (paas_run_cmd(argv, &out, &err) == 0 && out.data)
		pid = (pid_t)atol(out.data);
	paas_buf_free(&out);
	/* Active with no main process yet: still a "yes". */
	return pid > 0 ? pid : 1;
}

/* launch() under systemd: the settings written, the unit enabled and
 * started, then waited for as a process would be. */
static int
unit_launch(const struct paas_component_env *env, const struct paas_component *c,
    char *const argv[], struct paas_err *err)
{
	struct paas_buf b = PAAS_BUF_INIT;
	long long until = paas_now_ms() + c->ready_ms;
	char path[128];
	int rc = -1;

	snprintf(path, sizeof(path), PAAS_HOST_DEFAULTS "/paas-%s", c->name);
	if (paas_unittext_settings_local(paas_unittext_kind_of(c->name), c->what, argv, env->dir, &b,
	    err) < 0 ||
	    paas_file_replace(path, b.data, b.len, 0644, err) < 0 ||
	    systemctl(c->name, err, "enable", "--quiet", NULL) < 0 ||
	    systemctl(c->name, err, "restart", NULL) < 0)
		goto out;
	for (;;) {
		if (c->ready(env, c->arg) == 1 && unit_active(c->name))
			break;
		if (systemctl(c->name, err, "is-failed", "--quiet", NULL) == 0) {
			paas_err_set(err, PAAS_EFAILED, "%s failed under systemd: journalctl -u "
			    "paas-%s.service says why", c->what, c->name);
			goto out;
		}
		paas_err_clear(err);
		if (paas_now_ms() >= until) {
			paas_err_set(err, PAAS_EFAILED, "%s did not become ready in %ld s: "
			    "journalctl -u paas-%s.service says why", c->what, c->ready_ms / 1000,
			    c->name);
			goto out;
		}
		paas_sleep_ms(100);
	}
	paas_component_report(env, c->name, "started", unit_pid(c->name), c->detail);
	rc = 0;
out:
	paas_buf_free(&b);
	return rc;
}

int
paas_component_systemd_check(const struct paas_component_env *env, const char *const *names,
    size_t n, struct paas_err *err)
{
	size_t i;

	if (access("/run/systemd/system", F_OK) != 0)
		return paas_err_set(err, PAAS_EFAILED, "--systemd: systemd does not run this "
		    "machine (no /run/systemd/system)");
	if (!paas_unittext_word(env->dir))
		return paas_err_set(err, PAAS_EINVAL, "--systemd: the state directory %.200s may "
		    "not hold spaces, quotes, backslashes or $", env->dir);
	for (i = 0; i < n; i++)
		if (systemctl(names[i], err, "cat", NULL) < 0)
			return paas_err_set(err, PAAS_EFAILED, "--systemd: unit paas-%s.service is "
			    "not installed (make install puts it in PREFIX/lib/systemd/system)",
			    names[i]);
	return 0;
}

int
paas_component_disable(const char *name, struct paas_err *err)
{
	return systemctl(name, err, "disable", "--quiet", NULL);
}

void
paas_component_report(const struct paas_component_env *env, const char *component,
    const char *state, pid_t pid, const char *detail)
{
	json_t *o;

	if (env->event == NULL)
		return;
	o = json_pack("{s:s, s:s, s:s}", "kind", "component", "component", component, "state",
	    state);
	if (pid)
		json_object_set_new(o, "pid", json_integer(pid));
	if (detail)
		json_object_set_new(o, "detail", json_string(detail));
	env->event(o, env->arg);
	json_decref(o);
}

pid_t
paas_component_alive(const struct paas_component_env *env, const char *name, const char *prog)
{
	char *pidfile;
	pid_t pid;

	if (env->systemd)
		return unit_active(name) ? unit_pid(name) : 0;
	if (asprintf(&pidfile, "%s/%s.pid", env->dir, name) < 0)
		abort();
	pid = paas_daemon_alive(pidfile, prog);
	free(pidfile);
	return pid;
}

int
paas_component_running(const struct paas_component_env *env, const struct paas_component *c)
{
	pid_t pid = paas_component_alive(env, c->name, c->prog);

	if (pid)
		paas_component_report(env, c->name, "running", pid, c->detail);
	return pid != 0;
}

int
paas_component_launch(const struct paas_component_env *env, const struct paas_component *c,
    char *const argv[], struct paas_err *err)
{
	char *pidfile, *log;
	pid_t pid;
	int rc = -1;

	if (env->systemd)
		return unit_launch(env, c, argv, err);
	if (asprintf(&pidfile, "%s/%s.pid", env->dir, c->name) < 0 ||
	    asprintf(&log, "%s/%s.log", env->dir, c->name) < 0)
		abort();
	if (paas_daemon_start(argv, log, pidfile, &pid, err) == 0 &&
	    await(env, c->what, pidfile, c->prog, log, c->ready_ms, c->ready, c->arg, err) == 0) {
		paas_component_report(env, c->name, "started", pid, c->detail);
		rc = 0;
	}
	free(pidfile);
	free(log);
	return rc;
}

int
paas_component_stop(const struct paas_component_env *env, const char *component,
    const char *file, const char *prog_name, struct paas_err *err)
{
	char *pidfile;
	pid_t was = 0;
	int rc;

	/* HAProxy is the router unit's child, which it outlives. */
	if (env->systemd && strcmp(component, "haproxy") != 0) {
		was = unit_active(component) ? unit_pid(component) : 0;
		if ((rc = systemctl(component, err, "stop", NULL)) == 0)
			paas_component_report(env, component, was ? "stopped" : "not-running", was, NULL);
		return rc;
	}
	pidfile = paas_path_join(env->dir, file);
	rc = paas_daemon_stop(pidfile, prog_name, PAAS_COMPONENT_STOP_MS, &was, err);

	if (rc == 0)
		paas_component_report(env, component, was ? "stopped" : "not-running", was, NULL);
	free(pidfile);
	return rc;
}
