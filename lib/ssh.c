/*
 * SSH sessions, their channels and bridges.  See ssh.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libssh2.h>
#include <openssl/crypto.h>

#include "buf.h"
#include "clock.h"
#include "ssh-int.h"
#include "ssh.h"

#define CAPTURE_MAX	65536




static pthread_mutex_t sessions_mu = PTHREAD_MUTEX_INITIALIZER;
static struct session *sessions;
/* Broken sessions: a caller may still wait on one; never freed. */
static struct session *graveyard;

/* Wait until libssh2 can go on (non-blocking mode). */
static void
wait_socket(struct session *ss, int ms)
{
	int dir = libssh2_session_block_directions(ss->s);
	struct pollfd p = { ss->sock, 0, 0 };

	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		p.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		p.events |= POLLOUT;
	poll(&p, 1, ms);
}

static void
chan_end(struct session *ss, struct chan *c)
{
	while (libssh2_channel_close(c->ch) == LIBSSH2_ERROR_EAGAIN && !ss->dead)
		wait_socket(ss, 1000);
	if (c->run)
		c->run->status = ss->dead ? -1 : libssh2_channel_get_exit_status(c->ch);
	libssh2_channel_free(c->ch);
	if (c->fd >= 0)
		close(c->fd);
	if (c->run) {
		pthread_mutex_lock(&ss->mu);
		if (c->run->abandoned) {
			paas_buf_free(&c->run->out);
			paas_buf_free(&c->run->in);
			free(c->run);
		} else {
			c->run->done = 1;
			pthread_cond_broadcast(&ss->cv);
		}
		pthread_mutex_unlock(&ss->mu);
	}
	free(c);
}

/* A channel running command (in the session's thread), or NULL. */
static LIBSSH2_CHANNEL *
open_channel(struct session *ss, const char *command)
{
	LIBSSH2_CHANNEL *ch;
	long long until = paas_now_ms() + 15000;
	int rc;

	while ((ch = libssh2_channel_open_session(ss->s)) == NULL &&
	    libssh2_session_last_errno(ss->s) == LIBSSH2_ERROR_EAGAIN && paas_now_ms() < until)
		wait_socket(ss, 1000);
	if (ch == NULL) {
		ss->dead = 1;
		return NULL;
	}
	while ((rc = libssh2_channel_exec(ch, command)) == LIBSSH2_ERROR_EAGAIN &&
	    paas_now_ms() < until)
		wait_socket(ss, 1000);
	if (rc != 0) {
		while (libssh2_channel_free(ch) == LIBSSH2_ERROR_EAGAIN)
			wait_socket(ss, 1000);
		return NULL;
	}
	return ch;
}

static void
add_chan(struct session *ss, LIBSSH2_CHANNEL *ch, int fd, struct runst *run)
{
	struct chan *c = paas_xmalloc(sizeof(*c));

	memset(c, 0, sizeof(*c));
	c->ch = ch;
	c->fd = fd;
	c->run = run;
	c->local_eof = run != NULL && run->in.len == 0;
	c->next = ss->chans;
	ss->chans = c;
}

/* paas_ssh_run's channel (in the session's thread). */
static void
open_request(struct session *ss)
{
	LIBSSH2_CHANNEL *ch = open_channel(ss, ss->req_cmd);

	if (ch == NULL)
		paas_err_set(&ss->req_err, PAAS_EUNAVAIL, "ssh %s: %s", ss->target,
		    ss->dead ? "cannot open a channel" : "the server refused to run the command");
	else
		add_chan(ss, ch, -1, ss->req_run);
}

