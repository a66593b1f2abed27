/*
 * The Docker target (target.h): one Engine API client per host; an
 * instance is a container that carries its deployment, service, instance,
 * release and version as labels, so that what runs can always be found
 * again by label, whatever happened to the run that started it.
 */
#include <errno.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "docker.h"
#include "hosts.h"
#include "jsonx.h"
#include "labels.h"
#include "ssh.h"
#include "target.h"

#define CREATE_TRIES	5

struct docker_target {
	struct paas_target base;
	const json_t *hosts;
	struct paas_docker **d;
	size_t n;
};

static struct docker_target *
dt(struct paas_target *t)
{
	return (struct docker_target *)t;
}

static const char *
host_name(struct docker_target *t, size_t h)
{
	return json_string_value(json_object_get(json_array_get(t->hosts, h), "name"));
}

static int
d_list(struct paas_target *t, size_t h, json_t **out, struct paas_err *err)
{
	static const char *const label[] = { PAAS_LABEL_DEPLOYMENT, NULL };
	json_t *list, *c, *p;
	size_t j, k;

	*out = NULL;
	if (paas_docker_containers(dt(t)->d[h], label, 1, &list, err) < 0)
		return -1;
	*out = json_array();
	json_array_foreach(list, j, c) {
		struct paas_labels l;
		const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
		json_t *ports = json_object(), *host_ports = json_array();

		paas_labels_read(json_object_get(c, "Labels"), &l);
		json_array_foreach(json_object_get(c, "Ports"), k, p) {
			char pp[16];

			if (!json_integer_value(json_object_get(p, "PublicPort")))
				continue;
			json_array_append(host_ports, json_object_get(p, "PublicPort"));
			snprintf(pp, sizeof(pp), "%lld",
			    (long long)json_integer_value(json_object_get(p, "PrivatePort")));
			json_object_set(ports, pp, json_object_get(p, "PublicPort"));
		}
		json_array_append_new(*out, json_pack("{s:s, s:s, s:b, s:s, s:I, s:s, s:s, s:s, s:s, "
		    "s:I, s:I, s:I, s:o, s:o}", "id", paas_json_str(c, "Id", ""),
		    "name", name ? name + (*name == '/') : paas_json_str(c, "Id", ""),
		    "running", strcmp(paas_json_str(c, "State", ""), "running") == 0,
		    "state", paas_json_str(c, "State", ""),
		    "created", json_integer_value(json_object_get(c, "Created")),
		    "deployment", l.deployment ? l.deployment : "",
		    "service", l.service ? l.service : "",
		    "instance", l.instance ? l.instance : "",
		    "version", l.version ? l.version : "",
		    "release", (json_int_t)(l.release ? strtoll(l.release, NULL, 10) : 0),
		    "cpu_milli", (json_int_t)l.cpu_milli,
		    "memory_bytes", (json_int_t)l.memory_bytes,
		    "ports", ports, "host_ports", host_ports));
	}
	json_decref(list);
	return 0;
}

static int
d_image(struct paas_target *t, size_t h, const char *image, const char *auth, char **id,
    struct paas_err *err)
{
	struct paas_docker *d = dt(t)->d[h];
	json_t *info = NULL;

	*id = NULL;
	if (paas_docker_image_inspect(d, image, &info, err) < 0)
		return -1;
	if (info == NULL) {
		if (paas_docker_image_pull_auth(d, image, auth, err) < 0)
			return paas_err_wrap(err, "image %s is not on host %s and cannot be pulled",
			    image, host_name(dt(t), h));
		if (paas_docker_image_inspect(d, image, &info, err) < 0)
			return -1;
	}
	*id = paas_xstrdup(paas_json_str(info, "Id", ""));
	json_decref(info);
	return 0;
}

