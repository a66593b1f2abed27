/*
 * HAProxy's configuration, rendered purely from routes and servers.  See
 * haproxy.h; a live HAProxy's control is haproxy-runtime.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "haproxy.h"
#include "jsonx.h"
#include "valid.h"

/* An HTTP path for a check: visible ASCII, no spaces or quotes. */
static int
valid_path(const char *s)
{
	if (s == NULL || s[0] != '/' || strlen(s) > 1024)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 127 || strchr("\"'\\#", *s))
			return 0;
	return 1;
}

static int
valid_port(json_int_t p)
{
	return p >= 1 && p <= 65535;
}

int
paas_haproxy_check_route(const char *domain, const json_t *r, struct paas_err *err)
{
	const json_t *auth = json_object_get(r, "auth"), *v, *h = json_object_get(r, "health");
	const char *user;

	if (!paas_valid_domain(domain)) {
		struct paas_buf p = PAAS_BUF_INIT;

		paas_buf_add_printable(&p, domain);
		paas_err_set(err, PAAS_EINVAL, "route '%.80s': not a domain name (RFC 1123, "
		    "lower case)", p.data);
		paas_buf_free(&p);
		return -1;
	}
	if (!json_is_string(json_object_get(r, "deployment")) ||
	    !paas_valid_name(json_string_value(json_object_get(r, "deployment"))) ||
	    !json_is_string(json_object_get(r, "service")) ||
	    !paas_valid_name(json_string_value(json_object_get(r, "service"))))
		return paas_err_set(err, PAAS_EINVAL, "route %s: deployment and service must be names",
		    domain);
	/* Fail closed: an auth that is not a mapping is no route at all,
	 * never a route without authentication. */
	if (auth != NULL && !json_is_null(auth) && !json_is_object(auth))
		return paas_err_set(err, PAAS_EINVAL, "route %s: auth is not a mapping of users to "
		    "crypt(3) hashes", domain);
	json_object_foreach((json_t *)auth, user, v)
		if (!paas_valid_label(user) || !paas_valid_crypt(json_string_value(v)))
			return paas_err_set(err, PAAS_EINVAL, "route %s: user %s needs a name of "
			    "letters, digits, . _ - and a crypt(3) hash", domain,
			    paas_valid_label(user) ? user : "(not a name)");
	if (!json_is_null(h) && h != NULL && !valid_path(json_string_value(h)))
		return paas_err_set(err, PAAS_EINVAL, "route %s: health check path is not a plain "
		    "path", domain);
	h = json_object_get(r, "tls");
	if (!json_is_null(h) && h != NULL && !valid_path(json_string_value(h)))
		return paas_err_set(err, PAAS_EINVAL, "route %s: tls is not a plain absolute path",
		    domain);
	h = json_object_get(r, "maintenance");
	if (h != NULL && !valid_path(json_string_value(h)))
		return paas_err_set(err, PAAS_EINVAL, "route %s: maintenance is not a plain absolute "
		    "path to its page", domain);
	h = json_object_get(r, "port");
	if (!json_is_null(h) && h != NULL && !valid_port(json_integer_value(h)))
		return paas_err_set(err, PAAS_EINVAL, "route %s: port is not 1-65535", domain);
	return 0;
}

