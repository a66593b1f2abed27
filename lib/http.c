#include <ctype.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "clock.h"
#include "http.h"
#include "ssh.h"

#define MAX_BODY (512u << 20)

struct endpoint {
	char *name;		/* as the user wrote it */
	char *base;		/* scheme://host[:port] for the URL */
	char *unix_path;	/* or NULL */
	char *ssh;		/* or [user@]host[:port] of ssh:// (ssh.h) */
	CURL *curl;		/* lazily made; keeps the connection alive */
};

struct paas_http {
	char *what;
	struct endpoint *ep;
	size_t nep, cur;
	char *ca_file, *ca_pem, *cert_file, *key_file, *ssh_command;
	long connect_timeout_ms, timeout_ms;
	volatile sig_atomic_t *cancel;
};

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* libcurl's global set-up, once, whichever thread comes first. */
static void
global_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, curl_init_once);
}

void
paas_http_init(void)
{
	global_init();
}

static char *
dup_or_null(const char *s)
{
	return s ? paas_xstrdup(s) : NULL;
}

static int
parse_endpoint(struct endpoint *ep, const char *s, size_t n, int insecure,
    struct paas_err *err)
{
	char *name = paas_xstrndup(s, n);
	const char *rest;

	ep->name = name;
	ep->unix_path = NULL;
	ep->ssh = NULL;
	ep->curl = NULL;
	while (n > 0 && name[n - 1] == '/' && strncmp(name, "unix:", 5) != 0)
		name[--n] = '\0';
	if (strncmp(name, "unix://", 7) == 0 || strncmp(name, "unix:/", 6) == 0) {
		rest = name + (name[5] == '/' && name[6] == '/' ? 7 : 5);
		if (*rest != '/')
			return paas_err_set(err, PAAS_EINVAL,
			    "invalid endpoint '%s': a unix socket needs an absolute path", name);
		ep->unix_path = paas_xstrdup(rest);
		ep->base = paas_xstrdup("http://localhost");
		return 0;
	}
	if (strncmp(name, "ssh://", 6) == 0) {
		if (!paas_ssh_target_ok(name + 6))
			return paas_err_set(err, PAAS_EINVAL, "invalid endpoint '%s': expected "
			    "ssh://[USER@]HOST[:PORT]", name);
		ep->ssh = paas_xstrdup(name + 6);
		/* The channel is the connection: the address is never dialled. */
		ep->base = paas_xstrdup("http://127.0.0.1");
		return 0;
	}
	if (strncmp(name, "tcp://", 6) == 0) {
		struct paas_buf b = PAAS_BUF_INIT;

		if (name[6] == '\0')
			goto bad;
		paas_buf_addf(&b, "%s://%s", insecure ? "http" : "https", name + 6);
		ep->base = paas_buf_detach(&b, NULL);
		return 0;
	}
	if ((strncmp(name, "http://", 7) == 0 && name[7] != '\0') ||
	    (strncmp(name, "https://", 8) == 0 && name[8] != '\0')) {
		if (strchr(strchr(name, ':') + 3, '/') != NULL)
			goto bad;
		ep->base = paas_xstrdup(name);
		return 0;
	}
bad:
	ep->base = NULL;
	return paas_err_set(err, PAAS_EINVAL,
	    "invalid endpoint '%s': expected http://HOST:PORT, https://HOST:PORT, "
	    "tcp://HOST:PORT, ssh://[USER@]HOST[:PORT] or unix:///PATH", name);
}

