/*
 * The output of a deployment's instances across hosts (paas-deploy logs).
 * Docker hosts only: each container's log through the Engine API, with
 * Docker's timestamps; a fleet target would read the journal instead.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "docker.h"
#include "etcd.h"
#include "hosts.h"
#include "labels.h"
#include "logs.h"
#include "release.h"
#include "target.h"
#include "valid.h"

#define LIST_TIMEOUT_MS	5000

struct source {
	const struct paas_logs_opts *o;
	const json_t *host;
	char *id, *service, *instance, *hostname;
	pthread_mutex_t *mu;
	json_t *lines;			/* without follow: [time, stream, text] gathered */
	struct paas_err err;
	int rc;
};

/* Docker's "2026-12-01T07:00:00.123456789Z text": the time and the rest. */
static void
split_time(const char *line, size_t len, char *t, size_t tsize, const char **text,
    size_t *tlen)
{
	const char *sp = memchr(line, ' ', len);

	if (sp == NULL || (size_t)(sp - line) >= tsize) {
		t[0] = '\0';
		*text = line;
		*tlen = len;
		return;
	}
	memcpy(t, line, (size_t)(sp - line));
	t[sp - line] = '\0';
	*text = sp + 1;
	*tlen = len - (size_t)(sp - line) - 1;
}

static int
emit(struct source *s, int stream, const char *time, const char *text, size_t len)
{
	struct paas_log_line l = { s->service, s->instance, s->hostname, s->id, stream, time,
	    text, len };
	int stop;

	pthread_mutex_lock(s->mu);
	stop = s->o->fn(&l, s->o->arg);
	pthread_mutex_unlock(s->mu);
	return stop;
}

static int
on_line(int stream, const char *line, size_t len, void *arg)
{
	struct source *s = arg;
	const char *text;
	size_t tlen;
	char t[64];

	split_time(line, len, t, sizeof(t), &text, &tlen);
	if (s->lines) {
		json_array_append_new(s->lines, json_pack("[s, i, s#]", t, stream, text, (int)tlen));
		return 0;
	}
	return emit(s, stream, t, text, tlen);
}

static void *
read_source(void *arg)
{
	struct source *s = arg;
	struct paas_docker *d = paas_host_docker_cancel(s->host, 0, s->o->cancel, &s->err);

	if (d == NULL) {
		s->rc = -1;
		return NULL;
	}
	s->rc = paas_docker_logs_stream(d, s->id, s->o->follow, s->o->since, s->o->tail, 1, on_line,
	    s, &s->err) < 0 ? -1 : 0;
	paas_docker_free(d);
	return NULL;
}

/* Every container of the deployment (filtered) on host h. */
static int
sources_of(const struct paas_logs_opts *o, const json_t *h, pthread_mutex_t *mu,
    struct source **srcs, size_t *n, struct paas_err *err)
{
	const char *labels[2] = { NULL, NULL };
	struct paas_docker *d;
	json_t *list, *c;
	size_t i;

	if (paas_host_is_fleet(h))
		return paas_err_set(err, PAAS_EFAILED, "fleet does not serve its units' output: "
		    "journalctl -u %s-%s@VERSION-ID.service on the unit's machine (paas-cluster "
		    "status lists units and machines)", o->deployment, o->service ? o->service : "SVC");
	if ((d = paas_host_docker(h, LIST_TIMEOUT_MS, err)) == NULL)
		return -1;
	labels[0] = paas_labels_filter(o->deployment);
	if (paas_docker_containers(d, labels, 1, &list, err) < 0) {
		free((char *)labels[0]);
		paas_docker_free(d);
		return -1;
	}
	free((char *)labels[0]);
	paas_docker_free(d);
	json_array_foreach(list, i, c) {
		const json_t *l = json_object_get(c, "Labels");
		const char *svc = json_string_value(json_object_get(l, PAAS_LABEL_SERVICE));
		const char *inst = json_string_value(json_object_get(l, PAAS_LABEL_INSTANCE));
		struct source *s;

		if (!svc || !inst || (o->service && strcmp(o->service, svc)) ||
		    (o->instance && strcmp(o->instance, inst)))
			continue;
		*srcs = realloc(*srcs, (*n + 1) * sizeof(**srcs));
		if (*srcs == NULL)
			abort();
		s = &(*srcs)[(*n)++];
		memset(s, 0, sizeof(*s));
		s->o = o;
		s->host = h;
		s->id = paas_xstrdup(json_string_value(json_object_get(c, "Id")));
		s->service = paas_xstrdup(svc);
		s->instance = paas_xstrdup(inst);
		s->hostname = paas_xstrdup(json_string_value(json_object_get(h, "name")));
		s->mu = mu;
	}
	json_decref(list);
	return 0;
}

