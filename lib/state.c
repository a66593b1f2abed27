/*
 * Where the cluster is, for a command.  See state.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "state.h"

const char *
paas_etcd_endpoints(const char *flag)
{
	const char *env = getenv("PAAS_ETCD");

	if (flag && *flag)
		return flag;
	if (env && *env)
		return env;
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