struct paas_http *
paas_http_new(const char *what, const char *endpoints,
    const struct paas_http_opts *opts, struct paas_err *err)
{
	static const struct paas_http_opts defaults;
	struct paas_http *h;
	const char *p, *q;
	size_t n;

	global_init();
	if (opts == NULL)
		opts = &defaults;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		abort();
	h->what = paas_xstrdup(what);
	h->ca_file = dup_or_null(opts->ca_file);
	h->ca_pem = dup_or_null(opts->ca_pem);
	h->cert_file = dup_or_null(opts->cert_file);
	h->key_file = dup_or_null(opts->key_file);
	h->ssh_command = paas_xstrdup(opts->ssh_command ? opts->ssh_command : PAAS_SSH_DOCKER);
	h->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 2000;
	h->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
	h->cancel = opts->cancel;
	for (p = endpoints ? endpoints : ""; *p; p = *q ? q + 1 : q) {
		q = strchr(p, ',');
		if (q == NULL)
			q = p + strlen(p);
		while (p < q && isspace((unsigned char)*p))
			p++;
		n = (size_t)(q - p);
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (n == 0)
			continue;
		h->ep = paas_xrealloc(h->ep, (h->nep + 1) * sizeof(*h->ep));
		if (parse_endpoint(&h->ep[h->nep], p, n, opts->insecure, err) < 0) {
			free(h->ep[h->nep].name);
			paas_err_wrap(err, "%s", what);
			paas_http_free(h);
			return NULL;
		}
		h->nep++;
	}
	if (h->nep == 0) {
		paas_err_set(err, PAAS_EINVAL, "no %s endpoint given", what);
		paas_http_free(h);
		return NULL;
	}
	return h;
}

void
paas_http_free(struct paas_http *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->nep; i++) {
		free(h->ep[i].name);
		free(h->ep[i].base);
		free(h->ep[i].unix_path);
		free(h->ep[i].ssh);
		if (h->ep[i].curl)
			curl_easy_cleanup(h->ep[i].curl);
	}
	free(h->ep);
	free(h->what);
	free(h->ssh_command);
	free(h->ca_file);
	free(h->ca_pem);
	free(h->cert_file);
	free(h->key_file);
	free(h);
}

const char *
paas_http_endpoint(const struct paas_http *h)
{
	return h->ep[h->cur].name;
}

size_t
paas_http_nendpoints(const struct paas_http *h)
{
	return h->nep;
}

void
paas_http_next(struct paas_http *h)
{
	h->cur = (h->cur + 1) % h->nep;
}

void
paas_http_resp_free(struct paas_http_resp *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	resp->body = NULL;
	free(resp->headers);
	resp->headers = NULL;
	resp->len = 0;
}

char *
paas_http_escape(const char *s)
{
	struct paas_buf b = PAAS_BUF_INIT;
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p))
			paas_buf_add(&b, p, 1);
		else
			paas_buf_addf(&b, "%%%02X", *p);
	}
	return paas_buf_detach(&b, NULL);
}

/* What a transfer is doing, for the curl callbacks. */
struct xfer {
	struct paas_http *h;
	const struct paas_http_req *req;
	struct curl_slist *headers;
	struct paas_buf body;		/* whole body, or an error body of a stream */
	struct paas_buf line;		/* stream: the partial line */
	paas_http_data_fn fn;		/* stream callback, or NULL */
	void *arg;
	CURL *curl;
	int stopped;			/* fn or cancel asked to stop */
	size_t got;			/* bytes received */
	int too_big;
	char errbuf[CURL_ERROR_SIZE];
	char ssh_why[PAAS_ERR_MSG_MAX];	/* why its channel could not be had */
};


static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb, i, start;
	long code = 0;

	x->got += n;
	if (x->fn == NULL) {
		if (x->body.len + n > MAX_BODY) {
			x->too_big = 1;
			return 0;
		}
		paas_buf_add(&x->body, ptr, n);
		return n;
	}
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299) {
		if (x->body.len < 65536)
			paas_buf_add(&x->body, ptr, n);
		return n;
	}
	if (x->req->raw) {
		if (x->fn(ptr, n, x->arg) != 0) {
			x->stopped = 1;
			return 0;
		}
		return n;
	}
	for (start = 0, i = 0; i < n; i++) {
		if (ptr[i] != '\n')
			continue;
		paas_buf_add(&x->line, ptr + start, i - start);
		start = i + 1;
		if (x->line.len > 0 && x->line.data[x->line.len - 1] == '\r')
			x->line.data[--x->line.len] = '\0';
		if (x->line.len > 0 && x->fn(x->line.data, x->line.len, x->arg) != 0) {
			x->stopped = 1;
			return 0;
		}
		paas_buf_reset(&x->line);
	}
	if (x->line.len + (n - start) > MAX_BODY) {
		x->too_big = 1;
		return 0;
	}
	paas_buf_add(&x->line, ptr + start, n - start);
	return n;
}