/* A connection to the bridge: a channel of its command for it. */
static void
bridge_accept(struct session *ss)
{
	LIBSSH2_CHANNEL *ch;
	int fd = accept4(ss->lsock, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if ((ch = open_channel(ss, ss->lcmd)) == NULL) {
		close(fd);		/* the client sees the connection end */
		return;
	}
	add_chan(ss, ch, fd, NULL);
}

/* Move what can be moved on c (*moved set when anything was); 1 when it
 * is over. */
static int
pump(struct chan *c, int *moved)
{
	ssize_t n;

	if (!c->local_eof && c->upn == 0 && c->run) {
		/* A run's standard input: from its buffer, then EOF. */
		size_t k = c->run->in.len - c->run->inoff;

		if (k > sizeof(c->up))
			k = sizeof(c->up);
		memcpy(c->up, c->run->in.data + c->run->inoff, k);
		c->run->inoff += k;
		c->upn = k;
		c->upoff = 0;
		c->local_eof = c->run->inoff == c->run->in.len;
		*moved = k > 0;
	} else if (!c->local_eof && c->upn == 0) {
		n = read(c->fd, c->up, sizeof(c->up));
		if (n > 0) {
			c->upn = (size_t)n;
			c->upoff = 0;
			*moved = 1;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			c->local_eof = 1;
	}
	while (c->upoff < c->upn) {
		n = libssh2_channel_write(c->ch, c->up + c->upoff, c->upn - c->upoff);
		if (n == LIBSSH2_ERROR_EAGAIN)
			break;
		if (n < 0)
			return 1;
		c->upoff += (size_t)n;
		*moved = 1;
	}
	if (c->upoff == c->upn)
		c->upn = c->upoff = 0;
	if (c->local_eof && c->upn == 0 && !c->eof_sent) {
		n = libssh2_channel_send_eof(c->ch);
		if (n == 0)
			c->eof_sent = 1;
		else if (n != LIBSSH2_ERROR_EAGAIN)
			return 1;
	}
	if (!c->remote_eof && c->downn == 0) {
		char junk[4096];

		/* Its standard error: the end of a capture, else dropped. */
		while ((n = libssh2_channel_read_stderr(c->ch, junk, sizeof(junk))) > 0)
			if (c->run && c->run->out.len < CAPTURE_MAX)
				paas_buf_add(&c->run->out, junk, (size_t)n);
		n = libssh2_channel_read(c->ch, c->down, sizeof(c->down));
		if (n > 0) {
			c->downn = (size_t)n;
			c->downoff = 0;
			*moved = 1;
		} else if (n == 0 && libssh2_channel_eof(c->ch))
			c->remote_eof = 1;
		else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
			return 1;
	}
	if (c->downn > 0 && c->run) {
		if (c->run->out.len < CAPTURE_MAX)
			paas_buf_add(&c->run->out, c->down, c->downn);
		c->downn = 0;
	}
	while (c->downoff < c->downn) {
		n = send(c->fd, c->down + c->downoff, c->downn - c->downoff, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0) {
			/* The reader went away: nothing more to hand over. */
			c->local_eof = 1;
			c->downn = c->downoff = 0;
			break;
		}
		c->downoff += (size_t)n;
		*moved = 1;
	}
	if (c->downoff == c->downn)
		c->downn = c->downoff = 0;
	if (c->remote_eof && c->downn == 0 && !c->shut && c->fd >= 0) {
		shutdown(c->fd, SHUT_WR);
		c->shut = 1;
	}
	return c->remote_eof && c->downn == 0 && c->local_eof && c->upn == 0;
}

static void *
session_main(void *arg)
{
	struct session *ss = arg;

	for (;;) {
		struct pollfd p[3 + 256];
		struct chan *c, **pp;
		int n = 0, moved, dir = libssh2_session_block_directions(ss->s);
		char b[64];

		p[n].fd = ss->sock;
		p[n].events = POLLIN | POLLRDHUP |
		    ((dir & LIBSSH2_SESSION_BLOCK_OUTBOUND) ? POLLOUT : 0);
		n++;
		p[n].fd = ss->wake[0];
		p[n].events = POLLIN;
		n++;
		p[n].fd = ss->lsock;
		p[n].events = POLLIN;
		n++;
		for (c = ss->chans; c && n < (int)(sizeof(p) / sizeof(p[0])); c = c->next) {
			if (c->fd < 0)
				continue;
			p[n].fd = c->fd;
			p[n].events = (c->local_eof || c->upn ? 0 : POLLIN) | (c->downn ? POLLOUT : 0);
			n++;
		}
		if (poll(p, (nfds_t)n, 1000) < 0 && errno != EINTR)
			break;
		/* The server or the network ended it: every channel with it. */
		if (p[0].revents & (POLLHUP | POLLERR | POLLRDHUP))
			ss->dead = 1;
		if (p[2].revents & POLLIN)
			bridge_accept(ss);
		if (p[1].revents & POLLIN) {
			if (read(ss->wake[0], b, sizeof(b)) <= 0)
				break;
			pthread_mutex_lock(&ss->mu);
			if (ss->quit) {
				pthread_mutex_unlock(&ss->mu);
				break;
			}
			if (ss->req_pending) {
				open_request(ss);
				ss->req_pending = 0;
				pthread_cond_broadcast(&ss->cv);
			}
			pthread_mutex_unlock(&ss->mu);
		}
		/* Until nothing moves: libssh2 may hold data it read already,
		 * which no poll() of the socket would announce. */
		do {
			moved = 0;
			for (pp = &ss->chans; (c = *pp) != NULL; ) {
				if (ss->dead || pump(c, &moved)) {
					*pp = c->next;
					chan_end(ss, c);
				} else
					pp = &c->next;
			}
		} while (moved && !ss->dead);
		if (ss->dead && ss->chans == NULL)
			break;
		if (!ss->dead) {
			int next;

			libssh2_keepalive_send(ss->s, &next);
		}
	}
	pthread_mutex_lock(&ss->mu);
	ss->dead = 1;
	pthread_cond_broadcast(&ss->cv);
	pthread_mutex_unlock(&ss->mu);
	/* Connections waiting on the bridge are reset, not left hanging; the
	 * next request opens another session with another bridge. */
	close(ss->lsock);
	OPENSSL_thread_stop();
	return NULL;
}

static void
session_free(struct session *ss)
{
	if (ss->s) {
		libssh2_session_disconnect(ss->s, "bye");
		libssh2_session_free(ss->s);
	}
	if (ss->sock >= 0)
		close(ss->sock);
	if (ss->wake[0] >= 0) {
		close(ss->wake[0]);
		close(ss->wake[1]);
	}
	if (ss->lsock >= 0)
		close(ss->lsock);
	if (ss->lpath) {
		unlink(ss->lpath);
		rmdir(ss->ldir);
	}
	free(ss->lpath);
	free(ss->ldir);
	free(ss->lcmd);
	free(ss->target);
	free(ss->user);
	free(ss->host);
	free(ss);
}

static void bridges_unlink(void);
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void
lib_init(void)
{
	libssh2_init(0);
	atexit(bridges_unlink);
}

/* Its bridge: a unix socket in a directory of its own (0700). */
static int
bridge_listen(struct session *ss, struct paas_err *err)
{
	struct sockaddr_un a;
	char tmpl[] = "/tmp/paas-ssh-XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		return paas_err_set(err, PAAS_EFAILED, "ssh %s: cannot make a directory in /tmp: %s",
		    ss->target, strerror(errno));
	ss->ldir = paas_xstrdup(tmpl);
	if (asprintf(&ss->lpath, "%s/sock", tmpl) < 0)
		abort();
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", ss->lpath);
	if ((ss->lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
	    bind(ss->lsock, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ss->lsock, 64) < 0)
		return paas_err_set(err, PAAS_EFAILED, "ssh %s: cannot listen on %s: %s",
		    ss->target, ss->lpath, strerror(errno));
	return 0;
}

/* At exit, before libssh2's and OpenSSL's own clean-up: every session's
 * thread stopped, every bridge's socket removed. */
static void
bridges_unlink(void)
{
	struct session *lists[2], *ss;
	size_t i;

	pthread_mutex_lock(&sessions_mu);
	lists[0] = sessions;
	lists[1] = graveyard;
	for (i = 0; i < 2; i++)
		for (ss = lists[i]; ss; ss = ss->next) {
			pthread_mutex_lock(&ss->mu);
			ss->quit = 1;
			pthread_mutex_unlock(&ss->mu);
			if (write(ss->wake[1], "q", 1) == 1)
				pthread_join(ss->thread, NULL);
			if (ss->lpath) {
				unlink(ss->lpath);
				rmdir(ss->ldir);
			}
		}
	pthread_mutex_unlock(&sessions_mu);
}

/* A new session, up and authenticated, its bridge listening for
 * connections to hand to a channel of command, its thread running. */
static struct session *
session_open(const char *target, const char *command, long timeout_ms, struct paas_err *err)
{
	struct session *ss = paas_xmalloc(sizeof(*ss));
	int rc;

	memset(ss, 0, sizeof(*ss));
	ss->sock = ss->wake[0] = ss->wake[1] = ss->lsock = -1;
	ss->target = paas_xstrdup(target);
	pthread_once(&lib_once, lib_init);
	if (ssh_split_target(target, &ss->user, &ss->host, &ss->port) < 0) {
		paas_err_set(err, PAAS_EINVAL, "ssh://%.200s: expected ssh://[USER@]HOST[:PORT]",
		    target);
		goto fail;
	}
	if (ssh_dial(ss, timeout_ms, err) < 0)
		goto fail;
	if ((ss->s = libssh2_session_init()) == NULL)
		abort();
	libssh2_session_set_timeout(ss->s, timeout_ms);
	if ((rc = libssh2_session_handshake(ss->s, ss->sock)) != 0) {
		paas_err_set(err, PAAS_EUNAVAIL, "ssh %s: no SSH handshake (%s)", target,
		    rc == LIBSSH2_ERROR_TIMEOUT ? "timed out" : "the server closed or refused it");
		goto fail;
	}
	if (ssh_check_host_key(ss, err) < 0 || ssh_authenticate(ss, err) < 0 ||
	    bridge_listen(ss, err) < 0)
		goto fail;
	ss->lcmd = paas_xstrdup(command);
	libssh2_keepalive_config(ss->s, 1, 15);
	libssh2_session_set_blocking(ss->s, 0);
	if (pipe2(ss->wake, O_CLOEXEC) < 0)
		abort();
	pthread_mutex_init(&ss->mu, NULL);
	pthread_cond_init(&ss->cv, NULL);
	if (pthread_create(&ss->thread, NULL, session_main, ss) != 0)
		abort();
	return ss;
fail:
	session_free(ss);
	return NULL;
}

/* target's live session of bridge, or a new one: opened outside the lock,
 * so that hosts are connected to at once, not one after the other. */
static struct session *
find_or_open(const char *target, const char *bridge, long timeout_ms, struct paas_err *err)
{
	struct session *ss, **pp;

	pthread_mutex_lock(&sessions_mu);
	for (pp = &sessions; (ss = *pp) != NULL; )
		if (ss->dead) {
			/* Its thread ends by itself; a caller may still wait on it. */
			*pp = ss->next;
			ss->next = graveyard;
			graveyard = ss;
		} else if (strcmp(ss->target, target) == 0 && strcmp(ss->lcmd, bridge) == 0)
			break;
		else
			pp = &ss->next;
	pthread_mutex_unlock(&sessions_mu);
	if (ss != NULL || (ss = session_open(target, bridge, timeout_ms, err)) == NULL)
		return ss;
	pthread_mutex_lock(&sessions_mu);
	ss->next = sessions;
	sessions = ss;
	pthread_mutex_unlock(&sessions_mu);
	return ss;
}

/* Hand a request to target's session (opened or reopened as needed);
 * command NULL: only the session, for its bridge. */
static int
request(const char *target, const char *bridge, const char *command, long timeout_ms,
    struct runst *run, struct session **used, struct paas_err *err)
{
	struct session *ss;
	int rc = -1, tries;

	for (tries = 0; tries < 2 && rc < 0; tries++) {
		if ((ss = find_or_open(target, bridge, timeout_ms, err)) == NULL)
			return -1;
		if (command == NULL) {
			*used = ss;
			return 0;
		}
		pthread_mutex_lock(&ss->mu);
		/* One request at a time in the slot. */
		while (ss->req_busy && !ss->dead)
			pthread_cond_wait(&ss->cv, &ss->mu);
		if (!ss->dead) {
			ss->req_busy = ss->req_pending = 1;
			ss->req_cmd = command;
			ss->req_run = run;
			paas_err_clear(&ss->req_err);
			if (write(ss->wake[1], "r", 1) != 1)
				ss->dead = 1;
			while (ss->req_pending && !ss->dead)
				pthread_cond_wait(&ss->cv, &ss->mu);
			if (!ss->req_pending && ss->req_err.msg[0] == '\0') {
				*used = ss;
				rc = 0;
			} else if (!ss->req_pending)
				*err = ss->req_err;
			ss->req_busy = ss->req_pending = 0;
			pthread_cond_broadcast(&ss->cv);
		}
		pthread_mutex_unlock(&ss->mu);
		if (rc < 0 && !ss->dead)
			break;
	}
	if (rc < 0 && err->msg[0] == '\0')
		paas_err_set(err, PAAS_EUNAVAIL, "ssh %s: the connection broke", target);
	return rc;
}

int
paas_ssh_run(const char *target, const char *command, long timeout_ms, struct paas_buf *out,
    int *status, struct paas_err *err)
{
	return paas_ssh_run_input(target, command, NULL, 0, timeout_ms, out, status, err);
}

int
paas_ssh_run_input(const char *target, const char *command, const void *in, size_t inlen,
    long timeout_ms, struct paas_buf *out, int *status, struct paas_err *err)
{
	struct runst *run = paas_xmalloc(sizeof(*run));
	struct session *ss = NULL;
	long long until = paas_now_ms() + timeout_ms;
	int rc = -1;

	memset(run, 0, sizeof(*run));
	/* A copy: the session's thread may outlive this call's deadline. */
	if (inlen)
		paas_buf_add(&run->in, in, inlen);
	*status = -1;
	/* The session, when it must be opened, within 15 s at most: a long
	 * command's time is not a host's to answer in. */
	if (request(target, PAAS_SSH_DOCKER, command, timeout_ms < 15000 ? timeout_ms : 15000, run,
	    &ss, err) < 0) {
		paas_buf_free(&run->in);
		free(run);
		return -1;
	}
	/* The session lives as long as the process: it is never freed. */
	pthread_mutex_lock(&ss->mu);
	while (!run->done && paas_now_ms() < until) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&ss->cv, &ss->mu, &ts);
	}
	if (run->done) {
		if (run->out.len)
			paas_buf_add(out, run->out.data, run->out.len);
		*status = run->status;
		rc = run->status < 0 ? paas_err_set(err, PAAS_EUNAVAIL, "ssh %s: the connection "
		    "broke while the command ran", target) : 0;
		paas_buf_free(&run->out);
		paas_buf_free(&run->in);
		free(run);
	} else {
		run->abandoned = 1;
		rc = paas_err_set(err, PAAS_EUNAVAIL, "ssh %s: the command did not finish in %ld s",
		    target, timeout_ms / 1000);
	}
	pthread_mutex_unlock(&ss->mu);
	return rc;
}

