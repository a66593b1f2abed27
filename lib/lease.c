#include <limits.h>

#include "clock.h"
#include "etcd.h"
#include "lease.h"

#define RETRY_MS	1000

static long long
period_ms(const struct paas_lease *l)
{
	return l->ttl * 1000LL / 3 > 0 ? l->ttl * 1000LL / 3 : 1;
}

void
paas_lease_init(struct paas_lease *l, int ttl)
{
	l->ttl = ttl > 0 ? ttl : 10;
	l->id = 0;
	l->next = l->last_ok = 0;
}

int
paas_lease_grant(struct paas_lease *l, struct paas_etcd *e, struct paas_err *err)
{
	l->id = 0;
	if (paas_etcd_lease_grant(e, l->ttl, &l->id, err) < 0) {
		l->id = 0;
		return -1;
	}
	l->last_ok = paas_now_ms();
	l->next = l->last_ok + period_ms(l);
	return 0;
}

int
paas_lease_tick(struct paas_lease *l, struct paas_etcd *e, struct paas_err *err)
{
	long long now = paas_now_ms();
	int64_t ttl;

	if (l->id == 0 || now < l->next)
		return 0;
	if (paas_etcd_lease_keepalive(e, l->id, &ttl, err) == 0) {
		l->last_ok = paas_now_ms();
		l->next = l->last_ok + period_ms(l);
		return 0;
	}
	if (err->status != PAAS_EFAILED && now - l->last_ok < l->ttl * 1000LL) {
		l->next = now + (RETRY_MS < period_ms(l) ? RETRY_MS : period_ms(l));
		return 0;
	}
	if (err->status != PAAS_EFAILED)
		paas_err_wrap(err, "no refresh of lease %llx went through for its %d s TTL",
		    (unsigned long long)l->id, l->ttl);
	l->id = 0;
	return -1;
}

long long
paas_lease_due(const struct paas_lease *l)
{
	return l->id ? l->next : LLONG_MAX;
}

int
paas_lease_revoke(struct paas_lease *l, struct paas_etcd *e, struct paas_err *err)
{
	int64_t id = l->id;

	l->id = 0;
	return id ? paas_etcd_lease_revoke(e, id, err) : 0;
}
