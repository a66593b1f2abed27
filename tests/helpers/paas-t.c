/*
 * paas-t: a test driver over libpaas, so that shell tests can exercise each
 * library call against real servers.  Not installed.
 *
 *   paas-t [-c CONNECT_MS] [-t TIMEOUT_MS] etcd ENDPOINTS CMD ARGS...
 *          (as the user of the file $PAAS_ETCD_AUTH names, when set)
 *   paas-t [-c MS] [-t MS] [--tls-ca F --tls-cert F --tls-key F] [--insecure]
 *          docker URL CMD ARGS...
 *   paas-t [-t MS] multi URL...          (GET /_ping or /health on each at once)
 *   paas-t render ROUTES.json SERVERS.json PORT STATS_SOCKET   (HAProxy config)
 *   paas-t [-t MS] probe MS MIN STOPFILE URL...  (count 2xx answers every MS until STOPFILE)
 *   paas-t haproxy-cli SOCKET COMMAND     (the HAProxy master CLI)
 *   paas-t context REPO CONTEXT DOCKERFILE  (the build context's tar, of HEAD)
 *   paas-t fleet ENDPOINT machines | units | unit NAME | delete NAME |
 *          put NAME STATE [OPTIONS_JSON] | states [MACHINE|-] [UNIT]
 *          (the fleet client: JSON out; delete prints 1 or 0, found or not)
 *   paas-t until SINCE_NS TIMEOUT_MS URL HOST STATUS [BODY [FIRST_URL]]
 *          poll URL (Host: HOST, a new connection each time) every 2 ms until it
 *          answers STATUS (and BODY); print the ms since SINCE_NS (0: since
 *          FIRST_URL first answered 200, or since the start)
 *   paas-t gone SINCE_NS TIMEOUT_MS SOCKET BACKEND TEXT [FIRST_URL]
 *     (PAAS_T_DOWN=1: a server still listed but down or in maintenance
 *     counts as gone: HAProxy sends it nothing)
 *          poll "show servers state BACKEND" of HAProxy's current worker
 *          through its master CLI (or, when SOCKET's name ends in
 *          "stats.sock", through the workers' own stats socket, which
 *          answers while the master re-executes itself for a reload)
 *          every 2 ms until TEXT is not in it; print
 *          the ms since SINCE_NS (0: since FIRST_URL, polled every 2 ms,
 *          first failed to answer 200), then SINCE_NS
 *   paas-t floor ENDPOINTS PREFIX SOCKET LIVE CFG_PUT CFG_DEL
 *          a minimal router: on each event under PREFIX tell the running
 *          worker first (a put adds CFG_PUT's "server s" as web/s and enables
 *          it; a delete puts web/s in maintenance), as any router can through
 *          HAProxy's runtime API, then copy CFG_PUT or CFG_DEL to LIVE and
 *          reload HAProxy through SOCKET
 */
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acme.h"
#include "clock.h"
#include "docker.h"
#include "etcd.h"
#include "lock.h"
#include "paas.h"
#include "fleet.h"
#include "git.h"
#include "file.h"
#include "haproxy.h"
#include "keys.h"
#include "private.h"
#include "route.h"
#include "state.h"

static const char *prog = "paas-t";

static int
die(struct paas_err *err)
{
	fprintf(stderr, "%s: %s\n", prog, err->msg);
	return err->status ? err->status : 1;
}

static void __attribute__((noreturn)) usage(void);

/* acme: a certificate from an ACME CA, its HTTP-01 answers in etcd for
 * the routers to give (acme.h). */
static int
acme_publish(const char *token, const char *keyauth, int add, void *arg, struct paas_err *err)
{
	char *k = paas_key_acme_challenge(token);
	int rc = add ? paas_etcd_put(arg, k, keyauth, strlen(keyauth), 0, NULL, err) :
	    paas_etcd_delete(arg, k, 0, NULL, err);

	free(k);
	return rc;
}

static int
acme_main(int argc, char **argv, struct paas_http_opts *o)
{
	struct paas_acme_opts ao = { 0 };
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_acme *a = NULL;
	struct paas_etcd *e;
	char *cert = NULL, *key = NULL;
	const char *url;
	int rc = 1;

	if (argc < 5)
		usage();
	ao.directory = argv[1];
	ao.ca_file = o->ca_file;
	ao.contact = "ops@example.org";
	if ((e = paas_etcd_new(argv[0], NULL, &err)) == NULL)
		return die(&err);
	if (paas_acme_open(&ao, NULL, &a, &err) < 0 || paas_acme_account(a, &url, &err) < 0 ||
	    paas_acme_order(a, (const char *const *)argv + 4, (size_t)argc - 4, acme_publish, e,
	    &cert, &key, &err) < 0 ||
	    paas_output_write(argv[2], cert, strlen(cert), 0644, &err) < 0 ||
	    paas_output_write(argv[3], key, strlen(key), 0600, &err) < 0)
		rc = die(&err);
	else {
		printf("%s\n", url);
		rc = 0;
	}
	free(cert);
	if (key)
		paas_secret_free(key);
	paas_acme_free(a);
	paas_etcd_free(e);
	return rc;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: %s [-c ms] [-t ms] [--tls-ca f --tls-cert f --tls-key f] "
	    "[--insecure] etcd|docker|multi ...\n", prog);
	exit(3);
}

