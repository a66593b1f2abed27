/*
 * The clock.  See clock.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"

long long
paas_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
paas_timespec_in(clockid_t clock, long long ms, struct timespec *ts)
{
	clock_gettime(clock, ts);
	if (ms <= 0)
		return;
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void
paas_sleep_ms(long long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	if (ms <= 0)
		return;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void
paas_utc_now(char *out, size_t size)
{
	paas_utc_of((long long)time(NULL), out, size);
}

void
paas_utc_of(long long t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
}

long long
paas_utc_parse(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return 0;
	return (long long)timegm(&tm);
}

void
paas_utc_now_ms(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char sec[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", gmtime_r(&ts.tv_sec, &tm));
	snprintf(out, size, "%s.%03ldZ", sec, ts.tv_nsec / 1000000);
}