/* A container ID: hex digits. */
static int
valid_container(const char *s)
{
	if (s == NULL)
		return 1;		/* optional */
	if (strlen(s) < 12 || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static int
server_ok(const json_t *s, const struct paas_haproxy_opts *o)
{
	const char *a = json_string_value(json_object_get(s, "address"));
	json_int_t port = json_integer_value(json_object_get(s, "port"));
	const json_t *ports = json_object_get(s, "ports"), *v;
	const char *k;

	if (ports != NULL && !json_is_object(ports))
		return 0;
	json_object_foreach((json_t *)ports, k, v)
		if (!valid_port(atoi(k)) || !valid_port(json_integer_value(v)))
			return 0;
	if (!json_is_boolean(json_object_get(s, "healthy")))
		return 0;
	if (!valid_container(json_string_value(json_object_get(s, "container"))) ||
	    (json_object_get(s, "container") && !json_is_string(json_object_get(s, "container"))))
		return 0;
	return a && ((o->status_socket && strcmp(a, o->status_socket) == 0) ||
	    (paas_valid_address(a) && valid_port(port))) &&
	    paas_valid_name(json_string_value(json_object_get(s, "deployment")) ?
	    json_string_value(json_object_get(s, "deployment")) : "") &&
	    paas_valid_name(json_string_value(json_object_get(s, "service")) ?
	    json_string_value(json_object_get(s, "service")) : "") &&
	    paas_valid_label(json_string_value(json_object_get(s, "instance")) ?
	    json_string_value(json_object_get(s, "instance")) : "");
}

/* A well-formed announcement's fields, read once. */
struct srv {
	const char *dep, *svc, *inst, *cid, *addr;
	json_int_t port;
	const json_t *ports;
	int healthy;
};

static void
srv_of(const json_t *s, struct srv *v)
{
	const char *cid = json_string_value(json_object_get(s, "container"));

	v->dep = json_string_value(json_object_get(s, "deployment"));
	v->svc = json_string_value(json_object_get(s, "service"));
	v->inst = json_string_value(json_object_get(s, "instance"));
	v->cid = cid;
	v->addr = json_string_value(json_object_get(s, "address"));
	v->port = json_integer_value(json_object_get(s, "port"));
	v->ports = json_object_get(s, "ports");
	v->healthy = json_is_true(json_object_get(s, "healthy"));
}

/* Sort servers by deployment, service, instance, container, address, port. */
static int
cmp_server(const void *a, const void *b)
{
	const struct srv *x = a, *y = b;
	const char *const p[] = { x->dep, x->svc, x->inst, x->cid, x->addr };
	const char *const q[] = { y->dep, y->svc, y->inst, y->cid, y->addr };
	size_t i;
	int c;

	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		if ((c = strcmp(p[i] ? p[i] : "", q[i] ? q[i] : "")) != 0)
			return c;
	return x->port < y->port ? -1 : x->port > y->port;
}

/* A route's backend, named after what makes it: the service, the port it
 * is sent to, stickiness and the health check (its path hashed).  Routes
 * that share these share one backend, so an instance has one health check
 * however many domains reach it, and the name stays the same whatever
 * domains come and go: the running worker's servers are changed in place
 * (haproxy-runtime.c). */
static char *
backend_name(const json_t *r)
{
	const json_t *port = json_object_get(r, "port");
	const char *health = json_string_value(json_object_get(r, "health"));
	struct paas_buf b = PAAS_BUF_INIT;
	char sum[17];

	paas_buf_addf(&b, "svc-%s.%s", json_string_value(json_object_get(r, "deployment")),
	    json_string_value(json_object_get(r, "service")));
	if (json_is_integer(port))
		paas_buf_addf(&b, ".p%lld", (long long)json_integer_value(port));
	if (json_is_true(json_object_get(r, "sticky")))
		paas_buf_adds(&b, ".sticky");
	if (health) {
		paas_hash_hex(health, strlen(health), sum);
		paas_buf_addf(&b, ".h%.8s", sum);
	}
	return paas_buf_detach(&b, NULL);
}

int
paas_haproxy_render(const json_t *routes, const json_t *servers,
    const struct paas_haproxy_opts *o, char **out, json_t **skipped,
    struct paas_err *err)
{
	struct paas_buf b = PAAS_BUF_INIT;
	const char **domains, **users;
	struct srv *srv;
	size_t nd, nu, ns = 0, i, j, k;
	json_t *skip = json_array(), *names = json_object(), *leaders = json_object(), *s;
	const char *prev;
	int same, tls;

	*out = NULL;
	if (skipped)
		*skipped = NULL;
	domains = paas_json_keys(routes, &nd);
	for (i = 0; i < nd; i++)
		if (paas_haproxy_check_route(domains[i], json_object_get(routes, domains[i]), err) < 0) {
			free(domains);
			json_decref(skip);
			json_decref(names);
			json_decref(leaders);
			return -1;
		}
	srv = paas_xmalloc((json_array_size(servers) + 1) * sizeof(*srv));
	json_array_foreach(servers, i, s) {
		if (server_ok(s, o))
			srv_of(s, &srv[ns++]);
		else if (json_is_string(json_object_get(s, "key")))
			json_array_append_new(skip, json_sprintf("%.200s: not a well-formed server "
			    "(deployment, service, instance, address, port, healthy)",
			    json_string_value(json_object_get(s, "key"))));
		else
			json_array_append_new(skip, json_sprintf("announcement %zu: not a well-formed "
			    "server (deployment, service, instance, address, port, healthy)", i));
	}
	qsort(srv, ns, sizeof(*srv), cmp_server);

	paas_buf_adds(&b, "# Written by paas-route from etcd; changes here are lost.\n"
	    "global\n\tmaster-worker\n"
	    /* The built-in HTTP client serves Lua only, unused here; without
	     * this every start and `haproxy -c` reads the whole system CA
	     * store (25 ms of each reload). */
	    "\thttpclient.ssl.verify none\n");
	paas_buf_addf(&b, "\thard-stop-after %ds\n", o->hard_stop_after_s > 0 ? o->hard_stop_after_s : 30);
	if (o->stats_socket)
		paas_buf_addf(&b, "\tstats socket %s mode 600 level admin expose-fd listeners\n",
		    o->stats_socket);
	paas_buf_adds(&b, "\ndefaults\n\tmode http\n\ttimeout connect 5s\n\ttimeout client 30s\n"
	    "\ttimeout server 30s\n\ttimeout http-request 10s\n\ttimeout http-keep-alive 10s\n"
	    "\toption idle-close-on-response\n"
	    /* A connection refused (a server just gone) is tried again on
	     * another server, each time. */
	    "\toption redispatch 1\n\tretries 3\n"
	    /* No server-side keep-alive: an application that closes an idle
	     * connection while HAProxy reuses it costs a client its request. */
	    "\toption http-server-close\n");
	for (i = 0; i < nd; i++) {
		const json_t *auth = json_object_get(json_object_get(routes, domains[i]), "auth");

		if (json_object_size(auth) == 0)
			continue;
		paas_buf_addf(&b, "\nuserlist auth-%s\n", domains[i]);
		users = paas_json_keys(auth, &nu);
		for (j = 0; j < nu; j++)
			paas_buf_addf(&b, "\tuser %s password %s\n", users[j],
			    json_string_value(json_object_get(auth, users[j])));
		free(users);
	}
	paas_buf_addf(&b, "\nfrontend http\n\tbind :%d\n", o->http_port);
	tls = 0;
	for (i = 0; i < nd; i++)
		tls += json_is_string(json_object_get(json_object_get(routes, domains[i]), "tls"));
	if (o->tls_dir || tls || o->crt_list) {
		paas_buf_addf(&b, "\tbind :%d ssl", o->https_port ? o->https_port : 443);
		if (o->crt_list)
			paas_buf_addf(&b, " crt-list %s", o->crt_list);
		if (o->tls_dir)
			paas_buf_addf(&b, " crt %s", o->tls_dir);
		for (i = 0; i < nd; i++) {
			const char *crt = json_string_value(json_object_get(
			    json_object_get(routes, domains[i]), "tls"));

			if (crt)
				paas_buf_addf(&b, " crt %s", crt);
		}
		paas_buf_adds(&b, "\n");
	}
	paas_buf_adds(&b, "\thttp-request set-var(txn.host) req.hdr(host),field(1,:),lower\n");
	/* An ACME CA's HTTP-01 request, for any domain, reaches the router's
	 * own server whatever else the domain does. */
	if (o->acme_socket)
		paas_buf_adds(&b, "\tacl acme path_beg /.well-known/acme-challenge/\n");
	/* A deployment in maintenance: its domains answer its page, before
	 * any auth (paas-deploy maintenance). */
	for (i = 0; i < nd; i++) {
		const char *page = json_string_value(json_object_get(json_object_get(routes,
		    domains[i]), "maintenance"));

		if (page)
			paas_buf_addf(&b, "\thttp-request return status 503 content-type \"text/html; "
			    "charset=utf-8\" file %s hdr retry-after 60 if { var(txn.host) -m str %s }%s\n",
			    page, domains[i], o->acme_socket ? " !acme" : "");
	}
	/* Basic auth is the domain's, before its backend, which it may
	 * share with other domains. */
	for (i = 0; i < nd; i++)
		if (json_object_size(json_object_get(json_object_get(routes, domains[i]), "auth")))
			paas_buf_addf(&b, "\thttp-request auth realm paas if { var(txn.host) -m str %s } "
			    "!{ http_auth(auth-%s) }%s\n", domains[i], domains[i],
			    o->acme_socket ? " !acme" : "");
	/* After every http-request rule, which HAProxy runs first anyway. */
	if (o->acme_socket)
		paas_buf_adds(&b, "\tuse_backend paas-acme if acme\n");
	for (i = 0; i < nd; i++) {
		char *name = backend_name(json_object_get(routes, domains[i]));

		paas_buf_addf(&b, "\tuse_backend %s if { var(txn.host) -m str %s }\n", name,
		    domains[i]);
		free(name);
	}
	paas_buf_adds(&b, "\tdefault_backend no-route\n\nbackend no-route\n"
	    "\thttp-request return status 404 content-type text/plain string \"no such route\"\n");
	if (o->acme_socket)
		paas_buf_addf(&b, "\nbackend paas-acme\n\tserver router unix@%s\n", o->acme_socket);
	for (i = 0; i < nd; i++) {
		const json_t *r = json_object_get(routes, domains[i]);
		const char *dep = json_string_value(json_object_get(r, "deployment"));
		const char *svc = json_string_value(json_object_get(r, "service"));
		const char *health = json_string_value(json_object_get(r, "health"));
		int sticky = json_is_true(json_object_get(r, "sticky"));
		char *bname = backend_name(r);

		/* One backend for the routes that share it. */
		if (json_object_get(leaders, bname)) {
			free(bname);
			continue;
		}
		json_object_set_new(leaders, bname, json_true());
		json_object_clear(names);
		paas_buf_addf(&b, "\nbackend %s\n", bname);
		free(bname);
		if (sticky)
			paas_buf_adds(&b, "\tcookie PAASID insert indirect nocache httponly\n");
		if (health)
			paas_buf_addf(&b, "\toption httpchk GET %s\n\thttp-check expect status 200-399\n",
			    health);
		const json_t *rport = json_object_get(r, "port");
		char pkey[24];

		snprintf(pkey, sizeof(pkey), "%lld", (long long)json_integer_value(rport));
		for (k = 0, same = 0, prev = NULL; k < ns; k++) {
			const struct srv *x = &srv[k];
			const char *a = x->addr, *inst = x->inst, *cid = x->cid;
			json_int_t port = x->port;
			char name[200];

			if (!x->healthy || strcmp(x->dep, dep) || strcmp(x->svc, svc))
				continue;
			/* The route's port of the service, if it names one. */
			if (json_is_integer(rport) && json_is_object(x->ports)) {
				const json_t *p = json_object_get(x->ports, pkey);

				if (!json_is_integer(p))
					continue;
				port = json_integer_value(p);
			}
			/* Old and new container of one instance overlap in a
			 * start-first rollout: server names must differ.  The
			 * container ID keeps a name (and a sticky cookie) stable
			 * while the other one comes and goes. */
			same = prev && strcmp(prev, inst) == 0 ? same + 1 : 0;
			prev = inst;
			if (cid)
				snprintf(name, sizeof(name), "%s.%s.%s.%.12s", dep, svc, inst, cid);
			else if (same)
				snprintf(name, sizeof(name), "%s.%s.%s-%d", dep, svc, inst, same + 1);
			else
				snprintf(name, sizeof(name), "%s.%s.%s", dep, svc, inst);
			/* HAProxy refuses a backend with two servers of one name. */
			if (json_object_get(names, name)) {
				json_array_append_new(skip, json_sprintf("server %s of route %s announced "
				    "twice: one left out", name, domains[i]));
				continue;
			}
			json_object_set_new(names, name, json_true());
			/* Down at its first failed connection, not only after
			 * two missed checks: a killed container stops getting
			 * requests before its agent's withdrawal is served. */
			if (a[0] == '/')	/* the status server's socket */
				paas_buf_addf(&b, "\tserver %s unix@%s check inter 1s fall 2 rise 1",
				    name, a);
			else
				paas_buf_addf(&b, "\tserver %s %s%s%s:%lld check inter 1s fall 2 rise 1 "
				    "observe layer4 error-limit 1 on-error mark-down", name,
				    strchr(a, ':') ? "[" : "", a, strchr(a, ':') ? "]" : "",
				    (long long)port);
			if (sticky)
				paas_buf_addf(&b, " cookie %s", name);
			paas_buf_adds(&b, "\n");
		}
	}
	free(domains);
	free(srv);
	json_decref(names);
	json_decref(leaders);
	*out = paas_buf_detach(&b, NULL);
	if (skipped)
		*skipped = skip;
	else
		json_decref(skip);
	return 0;
}