struct watch_state {
	long want, seen;
};

static int
on_event(const struct paas_event *ev, void *arg)
{
	struct watch_state *w = arg;

	printf("%s %s %.*s %" PRId64 "\n", ev->type == PAAS_EVENT_PUT ? "PUT" : "DELETE",
	    ev->kv.key, (int)ev->kv.value_len, ev->kv.value, ev->kv.mod_revision);
	fflush(stdout);
	return w->want > 0 && ++w->seen >= w->want;
}

static int
etcd_main(int argc, char **argv, struct paas_http_opts *o)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_etcd *e;
	const char *cmd, *endpoints;
	int rc = 0;

	if (argc < 2)
		usage();
	endpoints = argv[0];
	/* The credentials a test gives, as the commands take them. */
	if (paas_etcd_auth_load(getenv("PAAS_ETCD_AUTH") && *getenv("PAAS_ETCD_AUTH") ?
	    getenv("PAAS_ETCD_AUTH") : NULL, &err) < 0 ||
	    (e = paas_etcd_new(endpoints, o, &err)) == NULL)
		return die(&err);
	cmd = argv[1];
	argv += 2, argc -= 2;
	if (strcmp(cmd, "get") == 0 && argc == 1) {
		struct paas_kv kv;
		int found;

		if (paas_etcd_get(e, argv[0], &kv, &found, NULL, &err) < 0)
			goto fail;
		if (!found) {
			fprintf(stderr, "%s: %s: no such key\n", prog, argv[0]);
			rc = 1;
		} else {
			printf("%.*s\n", (int)kv.value_len, kv.value);
		}
		paas_kv_clear(&kv);
	} else if (strcmp(cmd, "put") == 0 && (argc == 2 || argc == 3)) {
		int64_t rev;

		if (paas_etcd_put(e, argv[0], argv[1], strlen(argv[1]),
		    argc == 3 ? strtoll(argv[2], NULL, 10) : 0, &rev, &err) < 0)
			goto fail;
		printf("%" PRId64 "\n", rev);
	} else if (strcmp(cmd, "putn") == 0 && argc == 2) {
		/* putn PREFIX N: N puts of PREFIX%06d, one at a time */
		long i, n = strtol(argv[1], NULL, 10);
		char key[512], val[32];

		for (i = 0; i < n; i++) {
			snprintf(key, sizeof(key), "%s%06ld", argv[0], i);
			snprintf(val, sizeof(val), "%ld", i);
			if (paas_etcd_put(e, key, val, strlen(val), 0, NULL, &err) < 0)
				goto fail;
		}
	} else if (strcmp(cmd, "getn") == 0 && argc == 2) {
		long i, n = strtol(argv[1], NULL, 10);
		char key[512];

		for (i = 0; i < n; i++) {
			struct paas_kv kv;
			int found;

			snprintf(key, sizeof(key), "%s%06ld", argv[0], i);
			if (paas_etcd_get(e, key, &kv, &found, NULL, &err) < 0)
				goto fail;
			paas_kv_clear(&kv);
		}
	} else if (strcmp(cmd, "range") == 0 && (argc == 1 || argc == 2)) {
		struct paas_kv_list l;
		size_t i;

		if (paas_etcd_range(e, argv[0], argc == 2 ? strtoul(argv[1], NULL, 10) : 0, 0, &l, &err) < 0)
			goto fail;
		for (i = 0; i < l.n; i++)
			printf("%s=%.*s\n", l.kvs[i].key, (int)l.kvs[i].value_len, l.kvs[i].value);
		paas_kv_list_free(&l);
	} else if (strcmp(cmd, "del") == 0 && (argc == 1 || argc == 2)) {
		int64_t n;

		if (paas_etcd_delete(e, argv[0], argc == 2 && strcmp(argv[1], "--prefix") == 0, &n, &err) < 0)
			goto fail;
		printf("%" PRId64 "\n", n);
	} else if (strcmp(cmd, "cas") == 0 && argc == 3) {
		/* cas KEY VALUE MODREV: prints won or lost */
		int won;

		if (paas_etcd_cas(e, argv[0], argv[1], strlen(argv[1]),
		    strtoll(argv[2], NULL, 10), 0, &won, &err) < 0)
			goto fail;
		printf("%s\n", won ? "won" : "lost");
		rc = won ? 0 : 1;
	} else if (strcmp(cmd, "putmany") == 0 && argc == 2) {
		/* putmany PREFIX FILE: each element of the JSON array in FILE
		 * under PREFIX00000, PREFIX00001, ..., in transactions of up
		 * to 100 puts and 1 MiB */
		json_t *a = json_load_file(argv[1], 0, NULL);
		struct paas_op ops[100];
		char *vals[100], keys[100][512];
		size_t i = 0, k, bytes, j;
		int ok, prc = 0;

		if (!json_is_array(a)) {
			fprintf(stderr, "%s: %s: not a JSON array\n", prog, argv[1]);
			json_decref(a);
			return 1;
		}
		while (prc == 0 && i < json_array_size(a)) {
			for (k = 0, bytes = 0; k < 100 && i + k < json_array_size(a); k++) {
				vals[k] = json_dumps(json_array_get(a, i + k),
				    JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
				snprintf(keys[k], sizeof(keys[k]), "%s%05zu", argv[0], i + k);
				ops[k] = (struct paas_op){ PAAS_OP_PUT, keys[k], vals[k],
				    strlen(vals[k]), 0 };
				bytes += strlen(vals[k]) + strlen(keys[k]);
				if (bytes > (1 << 20) && k > 0) {
					free(vals[k]);
					break;
				}
			}
			prc = paas_etcd_txn(e, NULL, 0, ops, k, NULL, 0, &ok, NULL, &err);
			for (j = 0; j < k; j++)
				free(vals[j]);
			i += k;
		}
		json_decref(a);
		if (prc < 0)
			goto fail;
	} else if (strcmp(cmd, "modrev") == 0 && argc == 1) {
		struct paas_kv kv;
		int found;

		if (paas_etcd_get(e, argv[0], &kv, &found, NULL, &err) < 0)
			goto fail;
		printf("%" PRId64 "\n", found ? kv.mod_revision : 0);
		paas_kv_clear(&kv);
	} else if (strcmp(cmd, "watch") == 0 && argc >= 1) {
		/* watch KEY [--prefix] [COUNT [FROM_REV]] */
		struct paas_watch_opts wo = { 0 };
		struct watch_state ws = { 0, 0 };
		int64_t compacted = 0;
		int i = 1;

		wo.key = argv[0];
		if (argc > i && strcmp(argv[i], "--prefix") == 0)
			wo.prefix = 1, i++;
		if (argc > i)
			ws.want = strtol(argv[i++], NULL, 10);
		if (argc > i)
			wo.start_revision = strtoll(argv[i++], NULL, 10);
		wo.compacted = &compacted;
		if (paas_etcd_watch(e, &wo, on_event, &ws, &err) < 0) {
			if (compacted)
				printf("COMPACTED %" PRId64 "\n", compacted);
			goto fail;
		}
	} else if (strcmp(cmd, "lease-grant") == 0 && argc == 1) {
		int64_t id;

		if (paas_etcd_lease_grant(e, strtoll(argv[0], NULL, 10), &id, &err) < 0)
			goto fail;
		printf("%" PRId64 "\n", id);
	} else if (strcmp(cmd, "lease-keepalive") == 0 && argc == 1) {
		int64_t ttl;

		if (paas_etcd_lease_keepalive(e, strtoll(argv[0], NULL, 10), &ttl, &err) < 0)
			goto fail;
		printf("%" PRId64 "\n", ttl);
	} else if (strcmp(cmd, "lease-revoke") == 0 && argc == 1) {
		if (paas_etcd_lease_revoke(e, strtoll(argv[0], NULL, 10), &err) < 0)
			goto fail;
	} else if (strcmp(cmd, "members") == 0 && argc == 0) {
		struct paas_member_list l;
		size_t i;

		if (paas_etcd_members(e, &l, &err) < 0)
			goto fail;
		for (i = 0; i < l.n; i++)
			printf("%" PRIx64 " %s %s %s\n", l.m[i].id, l.m[i].name,
			    l.m[i].peer_urls, l.m[i].client_urls);
		paas_member_list_free(&l);
	} else if (strcmp(cmd, "status") == 0 && argc == 0) {
		struct paas_etcd_status st;

		if (paas_etcd_status(e, &st, &err) < 0)
			goto fail;
		printf("version=%s member=%" PRIx64 " leader=%" PRIx64 " db_size=%" PRId64
		    " revision=%" PRId64 "\n", st.version, st.member_id, st.leader,
		    st.db_size, st.revision);
	} else if (strcmp(cmd, "lock") == 0 && argc == 4) {
		/* lock DEPLOYMENT HOLDER TTL SECONDS: hold it, then release */
		struct paas_lock *l;
		struct timespec ts = { 0, 100000000L };
		long i, n = strtol(argv[3], NULL, 10) * 10;

		if (paas_lock_acquire(endpoints, argv[0], argv[1], atoi(argv[2]), &l, &err) < 0)
			goto fail;
		printf("locked\n");
		fflush(stdout);
		for (i = 0; i < n && paas_lock_held(l); i++)
			nanosleep(&ts, NULL);
		if (!paas_lock_held(l))
			printf("lost\n");
		paas_lock_release(l);
		printf("released\n");
	} else if (strcmp(cmd, "health") == 0 && argc == 0) {
		if (paas_etcd_health(e, &err) < 0)
			goto fail;
		printf("healthy\n");
	} else {
		paas_etcd_free(e);
		usage();
	}
	paas_etcd_free(e);
	return rc;
fail:
	paas_etcd_free(e);
	return die(&err);
}

