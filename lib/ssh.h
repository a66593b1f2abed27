/*
 * SSH with libssh2: one session per host (user@host:port) and bridge command, kept for the
 * process and reopened once broken, carrying any number of exec channels.
 *
 * The host's key must be in known_hosts (PAAS_SSH_KNOWN_HOSTS, else
 * ~/.ssh/known_hosts): an unknown key and a changed key both refuse,
 * naming the host and the key's SHA256 fingerprint; paas_ssh_accept_new()
 * records an unknown one (never a changed one).  The user authenticates
 * with the key file PAAS_SSH_KEY, else ssh-agent's keys, else
 * ~/.ssh/id_ed25519, id_ecdsa, id_rsa.
 *
 A connection to a session's bridge (a unix socket in a private
 * directory under /tmp) becomes an exec channel: what is written to it is
 * the command's standard input, what is read its standard output, so that
 * libcurl speaks HTTP through `docker system dial-stdio` as through any
 * unix socket.  One thread per session moves the bytes of all its
 * channels; libssh2 is only called from it once the session is up.
 */
#ifndef PAAS_SSH_H
#define PAAS_SSH_H

#include "buf.h"
#include "err.h"

/* "[user@]host[:port]" (the part after ssh:// of a host URL) is well formed:
 * a user of letters, digits, . _ -, a host name or IP address, a port. */
int paas_ssh_target_ok(const char *target);

/* From now on, a host key not in known_hosts is added to it. */
void paas_ssh_accept_new(int yes);

/* What a Docker host's bridge runs. */
#define PAAS_SSH_DOCKER	"docker system dial-stdio"

/*
 * A bridge to target: a unix socket (its path in path) on this machine,
 * each connection to which the session hands to a new exec channel of
 * command, so that a client of a unix socket (libcurl) speaks to what
 * command connects to (the Docker CLI's dial-stdio: the Engine API).  The
 * session is opened, or reopened, within timeout_ms for the TCP connection
 * and as long again for the handshake and authentication.  Errors:
 * PAAS_EUNAVAIL naming the host and why (unreachable, refused user key,
 * unknown or changed host key).  command reaches a remote shell as
 * written: it must not hold user data.
 */
int paas_ssh_bridge(const char *target, const char *command, long timeout_ms, char *path,
    size_t size, struct paas_err *err);

/* Open the sessions of targets (n of them) for command's bridge at once,
 * each in a thread of its own, so that a request to many hosts does not
 * connect to one after the other; failures are left for the requests to
 * find and report. */
void paas_ssh_prepare(const char *const *targets, size_t n, const char *command,
    long timeout_ms);

/* Run command there to the end (on the session of target's Docker bridge,
 * opened within min(timeout_ms, 15 s) when it must be): its standard output
 * and error (the first 64 KiB) in out, *status its exit status. */
int paas_ssh_run(const char *target, const char *command, long timeout_ms,
    struct paas_buf *out, int *status, struct paas_err *err);

/* The same with in (inlen bytes, copied) as the command's standard input,
 * then end of file: how files reach a host (a constant command such as
 * "cat >path" writes them), never through its command line. */
int paas_ssh_run_input(const char *target, const char *command, const void *in, size_t inlen,
    long timeout_ms, struct paas_buf *out, int *status, struct paas_err *err);

#endif