/* The body of POST /containers/create for is. */
static json_t *
container_config(const struct paas_instance_spec *is, const char *bind_ip)
{
	const json_t *svc = is->svc, *res = json_object_get(svc, "resources"), *v;
	json_t *envl = json_array(), *labels, *exposed = json_object(), *bindings = json_object();
	json_t *mounts = json_array(), *hc, *cfg;
	const char *k, **names;
	size_t i, n;

	json_array_append_new(envl, json_sprintf("PAAS_DEPLOYMENT=%s", is->deployment));
	json_array_append_new(envl, json_sprintf("PAAS_SERVICE=%s", is->service));
	json_array_append_new(envl, json_sprintf("PAAS_INSTANCE=%s", is->instance));
	json_array_append_new(envl, json_sprintf("PAAS_HOST=%s", is->host));
	json_array_append_new(envl, json_sprintf("PAAS_RELEASE=%" PRId64, is->release));
	json_array_append_new(envl, json_sprintf("PAAS_ETCD=%s", is->etcd));
	names = paas_json_keys(is->env, &n);
	for (i = 0; i < n; i++)
		json_array_append_new(envl, json_sprintf("%s=%s", names[i],
		    json_string_value(json_object_get(is->env, names[i]))));
	free(names);
	labels = paas_labels_instance(is->deployment, is->service, is->instance, is->release,
	    is->version, (long long)json_integer_value(json_object_get(res, "cpu_milli")),
	    (long long)json_integer_value(json_object_get(res, "memory_bytes")));
	json_object_foreach((json_t *)is->ports, k, v) {
		char *pk;

		if (asprintf(&pk, "%s/tcp", k) < 0)
			abort();
		json_object_set_new(exposed, pk, json_object());
		json_object_set_new(bindings, pk, json_pack("[{s:s, s:o}]", "HostIp", bind_ip,
		    "HostPort", json_sprintf("%lld", (long long)json_integer_value(v))));
		free(pk);
	}
	json_object_foreach((json_t *)json_object_get(svc, "volumes"), k, v)
		json_array_append_new(mounts, json_pack("{s:s, s:s++++, s:s}", "Type", "volume",
		    "Source", is->deployment, "-", is->service, "-", k, "Target", json_string_value(v)));
	hc = json_pack("{s:o, s:b, s:{s:s}, s:o}", "PortBindings", bindings, "Init", 1,
	    "RestartPolicy", "Name", json_string_value(json_object_get(svc, "restart")),
	    "Mounts", mounts);
	if (json_integer_value(json_object_get(res, "memory_bytes")))
		json_object_set(hc, "Memory", json_object_get(res, "memory_bytes"));
	if (json_integer_value(json_object_get(res, "cpu_milli")))
		json_object_set_new(hc, "NanoCpus",
		    json_integer(json_integer_value(json_object_get(res, "cpu_milli")) * 1000000));
	cfg = json_pack("{s:s, s:o, s:o, s:o, s:o}", "Image",
	    json_string_value(json_object_get(svc, "image")), "Env", envl, "Labels", labels,
	    "ExposedPorts", exposed, "HostConfig", hc);
	if (json_array_size(json_object_get(svc, "cmd")))
		json_object_set(cfg, "Cmd", json_object_get(svc, "cmd"));
	return cfg;
}

/*
 * Where a host's instances publish their ports: its address (state.h), the
 * one the routers and health checks use, and no other: loopback for the
 * local socket, the private address given for a remote host.  A name is
 * resolved here (Docker wants an IP).
 */
static int
bind_address(const json_t *host, char *ip, size_t size, struct paas_err *err)
{
	char *a = paas_host_address(host);
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(a, NULL, &hints, &res)) != 0 ||
	    getnameinfo(res->ai_addr, res->ai_addrlen, ip, (socklen_t)size, NULL, 0,
	    NI_NUMERICHOST) != 0) {
		paas_err_set(err, PAAS_EFAILED, "host %s: its address %s does not resolve%s%s",
		    json_string_value(json_object_get(host, "name")), a, rc ? ": " : "",
		    rc ? gai_strerror(rc) : "");
		rc = -1;
	}
	if (res)
		freeaddrinfo(res);
	free(a);
	return rc ? -1 : 0;
}