/* Gathered lines of every source, [time, stream, text, source index],
 * oldest first. */
static int
cmp_line(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	int c = strcmp(json_string_value(json_array_get(x, 0)),
	    json_string_value(json_array_get(y, 0)));

	if (c)
		return c;
	return (int)(json_integer_value(json_array_get(x, 3)) -
	    json_integer_value(json_array_get(y, 3)));
}

int
paas_logs_read(const struct paas_logs_opts *o, json_t **unreachable, struct paas_err *err)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct paas_etcd *e;
	struct source *srcs = NULL;
	pthread_t *th = NULL;
	json_t *hosts = NULL, *rec = NULL, *h, *all = NULL;
	int64_t cur = 0;
	size_t i, j, n = 0;
	int rc = -1;

	*unreachable = NULL;
	if (!paas_valid_name(o->deployment))
		return paas_err_set(err, PAAS_EINVAL, "invalid deployment name '%.64s'",
		    o->deployment);
	if ((e = paas_etcd_new(o->etcd, NULL, err)) == NULL)
		return -1;
	if (paas_release_require(e, o->deployment, &cur, &rec, err) < 0 ||
	    (o->service && paas_release_service(rec, o->deployment, o->service, err) == NULL))
		goto out;
	if (paas_host_list(e, &hosts, err) < 0)
		goto out;
	*unreachable = json_array();
	json_array_foreach(hosts, i, h) {
		struct paas_err e2 = PAAS_ERR_INIT;

		if (sources_of(o, h, &mu, &srcs, &n, &e2) < 0)
			json_array_append_new(*unreachable, json_pack("{s:s, s:s, s:s}", "kind", "host",
			    "host", json_string_value(json_object_get(h, "name")), "error", e2.msg));
	}
	if (!o->follow) {
		/* Read one by one, then told in time order. */
		all = json_array();
		for (i = 0; i < n; i++) {
			srcs[i].lines = json_array();
			read_source(&srcs[i]);
		}
		for (i = 0; i < n; i++) {
			json_t *l;

			json_array_foreach(srcs[i].lines, j, l) {
				json_array_append_new(l, json_integer((json_int_t)i));
				json_array_append(all, l);
			}
		}
		{
			size_t m = json_array_size(all);
			json_t **v = paas_xmalloc((m ? m : 1) * sizeof(*v));

			for (j = 0; j < m; j++)
				v[j] = json_array_get(all, j);
			qsort(v, m, sizeof(*v), cmp_line);
			for (j = 0; j < m; j++) {
				struct source *s = &srcs[json_integer_value(json_array_get(v[j], 3))];
				const char *text = json_string_value(json_array_get(v[j], 2));

				if (emit(s, (int)json_integer_value(json_array_get(v[j], 1)),
				    json_string_value(json_array_get(v[j], 0)), text,
				    json_string_length(json_array_get(v[j], 2))))
					break;
			}
			free(v);
		}
	} else {
		/* Each container its own thread and connection; lines told
		 * as they come, one at a time. */
		th = paas_xmalloc((n ? n : 1) * sizeof(*th));
		for (i = 0; i < n; i++)
			if (pthread_create(&th[i], NULL, read_source, &srcs[i]) != 0) {
				srcs[i].rc = -1;
				paas_err_set(&srcs[i].err, PAAS_EFAILED, "cannot start a thread");
				th[i] = 0;
			}
		for (i = 0; i < n; i++)
			if (th[i])
				pthread_join(th[i], NULL);
	}
	for (i = 0; i < n; i++)
		if (srcs[i].rc < 0 && !(o->cancel && *o->cancel))
			json_array_append_new(*unreachable, json_pack("{s:s, s:s, s:s}", "kind", "host",
			    "host", srcs[i].hostname, "error", srcs[i].err.msg));
	rc = 0;
out:
	for (i = 0; i < n; i++) {
		free(srcs[i].id);
		free(srcs[i].service);
		free(srcs[i].instance);
		free(srcs[i].hostname);
		json_decref(srcs[i].lines);
	}
	free(srcs);
	free(th);
	json_decref(all);
	json_decref(hosts);
	json_decref(rec);
	paas_etcd_free(e);
	if (rc < 0) {
		json_decref(*unreachable);
		*unreachable = NULL;
	}
	return rc;
}
