/*
 * The deployment lock.  See lock.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "etcd.h"
#include "keys.h"
#include "lease.h"
#include "lock.h"
#include "valid.h"

struct paas_lock {
	struct paas_etcd *e;		/* used only by the keepalive thread */
	struct paas_etcd *main;		/* for release */
	struct paas_lease lease;	/* the keepalive thread's */
	int64_t id;			/* the lease, for paas_lock_lease() */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop, alive;
};

static void *
keepalive(void *arg)
{
	struct paas_lock *l = arg;
	struct timespec until;

	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		struct paas_err err = PAAS_ERR_INIT;
		long long wait = paas_lease_due(&l->lease) - paas_now_ms();

		if (wait > 1000)
			wait = 1000;
		paas_timespec_in(CLOCK_REALTIME, wait, &until);
		while (!l->stop && pthread_cond_timedwait(&l->cv, &l->mu, &until) != ETIMEDOUT)
			;
		if (l->stop || !l->alive)
			continue;
		pthread_mutex_unlock(&l->mu);
		/* The lease only lapses if etcd hears nothing for a whole ttl. */
		if (paas_lease_tick(&l->lease, l->e, &err) < 0) {
			pthread_mutex_lock(&l->mu);
			l->alive = 0;
			continue;
		}
		pthread_mutex_lock(&l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

int
paas_lock_acquire(const char *endpoints, const char *deployment,
    const char *holder, int ttl, struct paas_lock **lock, struct paas_err *err)
{
	char *key = NULL;
	struct paas_lock *l;
	json_t *v = NULL;
	char *val = NULL;
	int won = 0, rc = -1;
	char since[32];

	*lock = NULL;
	if (!paas_valid_name(deployment))
		return paas_err_set(err, PAAS_EINVAL, "invalid deployment name '%.64s'", deployment);
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		abort();
	paas_lease_init(&l->lease, ttl);
	l->alive = 1;
	if ((l->main = paas_etcd_new(endpoints, NULL, err)) == NULL ||
	    (l->e = paas_etcd_new(endpoints, NULL, err)) == NULL)
		goto out;
	if (paas_lease_grant(&l->lease, l->main, err) < 0)
		goto out;
	l->id = l->lease.id;
	paas_utc_now(since, sizeof(since));
	v = json_pack("{s:s, s:s}", "holder", holder, "since", since);
	val = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	key = paas_key_lock(deployment);
	if (paas_etcd_cas(l->main, key, val, strlen(val), 0, l->id, &won, err) < 0)
		goto out;
	if (!won) {
		struct paas_kv kv;
		int found = 0;
		json_t *cur = NULL;

		if (paas_etcd_get(l->main, key, &kv, &found, NULL, err) == 0 && found)
			cur = json_loadb(kv.value, kv.value_len, 0, NULL);
		paas_err_set(err, PAAS_EUNAVAIL, "deployment %s is locked by %s since %s", deployment,
		    json_string_value(json_object_get(cur, "holder")) ?
		    json_string_value(json_object_get(cur, "holder")) : "another process",
		    json_string_value(json_object_get(cur, "since")) ?
		    json_string_value(json_object_get(cur, "since")) : "a moment ago");
		json_decref(cur);
		if (found)
			paas_kv_clear(&kv);
		goto out;
	}
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (pthread_create(&l->thread, NULL, keepalive, l) != 0) {
		paas_err_set(err, PAAS_EFAILED, "cannot start the lock keepalive thread");
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cv);
		goto out;
	}
	*lock = l;
	l = NULL;
	rc = 0;
out:
	if (l) {
		if (l->id) {
			struct paas_err ignore = PAAS_ERR_INIT;

			paas_etcd_lease_revoke(l->main, l->id, &ignore);
		}
		paas_etcd_free(l->main);
		paas_etcd_free(l->e);
		free(l);
	}
	json_decref(v);
	free(val);
	free(key);
	return rc;
}

int
paas_lock_held(struct paas_lock *l)
{
	int alive;

	pthread_mutex_lock(&l->mu);
	alive = l->alive;
	pthread_mutex_unlock(&l->mu);
	return alive;
}

int64_t
paas_lock_lease(const struct paas_lock *l)
{
	return l ? l->id : 0;
}

void
paas_lock_release(struct paas_lock *l)
{
	struct paas_err ignore = PAAS_ERR_INIT;

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	/* If this fails the lease lapses by itself within ttl. */
	paas_etcd_lease_revoke(l->main, l->id, &ignore);
	paas_etcd_free(l->main);
	paas_etcd_free(l->e);
	free(l);
}