static int
d_start(struct paas_target *t, size_t h, const struct paas_instance_spec *is, char **id,
    char **name, int *port_taken, struct paas_err *err)
{
	struct paas_docker *d = dt(t)->d[h];
	struct paas_buf cname = PAAS_BUF_INIT;
	json_t *cfg;
	char ip[INET6_ADDRSTRLEN];
	int tries, rc = -1;

	*id = *name = NULL;
	*port_taken = 0;
	if (bind_address(json_array_get(dt(t)->hosts, h), ip, sizeof(ip), err) < 0)
		return -1;
	cfg = container_config(is, ip);
	paas_buf_addf(&cname, "%s.%s.%s.%.8s", is->deployment, is->service, is->instance,
	    is->version);
	for (tries = 0; ; tries++) {
		struct paas_err e2 = PAAS_ERR_INIT;

		if (paas_docker_create(d, cname.data, cfg, id, err) == 0)
			break;
		/* A run killed while Docker was creating it leaves the name
		 * taken by a container we have not seen: it is ours. */
		if (tries + 1 == CREATE_TRIES || strstr(err->msg, "is already in use") == NULL ||
		    paas_docker_remove(d, cname.data, 1, &e2) < 0)
			goto out;
		paas_err_clear(err);
	}
	if (paas_docker_start(d, *id, err) < 0) {
		struct paas_err ignore = PAAS_ERR_INIT;

		/* Something outside Docker may hold a port the plan picked. */
		if (strstr(err->msg, "already allocated") != NULL ||
		    strstr(err->msg, "address already in use") != NULL) {
			*port_taken = 1;
			paas_docker_remove(d, *id, 1, &ignore);
			free(*id);
			*id = NULL;
		}
		goto out;
	}
	*name = paas_buf_detach(&cname, NULL);
	rc = 0;
out:
	json_decref(cfg);
	paas_buf_free(&cname);
	return rc;
}

static int
d_exited(struct paas_target *t, size_t h, const char *id, struct paas_err *err)
{
	json_t *info = NULL;
	const json_t *st;
	int gone;

	if (paas_docker_inspect(dt(t)->d[h], id, &info, err) < 0)
		return 0;
	if (info == NULL) {
		paas_err_set(err, PAAS_EFAILED, "the container is gone");
		return 1;
	}
	st = json_object_get(info, "State");
	gone = !json_is_true(json_object_get(st, "Running")) ||
	    json_is_true(json_object_get(st, "Restarting"));
	if (gone)
		paas_err_set(err, PAAS_EFAILED, "the container exited with status %lld",
		    (long long)json_integer_value(json_object_get(st, "ExitCode")));
	json_decref(info);
	return gone;
}

static int
d_stop(struct paas_target *t, size_t h, const char *id, int timeout_s, struct paas_err *err)
{
	return paas_docker_stop(dt(t)->d[h], id, timeout_s, err);
}

static int
d_signal_stop(struct paas_target *t, size_t h, const char *id, struct paas_err *err)
{
	json_t *info = NULL;
	const char *sig;
	int rc;

	if (paas_docker_inspect(dt(t)->d[h], id, &info, err) < 0)
		return -1;
	if (info == NULL)
		return 0;
	sig = json_string_value(json_object_get(json_object_get(info, "Config"), "StopSignal"));
	rc = paas_docker_kill(dt(t)->d[h], id, sig && *sig ? sig : "SIGTERM", err);
	json_decref(info);
	return rc;
}

static int
d_remove(struct paas_target *t, size_t h, const char *id, struct paas_err *err)
{
	return paas_docker_remove(dt(t)->d[h], id, 1, err);
}

static int
d_logs(struct paas_target *t, size_t h, const char *id, int lines, struct paas_buf *out,
    struct paas_err *err)
{
	return paas_docker_logs(dt(t)->d[h], id, lines, out, err);
}

/* On the local host (a unix socket), a port anything listens on cannot be
 * bound: another Docker's published ports, another cluster's, a daemon's.
 * Elsewhere nobody can tell without trying, which start does. */
static int
d_port_free(struct paas_target *t, size_t h, long long p)
{
	const char *url = json_string_value(json_object_get(json_array_get(dt(t)->hosts, h),
	    "docker"));
	struct sockaddr_in sa;
	int fd, ok;

	if (url == NULL || strncmp(url, "unix://", 7) != 0 || p < 1 || p > 65535)
		return 1;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)p);
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno != EADDRINUSE;
	close(fd);
	return ok;
}