static void
print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	printf("%s\n", s ? s : "null");
	free(s);
}

static int
on_docker_event(json_t *ev, void *arg)
{
	long *left = arg;

	print_json(ev);
	fflush(stdout);
	return --*left <= 0;
}

static int
docker_main(int argc, char **argv, struct paas_http_opts *o)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_docker *d;
	const char *cmd;
	json_t *j = NULL;
	int rc = 0;

	if (argc < 2)
		usage();
	if ((d = paas_docker_new(argv[0], o, &err)) == NULL)
		return die(&err);
	cmd = argv[1];
	argv += 2, argc -= 2;
	if (strcmp(cmd, "ping") == 0 && argc == 0) {
		if (paas_docker_ping(d, &err) < 0)
			goto fail;
		printf("OK\n");
	} else if (strcmp(cmd, "ping") == 0 && argc == 1) {
		/* ping N: N pings one after the other; the mean in ms, after a
		 * first that opens the connection */
		long long t0;
		int i, n = atoi(argv[0]);

		if (n < 1 || paas_docker_ping(d, &err) < 0)
			goto fail;
		t0 = paas_now_ms();
		for (i = 0; i < n; i++)
			if (paas_docker_ping(d, &err) < 0)
				goto fail;
		printf("%.3f\n", (double)(paas_now_ms() - t0) / n);
	} else if (strcmp(cmd, "version") == 0) {
		if (paas_docker_version(d, &j, &err) < 0)
			goto fail;
		printf("%s\n", json_string_value(json_object_get(j, "Version")));
	} else if (strcmp(cmd, "create") == 0 && argc >= 3) {
		/* create NAME IMAGE LABEL=VALUE [CMD...]: prints the ID */
		json_t *cfg = json_object(), *labels = json_object(), *c = json_array();
		char *id, *eq = strchr(argv[2], '=');
		int i;

		json_object_set_new(cfg, "Image", json_string(argv[1]));
		if (eq) {
			*eq = '\0';
			json_object_set_new(labels, argv[2], json_string(eq + 1));
		}
		json_object_set_new(cfg, "Labels", labels);
		for (i = 3; i < argc; i++)
			json_array_append_new(c, json_string(argv[i]));
		if (json_array_size(c))
			json_object_set_new(cfg, "Cmd", c);
		else
			json_decref(c);
		rc = paas_docker_create(d, argv[0], cfg, &id, &err);
		json_decref(cfg);
		if (rc < 0)
			goto fail;
		printf("%s\n", id);
		free(id);
	} else if (strcmp(cmd, "start") == 0 && argc == 1) {
		if (paas_docker_start(d, argv[0], &err) < 0)
			goto fail;
	} else if (strcmp(cmd, "stop") == 0 && argc == 1) {
		if (paas_docker_stop(d, argv[0], 5, &err) < 0)
			goto fail;
	} else if (strcmp(cmd, "rm") == 0 && argc == 1) {
		if (paas_docker_remove(d, argv[0], 1, &err) < 0)
			goto fail;
	} else if (strcmp(cmd, "wait") == 0 && argc == 1) {
		int64_t st;

		if (paas_docker_wait(d, argv[0], &st, &err) < 0)
			goto fail;
		printf("%" PRId64 "\n", st);
	} else if (strcmp(cmd, "inspect") == 0 && argc == 1) {
		if (paas_docker_inspect(d, argv[0], &j, &err) < 0)
			goto fail;
		if (j == NULL) {
			fprintf(stderr, "%s: no such container: %s\n", prog, argv[0]);
			rc = 1;
		} else {
			printf("%s %s\n", json_string_value(json_object_get(
			    json_object_get(j, "State"), "Status")),
			    json_string_value(json_object_get(j, "Name")));
		}
	} else if (strcmp(cmd, "ps") == 0 && argc <= 1) {
		const char *labels[] = { argc ? argv[0] : NULL, NULL };
		size_t i;

		if (paas_docker_containers(d, argc ? labels : NULL, 1, &j, &err) < 0)
			goto fail;
		for (i = 0; i < json_array_size(j); i++)
			printf("%s %s\n", json_string_value(json_object_get(json_array_get(j, i), "Id")),
			    json_string_value(json_object_get(json_array_get(j, i), "State")));
	} else if (strcmp(cmd, "logs") == 0 && argc == 2) {
		struct paas_buf b = PAAS_BUF_INIT;

		if (paas_docker_logs(d, argv[0], atoi(argv[1]), &b, &err) < 0)
			goto fail;
		fwrite(b.data ? b.data : "", 1, b.len, stdout);
		paas_buf_free(&b);
	} else if (strcmp(cmd, "events") == 0 && argc == 2) {
		/* events LABEL COUNT */
		const char *labels[] = { argv[0], NULL };
		long left = strtol(argv[1], NULL, 10);

		if (paas_docker_events(d, labels, 0, on_docker_event, &left, &err) < 0)
			goto fail;
	} else if (strcmp(cmd, "images") == 0) {
		size_t i;

		if (paas_docker_images(d, &j, &err) < 0)
			goto fail;
		for (i = 0; i < json_array_size(j); i++)
			printf("%s\n", json_string_value(json_object_get(json_array_get(j, i), "Id")));
	} else if (strcmp(cmd, "image-inspect") == 0 && argc == 1) {
		if (paas_docker_image_inspect(d, argv[0], &j, &err) < 0)
			goto fail;
		if (j == NULL) {
			fprintf(stderr, "%s: no such image: %s\n", prog, argv[0]);
			rc = 1;
		} else {
			printf("%s\n", json_string_value(json_object_get(j, "Id")));
		}
	} else if (strcmp(cmd, "import") == 0 && argc == 3) {
		FILE *f = fopen(argv[0], "rb");
		char *id;

		if (f == NULL) {
			perror(argv[0]);
			paas_docker_free(d);
			return 3;
		}
		rc = paas_docker_image_import(d, f, argv[1], argv[2], &id, &err);
		fclose(f);
		if (rc < 0)
			goto fail;
		printf("%s\n", id ? id : "");
		free(id);
	} else {
		paas_docker_free(d);
		usage();
	}
	json_decref(j);
	paas_docker_free(d);
	return rc;
