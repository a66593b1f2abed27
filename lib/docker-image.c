/*
 * The Docker Engine's image calls that stream: build, push and pull with a
 * registry's credentials (docker.h).  Their answers are NDJSON progress;
 * an error arrives as a line with "error" in a 200 answer, so every line
 * is read.
 */
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "private.h"

struct progress {
	paas_docker_progress_fn fn;
	void *arg;
	char *error;		/* the first "error" line */
	char *id;		/* build: aux.ID */
	char *digest;		/* push: aux.Digest */
	struct paas_tail tail;	/* the last lines of "stream", for a failure */
	struct paas_buf partial;	/* a "stream" text not ended by a newline yet */
};

static void
keep_line(struct progress *p, const char *s, size_t n)
{
	if (n == 0)
		return;
	if (p->fn)
		p->fn(s, n, p->arg);
	paas_tail_add(&p->tail, s, n);
}

/* A build's "stream" texts hold newlines of their own, or half lines. */
static void
add_stream(struct progress *p, const char *s)
{
	const char *nl;

	paas_buf_adds(&p->partial, s);
	while ((nl = memchr(p->partial.data, '\n', p->partial.len)) != NULL) {
		size_t n = (size_t)(nl - p->partial.data);

		keep_line(p, p->partial.data, n);
		memmove(p->partial.data, nl + 1, p->partial.len - n);
		p->partial.len -= n + 1;
	}
}

static int
on_line(const char *data, size_t len, void *arg)
{
	struct progress *p = arg;
	json_t *o = json_loadb(data, len, 0, NULL), *aux;
	const char *s;

	if (o == NULL)
		return 0;
	if ((s = json_string_value(json_object_get(o, "error"))) != NULL && p->error == NULL)
		p->error = paas_xstrdup(s);
	if ((s = json_string_value(json_object_get(o, "stream"))) != NULL)
		add_stream(p, s);
	else if ((s = json_string_value(json_object_get(o, "status"))) != NULL &&
	    json_object_get(o, "progressDetail") == NULL) {
		const char *id = json_string_value(json_object_get(o, "id"));
		struct paas_buf b = PAAS_BUF_INIT;

		paas_buf_addf(&b, "%s%s%s", id ? id : "", id ? ": " : "", s);
		keep_line(p, b.data, b.len);
		paas_buf_free(&b);
	} else if ((s = json_string_value(json_object_get(o, "status"))) != NULL) {
		const char *id = json_string_value(json_object_get(o, "id"));

		/* Layer progress: only its end is worth a line. */
		if (strcmp(s, "Pushed") == 0 || strcmp(s, "Layer already exists") == 0 ||
		    strcmp(s, "Pull complete") == 0) {
			struct paas_buf b = PAAS_BUF_INIT;

			paas_buf_addf(&b, "%s: %s", id ? id : "", s);
			keep_line(p, b.data, b.len);
			paas_buf_free(&b);
		}
	}
	if ((aux = json_object_get(o, "aux")) != NULL) {
		if ((s = json_string_value(json_object_get(aux, "ID"))) != NULL) {
			free(p->id);
			p->id = paas_xstrdup(s);
		}
		if ((s = json_string_value(json_object_get(aux, "Digest"))) != NULL) {
			free(p->digest);
			p->digest = paas_xstrdup(s);
		}
	}
	json_decref(o);
	return 0;
}

static void
progress_free(struct progress *p)
{
	paas_tail_free(&p->tail);
	free(p->error);
	free(p->id);
	free(p->digest);
	paas_buf_free(&p->partial);
}

/* Whether a registry refused the credentials (or wanted some). */
static int
refused(const char *msg)
{
	return msg && (strstr(msg, "authentication required") || strstr(msg, "unauthorized") ||
	    strstr(msg, "no basic auth"));
}

/* The error as "what: ERROR" and, for a build, the lines before it; a
 * refusal by the registry is PAAS_EUNAVAIL. */
static int
fail(struct paas_docker *d, const char *what, struct progress *p, int with_tail,
    struct paas_err *err)
{
	struct paas_buf b = PAAS_BUF_INIT;

	paas_buf_addf(&b, "docker at %s: %s: ", paas_docker_url(d), what);
	paas_buf_add_printable(&b, p->error ? p->error : "no result");
	if (with_tail && p->tail.n) {
		paas_buf_adds(&b, "; the build's last lines:");
		paas_tail_text(&p->tail, &b, 0);
	}
	paas_err_set(err, refused(p->error) ? PAAS_EUNAVAIL : PAAS_EFAILED, "%s", b.data);
	paas_buf_free(&b);
	return -1;
}

/* A streaming request's own error (not a 2xx answer), Docker's message
 * taken out of its JSON. */
static int
stream(struct paas_docker *d, struct paas_http_req *hr, struct progress *p, const char *what,
    struct paas_err *err)
{
	long status = 0;

