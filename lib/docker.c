#include <stdlib.h>
#include <string.h>

#include "docker.h"

#define API "/v1.41"

struct paas_docker {
	struct paas_http *http;
	char *url;
};

static int
tls_given(const struct paas_http_opts *o)
{
	return o && o->ca_file && o->cert_file && o->key_file;
}

struct paas_docker *
paas_docker_new(const char *url, const struct paas_http_opts *opts,
    struct paas_err *err)
{
	struct paas_docker *d;
	struct paas_http *h;
	int insecure = opts && opts->insecure;

	if (url == NULL || *url == '\0') {
		paas_err_set(err, PAAS_EINVAL, "no docker endpoint given");
		return NULL;
	}
	if (strchr(url, ',') != NULL) {
		paas_err_set(err, PAAS_EINVAL, "invalid docker endpoint '%s': one URL per host", url);
		return NULL;
	}
	if (strncmp(url, "tcp://", 6) == 0 && !tls_given(opts) && !insecure) {
		paas_err_set(err, PAAS_EINVAL,
		    "refusing plain TCP to docker at %s: give a CA, a client certificate and "
		    "a key for TLS, or say --insecure to send root access to the host in clear", url);
		return NULL;
	}
	if (strncmp(url, "http://", 7) == 0 && !insecure) {
		paas_err_set(err, PAAS_EINVAL,
		    "refusing plain HTTP to docker at %s: use tcp:// with TLS, or say --insecure", url);
		return NULL;
	}
	if ((h = paas_http_new("docker", url, opts, err)) == NULL)
		return NULL;
	d = paas_xmalloc(sizeof(*d));
	d->http = h;
	d->url = paas_xstrdup(url);
	return d;
}

void
paas_docker_free(struct paas_docker *d)
{
	if (d == NULL)
		return;
	paas_http_free(d->http);
	free(d->url);
	free(d);
}

const char *
paas_docker_url(const struct paas_docker *d)
{
	return d->url;
}

struct paas_http *
paas_docker_http(struct paas_docker *d)
{
	return d->http;
}

char *
paas_docker_path(const char *p)
{
	struct paas_buf b = PAAS_BUF_INIT;

	paas_buf_addf(&b, API "%s", p);
	return paas_buf_detach(&b, NULL);
}

/* Docker's {"message": ...} from a failed answer, as an error. */
static int
api_error(struct paas_docker *d, const char *what, struct paas_http_resp *resp,
    struct paas_err *err)
{
	json_t *o = json_loadb(resp->body ? resp->body : "", resp->len, 0, NULL);
	const char *m = json_string_value(json_object_get(o, "message"));

	paas_err_set(err, PAAS_EFAILED,
	    "docker at %s: %s: %s", d->url, what,
	    m ? m : (resp->len ? resp->body : "no message"));
	json_decref(o);
	return -1;
}

/* One request; the body of a 2xx answer (or one of the statuses in ok2) is
 * left in resp. */
static int
request(struct paas_docker *d, const char *method, const char *path,
    const char *body, const char *what, long ok2, struct paas_http_resp *resp,
    struct paas_err *err)
{
	struct paas_http_req hr = { 0 };
	char *full = paas_docker_path(path);
	int rc;

	hr.method = method;
	hr.path = full;
	hr.body = body;
	hr.len = body ? strlen(body) : 0;
	hr.idempotent = strcmp(method, "GET") == 0;
	rc = paas_http_do(d->http, &hr, resp, err);
	free(full);
	if (rc < 0)
		return -1;
	if ((resp->status < 200 || resp->status > 299) && resp->status != ok2) {
		api_error(d, what, resp, err);
		paas_http_resp_free(resp);
		return -1;
	}
	return 0;
}

static int
get_json(struct paas_docker *d, const char *path, const char *what, int nf_ok,
    json_t **out, struct paas_err *err)
{
	struct paas_http_resp resp;
	json_error_t jerr;

	*out = NULL;
	if (request(d, "GET", path, NULL, what, nf_ok ? 404 : 0, &resp, err) < 0)
		return -1;
	if (resp.status == 404) {
		paas_http_resp_free(&resp);
		return 0;
	}
	*out = json_loadb(resp.body, resp.len, 0, &jerr);
	paas_http_resp_free(&resp);
	if (*out == NULL)
		return paas_err_set(err, PAAS_EFAILED, "docker at %s: %s: answer is not JSON: %s",
		    d->url, what, jerr.text);
	return 0;
}

