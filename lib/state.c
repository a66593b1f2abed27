#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "valid.h"
#include "lease.h"
#include "record.h"
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

int
paas_host_put(struct paas_etcd *e, const json_t *host, int create_only,
    struct paas_err *err)
{
	const char *name = json_string_value(json_object_get(host, "name"));
	char *key, *val;
	int won = 1, rc;

	if (name == NULL || !paas_valid_name(name))
		return paas_err_set(err, PAAS_EINVAL, "invalid host name '%.64s': use lower-case "
		    "letters, digits and '-', starting with a letter, at most 63", name ? name : "");
	key = paas_key_host(name);
	val = json_dumps(host, JSON_COMPACT | JSON_SORT_KEYS);
	if (create_only)
		rc = paas_etcd_cas(e, key, val, strlen(val), 0, 0, &won, err);
	else
		rc = paas_etcd_put(e, key, val, strlen(val), 0, NULL, err);
	free(key);
	free(val);
	if (rc == 0 && !won)
		return paas_err_set(err, PAAS_EFAILED, "host %s exists (remove it first)", name);
	return rc;
}

int
paas_host_list(struct paas_etcd *e, json_t **hosts, struct paas_err *err)
{
	struct paas_kv_list l;
	size_t i;

	*hosts = NULL;
	if (paas_etcd_range(e, PAAS_HOSTS_PREFIX, 0, 0, &l, err) < 0)
		return -1;
	*hosts = json_array();
	for (i = 0; i < l.n; i++) {
		json_t *h;

		if (paas_record_parse(l.kvs[i].key, l.kvs[i].value, l.kvs[i].value_len, &h,
		    err) < 0) {
			paas_kv_list_free(&l);
			json_decref(*hosts);
			*hosts = NULL;
			return -1;
		}
		json_array_append_new(*hosts, h);
	}
	paas_kv_list_free(&l);
	if (json_array_size(*hosts) == 0)
		json_array_append_new(*hosts, json_pack("{s:s, s:s, s:n, s:b, s:{}, s:n, s:n, s:b}",
		    "name", "local", "docker", PAAS_LOCAL_DOCKER, "tls", "insecure", 0, "labels",
		    "cpu_milli", "memory_bytes", "implicit", 1));
	return 0;
}

int
paas_host_remove(struct paas_etcd *e, const char *name, struct paas_err *err)
{
	char *key = paas_key_host(name);
	int64_t n = 0;
	int rc = paas_etcd_delete(e, key, 0, &n, err);

	free(key);
	if (rc == 0 && n == 0)
		return paas_err_set(err, PAAS_EFAILED, "no host %s", name);
	return rc;
}

struct paas_docker *
paas_host_docker(const json_t *host, long timeout_ms, struct paas_err *err)
{
	return paas_host_docker_cancel(host, timeout_ms, NULL, err);
}

struct paas_docker *
paas_host_docker_cancel(const json_t *host, long timeout_ms, volatile sig_atomic_t *cancel,
    struct paas_err *err)
{
	const json_t *tls = json_object_get(host, "tls");
	struct paas_http_opts o = { 0 };

	o.cancel = cancel;
	o.ca_file = json_string_value(json_object_get(tls, "ca"));
	o.cert_file = json_string_value(json_object_get(tls, "cert"));
	o.key_file = json_string_value(json_object_get(tls, "key"));
	o.insecure = json_is_true(json_object_get(host, "insecure"));
	o.timeout_ms = timeout_ms;
	/* A host that drops packets should not hold a deploy for a whole
	 * request timeout before it is named. */
	o.connect_timeout_ms = timeout_ms < 5000 ? timeout_ms : 5000;
	return paas_docker_new(json_string_value(json_object_get(host, "docker")), &o, err);
}

char *
paas_host_address(const json_t *h)
{
	const char *a = json_string_value(json_object_get(h, "address"));
	const char *url = json_string_value(json_object_get(h, "docker"));
	const char *p, *end;

	if (a && *a)
		return paas_xstrdup(a);
	if (url == NULL || strncmp(url, "unix://", 7) == 0 || (p = strstr(url, "://")) == NULL)
		return paas_xstrdup("127.0.0.1");
	p += 3;
	/* ssh://user@host:port */
	if ((end = strchr(p, '@')) != NULL && end < p + strcspn(p, "/"))
		p = end + 1;
	if (*p == '[' && (end = strchr(p, ']')) != NULL)
		return paas_xstrndup(p + 1, (size_t)(end - p - 1));
	end = p + strcspn(p, ":/");
	return paas_xstrndup(p, (size_t)(end - p));
}

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
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += wait > 0 ? wait / 1000 : 0;
		until.tv_nsec += wait > 0 ? (wait % 1000) * 1000000L : 0;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
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