	if (paas_http_stream(paas_docker_http(d), hr, on_line, p, &status, err) < 0) {
		const char *body = strchr(err->msg, '{');
		json_t *o = body ? json_loads(body, 0, NULL) : NULL;
		const char *m = json_string_value(json_object_get(o, "message"));

		if (m) {
			char *copy = paas_xstrdup(m);

			paas_err_set(err, status == 401 || status == 403 || refused(copy) ?
			    PAAS_EUNAVAIL : PAAS_EFAILED, "docker at %s: %s: %s", paas_docker_url(d),
			    what, copy);
			free(copy);
		}
		json_decref(o);
		return -1;
	}
	if (p->partial.len)
		keep_line(p, p->partial.data, p->partial.len);
	return 0;
}

/* X-Registry-Auth (and, for a build, X-Registry-Config) headers. */
static char *
auth_header(const char *name, const char *value)
{
	struct paas_buf b = PAAS_BUF_INIT;

	if (value)
		paas_buf_addf(&b, "%s: %s", name, value);
	return paas_buf_detach(&b, NULL);
}

/* POST q (an API path, unversioned) with upload as a tar body or hdr as
 * a header; the progress into p. */
static int
post(struct paas_docker *d, const char *q, FILE *upload, const char *hdr, const char *what,
    struct progress *p, struct paas_err *err)
{
	struct paas_http_req hr = { 0 };
	char *path = paas_docker_path(q);
	int rc;

	hr.method = "POST";
	hr.path = path;
	hr.upload = upload;
	hr.content_type = upload ? "application/x-tar" : NULL;
	hr.header = hdr;
	rc = stream(d, &hr, p, what, err);
	free(path);
	return rc;
}

int
paas_docker_build(struct paas_docker *d, FILE *tar, const char *tag, const char *dockerfile,
    paas_docker_progress_fn fn, void *arg, char **id, struct paas_err *err)
{
	struct progress p = { .fn = fn, .arg = arg };
	struct paas_buf q = PAAS_BUF_INIT;
	char *et = paas_http_escape(tag), *ed = paas_http_escape(dockerfile);
	int rc = -1;

	*id = NULL;
	paas_buf_addf(&q, "/build?t=%s&dockerfile=%s&rm=1&forcerm=1", et, ed);
	if (post(d, q.data, tar, NULL, "build", &p, err) < 0)
		goto out;
	if (p.error || p.id == NULL) {
		fail(d, "build failed", &p, 1, err);
		goto out;
	}
	*id = p.id;
	p.id = NULL;
	rc = 0;
out:
	progress_free(&p);
	paas_buf_free(&q);
	free(et);
	free(ed);
	return rc;
}

int
paas_docker_push(struct paas_docker *d, const char *name, const char *tag, const char *auth,
    paas_docker_progress_fn fn, void *arg, char **digest, struct paas_err *err)
{
	struct progress p = { .fn = fn, .arg = arg };
	struct paas_buf q = PAAS_BUF_INIT;
	char *et = paas_http_escape(tag), *hdr = auth_header("X-Registry-Auth", auth ? auth : "e30=");
	char what[300];
	int rc = -1;

	*digest = NULL;
	snprintf(what, sizeof(what), "push %.200s:%.40s", name, tag);
	/* The name is a reference's repository: its '/' stay as they are. */
	paas_buf_addf(&q, "/images/%s/push?tag=%s", name, et);
	if (post(d, q.data, NULL, hdr, what, &p, err) < 0)
		goto out;
	if (p.error || p.digest == NULL) {
		fail(d, what, &p, 0, err);
		goto out;
	}
	*digest = p.digest;
	p.digest = NULL;
	rc = 0;
out:
	progress_free(&p);
	paas_buf_free(&q);
	paas_secret_free(hdr);
	free(et);
	return rc;
}

int
paas_docker_image_pull_auth(struct paas_docker *d, const char *image, const char *auth,
    struct paas_err *err)
{
	struct progress p = { 0 };
	struct paas_buf q = PAAS_BUF_INIT;
	char *esc = paas_http_escape(image), *hdr = auth_header("X-Registry-Auth", auth);
	char what[300];
	int rc = -1;

	snprintf(what, sizeof(what), "pull %.280s", image);
	paas_buf_addf(&q, "/images/create?fromImage=%s", esc);
	if (post(d, q.data, NULL, hdr, what, &p, err) < 0)
		goto out;
	if (p.error) {
		fail(d, what, &p, 0, err);
		goto out;
	}
	rc = 0;
out:
	progress_free(&p);
	paas_buf_free(&q);
	paas_secret_free(hdr);
	free(esc);
	return rc;
}

char *
paas_docker_auth_encode(const char *server, const char *user, const char *password)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "username", user, "password", password,
	    "serveraddress", server);
	char *s = json_dumps(o, JSON_COMPACT), *b = paas_base64_encode(s, strlen(s)), *c;

	/* Docker reads it as base64url. */
	for (c = b; *c; c++)
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
	explicit_bzero(s, strlen(s));
	free(s);
	json_decref(o);
	return b;
}
