/*
 * Cron expressions and tz database zones (cron.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "cron.h"
#include "file.h"
#include "private.h"
#include "valid.h"

#define ZONEINFO	"/usr/share/zoneinfo/"
#define MAX_TZIF	(1 << 20)

struct paas_tz {
	size_t n;			/* transitions */
	int64_t *at;			/* when, ascending */
	long *off;			/* the offset from then on */
	long first;			/* the offset before the first */
};

static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
	"sep", "oct", "nov", "dec", NULL };
static const char *const days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

/* A number or a name (names[k] is lo + k) at *p: -1 when neither. */
static long
value(const char **p, long lo, const char *const *names)
{
	char *end;
	long v;
	size_t k;

	if (isdigit((unsigned char)**p)) {
		v = strtol(*p, &end, 10);
		if (end - *p > 4)
			return -1;
		*p = end;
		return v;
	}
	for (k = 0; names && names[k]; k++)
		if (strncasecmp(*p, names[k], 3) == 0 && !isalpha((unsigned char)(*p)[3])) {
			*p += 3;
			return lo + (long)k;
		}
	return -1;
}

/* One field, "a-b/n,c,...", into *bits. */
static int
field(const char *f, long lo, long hi, const char *const *names, uint64_t *bits, int *any)
{
	const char *p = f;

	*bits = 0;
	*any = *f == '*';
	for (;;) {
		long a, b, step = 1, v;

		if (*p == '*') {
			a = lo;
			b = hi;
			p++;
		} else {
			if ((a = value(&p, lo, names)) < 0)
				return -1;
			b = a;
			if (*p == '-') {
				p++;
				if ((b = value(&p, lo, names)) < 0)
					return -1;
			}
		}
		if (*p == '/') {
			p++;
			if (!isdigit((unsigned char)*p) || (step = strtol(p, (char **)&p, 10)) < 1 ||
			    step > hi)
				return -1;
			if (a == b && f[0] != '*')
				b = hi;
		}
		if (a < lo || b > hi || a > b)
			return -1;
		for (v = a; v <= b; v += step)
			*bits |= 1ULL << v;
		if (*p == '\0')
			return 0;
		if (*p++ != ',')
			return -1;
	}
}

