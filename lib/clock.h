/*
 * The clock: milliseconds on the monotonic clock for deadlines, sleeps
 * that resume after a signal, and UTC timestamps for records and events.
 */
#ifndef PAAS_CLOCK_H
#define PAAS_CLOCK_H

#include <stddef.h>
#include <time.h>

/* Milliseconds on the monotonic clock. */
long long paas_now_ms(void);
/* *ts set to ms milliseconds (none when ms <= 0) from now on clock, for
 * pthread_cond_timedwait on a condition of that clock. */
void paas_timespec_in(clockid_t clock, long long ms, struct timespec *ts);
/* Sleep ms milliseconds (none when ms <= 0), resuming after a signal. */
void paas_sleep_ms(long long ms);
/* The current time in UTC as "2026-11-22T06:12:00Z" (out: 21 bytes or more). */
void paas_utc_now(char *out, size_t size);
/* Unix time t the same way. */
void paas_utc_of(long long t, char *out, size_t size);
/* The Unix time of such a text (a fraction and the Z may follow the
 * seconds), or 0 when it is not one. */
long long paas_utc_parse(const char *s);
/* The same with milliseconds: "2026-12-01T07:00:00.123Z". */
void paas_utc_now_ms(char *out, size_t size);

#endif