/* The job templates of dep on h: make the wanted, remove the rest. */
static int
d_jobs(struct paas_target *t, size_t h, const char *dep, const struct paas_instance_spec *is,
    size_t n, struct paas_err *err)
{
	struct paas_docker *d = dt(t)->d[h];
	char *filter, name[256];
	const char *labels[2];
	json_t *list = NULL, *c, *want = json_object();
	size_t i, k;
	int rc = -1;

	if (asprintf(&filter, PAAS_LABEL_JOB "=%s", dep) < 0)
		abort();
	labels[0] = filter;
	labels[1] = NULL;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s.%s.job.%" PRId64, dep, is[i].service, is[i].release);
		json_object_set_new(want, name, json_integer((json_int_t)i));
	}
	if (paas_docker_containers(d, labels, 1, &list, err) < 0)
		goto out;
	json_array_foreach(list, k, c) {
		const json_t *l = json_object_get(c, "Labels");
		const char *cn = json_string_value(json_array_get(json_object_get(c, "Names"), 0));

		if (json_object_get(l, PAAS_LABEL_JOB_DUE) && n > 0)
			continue;		/* a run: its agent's, unless all goes */
		if (cn && *cn == '/' && json_object_get(want, cn + 1)) {
			json_object_del(want, cn + 1);
			continue;
		}
		if (paas_docker_remove(d, json_string_value(json_object_get(c, "Id")), 1, err) < 0)
			goto out;
	}
	for (i = 0; i < n; i++) {
		json_t *cfg, *hc;
		char *id = NULL;

		snprintf(name, sizeof(name), "%s.%s.job.%" PRId64, dep, is[i].service, is[i].release);
		if (!json_object_get(want, name))
			continue;
		cfg = container_config(&is[i], "127.0.0.1");
		hc = json_object_get(cfg, "HostConfig");
		json_object_set_new(hc, "RestartPolicy", json_pack("{s:s}", "Name", "no"));
		json_object_set_new(cfg, "Labels", paas_labels_job(dep, is[i].service, is[i].release,
		    json_object_get(is[i].svc, "schedule")));
		if (paas_docker_create(d, name, cfg, &id, err) < 0) {
			json_decref(cfg);
			goto out;
		}
		json_decref(cfg);
		free(id);
	}
	rc = 0;
out:
	if (rc < 0)
		paas_err_wrap(err, "host %s: job templates", host_name(dt(t), h));
	json_decref(want);
	json_decref(list);
	free(filter);
	return rc;
}

static void
d_free(struct paas_target *t)
{
	size_t i;

	for (i = 0; i < dt(t)->n; i++)
		paas_docker_free(dt(t)->d[i]);
	free(dt(t)->d);
	free(t);
}

static const struct paas_target_ops docker_ops = {
	d_list, d_image, d_start, d_exited, d_stop, d_signal_stop, d_remove, d_logs, d_port_free,
	NULL, d_jobs, d_free,
};

struct paas_target *
paas_target_docker(const json_t *hosts, long timeout_ms, struct paas_err *err)
{
	struct docker_target *t = paas_xmalloc(sizeof(*t));
	size_t i;

	t->base.ops = &docker_ops;
	t->hosts = hosts;
	t->n = 0;
	t->d = paas_xmalloc((json_array_size(hosts) ? json_array_size(hosts) : 1) * sizeof(*t->d));
	for (i = 0; i < json_array_size(hosts); i++) {
		if ((t->d[i] = paas_host_docker(json_array_get(hosts, i), timeout_ms, err)) == NULL) {
			paas_err_wrap(err, "host %s", host_name(t, i));
			d_free(&t->base);
			return NULL;
		}
		t->n++;
	}
	/* Hosts over SSH: their sessions opened at once, not as each is
	 * first asked. */
	{
		const char **ssh = paas_xmalloc((t->n ? t->n : 1) * sizeof(*ssh));
		size_t k = 0;

		for (i = 0; i < t->n; i++) {
			const char *u = json_string_value(json_object_get(json_array_get(hosts, i),
			    "docker"));

			if (u && strncmp(u, "ssh://", 6) == 0)
				ssh[k++] = u + 6;
		}
		paas_ssh_prepare(ssh, k, PAAS_SSH_DOCKER, timeout_ms < 10000 ? timeout_ms : 10000);
		free(ssh);
	}
	return &t->base;
}

void
paas_target_free(struct paas_target *t)
{
	if (t)
		t->ops->free(t);
}
