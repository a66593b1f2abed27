#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

void *
paas_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

void *
paas_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		abort();
	return p;
}

char *
paas_xstrndup(const char *s, size_t n)
{
	char *p = paas_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
paas_xstrdup(const char *s)
{
	return paas_xstrndup(s, strlen(s));
}

static void
grow(struct paas_buf *b, size_t extra)
{
	size_t want = b->len + extra + 1;

	if (want <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 64;
	while (b->cap < want)
		b->cap *= 2;
	b->data = paas_xrealloc(b->data, b->cap);
}

void
paas_buf_add(struct paas_buf *b, const void *data, size_t len)
{
	grow(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
paas_buf_adds(struct paas_buf *b, const char *s)
{
	paas_buf_add(b, s, strlen(s));
}

void
paas_buf_addf(struct paas_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
paas_buf_add_printable(struct paas_buf *b, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n')
			paas_buf_adds(b, "\\n");
		else if (*p < 0x20 || *p == 0x7f)
			paas_buf_addf(b, "\\x%02x", *p);
		else
			paas_buf_add(b, p, 1);
	}
}

void
paas_buf_reset(struct paas_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
paas_buf_rstrip(struct paas_buf *b, const char *chars)
{
	while (b->len && b->data[b->len - 1] != '\0' && strchr(chars, b->data[b->len - 1]))
		b->data[--b->len] = '\0';
}

char *
paas_buf_detach(struct paas_buf *b, size_t *len)
{
	char *p;

	if (b->data == NULL)
		grow(b, 0), b->data[0] = '\0';
	p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
paas_buf_free(struct paas_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
paas_base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = paas_xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*o++ = b64[in[i] >> 2];
		*o++ = b64[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*o++ = b64[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		*o++ = b64[in[i + 2] & 63];
	}
	if (i < len) {
		*o++ = b64[in[i] >> 2];
		if (i + 1 < len) {
			*o++ = b64[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
			*o++ = b64[(in[i + 1] & 15) << 2];
		} else {
			*o++ = b64[(in[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

char *
paas_base64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s), i, o = 0;
	unsigned int acc = 0;
	int bits = 0, v;
	char *out;

	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return NULL;
	out = paas_xmalloc(n * 3 / 4 + 1);
	for (i = 0; i < n; i++) {
		if ((v = b64val((unsigned char)s[i])) < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	if (len)
		*len = o;
	return out;
}

void
paas_hash_hex(const char *data, size_t len, char out[17])
{
	unsigned long long h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)data[i];
		h *= 0x100000001b3ULL;
	}
	snprintf(out, 17, "%016llx", h);
}

long long
paas_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
	time_t now = time(NULL);
	struct tm tm;

	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
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

int
paas_private_read(const char *what, const char *path, size_t max, char **data, size_t *len,
    struct paas_err *err)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	*data = NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return paas_err_set(err, PAAS_EINVAL, "%s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return paas_err_set(err, PAAS_EINVAL, "%s %s: not a regular file", what, path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return paas_err_set(err, PAAS_EINVAL, "%s %s: open to group or others (mode %04o): "
		    "chmod 600 it", what, path, (unsigned)(st.st_mode & 07777));
	}
	buf = paas_xmalloc(max + 1);
	n = read(fd, buf, max + 1);
	close(fd);
	if (n < 0 || (size_t)n > max) {
		explicit_bzero(buf, max + 1);
		free(buf);
		return paas_err_set(err, PAAS_EINVAL, "%s %s: %s", what, path,
		    n < 0 ? strerror(errno) : "too long");
	}
	buf[n] = '\0';
	*data = buf;
	if (len)
		*len = (size_t)n;
	return 0;
}

int
paas_private_credentials(const char *what, const char *path, char **user, char **password,
    struct paas_err *err)
{
	char *buf, *colon;
	size_t n;

	*user = *password = NULL;
	if (paas_private_read(what, path, 510, &buf, &n, err) < 0)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	if ((colon = strchr(buf, ':')) == NULL || colon == buf || colon[1] == '\0') {
		explicit_bzero(buf, n);
		free(buf);
		return paas_err_set(err, PAAS_EINVAL, "%s %s: expected one line USER:PASSWORD", what,
		    path);
	}
	*colon = '\0';
	*user = paas_xstrdup(buf);
	*password = paas_xstrdup(colon + 1);
	explicit_bzero(buf, n);
	free(buf);
	return 0;
}

void
paas_secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}