fail:
	json_decref(j);
	paas_docker_free(d);
	return die(&err);
}

static int
multi_main(int argc, char **argv, struct paas_http_opts *o)
{
	struct paas_http_job *jobs = calloc((size_t)argc + 1, sizeof(*jobs));
	struct paas_err err = PAAS_ERR_INIT;
	int i, rc = 0;

	for (i = 0; i < argc; i++) {
		if ((jobs[i].client = paas_http_new("server", argv[i], o, &err)) == NULL) {
			rc = die(&err);
			goto out;
		}
		jobs[i].req.method = "GET";
		jobs[i].req.path = strncmp(argv[i], "unix:", 5) == 0 ||
		    strncmp(argv[i], "tcp:", 4) == 0 ? "/_ping" : "/health";
	}
	paas_http_multi(jobs, (size_t)argc, o->timeout_ms);
	for (i = 0; i < argc; i++) {
		if (jobs[i].rc < 0) {
			printf("%s ERROR %s\n", argv[i], jobs[i].err.msg);
			rc = 1;
		} else {
			printf("%s %ld %s\n", argv[i], jobs[i].resp.status, jobs[i].resp.body);
		}
		paas_http_resp_free(&jobs[i].resp);
	}
out:
	for (i = 0; i < argc; i++)
		paas_http_free(jobs[i].client);
	free(jobs);
	return rc;
}