int
paas_cron_parse(const char *s, struct paas_cron *c, struct paas_err *err)
{
	static const struct { const char *name, *expr; } macros[] = {
		{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" },
		{ "@monthly", "0 0 1 * *" }, { "@weekly", "0 0 * * 0" },
		{ "@daily", "0 0 * * *" }, { "@midnight", "0 0 * * *" },
		{ "@hourly", "0 * * * *" },
	};
	static const char *const what[] = { "second", "minute", "hour", "day of month", "month",
		"day of week" };
	static const long lo[] = { 0, 0, 0, 1, 1, 0 }, hi[] = { 59, 59, 23, 31, 12, 7 };
	char buf[256], *f[7], *save = NULL, *w;
	uint64_t bits[6];
	int any[6], n = 0, k, first;
	size_t m;

	memset(c, 0, sizeof(*c));
	for (m = 0; m < sizeof(macros) / sizeof(macros[0]); m++)
		if (strcmp(s, macros[m].name) == 0)
			s = macros[m].expr;
	if (strlen(s) >= sizeof(buf))
		return paas_err_set(err, PAAS_EINVAL, "longer than %zu characters", sizeof(buf) - 1);
	strcpy(buf, s);
	for (w = strtok_r(buf, " \t", &save); w && n < 7; w = strtok_r(NULL, " \t", &save))
		f[n++] = w;
	if (n != 5 && n != 6)
		return paas_err_set(err, PAAS_EINVAL, "'%.64s': expected 5 fields (minute hour "
		    "day month weekday) or 6 (second first), found %d", s, n);
	first = n == 5;			/* no seconds: second 0 */
	if (first)
		bits[0] = 1, any[0] = 0;
	for (k = first; k < 6; k++)
		if (field(f[k - first], lo[k], hi[k], k == 4 ? months : k == 5 ? days : NULL,
		    &bits[k], &any[k]) < 0)
			return paas_err_set(err, PAAS_EINVAL, "'%.64s': the %s field '%.32s' is not "
			    "*, a number %ld-%ld, a range or a list (with /step)", s, what[k],
			    f[k - first], lo[k], hi[k]);
	if (bits[5] & (1 << 7))
		bits[5] = (bits[5] | 1) & 0x7f;	/* Sunday is 0 and 7 */
	c->sec = bits[0];
	c->min = bits[1];
	c->hour = (uint32_t)bits[2];
	c->dom = (uint32_t)bits[3];
	c->mon = (uint16_t)bits[4];
	c->dow = (uint8_t)bits[5];
	c->dom_any = any[3];
	c->dow_any = any[5];
	return 0;
}

static uint64_t
be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* The TZif data (RFC 8536) of s, n bytes, into tz: its version 2 block
 * (64-bit times) when there is one. */
static int
tzif(const unsigned char *s, size_t n, struct paas_tz *tz)
{
	const unsigned char *h = s, *d;
	uint64_t isut, isstd, leap, cnt, typ, chr;
	size_t tw = 4, i;

	for (;;) {
		if ((size_t)(h - s) + 44 > n || memcmp(h, "TZif", 4) != 0)
			return -1;
		isut = be(h + 20, 4);
		isstd = be(h + 24, 4);
		leap = be(h + 28, 4);
		cnt = be(h + 32, 4);
		typ = be(h + 36, 4);
		chr = be(h + 40, 4);
		d = h + 44;
		if (typ == 0 || cnt > 10000 || typ > 256 || chr > 10000 || leap > 10000 ||
		    isut > 256 || isstd > 256)
			return -1;
		if (tw == 4 && h[4] >= '2') {
			/* Past the version 1 block to the 64-bit one. */
			h = d + cnt * 5 + typ * 6 + chr + leap * 8 + isstd + isut;
			tw = 8;
			continue;
		}
		break;
	}
	if ((size_t)(d - s) + cnt * (tw + 1) + typ * 6 > n)
		return -1;
	tz->n = cnt;
	tz->at = paas_xmalloc((cnt ? cnt : 1) * sizeof(*tz->at));
	tz->off = paas_xmalloc((cnt ? cnt : 1) * sizeof(*tz->off));
	for (i = 0; i < cnt; i++) {
		uint64_t k = d[cnt * tw + i];

		if (k >= typ)
			return -1;
		tz->at[i] = (int64_t)be(d + i * tw, (int)tw);
		if (tw == 4)
			tz->at[i] = (int32_t)tz->at[i];
		tz->off[i] = (int32_t)be(d + cnt * (tw + 1) + k * 6, 4);
	}
	tz->first = (int32_t)be(d + cnt * (tw + 1), 4);
	return 0;
}

int
paas_tz_load(const char *name, struct paas_tz **out, struct paas_err *err)
{
	struct paas_tz *tz = calloc(1, sizeof(*tz));
	char *path = NULL, *data = NULL;
	size_t n = 0;
	int rc = -1;

	*out = NULL;
	if (tz == NULL)
		abort();
	if (name == NULL || strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
		*out = tz;
		return 0;
	}
	if (!paas_only_chars(name, "/_+-") || strstr(name, "..") || name[0] == '/' ||
	    strlen(name) > 64) {
		paas_err_set(err, PAAS_EINVAL, "'%.64s' is not a time zone name (Region/City)", name);
		goto out;
	}
	if (asprintf(&path, ZONEINFO "%s", name) < 0)
		abort();
	{
		struct paas_err e2 = PAAS_ERR_INIT;

		if (paas_read_file(path, MAX_TZIF, &data, &n, &e2) < 0) {
			paas_err_set(err, PAAS_EINVAL, "no time zone %s here (%s: %s)", name, path,
			    e2.msg);
			goto out;
		}
	}
	if (tzif((const unsigned char *)data, n, tz) < 0) {
		paas_err_set(err, PAAS_EINVAL, "time zone %s: %s is not a tz database file", name,
		    path);
		goto out;
	}
	*out = tz;
	tz = NULL;
	rc = 0;
out:
	paas_tz_free(tz);
	free(data);
	free(path);
	return rc;
}

void
paas_tz_free(struct paas_tz *tz)
{
	if (tz == NULL)
		return;
	free(tz->at);
	free(tz->off);
	free(tz);
}

/* The index of the last transition at or before t, or -1. */
static long
last_at(const struct paas_tz *tz, int64_t t)
{
	long lo = 0, hi = (long)tz->n - 1, best = -1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;

		if (tz->at[mid] <= t)
			best = mid, lo = mid + 1;
		else
			hi = mid - 1;
	}
	return best;
}