static int
on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = clientp;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (x->h->cancel && *x->h->cancel) {
		x->stopped = 1;
		return 1;
	}
	return 0;
}

/* Set up ep's handle for one transfer. */
static CURL *
setup(struct xfer *x, struct endpoint *ep, int stream, long timeout_ms)
{
	const struct paas_http_req *req = x->req;
	struct paas_http *h = x->h;
	struct paas_buf url = PAAS_BUF_INIT;
	CURL *c;

	if (ep->curl == NULL && (ep->curl = curl_easy_init()) == NULL)
		abort();
	c = ep->curl;
	curl_easy_reset(c);
	x->curl = c;
	x->errbuf[0] = '\0';
	x->got = 0;
	paas_buf_addf(&url, "%s%s", ep->base, req->path);
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	paas_buf_free(&url);
	if (ep->unix_path)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, ep->unix_path);
	x->ssh_why[0] = '\0';
	if (ep->ssh) {
		/* The host's bridge (ssh.h): a unix socket whose connections are
		 * exec channels of the Docker CLI's dial-stdio there. */
		struct paas_err e2 = PAAS_ERR_INIT;
		char path[256];

		if (paas_ssh_bridge(ep->ssh, h->ssh_command, h->connect_timeout_ms, path,
		    sizeof(path), &e2) < 0) {
			snprintf(x->ssh_why, sizeof(x->ssh_why), "%s", e2.msg);
			snprintf(path, sizeof(path), "/nonexistent/paas-ssh");
		}
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, path);
	}
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
	if (!stream)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 10L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 5L);
	if (h->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
	if (h->ca_pem) {
		struct curl_blob blob = { h->ca_pem, strlen(h->ca_pem), CURL_BLOB_COPY };

		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (h->cert_file)
		curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert_file);
	if (h->key_file)
		curl_easy_setopt(c, CURLOPT_SSLKEY, h->key_file);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);

	x->headers = curl_slist_append(NULL, "Expect:");
	if (req->header) {
		const char *p = req->header, *nl;

		/* Several headers: one per line. */
		for (; *p; p = *nl ? nl + 1 : nl) {
			char *one;

			nl = p + strcspn(p, "\n");
			one = paas_xstrndup(p, (size_t)(nl - p));
			x->headers = curl_slist_append(x->headers, one);
			free(one);
		}
	}
	if (req->body || req->upload) {
		struct paas_buf ct = PAAS_BUF_INIT;

		paas_buf_addf(&ct, "Content-Type: %s",
		    req->content_type ? req->content_type : "application/json");
		x->headers = curl_slist_append(x->headers, ct.data);
		paas_buf_free(&ct);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers);
	if (req->upload) {
		rewind(req->upload);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READDATA, req->upload);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	} else if (req->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	} else if (strcmp(req->method, "GET") != 0) {
		if (strcmp(req->method, "POST") == 0) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
		} else {
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
		}
	}
	return c;
}

static void
xfer_reset(struct xfer *x)
{
	curl_slist_free_all(x->headers);
	x->headers = NULL;
	paas_buf_reset(&x->body);
	paas_buf_reset(&x->line);
}