/* probe INTERVAL_MS MIN STOPFILE URL...: every INTERVAL_MS fetch every URL at
 * once and count the 2xx answers, until STOPFILE exists; then print
 * "rounds=N gaps=G min=M" where a gap is a round with fewer than MIN.
 * Each round waits up to a second for its answers. */
static int
probe_main(int argc, char **argv, struct paas_http_opts *o)
{
	long every, min, rounds = 0, gaps = 0, lowest = -1;
	int n = argc - 3, i;
	struct paas_http_job *jobs;
	char **paths;

	if (argc < 4)
		usage();
	every = atol(argv[0]);
	min = atol(argv[1]);
	jobs = calloc((size_t)n, sizeof(*jobs));
	paths = calloc((size_t)n, sizeof(*paths));
	for (i = 0; i < n; i++) {
		struct paas_err err = PAAS_ERR_INIT;
		char *u = strdup(argv[3 + i]), *p = strchr(strstr(u, "://") + 3, '/');

		paths[i] = strdup(p ? p : "/");
		if (p)
			*p = '\0';
		if ((jobs[i].client = paas_http_new("server", u, o, &err)) == NULL)
			return die(&err);
		free(u);
	}
	while (access(argv[2], F_OK) != 0) {
		struct timespec ts = { every / 1000, (every % 1000) * 1000000 };
		long ok = 0;

		for (i = 0; i < n; i++) {
			memset(&jobs[i].req, 0, sizeof(jobs[i].req));
			jobs[i].req.method = "GET";
			jobs[i].req.path = paths[i];
		}
		/* A stopped instance refuses at once; a slow answer on a loaded
		 * machine is an answer, so a round may take up to a second. */
		paas_http_multi(jobs, (size_t)n, 1000);
		for (i = 0; i < n; i++) {
			if (jobs[i].rc == 0 && jobs[i].resp.status / 100 == 2)
				ok++;
			paas_http_resp_free(&jobs[i].resp);
			paas_err_clear(&jobs[i].err);
		}
		rounds++;
		if (ok < min)
			gaps++;
		if (lowest < 0 || ok < lowest)
			lowest = ok;
		nanosleep(&ts, NULL);
	}
	printf("rounds=%ld gaps=%ld min=%ld\n", rounds, gaps, lowest);
	for (i = 0; i < n; i++) {
		paas_http_free(jobs[i].client);
		free(paths[i]);
	}
	free(jobs);
	free(paths);
	return 0;
}

