/*
 * The status page (paas-cluster status --html, and the router's status
 * domain): one self-contained HTML page of a survey, every value escaped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "etcd.h"
#include "http.h"
#include "jsonx.h"
#include "keys.h"
#include "listing.h"
#include "private.h"
#include "statuspage.h"
#include "survey.h"
#include "valid.h"

static long long
num(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* s, HTML-escaped, appended to b. */
static void
esc(struct paas_buf *b, const char *s)
{
	for (; s && *s; s++)
		switch (*s) {
		case '<': paas_buf_adds(b, "&lt;"); break;
		case '>': paas_buf_adds(b, "&gt;"); break;
		case '&': paas_buf_adds(b, "&amp;"); break;
		case '"': paas_buf_adds(b, "&quot;"); break;
		case '\'': paas_buf_adds(b, "&#39;"); break;
		default: paas_buf_add(b, s, 1);
		}
}

/* One cell: text escaped, with a class when given. */
static void
td(struct paas_buf *b, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
td(struct paas_buf *b, const char *cls, const char *fmt, ...)
{
	char v[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	paas_buf_adds(b, cls ? "<td class=\"" : "<td>");
	if (cls) {
		paas_buf_adds(b, cls);
		paas_buf_adds(b, "\">");
	}
	esc(b, v);
	paas_buf_adds(b, "</td>");
}

static void
th_row(struct paas_buf *b, const char *const *h, size_t n)
{
	size_t i;

	paas_buf_adds(b, "<tr>");
	for (i = 0; i < n; i++)
		paas_buf_addf(b, "<th>%s</th>", h[i]);
	paas_buf_adds(b, "</tr>\n");
}

#define HEADS(b, ...) do { \
	static const char *const h_[] = { __VA_ARGS__ }; \
	th_row(b, h_, sizeof(h_) / sizeof(h_[0])); \
} while (0)

char *
paas_status_page_render(const json_t *r, const json_t *deps, size_t *len)
{
	struct paas_buf b = PAAS_BUF_INIT;
	const json_t *etcd = json_object_get(r, "etcd"), *v;
	char now[40];
	long long desired = 0, healthy = 0;
	size_t i;

	paas_utc_now(now, sizeof(now));
	json_array_foreach(json_object_get(r, "services"), i, v) {
		desired += num(v, "instances_desired");
		healthy += num(v, "instances_healthy");
	}
	paas_buf_adds(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	    "<title>paas-tools cluster status</title>\n<style>\n"
	    "body{font:14px/1.4 sans-serif;margin:2em;color:#222;background:#fff}\n"
	    "h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.6em 0 .4em}\n"
	    "table{border-collapse:collapse;min-width:40em}\n"
	    "th,td{text-align:left;padding:.25em .8em;border-bottom:1px solid #ddd}\n"
	    "th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	    ".bad{color:#fff;background:#c0392b}.ok{color:#1e7e34}.warn{background:#f9e79f}\n"
	    ".sum{font-size:1.2em;margin:.6em 0}\n</style></head><body>\n");
	paas_buf_adds(&b, "<h1>paas-tools cluster</h1>\n<p>as of ");
	esc(&b, now);
	paas_buf_addf(&b, "</p>\n<p class=\"sum\" id=\"summary\">instances healthy: "
	    "<span id=\"healthy\">%lld</span> of <span id=\"desired\">%lld</span> desired; "
	    "etcd members healthy: <span id=\"etcd-healthy\">%lld</span> of "
	    "<span id=\"etcd-members\">%lld</span></p>\n", healthy, desired,
	    num(etcd, "members_healthy"), num(etcd, "members"));
	if (json_object_get(etcd, "error")) {
		paas_buf_adds(&b, "<p class=\"bad\">etcd: ");
		esc(&b, paas_json_str(etcd, "error", "-"));
		paas_buf_adds(&b, "</p>\n");
	}
	paas_buf_adds(&b, "<h2>etcd members</h2>\n<table id=\"members\">\n");
	HEADS(&b, "name", "id", "healthy", "leader", "version", "db size", "client URLs");
	json_array_foreach(json_object_get(r, "members"), i, v) {
		int ok = json_is_true(json_object_get(v, "healthy"));

		paas_buf_adds(&b, "<tr>");
		td(&b, NULL, "%s", paas_json_str(v, "name", "-"));
		td(&b, NULL, "%s", paas_json_str(v, "id", "-"));
		td(&b, ok ? "ok" : "bad", "%s", ok ? "yes" : "no");
		td(&b, NULL, "%s", json_is_true(json_object_get(v, "leader")) ? "leader" : "");
		td(&b, NULL, "%s", paas_json_str(v, "version", "-"));
		td(&b, "n", "%lld", num(v, "db_size"));
		td(&b, NULL, "%s", paas_json_str(v, "client_urls", "-"));
		paas_buf_adds(&b, "</tr>\n");
	}
	paas_buf_adds(&b, "</table>\n<h2>hosts</h2>\n<table id=\"hosts\">\n");
	HEADS(&b, "host", "reachable", "Docker", "containers", "running", "agent", "error");
	json_array_foreach(json_object_get(r, "hosts"), i, v) {
		int ok = json_is_true(json_object_get(v, "reachable"));

		paas_buf_adds(&b, "<tr>");
		td(&b, NULL, "%s", paas_json_str(v, "name", "-"));
		td(&b, ok ? "ok" : "bad", "%s", ok ? "yes" : "no");
		td(&b, NULL, "%s", ok ? paas_json_str(v, "version", "-") : "");
		td(&b, "n", "%lld", num(v, "containers"));
		td(&b, "n", "%lld", num(v, "containers_running"));
		td(&b, NULL, "%s", json_is_true(json_object_get(v, "agent")) ? "yes" : "no");
		td(&b, NULL, "%s", json_object_get(v, "error") ? paas_json_str(v, "error", "-") : "");
		paas_buf_adds(&b, "</tr>\n");
	}
	paas_buf_adds(&b, "</table>\n<h2>services</h2>\n<table id=\"services\">\n");
	HEADS(&b, "deployment", "service", "release", "desired", "running", "announced", "healthy");
	json_array_foreach(json_object_get(r, "services"), i, v) {
		int short_ = num(v, "instances_healthy") < num(v, "instances_desired");

		paas_buf_addf(&b, "<tr%s>", short_ ? " class=\"warn\"" : "");
		td(&b, NULL, "%s", paas_json_str(v, "deployment", "-"));
		td(&b, NULL, "%s", paas_json_str(v, "service", "-"));
		td(&b, "n", "%lld", num(v, "release"));
		td(&b, "n", "%lld", num(v, "instances_desired"));
		td(&b, "n", "%lld", num(v, "instances_running"));
		td(&b, "n", "%lld", num(v, "instances_announced"));
		td(&b, short_ ? "n bad" : "n ok", "%lld", num(v, "instances_healthy"));
		paas_buf_adds(&b, "</tr>\n");
	}
	paas_buf_adds(&b, "</table>\n<h2>routes</h2>\n<table id=\"routes\">\n");
	HEADS(&b, "domain", "deployment", "service", "servers");
	json_array_foreach(json_object_get(r, "routes"), i, v) {
		paas_buf_adds(&b, "<tr>");
		td(&b, NULL, "%s", paas_json_str(v, "domain", "-"));
		td(&b, NULL, "%s", paas_json_str(v, "deployment", "-"));
		td(&b, NULL, "%s", paas_json_str(v, "service", "-"));
		td(&b, num(v, "servers") ? "n" : "n bad", "%lld", num(v, "servers"));
		paas_buf_adds(&b, "</tr>\n");
	}
	paas_buf_adds(&b, "</table>\n<h2>routers</h2>\n<table id=\"routers\">\n");
	HEADS(&b, "router", "revision", "serves the latest");
	json_array_foreach(json_object_get(r, "routers"), i, v) {
		int behind = json_is_true(json_object_get(v, "behind"));

		paas_buf_adds(&b, "<tr>");
		td(&b, NULL, "%s", paas_json_str(v, "name", "-"));
		td(&b, "n", "%lld", num(v, "revision"));
		td(&b, behind ? "bad" : "ok", "%s", behind ? "no" : "yes");
		paas_buf_adds(&b, "</tr>\n");
	}
	paas_buf_adds(&b, "</table>\n<h2>releases</h2>\n<table id=\"releases\">\n");
	HEADS(&b, "deployment", "release", "kind", "time", "user", "instances");
	json_array_foreach(deps, i, v) {
		paas_buf_adds(&b, "<tr>");
		td(&b, NULL, "%s", paas_json_str(v, "deployment", "-"));
		if (json_object_get(v, "error")) {
			td(&b, "bad", "%s", paas_json_str(v, "error", "-"));
			paas_buf_adds(&b, "</tr>\n");
			continue;
		}
		td(&b, "n", "%lld", num(v, "release"));
		td(&b, NULL, "%s", paas_json_str(v, "release_kind", "-"));
		td(&b, NULL, "%s", paas_json_str(v, "time", "-"));
		td(&b, NULL, "%s", paas_json_str(v, "user", "-"));
		td(&b, "n", "%lld", num(v, "instances"));
		paas_buf_adds(&b, "</tr>\n");
	}
	paas_buf_adds(&b, "</table>\n</body></html>\n");
	return paas_buf_detach(&b, len);
}


char *
paas_status_page(const char *etcd, long timeout_ms, size_t *len, struct paas_err *err)
{
	struct paas_survey_opts so = { 0 };
	json_t *report, *deps = NULL;
	char *p;

	so.etcd = etcd;
	so.timeout_ms = timeout_ms;
	if (paas_survey(&so, &report, err) < 0)
		return NULL;
	/* The releases are a part of the page, not a reason to fail it. */
	if (paas_listing_deployments(etcd, &deps, err) < 0) {
		paas_err_clear(err);
		deps = json_array();
	}
	p = paas_status_page_render(report, deps, len);
	json_decref(deps);
	json_decref(report);
	return p;
}

/* The router's status server ------------------------------------------- */

#define PAGE_FRESH_MS	2000	/* a page this young is served again */
#define REQUEST_MAX	8192
#define IO_TIMEOUT_S	5
#define MAX_CONNS	16	/* connections served at once */

struct paas_status_server {
	const char *etcd;
	char *path;
	int fd, wake[2];
	pthread_t thread;
	pthread_mutex_t mu;	/* the page, and conns */
	pthread_cond_t idle;
	int conns;
	char *page;
	size_t len;
	long long made_ms;
};

static void
answer(int c, const char *status, const char *type, const char *body, size_t len, int head)
{
	char h[256];
	int n = snprintf(h, sizeof(h), "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
	    "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n"
	    "Connection: close\r\n\r\n", status, type, len);

	if (write(c, h, (size_t)n) != n || head)
		return;
	while (len > 0) {
		ssize_t w = write(c, body, len);

		if (w <= 0)
			return;
		body += w;
		len -= (size_t)w;
	}
}

/* The page, surveyed again when older than PAGE_FRESH_MS: a copy (caller
 * frees), or NULL with err. */
static char *
current_page(struct paas_status_server *s, size_t *len, struct paas_err *err)
{
	char *p = NULL;

	pthread_mutex_lock(&s->mu);
	if (s->page == NULL || paas_now_ms() - s->made_ms > PAGE_FRESH_MS) {
		size_t n;
		char *fresh = paas_status_page(s->etcd, IO_TIMEOUT_S * 1000, &n, err);

		if (fresh == NULL) {
			pthread_mutex_unlock(&s->mu);
			return NULL;
		}
		free(s->page);
		s->page = fresh;
		s->len = n;
		s->made_ms = paas_now_ms();
	}
	p = paas_xmalloc(s->len + 1);
	memcpy(p, s->page, s->len + 1);
	*len = s->len;
	pthread_mutex_unlock(&s->mu);
	return p;
}

#define ACME_PATH	"/.well-known/acme-challenge/"

/* An ACME CA's HTTP-01 request (RFC 8555 8.3), for any domain: the key
 * authorization of token (what follows the path, to a space) as etcd has
 * it, so that whichever router the CA reaches answers. */
static void
acme_answer(struct paas_status_server *s, int c, const char *token, int head)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_etcd *e;
	struct paas_kv kv;
	char tok[129], *key;
	size_t n = strcspn(token, " ?\r\n");
	int found = 0, rc;

	snprintf(tok, sizeof(tok), "%.*s", (int)(n < sizeof(tok) ? n : 0), token);
	if (n == 0 || n >= sizeof(tok) || !paas_only_chars(tok, "_-")) {
		answer(c, "404 Not Found", "text/plain", "no such challenge\n", 18, head);
		return;
	}
	if ((e = paas_etcd_new(s->etcd, NULL, &err)) == NULL) {
		answer(c, "503 Service Unavailable", "text/plain", "etcd\n", 5, head);
		return;
	}
	key = paas_key_acme_challenge(tok);
	rc = paas_etcd_get(e, key, &kv, &found, NULL, &err);
	free(key);
	paas_etcd_free(e);
	if (rc < 0)
		answer(c, "503 Service Unavailable", "text/plain", "etcd\n", 5, head);
	else if (!found)
		answer(c, "404 Not Found", "text/plain", "no such challenge\n", 18, head);
	else {
		answer(c, "200 OK", "application/octet-stream", kv.value, kv.value_len, head);
		paas_kv_clear(&kv);
	}
}

/* One connection: its request head read (within IO_TIMEOUT_S), one answer. */
static void
serve(struct paas_status_server *s, int c)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	struct paas_err err = PAAS_ERR_INIT;
	char req[REQUEST_MAX + 1], *page;
	size_t got = 0, len;
	int head;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (got < REQUEST_MAX) {
		ssize_t n = read(c, req + got, REQUEST_MAX - got);

		if (n <= 0)
			return;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	head = strncmp(req, "HEAD ", 5) == 0;
	if (strncmp(req, "GET ", 4) != 0 && !head) {
		answer(c, "405 Method Not Allowed", "text/plain", "GET or HEAD only\n", 17, 0);
		return;
	}
	if (strncmp(req + (head ? 5 : 4), ACME_PATH, strlen(ACME_PATH)) == 0) {
		acme_answer(s, c, req + (head ? 5 : 4) + strlen(ACME_PATH), head);
		return;
	}
	if ((page = current_page(s, &len, &err)) == NULL) {
		char msg[PAAS_ERR_MSG_MAX + 32];
		int n = snprintf(msg, sizeof(msg), "cluster survey failed: %s\n", err.msg);

		answer(c, "503 Service Unavailable", "text/plain", msg,
		    (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1, head);
		return;
	}
	answer(c, "200 OK", "text/html; charset=utf-8", page, len, head);
	free(page);
}

struct conn {
	struct paas_status_server *s;
	int fd;
};

static void *
conn_main(void *arg)
{
	struct conn *k = arg;
	struct paas_status_server *s = k->s;

	serve(s, k->fd);
	close(k->fd);
	free(k);
	pthread_mutex_lock(&s->mu);
	if (--s->conns == 0)
		pthread_cond_signal(&s->idle);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void *
server_main(void *arg)
{
	struct paas_status_server *s = arg;

	for (;;) {
		struct pollfd p[2] = { { s->fd, POLLIN, 0 }, { s->wake[0], POLLIN, 0 } };
		struct conn *k;
		pthread_t t;
		int c, busy;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		if ((c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		pthread_mutex_lock(&s->mu);
		busy = s->conns >= MAX_CONNS;
		if (!busy)
			s->conns++;
		pthread_mutex_unlock(&s->mu);
		if (busy) {
			answer(c, "503 Service Unavailable", "text/plain", "busy\n", 5, 0);
			close(c);
			continue;
		}
		k = paas_xmalloc(sizeof(*k));
		k->s = s;
		k->fd = c;
		if (pthread_create(&t, NULL, conn_main, k) == 0)
			pthread_detach(t);
		else
			conn_main(k);
	}
	return NULL;
}

/* Bind fd to a, its file mode 0600 from its creation (no moment when
 * another user could connect); called before the router's threads. */
static int
bind_private(int fd, const struct sockaddr_un *a)
{
	mode_t old = umask(0177);
	int rc = bind(fd, (const struct sockaddr *)a, sizeof(*a));

	umask(old);
	return rc;
}

int
paas_status_server_start(const char *etcd, const char *path, struct paas_status_server **out,
    struct paas_err *err)
{
	struct paas_status_server *s = paas_xmalloc(sizeof(*s));
	struct sockaddr_un a;

	memset(s, 0, sizeof(*s));
	s->etcd = etcd;
	s->fd = s->wake[0] = s->wake[1] = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->idle, NULL);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a.sun_path)) {
		paas_err_set(err, PAAS_EINVAL, "status page: socket path %.80s is too long", path);
		goto fail;
	}
	memcpy(a.sun_path, path, strlen(path));
	unlink(path);
	if ((s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind_private(s->fd, &a) < 0 ||
	    listen(s->fd, 16) < 0 || pipe2(s->wake, O_CLOEXEC) < 0) {
		paas_err_set(err, PAAS_EFAILED, "status page: cannot listen on %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	s->path = paas_xstrdup(path);
	paas_http_init();
	if ((errno = pthread_create(&s->thread, NULL, server_main, s)) != 0) {
		paas_err_set(err, PAAS_EFAILED, "status page: cannot start its thread: %s",
		    strerror(errno));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->fd >= 0)
		close(s->fd);
	if (s->wake[0] >= 0) {
		close(s->wake[0]);
		close(s->wake[1]);
	}
	if (s->path)
		unlink(s->path);
	free(s->path);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->idle);
	free(s);
	return -1;
}

void
paas_status_server_stop(struct paas_status_server *s)
{
	if (s == NULL)
		return;
	if (write(s->wake[1], "x", 1) == 1)
		pthread_join(s->thread, NULL);
	/* The connections under way end within their timeouts. */
	pthread_mutex_lock(&s->mu);
	while (s->conns > 0)
		pthread_cond_wait(&s->idle, &s->mu);
	pthread_mutex_unlock(&s->mu);
	close(s->fd);
	close(s->wake[0]);
	close(s->wake[1]);
	unlink(s->path);
	free(s->path);
	free(s->page);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->idle);
	free(s);
}

/* The status page's users: USER:HASH lines (crypt(3), as htpasswd -B or
 * openssl passwd -6 make them), # comments and blank lines, in a file
 * nobody else may read.  Any line that is not one is an error naming it. */
int
paas_status_users_read(const char *path, json_t **users, struct paas_err *err)
{
	char *data, *line, *next;
	size_t len;
	int n = 0;

	if (paas_private_read("--status-users", path, 1 << 20, &data, &len, err) < 0)
		return -1;
	*users = json_object();
	for (line = data; line; line = next) {
		char *colon;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		n++;
		line[strcspn(line, "\r")] = '\0';
		colon = strchr(line, ':');
		if (*line == '#' || *line == '\0')
			continue;
		if (colon == NULL || (*colon = '\0', !paas_valid_label(line)) ||
		    !paas_valid_crypt(colon + 1)) {
			paas_err_set(err, PAAS_EINVAL, "--status-users %s: line %d: expected "
			    "USER:HASH, a name of letters, digits, . _ - and a crypt(3) hash", path, n);
			goto fail;
		}
		json_object_set_new(*users, line, json_string(colon + 1));
	}
	if (json_object_size(*users) == 0) {
		paas_err_set(err, PAAS_EINVAL, "--status-users %s: no user", path);
		goto fail;
	}
	free(data);
	return 0;
fail:
	free(data);
	json_decref(*users);
	*users = NULL;
	return -1;
}
