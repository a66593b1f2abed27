/*
 * A systemd unit and its files brought up to date on a host over SSH: the
 * files copied over the host's session as the standard input of constant
 * commands (no user data reaches the remote shell's command line), written
 * only when their SHA-256 differs, the unit restarted only then.  The
 * mechanism alone: which files a component has is install.h's.
 */
#ifndef PAAS_REMOTE_H
#define PAAS_REMOTE_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

/* A file of a unit there: path (a constant: it reaches the remote shell),
 * its mode ("600"), its content (NULL: the file must not be there). */
struct paas_remote_file {
	const char *path;
	const char *mode;
	const struct paas_buf *content;
};

/*
 * Bring unit's files there up to date (only those that differ) and have
 * systemd run the unit: restarted when a file changed (*changed set),
 * otherwise enabled and started if it is not; *started (may be NULL) says
 * whether it was started or restarted, or ran already.  With no_block, systemctl
 * does not wait for the start (etcd members that wait for each other).
 * check, when not NULL, is a constant command run after the files changed
 * (a copied binary's --version), whose failure stops here.  Errors:
 * PAAS_EUNAVAIL naming the host and the step (systemd not running there,
 * systemctl's last words).
 */
int paas_remote_install(const char *target, const char *unit, const struct paas_remote_file *f,
    size_t n, const char *check, int no_block, int *changed, int *started,
    struct paas_err *err);

/* Run a constant command there, in (or NULL) its standard input; its
 * output added to out (or dropped).  A non-zero status is PAAS_EUNAVAIL
 * "ssh://TARGET: WHAT: its last line". */
int paas_remote_run(const char *target, const char *what, const char *command,
    const struct paas_buf *in, struct paas_buf *out, struct paas_err *err);

/* 1 when unit is active there, 0 when not (*why: its last log line,
 * caller frees), -1 when the host cannot be asked. */
int paas_remote_active(const char *target, const char *unit, char **why, struct paas_err *err);

/* A file's content here (a binary, /proc/self/exe...) into b; over
 * 256 MiB is an error. */
int paas_remote_read(const char *what, const char *path, struct paas_buf *b,
    struct paas_err *err);

/* The same for a file that holds a secret: paas_private_read()'s checks
 * (a regular file open to its owner alone, at most max bytes). */
int paas_remote_read_secret(const char *what, const char *path, size_t max, struct paas_buf *b,
    struct paas_err *err);

#endif