int
paas_docker_ping(struct paas_docker *d, struct paas_err *err)
{
	struct paas_http_resp resp;

	if (request(d, "GET", "/_ping", NULL, "ping", 0, &resp, err) < 0)
		return -1;
	paas_http_resp_free(&resp);
	return 0;
}

int
paas_docker_version(struct paas_docker *d, json_t **out, struct paas_err *err)
{
	return get_json(d, "/version", "version", 0, out, err);
}

/* ?filters={"label":[...]} for a list of labels. */
static void
add_label_filter(struct paas_buf *path, const char *const *labels, char sep)
{
	json_t *f, *a;
	char *s, *esc;

	if (labels == NULL || labels[0] == NULL)
		return;
	a = json_array();
	for (; *labels; labels++)
		json_array_append_new(a, json_string(*labels));
	f = json_pack("{s:o}", "label", a);
	s = json_dumps(f, JSON_COMPACT);
	esc = paas_http_escape(s);
	paas_buf_addf(path, "%cfilters=%s", sep, esc);
	free(esc);
	free(s);
	json_decref(f);
}

int
paas_docker_containers(struct paas_docker *d, const char *const *labels,
    int all, json_t **out, struct paas_err *err)
{
	struct paas_buf p = PAAS_BUF_INIT;
	int rc;

	paas_buf_addf(&p, "/containers/json?all=%d", all ? 1 : 0);
	add_label_filter(&p, labels, '&');
	rc = get_json(d, p.data, "list containers", 0, out, err);
	paas_buf_free(&p);
	return rc;
}

int
paas_docker_create(struct paas_docker *d, const char *name, json_t *config,
    char **id, struct paas_err *err)
{
	struct paas_buf p = PAAS_BUF_INIT;
	struct paas_http_resp resp;
	char *body = json_dumps(config, JSON_COMPACT), *esc;
	json_t *o = NULL;
	const char *s;
	int rc = -1;

	*id = NULL;
	paas_buf_adds(&p, "/containers/create");
	if (name) {
		esc = paas_http_escape(name);
		paas_buf_addf(&p, "?name=%s", esc);
		free(esc);
	}
	if (request(d, "POST", p.data, body, "create container", 0, &resp, err) < 0)
		goto out;
	o = json_loadb(resp.body, resp.len, 0, NULL);
	paas_http_resp_free(&resp);
	if ((s = json_string_value(json_object_get(o, "Id"))) == NULL) {
		paas_err_set(err, PAAS_EFAILED, "docker at %s: create container: no Id in the answer", d->url);
		goto out;
	}
	*id = paas_xstrdup(s);
	rc = 0;
out:
	json_decref(o);
	free(body);
	paas_buf_free(&p);
	return rc;
}

/* POST/DELETE on /containers/ID/...; ok2 is an extra status that means done. */
static int
container_op(struct paas_docker *d, const char *method, const char *id,
    const char *suffix, const char *what, long ok2, struct paas_err *err)
{
	struct paas_buf p = PAAS_BUF_INIT;
	struct paas_http_resp resp;
	char *esc = paas_http_escape(id);
	int rc;

	paas_buf_addf(&p, "/containers/%s%s", esc, suffix);
	rc = request(d, method, p.data, NULL, what, ok2, &resp, err);
	if (rc == 0)
		paas_http_resp_free(&resp);
	free(esc);
	paas_buf_free(&p);
	return rc;
}

int
paas_docker_start(struct paas_docker *d, const char *id, struct paas_err *err)
{
	return container_op(d, "POST", id, "/start", "start container", 304, err);
}

int
paas_docker_stop(struct paas_docker *d, const char *id, int timeout_s,
    struct paas_err *err)
{
	char suffix[32];

	snprintf(suffix, sizeof(suffix), "/stop?t=%d", timeout_s);
	return container_op(d, "POST", id, suffix, "stop container", 304, err);
}

int
paas_docker_kill(struct paas_docker *d, const char *id, const char *signal,
    struct paas_err *err)
{
	struct paas_buf suffix = PAAS_BUF_INIT;
	char *esc = paas_http_escape(signal);
	int rc;

