/*
 * Where the cluster is, for a command.  See state.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "state.h"

/* The "etcd" of the state directory's cluster.json, or NULL; read once. */
static const char *
cluster_etcd(void)
{
	static char *etcd;
	static int done;
	char *dir, *p;
	json_t *c, *v;

	if (done)
		return etcd;
	done = 1;
	dir = paas_state_dir(NULL);
	if (asprintf(&p, "%s/cluster.json", dir) < 0)
		abort();
	if ((c = json_load_file(p, 0, NULL)) != NULL &&
	    json_is_string(v = json_object_get(c, "etcd")) && *json_string_value(v))
		etcd = paas_xstrdup(json_string_value(v));
	json_decref(c);
	free(p);
	free(dir);
	return etcd;
}

const char *
paas_etcd_endpoints(const char *flag)
{
	const char *env = getenv("PAAS_ETCD"), *c;

	if (flag && *flag)
		return flag;
	if (env && *env)
		return env;
	if ((c = cluster_etcd()) != NULL)
		return c;
	return "http://127.0.0.1:2379";
}

char *
paas_state_dir(const char *flag)
{
	const char *s;
	char *p;

	if (flag)
		return paas_xstrdup(flag);
	if ((s = getenv("PAAS_STATE_DIR")) != NULL && *s)
		return paas_xstrdup(s);
	if (geteuid() == 0)
		return paas_xstrdup("/var/lib/paas");
	if ((s = getenv("XDG_STATE_HOME")) != NULL && *s) {
		if (asprintf(&p, "%s/paas", s) < 0)
			abort();
		return p;
	}
	if (asprintf(&p, "%s/.local/state/paas", getenv("HOME") ? getenv("HOME") : "/tmp") < 0)
		abort();
	return p;
}

char *
paas_state_file(const char *env, const char *name)
{
	const char *v = env ? getenv(env) : NULL;
	char *dir, *p;

	if (v)
		return *v ? paas_xstrdup(v) : NULL;
	dir = paas_state_dir(NULL);
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	free(dir);
	if (access(p, F_OK) == 0)
		return p;
	free(p);
	return NULL;
}
