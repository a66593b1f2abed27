/* Cron expressions and time zones (cron.h): next due times against
 * times worked out by hand, across daylight saving time in Europe/Paris. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "err.h"
#include "tap.h"

static void
next(const char *expr, const char *zone, int64_t after, int64_t want, const char *what)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_cron c;
	struct paas_tz *tz = NULL;

	if (paas_cron_parse(expr, &c, &err) < 0 || paas_tz_load(zone, &tz, &err) < 0) {
		ok(0, "%s: %s", what, err.msg);
		return;
	}
	{
		int64_t got = paas_cron_next(&c, tz, after);

		ok(got == want, "%s (%" PRId64 ", want %" PRId64 ")", what, got, want);
	}
	paas_tz_free(tz);
}

static void
bad(const char *expr, const char *want)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_cron c;

	ok(paas_cron_parse(expr, &c, &err) < 0 && strstr(err.msg, want) != NULL,
	    "'%s' refused: %s", expr, err.msg);
}

int
main(void)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_tz *tz = NULL;

	next("*/15 * * * *", NULL, 1796680390, 1796680800, "every 15 minutes, at the quarter");
	next("@hourly", "UTC", 1796680390, 1796680800, "@hourly");
	next("*/5 * * * * *", NULL, 1796680390, 1796680395, "six fields: every 5 seconds");
	next("*/5 * * * * *", NULL, 1796680395, 1796680400, "strictly after the time given");
	next("0 3 * * *", "Europe/Paris", 1774699200, 1774746000,
	    "03:00 Paris the night clocks go forward is 01:00 UTC");
	next("30 2 * * *", "Europe/Paris", 1774699200, 1774830600,
	    "02:30 Paris does not exist on 29 March 2026: the next day's");
	next("30 2 * * *", "Europe/Paris", 1792843200, 1792888200,
	    "02:30 Paris on 25 October 2026 runs at its first occurrence (00:30 UTC)");
	next("30 2 * * *", "Europe/Paris", 1792888200, 1792978200,
	    "and not at its second: the next is 26 October, 01:30 UTC");
	next("0 0 29 2 *", NULL, 1767225600, 1835395200, "29 February: 2028");
	next("0 0 13 * 5", NULL, 1796680390, 1796947200,
	    "day of month and weekday both given: either (Friday 11 December)");
	next("0 0 * * 7", NULL, 1796680390, 1797120000, "weekday 7 is Sunday");
	next("0 0 * * sun", NULL, 1796680390, 1797120000, "weekday by name");
	next("0 0 1 jan-mar/2 *", NULL, 1796680390, 1798761600 + 0, "months by name, stepped");
	next("0 0 30 2 *", NULL, 1796680390, -1, "30 February never comes");
	bad("61 * * * *", "minute field");
	bad("* * *", "expected 5 fields");
	bad("*/0 * * * *", "minute field");
	bad("5-1 * * * *", "minute field");
	bad("x * * * *", "minute field");
	bad("* * * * mon-", "day of week");
	bad("* * 0 * *", "day of month");
	bad("1,2, * * * *", "minute field");
	ok(paas_tz_load("Mars/Olympus", &tz, &err) < 0 && strstr(err.msg, "no time zone"),
	    "an unknown zone: %s", err.msg);
	paas_err_clear(&err);
	ok(paas_tz_load("../etc/passwd", &tz, &err) < 0 && strstr(err.msg, "not a time zone"),
	    "a path is no zone: %s", err.msg);
	return done_testing();
}