/* render ROUTES_FILE SERVERS_FILE HTTP_PORT STATS_SOCKET: the HAProxy
 * configuration, skipped announcements on stderr. */
static int
fleet_main(int argc, char **argv, struct paas_http_opts *o)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_fleet *f;
	const char *cmd;
	json_t *j = NULL;
	int rc = 0, found;

	if (argc < 2)
		usage();
	if ((f = paas_fleet_new(argv[0], o, &err)) == NULL)
		return die(&err);
	cmd = argv[1];
	argv += 2, argc -= 2;
	if (strcmp(cmd, "machines") == 0 && argc == 0)
		rc = paas_fleet_machines(f, &j, &err);
	else if (strcmp(cmd, "units") == 0 && argc == 0)
		rc = paas_fleet_units(f, &j, &err);
	else if (strcmp(cmd, "unit") == 0 && argc == 1)
		rc = paas_fleet_unit(f, argv[0], &j, &err);
	else if (strcmp(cmd, "states") == 0 && argc <= 2)
		rc = paas_fleet_states(f, argc > 0 && strcmp(argv[0], "-") ? argv[0] : NULL,
		    argc > 1 ? argv[1] : NULL, &j, &err);
	else if (strcmp(cmd, "put") == 0 && (argc == 2 || argc == 3)) {
		json_t *opts = NULL;

		if (argc == 3 && (opts = json_loads(argv[2], 0, NULL)) == NULL) {
			paas_fleet_free(f);
			fprintf(stderr, "%s: options: not JSON\n", prog);
			return 3;
		}
		rc = paas_fleet_put(f, argv[0], opts, argv[1], &err);
		json_decref(opts);
	} else if (strcmp(cmd, "delete") == 0 && argc == 1) {
		if ((rc = paas_fleet_delete(f, argv[0], &found, &err)) == 0)
			printf("%d\n", found);
	} else {
		paas_fleet_free(f);
		usage();
	}
	paas_fleet_free(f);
	if (rc < 0)
		return die(&err);
	if (strcmp(cmd, "put") && strcmp(cmd, "delete"))
		print_json(j);
	json_decref(j);
	return 0;
}

static int
render_main(int argc, char **argv)
{
	struct paas_haproxy_opts o = { 0 };
	struct paas_err err = PAAS_ERR_INIT;
	json_t *routes, *servers, *skipped = NULL, *m;
	char *out;
	size_t i;

	if (argc != 4)
		usage();
	routes = json_load_file(argv[0], 0, NULL);
	servers = json_load_file(argv[1], 0, NULL);
	o.http_port = atoi(argv[2]);
	o.stats_socket = argv[3];
	if (paas_haproxy_render(routes, servers, &o, &out, &skipped, &err) < 0) {
		json_decref(routes);
		json_decref(servers);
		return die(&err);
	}
	fputs(out, stdout);
	json_array_foreach(skipped, i, m)
		fprintf(stderr, "skipped: %s\n", json_string_value(m));
	free(out);
	json_decref(skipped);
	json_decref(routes);
	json_decref(servers);
	return 0;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	paas_buf_add(arg, p, size * n);
	return size * n;
}

/* One fresh GET; *status 0 when nothing answered. */
static void
get_once(const char *url, const char *host, long *status, struct paas_buf *body)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char hdr[300];

	paas_buf_reset(body);
	*status = 0;
	if (host && *host) {
		snprintf(hdr, sizeof(hdr), "Host: %s", host);
		h = curl_slist_append(h, hdr);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	while (body->len && (body->data[body->len - 1] == '\n' || body->data[body->len - 1] == '\r'))
		body->data[--body->len] = '\0';
}