	paas_buf_addf(&suffix, "/kill?signal=%s", esc);
	/* 409: it does not run. */
	rc = container_op(d, "POST", id, suffix.data, "signal container", 409, err);
	free(esc);
	paas_buf_free(&suffix);
	return rc;
}

int
paas_docker_remove(struct paas_docker *d, const char *id, int force,
    struct paas_err *err)
{
	return container_op(d, "DELETE", id, force ? "?force=1&v=1" : "?v=1",
	    "remove container", 404, err);
}

/* GET /KIND/ID/json; *out is NULL when there is no such object. */
static int
inspect(struct paas_docker *d, const char *kind, const char *id, const char *what,
    json_t **out, struct paas_err *err)
{
	struct paas_buf p = PAAS_BUF_INIT;
	char *esc = paas_http_escape(id);
	int rc;

	paas_buf_addf(&p, "/%s/%s/json", kind, esc);
	rc = get_json(d, p.data, what, 1, out, err);
	free(esc);
	paas_buf_free(&p);
	return rc;
}

int
paas_docker_inspect(struct paas_docker *d, const char *id, json_t **out,
    struct paas_err *err)
{
	return inspect(d, "containers", id, "inspect container", out, err);
}

static int
collect(const char *data, size_t len, void *arg)
{
	paas_buf_add(arg, data, len);
	return 0;
}

int
paas_docker_wait(struct paas_docker *d, const char *id, int64_t *status,
    struct paas_err *err)
{
	struct paas_http_req hr = { 0 };
	struct paas_buf p = PAAS_BUF_INIT, body = PAAS_BUF_INIT;
	char *esc = paas_http_escape(id), *full;
	json_t *o = NULL;
	int rc = -1;

	paas_buf_addf(&p, "/containers/%s/wait", esc);
	full = paas_docker_path(p.data);
	hr.method = "POST";
	hr.path = full;
	hr.raw = 1;
	if (paas_http_stream(d->http, &hr, collect, &body, NULL, err) < 0) {
		paas_err_wrap(err, "wait for container %s", id);
		goto out;
	}
	o = json_loadb(body.data ? body.data : "", body.len, 0, NULL);
	if (!json_is_integer(json_object_get(o, "StatusCode"))) {
		paas_err_set(err, PAAS_EFAILED, "docker at %s: wait for container %s: no status", d->url, id);
		goto out;
	}
	*status = json_integer_value(json_object_get(o, "StatusCode"));
	rc = 0;
out:
	json_decref(o);
	free(full);
	free(esc);
	paas_buf_free(&p);
	paas_buf_free(&body);
	return rc;
}

int
paas_docker_logs(struct paas_docker *d, const char *id, int tail,
    struct paas_buf *out, struct paas_err *err)
{
	struct paas_buf p = PAAS_BUF_INIT;
	struct paas_http_resp resp;
	char *esc = paas_http_escape(id);
	const unsigned char *b;
	size_t i, n;
	int rc;

	paas_buf_addf(&p, "/containers/%s/logs?stdout=1&stderr=1", esc);
	if (tail > 0)
		paas_buf_addf(&p, "&tail=%d", tail);
	rc = request(d, "GET", p.data, NULL, "container logs", 0, &resp, err);
	free(esc);
	paas_buf_free(&p);
	if (rc < 0)
		return -1;
	/* Without a TTY the streams are multiplexed: a header of 8 bytes (stream,
	 * 0, 0, 0, big-endian length), then that many bytes. */
	b = (const unsigned char *)resp.body;
	n = resp.len;
	if (n >= 8 && b[0] <= 2 && b[1] == 0 && b[2] == 0 && b[3] == 0) {
		for (i = 0; i + 8 <= n;) {
			size_t len = (size_t)b[i + 4] << 24 | (size_t)b[i + 5] << 16 |
			    (size_t)b[i + 6] << 8 | b[i + 7];

			if (len > n - i - 8)
				len = n - i - 8;
			paas_buf_add(out, b + i + 8, len);
			i += 8 + len;
		}
	} else {
		paas_buf_add(out, resp.body, resp.len);
	}
	paas_http_resp_free(&resp);
	return 0;
}

