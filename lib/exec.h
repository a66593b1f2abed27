/*
 * A one-off container of a service, for paas-deploy exec.
 */
#ifndef PAAS_EXEC_H
#define PAAS_EXEC_H

#include <signal.h>
#include <stddef.h>

#include <jansson.h>

#include "err.h"
#include "etcd.h"

/* A one-off container of a service: the current release's image
 * and environment, ${VAR}s from the release's kept values else this
 * process's environment; labelled paas.run (not an instance). */
struct paas_exec_opts {
	const char *etcd, *deployment, *service;
	const char *host;		/* NULL: the first host by name that answers */
	char *const *argv;		/* NULL or empty: the service's own cmd */
	/* Each line of its output as it comes (stream 1 stdout, 2 stderr). */
	int (*out)(int stream, const char *line, size_t len, void *arg);
	void *arg;
	volatile sig_atomic_t *cancel;	/* set: the container is stopped */
	/* A release not recorded yet (the release phase, deploy.c): its spec
	 * (canonical), number and ${VAR} values (NULL: this process's
	 * environment), in place of the current release's; o->e its etcd. */
	const json_t *spec;
	long long release;
	const json_t *vars;
	struct paas_etcd *e;
	long timeout_ms;		/* > 0: stopped after this long, PAAS_EFAILED */
	/* Interactive (exec -i): in_fd goes to its standard input (at its end,
	 * the input is closed, unless with a terminal) and its output to
	 * out_fd and err_fd as bytes, not to out.  With tty, it has a terminal
	 * of its own, the size of in_fd's (sent again when *resized is set,
	 * which is then cleared), and in_fd, when a terminal, is put in raw
	 * mode while it runs: Ctrl-C reaches the container's process. */
	int interactive, tty;
	int in_fd, out_fd, err_fd;
	volatile sig_atomic_t *resized;
};
/* Run it to its end: *status its exit status.  It is removed afterwards,
 * whatever happened.  A deployment with no release is PAAS_EFAILED, a
 * service it lacks or a host not registered PAAS_EINVAL, a host that does
 * not answer PAAS_EUNAVAIL. */
int paas_exec_run(const struct paas_exec_opts *o, int *status, struct paas_err *err);

#endif