static int
until_main(int argc, char **argv)
{
	struct paas_buf body = PAAS_BUF_INIT;
	double since, deadline;
	long status, want, timeout;
	const char *text;
	int rc = 1;

	if (argc < 5)
		usage();
	since = strtod(argv[0], NULL);
	timeout = strtol(argv[1], NULL, 10);
	want = strtol(argv[4], NULL, 10);
	text = argc > 5 ? argv[5] : NULL;
	deadline = now_ns() + timeout * 1e6;
	if (argc > 6) {
		for (;;) {
			get_once(argv[6], NULL, &status, &body);
			if (status == 200)
				break;
			if (now_ns() > deadline)
				goto out;
			usleep(2000);
		}
	}
	if (since == 0)
		since = now_ns();
	for (;;) {
		get_once(argv[2], argv[3], &status, &body);
		if (status == want && (text == NULL || (body.data && strcmp(body.data, text) == 0))) {
			printf("%.1f\n", (now_ns() - since) / 1e6);
			rc = 0;
			break;
		}
		if (now_ns() > deadline)
			break;
		usleep(2000);
	}
out:
	if (rc)
		fprintf(stderr, "%s: until: %s did not answer %ld%s%s in %ld ms\n", prog, argv[2], want,
		    text ? " " : "", text ? text : "", timeout);
	paas_buf_free(&body);
	return rc;
}

/* Is the server whose line of `show servers state` holds text up (its
 * srv_op_state, the 6th field, 2) and not in maintenance (srv_admin_state,
 * the 7th, 0)? */
static int
serving(const char *state, const char *text)
{
	const char *line = strstr(state, text), *p;
	int field = 1;
	long op = -1, admin = -1;

	if (line == NULL)
		return 0;
	while (line > state && line[-1] != '\n')
		line--;
	for (p = line; *p && *p != '\n'; p++)
		if (*p == ' ') {
			field++;
			if (field == 6)
				op = strtol(p + 1, NULL, 10);
			else if (field == 7)
				admin = strtol(p + 1, NULL, 10);
		}
	return op == 2 && admin == 0;
}

static int
gone_main(int argc, char **argv)
{
	double since, deadline;
	char cmd[300];
	size_t n;
	int worker;

	if (argc != 5 && argc != 6)
		usage();
	since = strtod(argv[0], NULL);
	deadline = now_ns() + strtol(argv[1], NULL, 10) * 1e6;
	n = strlen(argv[2]);
	worker = n >= 10 && strcmp(argv[2] + n - 10, "stats.sock") == 0;
	snprintf(cmd, sizeof(cmd), "%sshow servers state %s", worker ? "" : "@1 ", argv[3]);
	if (argc == 6) {
		struct paas_buf body = PAAS_BUF_INIT;
		long status;

		for (;;) {
			get_once(argv[5], NULL, &status, &body);
			if (status != 200)
				break;
			if (now_ns() > deadline) {
				paas_buf_free(&body);
				fprintf(stderr, "%s: gone: %s still answers\n", prog, argv[5]);
				return 1;
			}
			usleep(2000);
		}
		paas_buf_free(&body);
		since = now_ns();
	}
	for (;;) {
		struct paas_err err = PAAS_ERR_INIT;
		char *out = NULL;

		if (paas_haproxy_cli(argv[2], cmd, &out, &err) == 0 && strstr(out, "# be_id") &&
		    (strstr(out, argv[4]) == NULL || (getenv("PAAS_T_DOWN") && !serving(out,
		    argv[4])))) {
			printf("%.1f %.0f\n", (now_ns() - since) / 1e6, since);
			free(out);
			return 0;
		}
		free(out);
		if (now_ns() > deadline) {
			fprintf(stderr, "%s: gone: %s still in %s\n", prog, argv[4], argv[3]);
			return 1;
		}
		usleep(2000);
	}
}

struct floor {
	const char *sock, *live, *put, *del;
	char *server;	/* "web/s ADDRESS SETTINGS", from CFG_PUT's server line */
};

/* What any router can do ahead of its reload, as ours does: the server
 * added to the running worker (put), or put in maintenance (delete). */
static void
floor_runtime(const struct floor *f, int put)
{
	struct paas_err err = PAAS_ERR_INIT;
	char cmd[600], *out = NULL;

	if (put) {
		snprintf(cmd, sizeof(cmd), "@1 add server %s", f->server);
		if (paas_haproxy_cli(f->sock, cmd, &out, &err) == 0) {
			free(out);
			out = NULL;
			paas_haproxy_cli(f->sock, "@1 enable health web/s", &out, &err);
			free(out);
			out = NULL;
			paas_haproxy_cli(f->sock, "@1 enable server web/s", &out, &err);
		}
	} else
		paas_haproxy_cli(f->sock, "@1 set server web/s state maint", &out, &err);
	free(out);
}

