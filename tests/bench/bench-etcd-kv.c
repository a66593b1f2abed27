/*
 * bench-etcd-kv ENDPOINT N: N sequential puts then N gets of bench/%06d
 * through libpaas over one kept-alive connection; prints the wall time in
 * seconds.
 * bench-etcd-kv --curl-config ENDPOINT N: print a curl config (-K) that sends
 * the same requests, separated by `next`, for the peer in etcd-kv.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "etcd.h"
#include "paas.h"

int
main(int argc, char **argv)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_etcd *e;
	struct timespec t0, t1;
	char key[64], val[64];
	long i, n;

	if (argc == 4 && strcmp(argv[1], "--curl-config") == 0) {
		n = strtol(argv[3], NULL, 10);
		for (i = 0; i < 2 * n; i++) {
			char *k, *v;

			snprintf(key, sizeof(key), "bench/%06ld", i % n);
			snprintf(val, sizeof(val), "value-%ld", i % n);
			k = paas_base64_encode(key, strlen(key));
			v = paas_base64_encode(val, strlen(val));
			if (i < n)
				printf("url = \"%s/v3/kv/put\"\ndata = \"{\\\"key\\\":\\\"%s\\\",\\\"value\\\":\\\"%s\\\"}\"\n",
				    argv[2], k, v);
			else
				printf("url = \"%s/v3/kv/range\"\ndata = \"{\\\"key\\\":\\\"%s\\\"}\"\n", argv[2], k);
			printf("output = \"/dev/null\"\n%s", i + 1 < 2 * n ? "next\n" : "");
			free(k);
			free(v);
		}
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: bench-etcd-kv [--curl-config] ENDPOINT N\n");
		return 3;
	}
	n = strtol(argv[2], NULL, 10);
	if ((e = paas_etcd_new(argv[1], NULL, &err)) == NULL)
		goto fail;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "bench/%06ld", i);
		snprintf(val, sizeof(val), "value-%ld", i);
		if (paas_etcd_put(e, key, val, strlen(val), 0, NULL, &err) < 0)
			goto fail;
	}
	for (i = 0; i < n; i++) {
		struct paas_kv kv;
		int found;

		snprintf(key, sizeof(key), "bench/%06ld", i);
		if (paas_etcd_get(e, key, &kv, &found, NULL, &err) < 0)
			goto fail;
		paas_kv_clear(&kv);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.4f\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	paas_etcd_free(e);
	return 0;
fail:
	fprintf(stderr, "bench-etcd-kv: %s\n", err.msg);
	paas_etcd_free(e);
	return 2;
}