/* Whether rc means the endpoint could not be reached, so another may be tried. */
static int
unreachable(CURL *c, CURLcode rc, int idempotent)
{
	double t = 0;

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return 1;
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(c, CURLINFO_CONNECT_TIME, &t);
		return t == 0 || idempotent;
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		return idempotent;
	default:
		return 0;
	}
}

/* A lowercase reason for a transport failure. */
static void
reason(struct paas_buf *out, struct xfer *x, CURLcode rc, long timeout_ms)
{
	const char *e = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc), *p;
	size_t start = out->len;

	if (x->ssh_why[0]) {
		/* "ssh TARGET: why": the endpoint is named already. */
		p = strstr(x->ssh_why, ": ");
		paas_buf_adds(out, p ? p + 2 : x->ssh_why);
		return;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		double t = 0;

		curl_easy_getinfo(x->curl, CURLINFO_CONNECT_TIME, &t);
		paas_buf_addf(out, "timed out after %ld ms%s", timeout_ms,
		    t == 0 ? " connecting" : "");
		return;
	}
	if (rc == CURLE_COULDNT_CONNECT) {
		long oserr = 0;

		curl_easy_getinfo(x->curl, CURLINFO_OS_ERRNO, &oserr);
		if (oserr)
			e = strerror((int)oserr);
		else if ((p = strrchr(e, ':')) != NULL && p[1] == ' ')
			e = p + 2;
	}
	paas_buf_adds(out, e);
	if (out->len > start)
		out->data[start] = (char)tolower((unsigned char)out->data[start]);
	while (out->len > start && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '.'))
		out->data[--out->len] = '\0';
}

/* Add "NAME (reason)" to the list of what went wrong, after sep if it is not
 * the first. */
static void
add_reason(struct paas_buf *why, const char *sep, const char *name, struct xfer *x,
    CURLcode rc, long timeout_ms)
{
	if (why->len)
		paas_buf_adds(why, sep);
	paas_buf_addf(why, "%s (", name);
	reason(why, x, rc, timeout_ms);
	paas_buf_adds(why, ")");
}

static int
fail(struct paas_http *h, struct paas_buf *why, int status, struct paas_err *err)
{
	paas_err_set(err, status, "cannot reach %s at %s", h->what, why->data);
	paas_buf_free(why);
	return -1;
}

/* Run one transfer, moving to the next endpoint while they cannot be reached. */
static int
perform(struct paas_http *h, struct xfer *x, int stream, struct paas_err *err)
{
	struct paas_buf why = PAAS_BUF_INIT;
	size_t tries;
	CURLcode rc = CURLE_OK;

	for (tries = 0; tries < h->nep; tries++) {
		struct endpoint *ep = &h->ep[h->cur];
		CURL *c = setup(x, ep, stream, h->timeout_ms);

		rc = curl_easy_perform(c);
		curl_slist_free_all(x->headers);
		x->headers = NULL;
		if (rc == CURLE_OK || x->stopped)
			break;
		if (x->too_big) {
			paas_buf_free(&why);
			return paas_err_set(err, PAAS_EFAILED,
			    "%s at %s: answer larger than %u MiB", h->what, ep->name, MAX_BODY >> 20);
		}
		if (stream ? x->got > 0 || !unreachable(c, rc, 0) :
		    !unreachable(c, rc, x->req->idempotent)) {
			/* Broken in the middle, or not a connection problem: another
			 * endpoint would not help, the caller decides. */
			add_reason(&why, "; then ", ep->name, x, rc,
			    stream ? h->connect_timeout_ms : h->timeout_ms);
			return fail(h, &why, PAAS_EUNAVAIL, err);
		}
		add_reason(&why, h->nep > 2 ? ", " : " or ", ep->name, x, rc,
		    (rc == CURLE_OPERATION_TIMEDOUT && !stream) ? h->timeout_ms : h->connect_timeout_ms);
		xfer_reset(x);
		paas_http_next(h);
	}
	if (rc != CURLE_OK && !x->stopped)
		return fail(h, &why, PAAS_EUNAVAIL, err);
	paas_buf_free(&why);
	return 0;
}

