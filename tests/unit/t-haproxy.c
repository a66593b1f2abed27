/*
 * The HAProxy render: deterministic bytes, nothing injected, the parts a
 * route asks for.  haproxy -c on the output is in t0400-route.sh.
 */
#include <stdlib.h>

#include "haproxy.h"
#include "paas.h"
#include "tap.h"

static const char *routes_json =
    "{\"example.org\": {\"deployment\": \"shop\", \"service\": \"web\", \"port\": null,"
    "  \"auth\": {}, \"sticky\": false, \"health\": \"/healthz\"},"
    " \"staging.example.org\": {\"deployment\": \"shop-staging\", \"service\": \"web\","
    "  \"port\": null, \"auth\": {\"bob\": \"$6$salt$abc/def.\", \"alice\": \"$5$x$y\"},"
    "  \"sticky\": true, \"health\": null}}";
static const char *servers_json =
    "[{\"deployment\": \"shop\", \"service\": \"web\", \"instance\": \"2\", \"address\": \"10.0.0.2\", \"port\": 30001, \"healthy\": true},"
    " {\"deployment\": \"shop\", \"service\": \"web\", \"instance\": \"1\", \"address\": \"10.0.0.1\", \"port\": 30000, \"healthy\": true},"
    " {\"deployment\": \"shop\", \"service\": \"web\", \"instance\": \"1\", \"address\": \"10.0.0.1\", \"port\": 30002, \"healthy\": true},"
    " {\"deployment\": \"shop\", \"service\": \"web\", \"instance\": \"3\", \"address\": \"10.0.0.3\", \"port\": 30000, \"healthy\": false},"
    " {\"deployment\": \"shop\", \"service\": \"web\", \"instance\": \"4\", \"address\": \"10.0.0.4\\nbind :1\", \"port\": 30000, \"healthy\": true}]";

static json_t *
load(const char *s)
{
	return json_loads(s, 0, NULL);
}

static char *
render(json_t *routes, json_t *servers, json_t **skipped, struct paas_err *err)
{
	struct paas_haproxy_opts o = { 8080, NULL, 0, "/run/paas/haproxy.sock", 0, NULL, NULL, NULL };
	char *out = NULL;

	if (paas_haproxy_render(routes, servers, &o, &out, skipped, err) < 0)
		return NULL;
	return out;
}

/* A route with one field replaced must be refused. */
static void
refused(const char *domain, const char *key, json_t *value, const char *what)
{
	struct paas_err err = PAAS_ERR_INIT;
	json_t *routes = load(routes_json), *servers = load(servers_json), *r;
	char *out;

	if (domain) {
		r = json_deep_copy(json_object_get(routes, "example.org"));
		if (key)
			json_object_set_new(r, key, value);
		json_object_set_new(routes, domain, r);
	} else
		json_object_set_new(json_object_get(routes, "example.org"), key, value);
	out = render(routes, servers, NULL, &err);
	ok(out == NULL && err.status == PAAS_EINVAL && !strchr(err.msg, '\n'),
	    "refused: %s (%s)", what, err.msg);
	free(out);
	json_decref(routes);
	json_decref(servers);
}

