/*
 * An SSH session's connection: the target parsed, TCP dialled, the host's
 * key checked against known_hosts (or recorded, when asked), the user
 * authenticated.  See ssh.h; the sessions that use it are ssh.c's.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh2.h>

#include "buf.h"
#include "ssh-int.h"
#include "ssh.h"
#include "valid.h"

static int accept_new;

void
paas_ssh_accept_new(int yes)
{
	accept_new = yes;
}

int
ssh_split_target(const char *t, char **user, char **host, int *port)
{
	const char *at = strrchr(t, '@'), *h = at ? at + 1 : t, *colon;
	char *end;
	long p = 22;

	*user = *host = NULL;
	if ((colon = strrchr(h, ':')) != NULL) {
		p = strtol(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0' || p < 1 || p > 65535)
			return -1;
	}
	*host = paas_xstrndup(h, colon ? (size_t)(colon - h) : strlen(h));
	*user = at ? paas_xstrndup(t, (size_t)(at - t)) : NULL;
	*port = (int)p;
	if ((*user && (!**user || !paas_valid_label(*user))) ||
	    !(paas_valid_address(*host) || paas_valid_domain(*host))) {
		free(*user);
		free(*host);
		*user = *host = NULL;
		return -1;
	}
	return 0;
}

int
paas_ssh_target_ok(const char *target)
{
	char *u, *h;
	int p;

	if (target == NULL || ssh_split_target(target, &u, &h, &p) < 0)
		return 0;
	free(u);
	free(h);
	return 1;
}

static const char *
home_file(char *buf, size_t size, const char *name)
{
	const char *home = getenv("HOME");

	snprintf(buf, size, "%s/.ssh/%s", home && *home ? home : "/root", name);
	return buf;
}

/* "SHA256:..." of the host key, as ssh-keygen -l prints it. */
static void
fingerprint(LIBSSH2_SESSION *s, char *out, size_t size)
{
	const char *h = libssh2_hostkey_hash(s, LIBSSH2_HOSTKEY_HASH_SHA256);
	char *b;
	size_t n;

	if (h == NULL) {
		snprintf(out, size, "(unknown)");
		return;
	}
	b = paas_base64_encode(h, 32);
	n = strlen(b);
	while (n > 0 && b[n - 1] == '=')
		b[--n] = '\0';
	snprintf(out, size, "SHA256:%s", b);
	free(b);
}

/* Append the host's key to known_hosts as one line: the file is never
 * rewritten, so what libssh2 cannot read in it (certificates, comments,
 * other key types) stays as it was. */
static int
record_host_key(struct session *ss, LIBSSH2_KNOWNHOSTS *kh, const char *name, const char *key,
    size_t len, int kt, const char *path, const char *fp, struct paas_err *err)
{
	struct libssh2_knownhost *entry = NULL;
	char line[4096];
	size_t n = 0;
	int fd;

	if (libssh2_knownhost_addc(kh, name, NULL, key, len, NULL, 0,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | kt, &entry) != 0 ||
	    libssh2_knownhost_writeline(kh, entry, line, sizeof(line), &n,
	    LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0)
		return paas_err_set(err, PAAS_EUNAVAIL, "ssh %s: cannot make a known_hosts line "
		    "for host key %s", ss->target, fp);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    write(fd, line, n) != (ssize_t)n || fsync(fd) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return paas_err_set(err, PAAS_EUNAVAIL, "ssh %s: cannot record host key %s in %s: %s",
		    ss->target, fp, path, strerror(e));
	}
	close(fd);
	return 0;
}

