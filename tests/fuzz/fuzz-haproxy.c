/* libFuzzer target: the HAProxy renderer.  The input is JSON
 * {"routes": {DOMAIN: route}, "servers": [announcement]} as etcd could hold
 * it, every value hostile.  Whatever it holds, the render either refuses it
 * or writes only lines the renderer means to write, each a known directive
 * with nothing after a value that could start another. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "haproxy.h"
#include "lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const starts[] = { "# Written by paas-route", "global", "defaults",
	"userlist auth-", "frontend http", "backend no-route", "backend svc-",
	"\tmaster-worker", "\thttpclient.ssl.verify none", "\thard-stop-after ",
	"\tstats socket ", "\tmode http", "\ttimeout ", "\toption ", "\tretries ",
	"\tuser ", "\tbind :", "\thttp-request set-var(txn.host)", "\tuse_backend svc-",
	"\tdefault_backend no-route", "\thttp-request return status 404",
	"\thttp-request return status 503 content-type \"text/html; charset=utf-8\" file /",
	"\thttp-request auth realm paas if", "\tcookie PAASID insert",
	"\thttp-check expect status", "\tserver ", NULL };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct paas_haproxy_opts o = { 8080, NULL, 0, "/run/paas/haproxy.sock", 30, NULL, NULL, NULL };
	struct paas_err err = PAAS_ERR_INIT;
	json_t *in = json_loadb((const char *)data, size, 0, NULL), *skipped = NULL;
	json_t *routes = json_object_get(in, "routes"), *servers = json_object_get(in, "servers");
	char *cfg = NULL;

	if (json_is_object(routes) && json_is_array(servers) &&
	    paas_haproxy_render(routes, servers, &o, &cfg, &skipped, &err) == 0) {
		only_lines(cfg, starts, 1);
		free(cfg);
		json_decref(skipped);
	}
	json_decref(in);
	return 0;
}