int
main(void)
{
	struct paas_err err = PAAS_ERR_INIT;
	json_t *routes = load(routes_json), *servers = load(servers_json), *skipped = NULL;
	json_t *shuffled = json_array();
	char *a, *b;
	size_t i;

	a = render(routes, servers, &skipped, &err);
	ok(a != NULL, "renders (%s)", err.msg);
	for (i = json_array_size(servers); i > 0; i--)
		json_array_append(shuffled, json_array_get(servers, i - 1));
	b = render(routes, shuffled, NULL, &err);
	is_str(b, a, "the same bytes whatever the order of the announcements");
	ok(strstr(a, "\tserver shop.web.1 10.0.0.1:30000 check") != NULL, "a server per announced instance");
	ok(strstr(a, "\tserver shop.web.1-2 10.0.0.1:30002 check") != NULL,
	    "an instance's old and new container get distinct server names");
	ok(strstr(a, "10.0.0.3") == NULL, "an unhealthy announcement is left out");
	ok(strstr(a, "bind :1") == NULL && json_array_size(skipped) == 1,
	    "an announcement whose address holds a newline is left out and reported");
	ok(strstr(a, "\tbind :8080\n") != NULL, "the frontend port");
	ok(strstr(a, "use_backend svc-shop.web.h") != NULL &&
	    strstr(a, " if { var(txn.host) -m str example.org }") != NULL,
	    "host-based routing");
	ok(strstr(a, "userlist auth-staging.example.org\n\tuser alice password $5$x$y\n"
	    "\tuser bob password $6$salt$abc/def.\n") != NULL, "basic auth users, sorted");
	ok(strstr(a, "\thttp-request auth realm paas if { var(txn.host) -m str staging.example.org } "
	    "!{ http_auth(auth-staging.example.org) }\n") != NULL &&
	    strstr(a, "auth realm") < strstr(a, "use_backend"),
	    "the domain's auth checked in the frontend, before any backend");
	ok(strstr(a, "backend svc-shop-staging.web.sticky\n\tcookie PAASID insert") != NULL,
	    "a sticky route sets a cookie");
	ok(strstr(a, "\toption httpchk GET /healthz\n") != NULL, "HAProxy checks the health path");
	ok(strstr(a, "\nbackend svc-shop-staging.web.sticky") && !strstr(strstr(a,
	    "\nbackend svc-shop-staging.web.sticky"), "\tserver "),
	    "a domain with no instance has a backend without servers (HAProxy answers 503)");
	ok(strstr(a, "stats socket /run/paas/haproxy.sock mode 600 level admin expose-fd listeners") != NULL,
	    "the stats socket hands listeners over on reload");
	free(a);
	free(b);
	json_decref(skipped);
	json_decref(shuffled);

	refused("Example.org", NULL, NULL, "an upper-case domain");
	refused("a.org\nbind :81", NULL, NULL, "a domain holding a newline");
	refused("a.org", "deployment", json_string("shop x"), "a deployment with a space");
	refused(NULL, "auth", json_pack("{s:s}", "eve", "$6$x\n\tuser root"), "a hash holding a newline");
	refused(NULL, "auth", json_pack("{s:s}", "eve x", "$6$x$y"), "a user with a space");
	refused(NULL, "auth", json_pack("{s:s}", "eve", "plain"), "a password that is not a crypt hash");
	refused(NULL, "health", json_string("/x y"), "a health path with a space");
	refused(NULL, "auth", json_string("$6$x$y"), "an auth that is not a mapping (fail closed)");
	refused(NULL, "auth", json_pack("[s]", "$6$x$y"), "an auth that is a list (fail closed)");

	/* Domains to the same service, port, stickiness and check share one
	 * backend: one health check per instance however many domains. */
	{
		json_t *r = json_object(), *sv = load(servers_json);
		char d[64];
		int k, nbackends = 0, nservers = 0;
		const char *p;

		for (k = 0; k < 4000; k++) {
			snprintf(d, sizeof(d), "d%04d.example.org", k);
			json_object_set_new(r, d, load("{\"deployment\": \"shop\", \"service\": \"web\","
			    " \"port\": null, \"auth\": {}, \"sticky\": false, \"health\": \"/healthz\"}"));
		}
		json_object_set_new(r, "admin.example.org", load("{\"deployment\": \"shop\", \"service\":"
		    " \"web\", \"port\": null, \"auth\": {\"alice\": \"$6$s$h\"}, \"sticky\": false,"
		    " \"health\": \"/healthz\"}"));
		a = render(r, sv, NULL, &err);
		for (p = a; p && (p = strstr(p, "\nbackend svc-")) != NULL; p++)
			nbackends++;
		for (p = a; p && (p = strstr(p, "\tserver shop.web.2 ")) != NULL; p++)
			nservers++;
		ok(a && nbackends == 1 && nservers == 1 &&
		    strstr(a, "use_backend svc-shop.web.h") && strstr(a, " if { var(txn.host) -m str d3999.example.org }"),
		    "4,001 domains of one service: one backend, each instance in it once (%d, %d)",
		    nbackends, nservers);
		ok(a && strstr(a, "http-request auth realm paas if { var(txn.host) -m str admin.example.org } "
		    "!{ http_auth(auth-admin.example.org) }") && !strstr(a, "-m str d0001.example.org } !"),
		    "the one domain with auth keeps it; the others need none");
		free(a);
		json_decref(r);
		json_decref(sv);
	}

	/* Announcements whose "healthy" is not true are not served; one that is
	 * not a boolean is not well-formed; a server announced twice is one. */
	{
		json_t *r = load("{\"a.org\": {\"deployment\": \"shop\", \"service\": \"web\"}}");
		json_t *sv = load("[{\"deployment\": \"shop\", \"service\": \"web\", \"instance\": \"1\","
		    " \"address\": \"10.0.0.1\", \"port\": 30000, \"healthy\": \"no\"},"
		    " {\"deployment\": \"shop\", \"service\": \"web\", \"instance\": \"2\","
		    " \"address\": \"10.0.0.2\", \"port\": 30000},"
		    " {\"deployment\": \"shop\", \"service\": \"web\", \"instance\": \"3\","
		    " \"container\": \"abcdefabcdef\", \"address\": \"10.0.0.3\", \"port\": 30000, \"healthy\": true},"
		    " {\"deployment\": \"shop\", \"service\": \"web\", \"instance\": \"3\","
		    " \"container\": \"abcdefabcdef\", \"address\": \"10.0.0.4\", \"port\": 30000, \"healthy\": true}]");

		a = render(r, sv, &skipped, &err);
		ok(a && strstr(a, "10.0.0.1") == NULL && strstr(a, "10.0.0.2") == NULL,
		    "\"healthy\": \"no\" and no healthy at all are not served");
		ok(a && strstr(a, "10.0.0.3") != NULL && strstr(a, "10.0.0.4") == NULL,
		    "a server name announced twice is served once");
		ok(json_array_size(skipped) == 3, "the two malformed and the duplicate are named (%zu)",
		    json_array_size(skipped));
		free(a);
		json_decref(skipped);
		json_decref(r);
		json_decref(sv);
	}

	json_decref(routes);
	json_decref(servers);
	return done_testing();
}