long
paas_tz_offset(const struct paas_tz *tz, int64_t t)
{
	long i;

	if (tz == NULL || tz->n == 0)
		return tz ? tz->first : 0;
	i = last_at(tz, t);
	return i < 0 ? tz->first : tz->off[i];
}

/* The first UTC time not before t whose local time is at least local. */
static int64_t
to_utc(const struct paas_tz *tz, int64_t local, int64_t t)
{
	int64_t a = local - paas_tz_offset(tz, t), b = local - paas_tz_offset(tz, a);
	int64_t u = a < b ? a : b;

	return u > t ? u : t + 1;
}

/* The end of the repeated hour t is in (its second pass), or 0. */
static int64_t
repeated(const struct paas_tz *tz, int64_t t, long off)
{
	long i, before;

	if (tz == NULL || (i = last_at(tz, t)) < 0)
		return 0;
	before = i > 0 ? tz->off[i - 1] : tz->first;
	return before > off && t < tz->at[i] + (before - off) ? tz->at[i] + (before - off) : 0;
}

int64_t
paas_cron_next(const struct paas_cron *c, const struct paas_tz *tz, int64_t after)
{
	int64_t t = after + 1, end = after + 5 * 366 * 86400LL;

	while (t < end) {
		long off = paas_tz_offset(tz, t);
		int64_t local = t + off, r;
		time_t lt = (time_t)local;
		struct tm tm;
		int dom, dow, s;

		gmtime_r(&lt, &tm);
		dom = (c->dom >> tm.tm_mday) & 1;
		dow = (c->dow >> tm.tm_wday) & 1;
		if (!((c->mon >> (tm.tm_mon + 1)) & 1)) {
			struct tm m = { 0 };

			m.tm_year = tm.tm_year + (tm.tm_mon == 11);
			m.tm_mon = (tm.tm_mon + 1) % 12;
			m.tm_mday = 1;
			t = to_utc(tz, (int64_t)timegm(&m), t);
		} else if (c->dom_any || c->dow_any ? !(dom && dow) : !(dom || dow))
			t = to_utc(tz, local - tm.tm_hour * 3600 - tm.tm_min * 60 - tm.tm_sec + 86400, t);
		else if (!((c->hour >> tm.tm_hour) & 1))
			t = to_utc(tz, local - tm.tm_min * 60 - tm.tm_sec + 3600, t);
		else if (!((c->min >> tm.tm_min) & 1))
			t = to_utc(tz, local - tm.tm_sec + 60, t);
		else if (!((c->sec >> tm.tm_sec) & 1)) {
			for (s = tm.tm_sec + 1; s < 60 && !((c->sec >> s) & 1); s++)
				;
			t += s - tm.tm_sec;
		} else if ((r = repeated(tz, t, off)) != 0)
			t = r;
		else
			return t;
	}
	return -1;
}

int64_t
paas_cron_latest(const struct paas_cron *c, const struct paas_tz *tz, int64_t since,
    int64_t until)
{
	int64_t d = since, n;
	int k;

	for (k = 0; k < 100000 && (n = paas_cron_next(c, tz, d)) > 0 && n <= until; k++)
		d = n;
	return d > since ? d : 0;
}

int64_t
paas_cron_period(const struct paas_cron *c, const struct paas_tz *tz, int64_t t)
{
	int64_t n1 = paas_cron_next(c, tz, t), n2;

	return n1 < 0 || (n2 = paas_cron_next(c, tz, n1)) < 0 ? -1 : n2 - n1;
}