/* The response headers of c named in keep ('\n' between). */
static char *
kept_headers(CURL *c, const char *keep)
{
	struct paas_buf b = PAAS_BUF_INIT;
	char name[64];
	const char *p, *nl;

	if (keep == NULL)
		return NULL;	/* none asked: nothing to free for callers that free body alone */
	for (p = keep; *p; p = nl ? nl + 1 : p + strlen(p)) {
		struct curl_header *hd;

		nl = strchr(p, '\n');
		snprintf(name, sizeof(name), "%.*s", (int)(nl ? nl - p : (long)strlen(p)), p);
		if (curl_easy_header(c, name, 0, CURLH_HEADER, -1, &hd) == CURLHE_OK)
			paas_buf_addf(&b, "%s: %s\n", name, hd->value);
	}
	if (b.len == 0) {
		paas_buf_free(&b);
		return NULL;
	}
	return paas_buf_detach(&b, NULL);
}

int
paas_http_do(struct paas_http *h, const struct paas_http_req *req,
    struct paas_http_resp *resp, struct paas_err *err)
{
	struct xfer x;
	int rc;

	memset(&x, 0, sizeof(x));
	memset(resp, 0, sizeof(*resp));
	x.h = h;
	x.req = req;
	rc = perform(h, &x, 0, err);
	if (rc == 0) {
		curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, &resp->status);
		resp->body = paas_buf_detach(&x.body, &resp->len);
		resp->headers = kept_headers(x.curl, req->keep);
	}
	paas_buf_free(&x.body);
	paas_buf_free(&x.line);
	return rc;
}

int
paas_http_stream(struct paas_http *h, const struct paas_http_req *req,
    paas_http_data_fn fn, void *arg, long *status, struct paas_err *err)
{
	struct xfer x;
	long code = 0;
	int rc;

	memset(&x, 0, sizeof(x));
	x.h = h;
	x.req = req;
	x.fn = fn;
	x.arg = arg;
	rc = perform(h, &x, 1, err);
	if (x.curl)
		curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, &code);
	if (status)
		*status = code;
	if (rc == 0 && !x.stopped && (code < 200 || code > 299)) {
		paas_err_set(err, PAAS_EFAILED, "%s at %s answered %ld: %.*s", h->what,
		    h->ep[h->cur].name, code, (int)(x.body.len > 512 ? 512 : x.body.len),
		    x.body.data ? x.body.data : "");
		rc = -1;
	} else if (rc == 0 && !x.stopped) {
		if (x.line.len > 0 && !req->raw)
			fn(x.line.data, x.line.len, arg);
		rc = 1;
	} else if (rc == 0 && x.stopped) {
		/* A stopped transfer leaves the connection in no state to reuse. */
		curl_easy_cleanup(h->ep[h->cur].curl);
		h->ep[h->cur].curl = NULL;
	}
	paas_buf_free(&x.body);
	paas_buf_free(&x.line);
	return rc;
}

struct job_state {
	struct xfer x;
	struct paas_buf why;
	size_t tries;
};

static void
job_start(CURLM *m, struct paas_http_job *job, struct job_state *st, long timeout_ms)
{
	struct paas_http *h = job->client;

	setup(&st->x, &h->ep[h->cur], 0, timeout_ms ? timeout_ms : h->timeout_ms);
	curl_multi_add_handle(m, st->x.curl);
}

