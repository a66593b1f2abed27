/*
 * Schedules of jobs (servicefile(5) "schedule"): cron expressions and the
 * time zones they are read in.
 *
 * An expression has five fields (minute hour day-of-month month
 * day-of-week, at second 0) or six (second first); each field is *, a
 * number, a range a-b, a list of those, each with an optional /step;
 * months and weekdays also by their English three-letter names, Sunday 0
 * or 7.  When both day fields are restricted a day matching either runs
 * (as Vixie cron).  @yearly, @monthly, @weekly, @daily and @hourly stand
 * for their usual expressions.
 *
 * A time zone is a name of the system's tz database (/usr/share/zoneinfo),
 * read as its transitions list it (to 2037 in Debian's tzdata): a local
 * time the zone skips (the spring hour) does not run, one it repeats (the
 * autumn hour) runs at its first occurrence only.
 */
#ifndef PAAS_CRON_H
#define PAAS_CRON_H

#include <stdint.h>

#include "err.h"

struct paas_cron {
	uint64_t sec, min;		/* bit n: n matches */
	uint32_t hour, dom;		/* dom: bits 1-31 */
	uint16_t mon;			/* bits 1-12 */
	uint8_t dow;			/* bits 0-6, Sunday 0 */
	int dom_any, dow_any;		/* the field was * */
};

struct paas_tz;

/* s parsed into c: 0, or -1 with err saying which field is wrong. */
int paas_cron_parse(const char *s, struct paas_cron *c, struct paas_err *err);
/* The zone of name ("UTC", "Europe/Paris"); NULL is UTC.  PAAS_EINVAL for
 * a name that is no zone here. */
int paas_tz_load(const char *name, struct paas_tz **out, struct paas_err *err);
void paas_tz_free(struct paas_tz *tz);
/* Seconds east of UTC at Unix time t. */
long paas_tz_offset(const struct paas_tz *tz, int64_t t);
/* The first time after `after` (Unix seconds) that c matches in tz (NULL:
 * UTC), or -1 when none does within 5 years (February 30th). */
int64_t paas_cron_next(const struct paas_cron *c, const struct paas_tz *tz, int64_t after);

/* The time between the first two due times after t (-1: fewer than two
 * within 5 years): the period of a regular schedule. */
int64_t paas_cron_period(const struct paas_cron *c, const struct paas_tz *tz, int64_t t);
/* The latest time after since and at most until that c matches in tz;
 * 0 when there is none. */
int64_t paas_cron_latest(const struct paas_cron *c, const struct paas_tz *tz, int64_t since,
    int64_t until);

#endif
