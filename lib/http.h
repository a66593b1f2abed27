/*
 * HTTP transport over libcurl, shared by the etcd and Docker clients.
 *
 * A client holds an ordered list of endpoints.  A request goes to the current
 * endpoint; when that one cannot be reached (connection refused, no route,
 * connect timeout) the client moves to the next and tries again, and stays on
 * the one that answered.  Each endpoint keeps its own curl handle, so
 * connections are kept alive between requests.
 *
 * Endpoint URLs:  http://HOST:PORT  https://HOST:PORT  unix:///PATH
 *                 tcp://HOST:PORT (https, or plain http when opts.insecure)
 * A non-2xx answer is not an error here: the caller reads resp.status.
 */
#ifndef PAAS_HTTP_H
#define PAAS_HTTP_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"

struct paas_http_opts {
	const char *ca_file;	/* PEM CA bundle; NULL: the system's */
	const char *ca_pem;	/* or the bundle itself */
	const char *cert_file;	/* PEM client certificate, or NULL */
	const char *key_file;	/* PEM client key, or NULL */
	long connect_timeout_ms; /* 0: 2000 */
	long timeout_ms;	/* whole request, 0: 30000; not applied to streams */
	int insecure;		/* tcp:// means plain http instead of https */
	/* What an ssh:// endpoint's bridge runs there (ssh.h), a constant or
	 * validated; NULL: PAAS_SSH_DOCKER, the Engine API. */
	const char *ssh_command;
	/* Streams stop (returning 0) soon after *cancel becomes non-zero. */
	volatile sig_atomic_t *cancel;
};

struct paas_http;

struct paas_http_req {
	const char *method;		/* "GET", "POST", "PUT", "DELETE" */
	const char *path;		/* starts with '/', already URL-encoded */
	const char *body;		/* NULL: no body */
	size_t len;
	const char *content_type;	/* NULL: application/json when a body is sent */
	FILE *upload;			/* instead of body: stream this file as the body */
	int idempotent;		/* may be re-sent to the next endpoint after a broken connection */
	int raw;		/* streams: hand over raw chunks instead of lines */
	const char *header;	/* extra "Name: value" headers, '\n' between, or NULL */
	const char *keep;	/* response headers wanted, '\n' between, or NULL */
};

struct paas_http_resp {
	long status;		/* HTTP status; 0 before an answer */
	char *body;		/* NUL-terminated, owned; free with paas_http_resp_free */
	size_t len;
	char *headers;		/* those of req->keep it had, "Name: value\n" each
				 * (the last of a repeated one), or NULL */
};

/* Returns a client the caller frees with paas_http_free(), or NULL with err
 * set (PAAS_EINVAL) when the endpoint list is empty or malformed.  `name` says
 * what the endpoints are ("etcd", "docker") in error messages.  The strings in
 * opts are copied. */
struct paas_http *paas_http_new(const char *name, const char *endpoints,
    const struct paas_http_opts *opts, struct paas_err *err);
void paas_http_free(struct paas_http *h);
/* libcurl's global set-up, done once; call it before starting threads. */
void paas_http_init(void);

/* The endpoint the next request goes to, as the user wrote it (borrowed). */
const char *paas_http_endpoint(const struct paas_http *h);
size_t paas_http_nendpoints(const struct paas_http *h);
/* Move on to the next endpoint (after a failure the caller noticed). */
void paas_http_next(struct paas_http *h);

/* One request.  On -1, err says which endpoints could not be reached and why
 * (status PAAS_EUNAVAIL).  resp is filled on 0; free it in both cases. */
int paas_http_do(struct paas_http *h, const struct paas_http_req *req,
    struct paas_http_resp *resp, struct paas_err *err);
void paas_http_resp_free(struct paas_http_resp *resp);

/*
 * A streaming request: fn is called for each line of the body (without its
 * newline; or for each raw chunk with req->raw) as it arrives.  fn returns 0 to
 * go on, non-zero to stop.  Returns 0 when fn or opts.cancel stopped it, 1 when
 * the peer ended the body, -1 on error: a connection failure or a break in the
 * middle (PAAS_EUNAVAIL), or a non-2xx answer (PAAS_EFAILED, message includes
 * the body).  *status, if not NULL, gets the HTTP status.
 */
typedef int (*paas_http_data_fn)(const char *data, size_t len, void *arg);
int paas_http_stream(struct paas_http *h, const struct paas_http_req *req,
    paas_http_data_fn fn, void *arg, long *status, struct paas_err *err);

/*
 * Many requests at once (curl multi), each to its own client's current
 * endpoint, moving to that client's next endpoint if it cannot connect.
 * Every job finishes within timeout_ms (0: each client's own timeout).  Each
 * job gets its own rc (0 / -1), resp and err.  The clients must be distinct
 * from each other or not used elsewhere until this returns.  A job whose
 * client is NULL is skipped and left as the caller set it (its rc, resp
 * and err untouched), so a caller need not pack the jobs it can start.
 */
struct paas_http_job {
	struct paas_http *client;
	struct paas_http_req req;
	struct paas_http_resp resp;	/* out */
	struct paas_err err;		/* out */
	int rc;				/* out */
};
void paas_http_multi(struct paas_http_job *jobs, size_t n, long timeout_ms);

/* Percent-encode s for a URL query (caller frees). */
char *paas_http_escape(const char *s);

/*
 * A connection upgraded from HTTP to a raw stream both ways (Docker's
 * attach): method path, with body (JSON, or NULL), sent on a connection of
 * its own to the current endpoint, TLS, unix socket or SSH bridge alike;
 * *status the answer's (101 or 200, else an error with its body).  recv
 * gives what came, 0 with *n 0 at the end, 1 when nothing is there yet
 * (poll the fd; what came with the headers is handed over first); send
 * sends it all.
 */
struct paas_http_conn;
int paas_http_upgrade(struct paas_http *h, const char *method, const char *path,
    const char *body, struct paas_http_conn **out, long *status, struct paas_err *err);
int paas_http_conn_fd(const struct paas_http_conn *k);
int paas_http_conn_recv(struct paas_http_conn *k, void *buf, size_t cap, size_t *n,
    struct paas_err *err);
int paas_http_conn_send(struct paas_http_conn *k, const void *buf, size_t len,
    struct paas_err *err);
void paas_http_conn_close(struct paas_http_conn *k);

#endif