void
paas_http_multi(struct paas_http_job *jobs, size_t n, long timeout_ms)
{
	struct job_state *st = calloc(n ? n : 1, sizeof(*st));
	CURLM *m;
	size_t i;
	int running = 0, left;
	size_t pending = 0;
	CURLMsg *msg;

	global_init();
	if (st == NULL || (m = curl_multi_init()) == NULL)
		abort();
	/* SSH sessions: opened at once, not as each transfer is set up. */
	{
		const char **t = paas_xmalloc((n ? n : 1) * sizeof(*t));
		size_t k = 0;

		for (i = 0; i < n; i++)
			if (jobs[i].client && jobs[i].client->ep[jobs[i].client->cur].ssh &&
			    strcmp(jobs[i].client->ssh_command, PAAS_SSH_DOCKER) == 0)
				t[k++] = jobs[i].client->ep[jobs[i].client->cur].ssh;
		paas_ssh_prepare(t, k, PAAS_SSH_DOCKER, timeout_ms);
		free(t);
	}
	for (i = 0; i < n; i++) {
		if (jobs[i].client == NULL)
			continue;	/* left as the caller set it */
		pending++;
		memset(&jobs[i].resp, 0, sizeof(jobs[i].resp));
		paas_err_clear(&jobs[i].err);
		jobs[i].rc = -1;
		st[i].x.h = jobs[i].client;
		st[i].x.req = &jobs[i].req;
		job_start(m, &jobs[i], &st[i], timeout_ms);
	}
	do {
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			struct xfer *x;
			struct paas_http_job *job;
			struct job_state *s;
			struct paas_http *h;
			CURLcode rc;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			s = (struct job_state *)x;
			job = &jobs[s - st];
			h = job->client;
			rc = msg->data.result;
			curl_multi_remove_handle(m, msg->easy_handle);
			curl_slist_free_all(x->headers);
			x->headers = NULL;
			if (rc == CURLE_OK) {
				curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &job->resp.status);
				job->resp.body = paas_buf_detach(&x->body, &job->resp.len);
				job->rc = 0;
				pending--;
				continue;
			}
			add_reason(&s->why, " or ", h->ep[h->cur].name, x, rc,
			    rc == CURLE_OPERATION_TIMEDOUT ? (timeout_ms ? timeout_ms : h->timeout_ms) :
			    h->connect_timeout_ms);
			if (unreachable(x->curl, rc, 0) && ++s->tries < h->nep) {
				xfer_reset(x);
				paas_http_next(h);
				job_start(m, job, s, timeout_ms);
				continue;
			}
			fail(h, &s->why, PAAS_EUNAVAIL, &job->err);
			pending--;
		}
		if (pending)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	} while (pending);
	for (i = 0; i < n; i++) {
		paas_buf_free(&st[i].x.body);
		paas_buf_free(&st[i].x.line);
		paas_buf_free(&st[i].why);
	}
	curl_multi_cleanup(m);
	free(st);
}

/* Upgraded connections ------------------------------------------------- */

struct paas_http_conn {
	CURL *c;
	curl_socket_t fd;
	struct paas_buf pre;		/* read with the headers, not handed over yet */
	size_t off;
};

/* Wait up to ms for fd to be ready for events. */
static int
wait_fd(curl_socket_t fd, short events, long ms)
{
	struct pollfd p = { fd, events, 0 };

	return poll(&p, 1, (int)ms) > 0;
}

int
paas_http_upgrade(struct paas_http *h, const char *method, const char *path, const char *body,
    struct paas_http_conn **out, long *status, struct paas_err *err)
{
	struct paas_http_req req = { method, path, NULL, 0, NULL, NULL, 0, 0, NULL, NULL };
	struct endpoint *ep = &h->ep[h->cur];
	struct paas_buf rq = PAAS_BUF_INIT;
	struct paas_http_conn *k;
	struct xfer x;
	char *end = NULL;
	long long until;
	CURLcode rc;

