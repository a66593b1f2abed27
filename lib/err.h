/*
 * One error type for all of libpaas.  Library functions never print and never
 * exit: a function that can fail returns 0 on success or -1 on failure and then
 * fills the struct paas_err its caller passed last.  As an error travels up,
 * each layer may add context in front of the message with paas_err_wrap().
 */
#ifndef PAAS_ERR_H
#define PAAS_ERR_H

#include <stddef.h>


/* Exit statuses shared by every command (see paas(7)). */
enum paas_status {
	PAAS_OK = 0,
	PAAS_EFAILED = 1,	/* the operation ran and failed, or found the cluster degraded */
	PAAS_EUNAVAIL = 2,	/* could not operate: backend unreachable, lock held */
	PAAS_EINVAL = 3,	/* bad usage or invalid input */
};

#define PAAS_ERR_MSG_MAX 1024

struct paas_err {
	int status;			/* one of enum paas_status; 0 when no error */
	char msg[PAAS_ERR_MSG_MAX];	/* lowercase, no full stop */
};

#define PAAS_ERR_INIT { 0, "" }

/* Set the error; always returns -1 so that "return paas_err_set(...)" reads well. */
int paas_err_set(struct paas_err *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Put context in front of the existing message ("ctx: old"); keeps the status.
 * Always returns -1. */
int paas_err_wrap(struct paas_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void paas_err_clear(struct paas_err *err);

/* A daemon's log (the agent, the router): one line per notable thing, given
 * to a callback of the command's; the library itself never prints. */
typedef void (*paas_log_fn)(const char *msg, void *arg);
/* Format one line and hand it to fn; nothing when fn is NULL. */
void paas_logf(paas_log_fn fn, void *arg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
