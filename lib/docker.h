/*
 * Docker Engine API client (API version 1.41, Docker 20.10 and later).
 *
 * Endpoints: unix:///PATH; tcp://HOST:PORT with TLS (opts.ca_file, cert_file,
 * key_file); https://HOST:PORT.  Plain TCP (tcp:// without TLS, or http://)
 * is refused unless opts.insecure is set: the Docker API is root on the host.
 *
 * Objects Docker returns (lists, inspections, events) are handed over as
 * jansson values the caller owns and releases with json_decref().
 */
#ifndef PAAS_DOCKER_H
#define PAAS_DOCKER_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "http.h"

struct paas_docker;

/* Returns a client the caller frees with paas_docker_free(), or NULL with err
 * set (PAAS_EINVAL for a malformed or refused URL). */
struct paas_docker *paas_docker_new(const char *url,
    const struct paas_http_opts *opts, struct paas_err *err);
void paas_docker_free(struct paas_docker *d);
/* The transport, for fan-out with paas_http_multi() (borrowed). */
struct paas_http *paas_docker_http(struct paas_docker *d);
/* The endpoint, as given (borrowed). */
const char *paas_docker_url(const struct paas_docker *d);
/* The versioned API path for p ("/containers/json" -> "/v1.41/containers/json");
 * caller frees. */
char *paas_docker_path(const char *p);

int paas_docker_ping(struct paas_docker *d, struct paas_err *err);
int paas_docker_version(struct paas_docker *d, json_t **out, struct paas_err *err);

/* Containers carrying every label in labels ("key" or "key=value",
 * NULL-terminated; NULL for all); stopped ones too when all is set. */
int paas_docker_containers(struct paas_docker *d, const char *const *labels,
    int all, json_t **out, struct paas_err *err);
/* config is the body of POST /containers/create (borrowed); name may be NULL.
 * *id gets the new container's ID (caller frees). */
int paas_docker_create(struct paas_docker *d, const char *name, json_t *config,
    char **id, struct paas_err *err);
/* Starting a running container or stopping a stopped one is not an error. */
int paas_docker_start(struct paas_docker *d, const char *id, struct paas_err *err);
/* Send signal (a name such as SIGTERM, or a number); one that does not
 * run is not an error. */
int paas_docker_kill(struct paas_docker *d, const char *id, const char *signal,
    struct paas_err *err);
int paas_docker_stop(struct paas_docker *d, const char *id, int timeout_s,
    struct paas_err *err);
/* A container that is already gone is not an error either. */
int paas_docker_remove(struct paas_docker *d, const char *id, int force,
    struct paas_err *err);
/* *out is NULL when there is no such container. */
int paas_docker_inspect(struct paas_docker *d, const char *id, json_t **out,
    struct paas_err *err);
/* Blocks until the container stops; *status gets its exit status. */
int paas_docker_wait(struct paas_docker *d, const char *id, int64_t *status,
    struct paas_err *err);
/* The last `tail` lines (0: all) of stdout and stderr, appended to out. */
int paas_docker_logs(struct paas_docker *d, const char *id, int tail,
    struct paas_buf *out, struct paas_err *err);

/* A container's output as it comes, line by line: fn gets each line
 * (without its newline; a last line without one at the end), 1 for stdout
 * or 2 for stderr, and returns non-zero to stop.  follow keeps reading
 * until the container stops or the client's cancel flag is set; since is
 * a Unix time (0: from the start), tail the lines to start with (0: all).
 * With timestamps each line begins with Docker's RFC 3339 time and a
 * space.  Returns as paas_http_stream does. */
typedef int (*paas_docker_log_fn)(int stream, const char *line, size_t len, void *arg);
int paas_docker_logs_stream(struct paas_docker *d, const char *id, int follow,
    int64_t since, int tail, int timestamps, paas_docker_log_fn fn, void *arg,
    struct paas_err *err);

/* The events stream: fn gets each event (borrowed) and returns non-zero to
 * stop.  labels filters as for paas_docker_containers; since is a Unix time
 * (0: from now).  Returns as paas_http_stream does. */
typedef int (*paas_docker_event_fn)(json_t *ev, void *arg);
int paas_docker_events(struct paas_docker *d, const char *const *labels,
    int64_t since, paas_docker_event_fn fn, void *arg, struct paas_err *err);

int paas_docker_images(struct paas_docker *d, json_t **out, struct paas_err *err);
/* *out is NULL when there is no such image. */
int paas_docker_image_inspect(struct paas_docker *d, const char *name,
    json_t **out, struct paas_err *err);
/* The same with a registry's credentials (paas_docker_auth_encode(); NULL:
 * none).  A refusal by the registry is PAAS_EUNAVAIL. */
int paas_docker_image_pull_auth(struct paas_docker *d, const char *image, const char *auth,
    struct paas_err *err);

/* Each line of a build's or a push's output, as it comes (without newline). */
typedef void (*paas_docker_progress_fn)(const char *line, size_t len, void *arg);
/* Build the context tar (rewound and read to its end) with dockerfile (its
 * path in the tar), tagged tag.  *id gets the image ID (caller frees).  A
 * failed build is PAAS_EFAILED, its message ending with the build's last
 * lines. */
int paas_docker_build(struct paas_docker *d, FILE *tar, const char *tag, const char *dockerfile,
    paas_docker_progress_fn fn, void *arg, char **id, struct paas_err *err);
/* Push name:tag (name: the reference's repository, REGISTRY/PATH) with
 * auth (NULL: none); *digest gets what the registry calls the manifest
 * ("sha256:...", caller frees).  Refused credentials are PAAS_EUNAVAIL. */
int paas_docker_push(struct paas_docker *d, const char *name, const char *tag, const char *auth,
    paas_docker_progress_fn fn, void *arg, char **digest, struct paas_err *err);
/* The X-Registry-Auth value for user and password at server (caller frees;
 * it holds the password). */
char *paas_docker_auth_encode(const char *server, const char *user, const char *password);

/* Import a root filesystem tarball as image repo:tag; *id (if not NULL) gets
 * the image ID (caller frees). */
int paas_docker_image_import(struct paas_docker *d, FILE *tar, const char *repo,
    const char *tag, char **id, struct paas_err *err);

/* An attach of stdin, stdout and stderr, as a raw stream both ways (a
 * container made with a terminal: its bytes; without: Docker's frames of
 * 8-byte headers); and its terminal's size. */
int paas_docker_attach(struct paas_docker *d, const char *id, struct paas_http_conn **conn,
    struct paas_err *err);
int paas_docker_resize(struct paas_docker *d, const char *id, int rows, int cols,
    struct paas_err *err);

#endif
