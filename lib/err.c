#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

int
paas_err_set(struct paas_err *err, int status, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->status = status ? status : PAAS_EFAILED;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
paas_err_wrap(struct paas_err *err, const char *fmt, ...)
{
	char ctx[PAAS_ERR_MSG_MAX], both[2 * PAAS_ERR_MSG_MAX + 2];
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	snprintf(both, sizeof(both), "%s: %s", ctx, err->msg);
	both[sizeof(err->msg) - 1] = '\0';
	memcpy(err->msg, both, sizeof(err->msg));
	if (err->status == 0)
		err->status = PAAS_EFAILED;
	return -1;
}

void
paas_err_clear(struct paas_err *err)
{
	if (err == NULL)
		return;
	err->status = 0;
	err->msg[0] = '\0';
}

void
paas_logf(paas_log_fn fn, void *arg, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	if (fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(msg, arg);
}
