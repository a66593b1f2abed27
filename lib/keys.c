#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

static char * __attribute__((format(printf, 1, 2)))
key(const char *fmt, ...)
{
	char *s;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

char *
paas_key_host(const char *host)
{
	return key(PAAS_HOSTS_PREFIX "%s", host);
}

char *
paas_key_deployment(const char *dep)
{
	return key(PAAS_DEPLOYMENTS_PREFIX "%s/", dep);
}

char *
paas_key_lock(const char *dep)
{
	return key(PAAS_DEPLOYMENTS_PREFIX "%s/lock", dep);
}

char *
paas_key_current(const char *dep)
{
	return key(PAAS_DEPLOYMENTS_PREFIX "%s/release", dep);
}

char *
paas_key_release(const char *dep, int64_t n)
{
	if (n == 0)
		return key(PAAS_DEPLOYMENTS_PREFIX "%s/releases/", dep);
	return key(PAAS_DEPLOYMENTS_PREFIX "%s/releases/%lld", dep, (long long)n);
}

char *
paas_key_instance(const char *dep, const char *svc, const char *id)
{
	if (svc == NULL)
		return key(PAAS_INSTANCES_PREFIX "%s/", dep);
	return key(PAAS_INSTANCES_PREFIX "%s/%s/%s", dep, svc, id);
}

char *
paas_key_route(const char *domain)
{
	return key(PAAS_ROUTES_PREFIX "%s", domain);
}

const char *
paas_announce_id(const char *container, int *len)
{
	const char *at = strchr(container, '@');

	/* A fleet unit, DEP-SVC@VERSION8-ID-RELEASE.service: what follows
	 * the @. */
	if (at) {
		*len = (int)strcspn(at + 1, ".");
		return at + 1;
	}
	*len = strlen(container) < 12 ? (int)strlen(container) : 12;
	return container;
}

char *
paas_key_announce(const char *dep, const char *svc, const char *id, const char *container)
{
	const char *a;
	int n;

	if (svc == NULL)
		return key(PAAS_ANNOUNCE_PREFIX "%s/", dep);
	a = paas_announce_id(container, &n);
	return key(PAAS_ANNOUNCE_PREFIX "%s/%s/%s/%.*s", dep, svc, id, n, a);
}

char *
paas_key_agent(const char *host)
{
	return key(PAAS_AGENTS_PREFIX "%s", host);
}

char *
paas_key_freed(const char *host, long long port)
{
	return key(PAAS_FREED_PREFIX "%s/%lld", host, port);
}

char *
paas_key_drain(const char *container)
{
	return key(PAAS_DRAIN_PREFIX "%s", container);
}

char *
paas_key_registry(void)
{
	return key(PAAS_PREFIX "%s", "registry");
}

char *
paas_key_maintenance(const char *dep)
{
	return key(PAAS_MAINTENANCE_PREFIX "%s", dep);
}

char *
paas_key_acme_challenge(const char *token)
{
	return key(PAAS_ACME_PREFIX "challenges/%s", token);
}

char *
paas_key_job(const char *dep, const char *svc, const char *part, long long due)
{
	if (svc == NULL)
		return key(PAAS_JOBS_PREFIX "%s/", dep);
	if (part == NULL)
		return key(PAAS_JOBS_PREFIX "%s/%s/", dep, svc);
	if (due <= 0)
		return key(PAAS_JOBS_PREFIX "%s/%s/%s", dep, svc, part);
	return key(PAAS_JOBS_PREFIX "%s/%s/%s/%012lld", dep, svc, part, due);
}

char *
paas_key_router(const char *name)
{
	return key(PAAS_ROUTERS_PREFIX "%s", name);
}

char *
paas_key_secrets(const char *dep, int64_t n)
{
	if (n == 0)
		return key(PAAS_SECRETS_PREFIX "%s/", dep);
	return key(PAAS_SECRETS_PREFIX "%s/%lld", dep, (long long)n);
}

const char *
paas_key_tail(const char *k, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(k, prefix, n) == 0 ? k + n : NULL;
}

int64_t
paas_key_release_num(const char *k)
{
	const char *p = paas_key_tail(k, PAAS_DEPLOYMENTS_PREFIX), *s;
	char *end;
	long long n;

	if (p == NULL || (s = strchr(p, '/')) == NULL || strncmp(s, "/releases/", 10) != 0)
		return 0;
	n = strtoll(s + 10, &end, 10);
	return *end == '\0' && n > 0 ? n : 0;
}

int
paas_key_part(const char *tail, int n, char *out, size_t size)
{
	const char *p = tail, *end;

	while (n-- > 0) {
		if ((p = strchr(p, '/')) == NULL)
			return -1;
		p++;
	}
	end = p + strcspn(p, "/");
	if ((size_t)(end - p) >= size || end == p)
		return -1;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return 0;
}