/* The host key against known_hosts: 0, or -1 with err naming both. */
int
ssh_check_host_key(struct session *ss, struct paas_err *err)
{
	char path[4096], fp[80], name[300];
	const char *env = getenv("PAAS_SSH_KNOWN_HOSTS");
	LIBSSH2_KNOWNHOSTS *kh = libssh2_knownhost_init(ss->s);
	size_t len;
	int type, kt, rc;
	const char *key = libssh2_session_hostkey(ss->s, &len, &type);

	if (env && *env)
		snprintf(path, sizeof(path), "%s", env);
	else
		home_file(path, sizeof(path), "known_hosts");
	fingerprint(ss->s, fp, sizeof(fp));
	if (ss->port == 22)
		snprintf(name, sizeof(name), "%s", ss->host);
	else
		snprintf(name, sizeof(name), "[%s]:%d", ss->host, ss->port);
	if (kh == NULL || key == NULL) {
		if (kh)
			libssh2_knownhost_free(kh);
		return paas_err_set(err, PAAS_EUNAVAIL, "ssh %s: no host key", ss->target);
	}
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA: kt = LIBSSH2_KNOWNHOST_KEY_SSHRSA; break;
	case LIBSSH2_HOSTKEY_TYPE_DSS: kt = LIBSSH2_KNOWNHOST_KEY_SSHDSS; break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: kt = LIBSSH2_KNOWNHOST_KEY_ECDSA_256; break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: kt = LIBSSH2_KNOWNHOST_KEY_ECDSA_384; break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: kt = LIBSSH2_KNOWNHOST_KEY_ECDSA_521; break;
	case LIBSSH2_HOSTKEY_TYPE_ED25519: kt = LIBSSH2_KNOWNHOST_KEY_ED25519; break;
	default: kt = LIBSSH2_KNOWNHOST_KEY_UNKNOWN; break;
	}
	/* A missing file is an empty one. */
	libssh2_knownhost_readfile(kh, path, LIBSSH2_KNOWNHOST_FILE_OPENSSH);
	rc = libssh2_knownhost_checkp(kh, ss->host, ss->port, key, len,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | kt, NULL);
	if (rc == LIBSSH2_KNOWNHOST_CHECK_MATCH)
		rc = 0;
	else if (rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH)
		rc = paas_err_set(err, PAAS_EUNAVAIL, "ssh %s: the host key CHANGED: it offers %s, "
		    "which is not the key %s has for %s; if the host was reinstalled, check the new "
		    "key and remove the old line (ssh-keygen -R '%s')", ss->target, fp, path, name,
		    name);
	else if (!accept_new)
		rc = paas_err_set(err, PAAS_EUNAVAIL, "ssh %s: unknown host key %s (%s has none "
		    "for %s): check it, then add it (ssh-keyscan) or accept it once with "
		    "--accept-new-host-key", ss->target, fp, path, name);
	else
		rc = record_host_key(ss, kh, name, key, len, kt, path, fp, err);
	libssh2_knownhost_free(kh);
	return rc;
}

/* The user in: ssh-agent's keys, then the key files. */
int
ssh_authenticate(struct session *ss, struct paas_err *err)
{
	static const char *const files[] = { "id_ed25519", "id_ecdsa", "id_rsa" };
	const char *key = getenv("PAAS_SSH_KEY"), *user = ss->user ? ss->user : "root";
	char path[4096];
	size_t i;

	if (key && *key) {
		if (libssh2_userauth_publickey_fromfile(ss->s, user, NULL, key, NULL) == 0)
			return 0;
		return paas_err_set(err, PAAS_EUNAVAIL, "ssh %s: the key %s was refused for user %s",
		    ss->target, key, user);
	}
	if (getenv("SSH_AUTH_SOCK")) {
		LIBSSH2_AGENT *a = libssh2_agent_init(ss->s);
		struct libssh2_agent_publickey *id = NULL, *prev = NULL;
		int ok = 0;

		if (a && libssh2_agent_connect(a) == 0 && libssh2_agent_list_identities(a) == 0)
			while (!ok && libssh2_agent_get_identity(a, &id, prev) == 0) {
				ok = libssh2_agent_userauth(a, user, id) == 0;
				prev = id;
			}
		if (a) {
			libssh2_agent_disconnect(a);
			libssh2_agent_free(a);
		}
		if (ok)
			return 0;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		home_file(path, sizeof(path), files[i]);
		if (access(path, R_OK) == 0 &&
		    libssh2_userauth_publickey_fromfile(ss->s, user, NULL, path, NULL) == 0)
			return 0;
	}
	return paas_err_set(err, PAAS_EUNAVAIL, "ssh %s: no key was accepted for user %s "
	    "(ssh-agent, PAAS_SSH_KEY, ~/.ssh/id_*)", ss->target, user);
}

/* TCP to host:port within timeout_ms. */
int
ssh_dial(struct session *ss, long timeout_ms, struct paas_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[8];
	int rc, fd = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", ss->port);
	if ((rc = getaddrinfo(ss->host, port, &hints, &res)) != 0)
		return paas_err_set(err, PAAS_EUNAVAIL, "ssh %s: %s", ss->target, gai_strerror(rc));
	errno = 0;
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		struct pollfd p;

		if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
			goto next;
		p.fd = fd;
		p.events = POLLOUT;
		if (poll(&p, 1, (int)timeout_ms) != 1) {
			errno = ETIMEDOUT;
			goto next;
		}
		{
			int e = 0;
			socklen_t l = sizeof(e);

			getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
			if (e == 0)
				break;
			errno = e;
		}
next:
		rc = errno;
		close(fd);
		fd = -1;
		errno = rc;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		char why[128];

		snprintf(why, sizeof(why), "%s", errno == ETIMEDOUT ? "connection timed out" :
		    strerror(errno));
		why[0] = (char)tolower((unsigned char)why[0]);
		return paas_err_set(err, PAAS_EUNAVAIL, "ssh %s: %s", ss->target, why);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	/* Requests are small and answered at once: a second packet of one
	 * must not wait for the server's delayed ACK of the first (Nagle). */
	{
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	ss->sock = fd;
	return 0;
}