/* Demultiplexing a log stream: frames of an 8-byte header (stream, 0, 0,
 * 0, big-endian length) and that many bytes, cut anywhere by the
 * transport; lines cut anywhere by the frames. */
struct logs {
	paas_docker_log_fn fn;
	void *arg;
	struct paas_buf raw;		/* bytes of a frame not complete yet */
	struct paas_buf line[3];	/* a line not complete yet, per stream */
	int tty;			/* no frames: the container has a TTY */
	int stop;
};

static int
log_bytes(struct logs *l, int stream, const char *p, size_t n)
{
	struct paas_buf *b = &l->line[stream == 2 ? 2 : 1];
	const char *nl;

	while (n > 0 && (nl = memchr(p, '\n', n)) != NULL) {
		size_t k = (size_t)(nl - p);

		if (b->len) {
			paas_buf_add(b, p, k);
			l->stop = l->fn(stream, b->data, b->len, l->arg);
			paas_buf_reset(b);
		} else
			l->stop = l->fn(stream, p, k, l->arg);
		if (l->stop)
			return 1;
		p += k + 1;
		n -= k + 1;
	}
	if (n > 0)
		paas_buf_add(b, p, n);
	return 0;
}

static int
on_log_chunk(const char *data, size_t len, void *arg)
{
	struct logs *l = arg;
	const unsigned char *b;
	size_t i = 0;

	if (l->tty)
		return log_bytes(l, 1, data, len);
	paas_buf_add(&l->raw, data, len);
	b = (const unsigned char *)l->raw.data;
	/* The first bytes say whether there are frames at all. */
	if (l->raw.len >= 8 && !(b[0] <= 2 && b[1] == 0 && b[2] == 0 && b[3] == 0) && i == 0 &&
	    l->line[1].len == 0 && l->line[2].len == 0) {
		l->tty = 1;
		i = l->raw.len;
		paas_buf_reset(&l->raw);
		return log_bytes(l, 1, (const char *)b, i);
	}
	while (l->raw.len - i >= 8) {
		size_t flen = (size_t)b[i + 4] << 24 | (size_t)b[i + 5] << 16 |
		    (size_t)b[i + 6] << 8 | b[i + 7];

		if (l->raw.len - i - 8 < flen)
			break;
		if (log_bytes(l, b[i], (const char *)b + i + 8, flen))
			return 1;
		i += 8 + flen;
	}
	if (i > 0) {
		memmove(l->raw.data, l->raw.data + i, l->raw.len - i);
		l->raw.len -= i;
	}
	return 0;
}

int
paas_docker_logs_stream(struct paas_docker *d, const char *id, int follow,
    int64_t since, int tail, int timestamps, paas_docker_log_fn fn, void *arg,
    struct paas_err *err)
{
	struct paas_http_req hr = { 0 };
	struct paas_buf p = PAAS_BUF_INIT;
	struct logs l;
	char *esc = paas_http_escape(id), *full;
	int rc, s;

	memset(&l, 0, sizeof(l));
	l.fn = fn;
	l.arg = arg;
	paas_buf_addf(&p, "/containers/%s/logs?stdout=1&stderr=1&follow=%d&timestamps=%d", esc,
	    follow ? 1 : 0, timestamps ? 1 : 0);
	if (since > 0)
		paas_buf_addf(&p, "&since=%lld", (long long)since);
	if (tail > 0)
		paas_buf_addf(&p, "&tail=%d", tail);
	free(esc);
	full = paas_docker_path(p.data);
	paas_buf_free(&p);
	hr.method = "GET";
	hr.path = full;
	hr.raw = 1;
	hr.idempotent = 1;
	rc = paas_http_stream(d->http, &hr, on_log_chunk, &l, NULL, err);
	free(full);
	/* What is left without a final newline. */
	for (s = 1; s <= 2 && !l.stop; s++)
		if (l.line[s].len)
			l.stop = fn(s, l.line[s].data, l.line[s].len, arg);
	if (rc < 0)
		paas_err_wrap(err, "docker at %s: logs of %.12s", d->url, id);
	paas_buf_free(&l.raw);
	paas_buf_free(&l.line[1]);
	paas_buf_free(&l.line[2]);
	paas_buf_free(&l.line[0]);
	return rc;
}

struct events {
	paas_docker_event_fn fn;
	void *arg;
};

