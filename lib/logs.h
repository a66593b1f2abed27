/*
 * The output of a deployment's instances across the hosts, for paas-deploy
 * logs: read in time order, or followed as it comes.
 */
#ifndef PAAS_LOGS_H
#define PAAS_LOGS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* One line of an instance's output; time is Docker's (RFC 3339,
 * UTC, nanoseconds), stream 1 stdout or 2 stderr. */
struct paas_log_line {
	const char *service, *instance, *host, *container;
	int stream;
	const char *time;
	const char *text;
	size_t len;
};
struct paas_logs_opts {
	const char *etcd, *deployment;
	const char *service, *instance;	/* NULL: all */
	int follow;			/* until the containers stop or *cancel */
	int64_t since;			/* Unix time; 0: from the start */
	int tail;			/* per container; 0: all */
	volatile sig_atomic_t *cancel;
	/* Each line, one call at a time (under a lock, from one thread per
	 * container with follow); non-zero stops. */
	int (*fn)(const struct paas_log_line *l, void *arg);
	void *arg;
};
/* Every container of the deployment on every host (filtered): without
 * follow, all of their lines in time order; with follow, as they come,
 * streamed, never held whole.  Hosts or containers that could not be read
 * go to *unreachable as {"kind":"host","host","error"}.  A deployment with
 * no release is PAAS_EFAILED, a service it does not have PAAS_EINVAL. */
int paas_logs_read(const struct paas_logs_opts *o, json_t **unreachable,
    struct paas_err *err);

#endif
