/*
 * Checks and parsers for names and numbers that come from users: the
 * Servicefile, flags, and records read back from etcd all go through these.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "valid.h"

int
paas_valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63 || !islower((unsigned char)s[0]) || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return 0;
	return 1;
}

int
paas_valid_domain(const char *s)
{
	size_t n = strlen(s), label = 0, i;

	if (n == 0 || n > 253 || s[n - 1] == '.')
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return 0;
		label++;
	}
	return 1;
}

int
paas_valid_env_name(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (s++; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return 0;
	return 1;
}

int
paas_only_chars(const char *s, const char *extra)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
			return 0;
	return 1;
}

int
paas_valid_label(const char *s)
{
	return strlen(s) <= 128 && paas_only_chars(s, "._-");
}

int
paas_parse_memory(const char *s, long long *bytes)
{
	unsigned long long b, mul = 1;
	char *end;

	if (*s == '\0' || strlen(s) > 16 || !isdigit((unsigned char)*s))
		return -1;
	b = strtoull(s, &end, 10);
	if (*end == 'k' || *end == 'K')
		mul = 1ULL << 10;
	else if (*end == 'm' || *end == 'M')
		mul = 1ULL << 20;
	else if (*end == 'g' || *end == 'G')
		mul = 1ULL << 30;
	else if (*end != '\0')
		return -1;
	if (*end) {
		end++;
		if (strcmp(end, "") && strcmp(end, "b") && strcmp(end, "B") && strcmp(end, "iB"))
			return -1;
	}
	if (b == 0 || b > (1ULL << 50) / mul || b * mul < (4ULL << 20))
		return -1;
	*bytes = (long long)(b * mul);
	return 0;
}

int
paas_parse_cpu(const char *s, long long *milli)
{
	char *end;
	double d;

	if (*s == '\0' || strlen(s) > 11)
		return -1;
	d = strtod(s, &end);
	if (*end || !(d > 0) || d > 1024 || (double)(long)(d * 1000 + 0.5) / 1000 != d)
		return -1;
	*milli = (long long)(d * 1000 + 0.5);
	return 0;
}

int
paas_parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

int
paas_valid_address(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1 ||
	    paas_valid_domain(s);
}

int
paas_valid_crypt(const char *h)
{
	if (h == NULL || strlen(h) > 512)
		return 0;
	if (h[0] == '$')
		return paas_only_chars(h, "$./=,+-") && strchr(h + 1, '$') != NULL &&
		    strchr(h + 1, '$') > h + 1 && strrchr(h, '$')[1] != '\0';
	return strlen(h) == 13 && paas_only_chars(h, "./");
}

int64_t
paas_parse_since(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (end == s || v < 0)
		return -1;
	if (*end == '\0')
		return v;
	if (end[1] != '\0')
		return -1;
	switch (*end) {
	case 's': break;
	case 'm': v *= 60; break;
	case 'h': v *= 3600; break;
	case 'd': v *= 86400; break;
	default: return -1;
	}
	return (int64_t)time(NULL) - v;
}
