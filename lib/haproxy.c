#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "haproxy.h"
#include "jsonx.h"
#include "valid.h"

/* A crypt(3) hash: "$id$salt$hash" in crypt's alphabet. */
static int
valid_hash(const char *s)
{
	if (s == NULL || s[0] != '$' || strlen(s) > 512)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("$./=,+-", *s)))
			return 0;
	return 1;
}

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
	json_object_foreach((json_t *)auth, user, v)
		if (!paas_valid_label(user) || !valid_hash(json_string_value(v)))
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
server_ok(const json_t *s)
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
	if (!valid_container(json_string_value(json_object_get(s, "container"))) ||
	    (json_object_get(s, "container") && !json_is_string(json_object_get(s, "container"))))
		return 0;
	return a && paas_valid_address(a) && valid_port(port) &&
	    paas_valid_name(json_string_value(json_object_get(s, "deployment")) ?
	    json_string_value(json_object_get(s, "deployment")) : "") &&
	    paas_valid_name(json_string_value(json_object_get(s, "service")) ?
	    json_string_value(json_object_get(s, "service")) : "") &&
	    paas_valid_label(json_string_value(json_object_get(s, "instance")) ?
	    json_string_value(json_object_get(s, "instance")) : "");
}

/* Sort servers by deployment, service, instance. */
static int
cmp_server(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	static const char *const k[] = { "deployment", "service", "instance", "container",
	    "address" };
	size_t i;
	int c;

	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		const char *p = json_string_value(json_object_get(x, k[i]));
		const char *q = json_string_value(json_object_get(y, k[i]));

		if ((c = strcmp(p ? p : "", q ? q : "")) != 0)
			return c;
	}
	return (int)(json_integer_value(json_object_get(x, "port")) -
	    json_integer_value(json_object_get(y, "port")));
}

int
paas_haproxy_render(const json_t *routes, const json_t *servers,
    const struct paas_haproxy_opts *o, char **out, json_t **skipped,
    struct paas_err *err)
{
	struct paas_buf b = PAAS_BUF_INIT;
	const char **domains, **users;
	const json_t **srv;
	size_t nd, nu, ns = 0, i, j, k;
	json_t *skip = json_array(), *s;
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
			return -1;
		}
	srv = paas_xmalloc((json_array_size(servers) + 1) * sizeof(*srv));
	json_array_foreach(servers, i, s) {
		if (server_ok(s))
			srv[ns++] = s;
		else
			json_array_append_new(skip, json_sprintf("announcement %zu: not a well-formed "
			    "server (deployment, service, instance, address, port)", i));
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
	    "\toption idle-close-on-response\n\toption redispatch\n\tretries 3\n"
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
	if (o->tls_dir || tls) {
		paas_buf_addf(&b, "\tbind :%d ssl", o->https_port ? o->https_port : 443);
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
	for (i = 0; i < nd; i++)
		paas_buf_addf(&b, "\tuse_backend route-%s if { var(txn.host) -m str %s }\n",
		    domains[i], domains[i]);
	paas_buf_adds(&b, "\tdefault_backend no-route\n\nbackend no-route\n"
	    "\thttp-request return status 404 content-type text/plain string \"no such route\"\n");
	for (i = 0; i < nd; i++) {
		const json_t *r = json_object_get(routes, domains[i]);
		const char *dep = json_string_value(json_object_get(r, "deployment"));
		const char *svc = json_string_value(json_object_get(r, "service"));
		const char *health = json_string_value(json_object_get(r, "health"));
		int sticky = json_is_true(json_object_get(r, "sticky"));

		paas_buf_addf(&b, "\nbackend route-%s\n", domains[i]);
		if (json_object_size(json_object_get(r, "auth")))
			paas_buf_addf(&b, "\thttp-request auth realm paas unless { http_auth(auth-%s) }\n",
			    domains[i]);
		if (sticky)
			paas_buf_adds(&b, "\tcookie PAASID insert indirect nocache httponly\n");
		if (health)
			paas_buf_addf(&b, "\toption httpchk GET %s\n\thttp-check expect status 200-399\n",
			    health);
		for (k = 0, same = 0, prev = NULL; k < ns; k++) {
			const json_t *x = srv[k];
			const char *a = json_string_value(json_object_get(x, "address"));
			const char *inst = json_string_value(json_object_get(x, "instance"));
			const char *cid = json_string_value(json_object_get(x, "container"));
			json_int_t port = json_integer_value(json_object_get(x, "port"));
			char name[200];

			if (strcmp(json_string_value(json_object_get(x, "deployment")), dep) ||
			    strcmp(json_string_value(json_object_get(x, "service")), svc) ||
			    json_is_false(json_object_get(x, "healthy")))
				continue;
			/* The route's port of the service, if it names one. */
			if (json_is_integer(json_object_get(r, "port")) &&
			    json_is_object(json_object_get(x, "ports"))) {
				char key[16];

				snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(
				    json_object_get(r, "port")));
				if (!json_is_integer(json_object_get(json_object_get(x, "ports"), key)))
					continue;
				port = json_integer_value(json_object_get(json_object_get(x, "ports"),
				    key));
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
			paas_buf_addf(&b, "\tserver %s %s%s%s:%lld check inter 1s fall 2 rise 1", name,
			    strchr(a, ':') ? "[" : "", a, strchr(a, ':') ? "]" : "", (long long)port);
			if (sticky)
				paas_buf_addf(&b, " cookie %s", name);
			paas_buf_adds(&b, "\n");
		}
	}
	free(domains);
	free(srv);
	*out = paas_buf_detach(&b, NULL);
	if (skipped)
		*skipped = skip;
	else
		json_decref(skip);
	return 0;
}