static int
on_event(const char *line, size_t len, void *arg)
{
	struct events *ev = arg;
	json_t *o = json_loadb(line, len, 0, NULL);
	int rc;

	if (o == NULL)
		return 0;
	rc = ev->fn(o, ev->arg);
	json_decref(o);
	return rc;
}

int
paas_docker_events(struct paas_docker *d, const char *const *labels,
    int64_t since, paas_docker_event_fn fn, void *arg, struct paas_err *err)
{
	struct paas_http_req hr = { 0 };
	struct paas_buf p = PAAS_BUF_INIT;
	struct events ev = { fn, arg };
	char *full;
	int rc;

	paas_buf_adds(&p, "/events");
	if (since)
		paas_buf_addf(&p, "?since=%lld", (long long)since);
	add_label_filter(&p, labels, since ? '&' : '?');
	full = paas_docker_path(p.data);
	hr.method = "GET";
	hr.path = full;
	rc = paas_http_stream(d->http, &hr, on_event, &ev, NULL, err);
	free(full);
	paas_buf_free(&p);
	return rc;
}

int
paas_docker_images(struct paas_docker *d, json_t **out, struct paas_err *err)
{
	return get_json(d, "/images/json", "list images", 0, out, err);
}

int
paas_docker_image_inspect(struct paas_docker *d, const char *name, json_t **out,
    struct paas_err *err)
{
	return inspect(d, "images", name, "inspect image", out, err);
}

int
paas_docker_image_import(struct paas_docker *d, FILE *tar, const char *repo,
    const char *tag, char **id, struct paas_err *err)
{
	struct paas_http_req hr = { 0 };
	struct paas_http_resp resp;
	struct paas_buf p = PAAS_BUF_INIT;
	char *erepo = paas_http_escape(repo), *etag = paas_http_escape(tag ? tag : "latest");
	char *full, *line, *save = NULL, *last = NULL;
	int rc = -1;

	if (id)
		*id = NULL;
	paas_buf_addf(&p, "/images/create?fromSrc=-&repo=%s&tag=%s", erepo, etag);
	full = paas_docker_path(p.data);
	hr.method = "POST";
	hr.path = full;
	hr.upload = tar;
	hr.content_type = "application/x-tar";
	if (paas_http_do(d->http, &hr, &resp, err) < 0)
		goto out;
	if (resp.status < 200 || resp.status > 299) {
		api_error(d, "import image", &resp, err);
		paas_http_resp_free(&resp);
		goto out;
	}
	/* The answer is a stream of progress objects; an error comes as one. */
	for (line = strtok_r(resp.body, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		const char *e = json_string_value(json_object_get(o, "error"));
		const char *s = json_string_value(json_object_get(o, "status"));

		if (e) {
			paas_err_set(err, PAAS_EFAILED, "docker at %s: import image: %s", d->url, e);
			json_decref(o);
			paas_http_resp_free(&resp);
			goto out;
		}
		if (s) {
			free(last);
			last = paas_xstrdup(s);
		}
		json_decref(o);
	}
	paas_http_resp_free(&resp);
	if (id && last) {
		*id = last;
		last = NULL;
	}
	rc = 0;
out:
	free(last);
	free(full);
	free(erepo);
	free(etag);
	paas_buf_free(&p);
	return rc;
}

int
paas_docker_attach(struct paas_docker *d, const char *id, struct paas_http_conn **conn,
    struct paas_err *err)
{
	struct paas_buf p = PAAS_BUF_INIT;
	char *esc = paas_http_escape(id);
	long status;
	int rc;

	paas_buf_addf(&p, API "/containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1", esc);
	rc = paas_http_upgrade(d->http, "POST", p.data, NULL, conn, &status, err);
	if (rc < 0)
		paas_err_wrap(err, "attach to container %.12s", id);
	free(esc);
	paas_buf_free(&p);
	return rc;
}

int
paas_docker_resize(struct paas_docker *d, const char *id, int rows, int cols,
    struct paas_err *err)
{
	struct paas_buf suffix = PAAS_BUF_INIT;
	int rc;

	paas_buf_addf(&suffix, "/resize?h=%d&w=%d", rows, cols);
	rc = container_op(d, "POST", id, suffix.data, "resize its terminal", 0, err);
	paas_buf_free(&suffix);
	return rc;
}