static int
floor_event(const struct paas_event *ev, void *arg)
{
	struct floor *f = arg;
	struct paas_err err = PAAS_ERR_INIT;
	const char *src = ev->type == PAAS_EVENT_PUT ? f->put : f->del;
	char buf[65536];
	FILE *in, *out;
	size_t n;

	floor_runtime(f, ev->type == PAAS_EVENT_PUT);
	in = fopen(src, "r");
	out = fopen(f->live, "w");
	if (in && out)
		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			fwrite(buf, 1, n, out);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	if (paas_haproxy_reload(f->sock, 0, &err) < 0)
		fprintf(stderr, "%s: floor: %s\n", prog, err.msg);
	return 0;
}

/* "web/s REST" from the line "\tserver s REST" of the file at path. */
static char *
floor_server(const char *path)
{
	char line[512], web[520], *s = NULL;
	FILE *f = fopen(path, "r");

	while (f && s == NULL && fgets(line, sizeof(line), f))
		if (strncmp(line, "\tserver s ", 10) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(web, sizeof(web), "web/%s", line + 8);
			s = paas_xstrdup(web);
		}
	if (f)
		fclose(f);
	return s;
}

static int
floor_main(int argc, char **argv)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_watch_opts wo = { 0 };
	struct floor f;
	struct paas_etcd *e;
	int rc = 0;

	if (argc != 6)
		usage();
	f.sock = argv[2];
	f.live = argv[3];
	f.put = argv[4];
	f.del = argv[5];
	if ((f.server = floor_server(f.put)) == NULL) {
		fprintf(stderr, "%s: floor: no \"server s\" line in %s\n", prog, f.put);
		return 1;
	}
	if ((e = paas_etcd_new(argv[0], NULL, &err)) == NULL) {
		free(f.server);
		return die(&err);
	}
	wo.key = argv[1];
	wo.prefix = 1;
	if (paas_etcd_watch(e, &wo, floor_event, &f, &err) < 0)
		rc = die(&err);
	paas_etcd_free(e);
	free(f.server);
	return rc;
}

/* context REPO CONTEXT DOCKERFILE: the build context of REPO's HEAD, as
 * the tar paas-deploy sends, on standard output. */
static int
context_main(int argc, char **argv)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_git *g = NULL;
	char commit[41], *df = NULL;
	int rc = 0;

	if (argc != 3)
		usage();
	if (paas_git_open(argv[0], ".", NULL, &g, &err) < 0 ||
	    paas_git_resolve(g, NULL, commit, &err) < 0 ||
	    paas_git_context_tar(g, commit, argv[1], argv[2], stdout, &df, NULL, &err) < 0)
		rc = die(&err);
	free(df);
	paas_git_free(g);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tls-ca", required_argument, NULL, 'A' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "insecure", no_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_http_opts o = { 0 };
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+c:t:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o.connect_timeout_ms = strtol(optarg, NULL, 10); break;
		case 't': o.timeout_ms = strtol(optarg, NULL, 10); break;
		case 'A': o.ca_file = optarg; break;
		case 'C': o.cert_file = optarg; break;
		case 'K': o.key_file = optarg; break;
		case 'I': o.insecure = 1; break;
		default: usage();
		}
	}
	argc -= optind, argv += optind;
	if (argc < 1)
		usage();
	if (strcmp(argv[0], "etcd") == 0)
		rc = etcd_main(argc - 1, argv + 1, &o);
	else if (strcmp(argv[0], "docker") == 0)
		rc = docker_main(argc - 1, argv + 1, &o);
	else if (strcmp(argv[0], "fleet") == 0)
		rc = fleet_main(argc - 1, argv + 1, &o);
	else if (strcmp(argv[0], "context") == 0)
		rc = context_main(argc - 1, argv + 1);
	else if (strcmp(argv[0], "multi") == 0)
		rc = multi_main(argc - 1, argv + 1, &o);
	else if (strcmp(argv[0], "probe") == 0)
		rc = probe_main(argc - 1, argv + 1, &o);
	else if (strcmp(argv[0], "render") == 0)
		rc = render_main(argc - 1, argv + 1);
	else if (strcmp(argv[0], "until") == 0)
		rc = until_main(argc - 1, argv + 1);
	else if (strcmp(argv[0], "gone") == 0)
		rc = gone_main(argc - 1, argv + 1);
	else if (strcmp(argv[0], "acme") == 0)
		rc = acme_main(argc - 1, argv + 1, &o);
	else if (strcmp(argv[0], "floor") == 0)
		rc = floor_main(argc - 1, argv + 1);
	else if (strcmp(argv[0], "haproxy-cli") == 0 && argc == 3) {
		struct paas_err err = PAAS_ERR_INIT;
		char *out;

		if (paas_haproxy_cli(argv[1], argv[2], &out, &err) < 0)
			return die(&err);
		fputs(out, stdout);
		free(out);
		rc = 0;
	} else
		usage();
	return rc;
}
