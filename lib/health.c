#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "health.h"

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static int
probe_http(const char *addr, int port, const char *path, long timeout_ms,
    struct paas_err *err)
{
	struct paas_buf url = PAAS_BUF_INIT;
	CURL *c = curl_easy_init();
	CURLcode cc;
	long status = 0;
	int rc = -1;

	if (c == NULL)
		return paas_err_set(err, PAAS_EFAILED, "cannot make a curl handle");
	paas_buf_addf(&url, strchr(addr, ':') ? "http://[%s]:%d%s" : "http://%s:%d%s", addr, port, path);
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "paas-health");
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		paas_err_set(err, PAAS_EFAILED, "GET %s: %s", path, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status >= 400) {
		paas_err_set(err, PAAS_EFAILED, "HTTP %ld from %s", status, path);
		goto out;
	}
	rc = 0;
out:
	curl_easy_cleanup(c);
	paas_buf_free(&url);
	return rc;
}

static int
probe_tcp(const char *addr, int port, long timeout_ms, struct paas_err *err)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	struct pollfd pfd;
	char service[16];
	int fd = -1, rc = -1, e = 0, gai;
	socklen_t elen = sizeof(e);

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%d", port);
	if ((gai = getaddrinfo(addr, service, &hints, &ai)) != 0)
		return paas_err_set(err, PAAS_EFAILED, "cannot resolve %s: %s", addr, gai_strerror(gai));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		paas_err_set(err, PAAS_EFAILED, "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			paas_err_set(err, PAAS_EFAILED, "TCP port %d: %s", port, strerror(errno));
			goto out;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)timeout_ms) != 1) {
			paas_err_set(err, PAAS_EFAILED, "TCP port %d: no answer within %ld ms", port, timeout_ms);
			goto out;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen);
		if (e != 0) {
			paas_err_set(err, PAAS_EFAILED, "TCP port %d: %s", port, strerror(e));
			goto out;
		}
	}
	/* Docker's userland proxy accepts on the host port even when nothing
	 * listens in the container, then closes at once: a connection that
	 * ends before 100 ms have passed is not an open port. */
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, timeout_ms < 100 ? (int)timeout_ms : 100) == 1) {
		char c;
		ssize_t n = recv(fd, &c, 1, MSG_PEEK);

		if (n <= 0) {
			paas_err_set(err, PAAS_EFAILED, "TCP port %d: connection closed at once", port);
			goto out;
		}
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

int
paas_health_probe(const char *addr, int port, const json_t *health,
    long timeout_ms, struct paas_err *err)
{
	const char *path = json_string_value(json_object_get(health, "http"));

	if (path)
		return probe_http(addr, port, path, timeout_ms, err);
	return probe_tcp(addr, port, timeout_ms, err);
}
