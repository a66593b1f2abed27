/*
 * What ssh.c (sessions, channels, bridges) shares with ssh-connect.c (the
 * connection and its trust), internal to them.
 */
#ifndef PAAS_SSH_INT_H
#define PAAS_SSH_INT_H

#include <pthread.h>
#include <stddef.h>

#include <libssh2.h>

#include "buf.h"
#include "err.h"

#define CHAN_BUF	32768

/* paas_ssh_run's: the command's output and status, shared by the caller
 * and the session's thread until the one that comes last frees it. */
struct runst {
	struct paas_buf out;
	struct paas_buf in;		/* its standard input, sent from inoff */
	size_t inoff;
	int status, done, abandoned;
};

/* One exec channel: bytes between the socketpair's end (fd) and libssh2. */
struct chan {
	LIBSSH2_CHANNEL *ch;
	int fd;				/* -1: captured (paas_ssh_run) */
	char up[CHAN_BUF];		/* from fd, to the channel */
	size_t upn, upoff;
	char down[CHAN_BUF];		/* from the channel, to fd */
	size_t downn, downoff;
	int local_eof, remote_eof, eof_sent, shut;
	struct runst *run;		/* paas_ssh_run's, or NULL */
	struct chan *next;
};

struct session {
	char *target, *user, *host;
	int port, sock, wake[2], dead, quit;
	int lsock;			/* the bridge's listener, or -1 */
	char *ldir, *lpath, *lcmd;	/* its directory, socket and command */
	LIBSSH2_SESSION *s;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* One request at a time, handed to the thread under mu. */
	const char *req_cmd;
	int req_pending, req_busy;
	struct runst *req_run;
	struct paas_err req_err;
	struct chan *chans;
	struct session *next;
};

/* "[user@]host[:port]" into its parts (user and host: caller frees). */
int ssh_split_target(const char *t, char **user, char **host, int *port);
/* TCP to the session's host:port within timeout_ms: ss->sock. */
int ssh_dial(struct session *ss, long timeout_ms, struct paas_err *err);
/* The host's key known (or recorded with paas_ssh_accept_new), else why. */
int ssh_check_host_key(struct session *ss, struct paas_err *err);
/* The user authenticated: ssh-agent, PAAS_SSH_KEY, ~/.ssh/id_*. */
int ssh_authenticate(struct session *ss, struct paas_err *err);

#endif
