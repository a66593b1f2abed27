/* Endpoint parsing and transport errors that need no server: a loopback port
 * nobody listens on, and a non-routable address for timeouts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "docker.h"
#include "etcd.h"
#include "paas.h"
#include "tap.h"

/* A loopback port that refuses connections: bind, note, close. */
static int
closed_port(void)
{
	struct sockaddr_in a = { 0 };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static long
ms_since(struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

int
main(void)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_http_opts o = { 0 };
	struct paas_http *h;
	struct paas_docker *d;
	struct paas_etcd *e;
	struct paas_kv kv;
	struct timespec t0;
	char eps[256];
	int found, port = closed_port();
	long ms;

	h = paas_http_new("etcd", "http://a:1, https://b:2/,unix:///run/x.sock,tcp://c:3", NULL, &err);
	ok(h != NULL && paas_http_nendpoints(h) == 4, "four endpoints parsed");
	if (h) {
		is_str(paas_http_endpoint(h), "http://a:1", "first endpoint is current");
		paas_http_next(h);
		is_str(paas_http_endpoint(h), "https://b:2", "trailing slash dropped");
	}
	paas_http_free(h);

	h = paas_http_new("etcd", "ftp://x", NULL, &err);
	ok(h == NULL && err.status == PAAS_EINVAL, "unknown scheme refused");
	ok(strstr(err.msg, "ftp://x") != NULL, "message names the endpoint: %s", err.msg);
	h = paas_http_new("etcd", "http://x:1/v3", NULL, &err);
	ok(h == NULL && err.status == PAAS_EINVAL, "endpoint with a path refused");
	h = paas_http_new("etcd", " , ", NULL, &err);
	ok(h == NULL && strcmp(err.msg, "no etcd endpoint given") == 0, "empty list refused: %s", err.msg);
	h = paas_http_new("docker", "unix://relative", NULL, &err);
	ok(h == NULL && err.status == PAAS_EINVAL, "relative unix socket refused");

	d = paas_docker_new("tcp://10.0.0.1:2375", NULL, &err);
	ok(d == NULL && err.status == PAAS_EINVAL, "plain tcp docker refused without insecure");
	ok(strstr(err.msg, "refusing plain TCP") && strstr(err.msg, "--insecure"),
	    "message says why and what to do: %s", err.msg);
	d = paas_docker_new("http://10.0.0.1:2375", NULL, &err);
	ok(d == NULL && err.status == PAAS_EINVAL, "http docker refused without insecure");
	o.insecure = 1;
	d = paas_docker_new("tcp://10.0.0.1:2375", &o, &err);
	ok(d != NULL, "plain tcp docker allowed with insecure");
	paas_docker_free(d);
	o.insecure = 0;

	/* Connection refused: fast, and the message names the endpoint. */
	snprintf(eps, sizeof(eps), "http://127.0.0.1:%d", port);
	e = paas_etcd_new(eps, NULL, &err);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ok(paas_etcd_get(e, "k", &kv, &found, NULL, &err) == -1, "get on a closed port fails");
	ms = ms_since(&t0);
	ok(err.status == PAAS_EUNAVAIL, "status is 'could not operate'");
	ok(strstr(err.msg, eps) && strstr(err.msg, "connection refused"),
	    "message names endpoint and cause: %s", err.msg);
	ok(ms < 1000, "refusal is reported at once (%ld ms)", ms);
	paas_etcd_free(e);

	/* A server that takes the connection and never answers: the request
	 * ends at its timeout, and the message names the endpoint. */
	{
		struct sockaddr_in a = { 0 };
		socklen_t len = sizeof(a);
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bind(fd, (struct sockaddr *)&a, sizeof(a));
		listen(fd, 16);
		getsockname(fd, (struct sockaddr *)&a, &len);
		snprintf(eps, sizeof(eps), "http://127.0.0.1:%d", ntohs(a.sin_port));
		o.timeout_ms = 300;
		e = paas_etcd_new(eps, &o, &err);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ok(paas_etcd_get(e, "k", &kv, &found, NULL, &err) == -1, "get on a silent server fails");
		ms = ms_since(&t0);
		ok(ms >= 250 && ms < 1000, "within its timeout of 300 ms (%ld ms)", ms);
		ok(strstr(err.msg, eps) && strstr(err.msg, "timed out after 300 ms"),
		    "message names it: %s", err.msg);
		paas_etcd_free(e);

		/* With a second endpoint that refuses, both are named. */
		snprintf(eps + strlen(eps), sizeof(eps) - strlen(eps), ",http://127.0.0.1:%d", port);
		e = paas_etcd_new(eps, &o, &err);
		ok(paas_etcd_get(e, "k", &kv, &found, NULL, &err) == -1, "get on two bad endpoints fails");
		ok(strstr(err.msg, "timed out") && strstr(err.msg, "connection refused"),
		    "message names both: %s", err.msg);
		paas_etcd_free(e);
		close(fd);
	}
	return done_testing();
}