	*out = NULL;
	*status = 0;
	global_init();
	memset(&x, 0, sizeof(x));
	x.h = h;
	x.req = &req;
	setup(&x, ep, 1, 0);
	curl_easy_setopt(x.curl, CURLOPT_CONNECT_ONLY, 1L);
	rc = curl_easy_perform(x.curl);
	curl_slist_free_all(x.headers);
	if (rc != CURLE_OK) {
		struct paas_buf why = PAAS_BUF_INIT;

		add_reason(&why, ", ", ep->name, &x, rc, h->connect_timeout_ms);
		return fail(h, &why, PAAS_EUNAVAIL, err);
	}
	/* The handle is the connection's now, not the endpoint's. */
	k = paas_xmalloc(sizeof(*k));
	memset(k, 0, sizeof(*k));
	k->c = x.curl;
	ep->curl = NULL;
	curl_easy_getinfo(k->c, CURLINFO_ACTIVESOCKET, &k->fd);
	paas_buf_addf(&rq, "%s %s HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\n"
	    "Upgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	    method, path, body ? strlen(body) : 0, body ? body : "");
	if (paas_http_conn_send(k, rq.data, rq.len, err) < 0)
		goto fail;
	until = paas_now_ms() + h->timeout_ms;
	while ((end = k->pre.data ? strstr(k->pre.data, "\r\n\r\n") : NULL) == NULL) {
		char buf[4096];
		size_t n = 0;

		if (k->pre.len > 16384 || paas_now_ms() >= until) {
			paas_err_set(err, PAAS_EFAILED, "%s: no upgrade answer within %ld s", path,
			    h->timeout_ms / 1000);
			goto fail;
		}
		rc = curl_easy_recv(k->c, buf, sizeof(buf), &n);
		if (rc == CURLE_AGAIN) {
			wait_fd(k->fd, POLLIN, 100);
			continue;
		}
		if (rc != CURLE_OK || n == 0) {
			paas_err_set(err, PAAS_EUNAVAIL, "%s: the connection closed before an answer",
			    path);
			goto fail;
		}
		paas_buf_add(&k->pre, buf, n);
	}
	sscanf(k->pre.data, "HTTP/%*s %ld", status);
	k->off = (size_t)(end + 4 - k->pre.data);
	if (*status != 101 && *status != 200) {
		paas_err_set(err, PAAS_EFAILED, "%s: HTTP %ld: %.200s", path, *status, end + 4);
		goto fail;
	}
	paas_buf_free(&rq);
	*out = k;
	return 0;
fail:
	paas_buf_free(&rq);
	paas_http_conn_close(k);
	return -1;
}

int
paas_http_conn_fd(const struct paas_http_conn *k)
{
	return (int)k->fd;
}

int
paas_http_conn_recv(struct paas_http_conn *k, void *buf, size_t cap, size_t *n,
    struct paas_err *err)
{
	CURLcode rc;

	*n = 0;
	if (k->off < k->pre.len) {
		*n = k->pre.len - k->off < cap ? k->pre.len - k->off : cap;
		memcpy(buf, k->pre.data + k->off, *n);
		k->off += *n;
		return 0;
	}
	rc = curl_easy_recv(k->c, buf, cap, n);
	if (rc == CURLE_AGAIN)
		return 1;
	if (rc != CURLE_OK)
		return paas_err_set(err, PAAS_EUNAVAIL, "the connection broke: %s",
		    curl_easy_strerror(rc));
	return 0;
}

int
paas_http_conn_send(struct paas_http_conn *k, const void *buf, size_t len, struct paas_err *err)
{
	while (len) {
		size_t n = 0;
		CURLcode rc = curl_easy_send(k->c, buf, len, &n);

		if (rc == CURLE_AGAIN) {
			wait_fd(k->fd, POLLOUT, 1000);
			continue;
		}
		if (rc != CURLE_OK)
			return paas_err_set(err, PAAS_EUNAVAIL, "the connection broke: %s",
			    curl_easy_strerror(rc));
		buf = (const char *)buf + n;
		len -= n;
	}
	return 0;
}

void
paas_http_conn_close(struct paas_http_conn *k)
{
	if (k == NULL)
		return;
	curl_easy_cleanup(k->c);
	paas_buf_free(&k->pre);
	free(k);
}