int
paas_ssh_bridge(const char *target, const char *command, long timeout_ms, char *path,
    size_t size, struct paas_err *err)
{
	struct session *ss;

	if (request(target, command, NULL, timeout_ms > 0 ? timeout_ms : 10000, NULL, &ss,
	    err) < 0)
		return -1;
	snprintf(path, size, "%s", ss->lpath);
	return 0;
}

struct prep {
	const char *target, *command;
	long timeout_ms;
	pthread_t th;
	int started;
};

static void *
prep_main(void *arg)
{
	struct prep *p = arg;
	struct paas_err err = PAAS_ERR_INIT;

	find_or_open(p->target, p->command, p->timeout_ms, &err);
	/* This thread's OpenSSL state (its random generator, which the key
	 * exchange used) goes with it, not at exit. */
	OPENSSL_thread_stop();
	return NULL;
}

void
paas_ssh_prepare(const char *const *targets, size_t n, const char *command, long timeout_ms)
{
	struct prep *p;
	size_t i, j;

	if (n < 2)
		return;
	p = paas_xmalloc(n * sizeof(*p));
	memset(p, 0, n * sizeof(*p));
	for (i = 0; i < n; i++) {
		for (j = 0; j < i && strcmp(targets[j], targets[i]) != 0; j++)
			;
		if (j < i)
			continue;	/* the same host twice: once */
		p[i].target = targets[i];
		p[i].command = command;
		p[i].timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
		p[i].started = pthread_create(&p[i].th, NULL, prep_main, &p[i]) == 0;
	}
	for (i = 0; i < n; i++)
		if (p[i].started)
			pthread_join(p[i].th, NULL);
	free(p);
}
