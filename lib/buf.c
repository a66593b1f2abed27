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

void
paas_tail_add(struct paas_tail *t, const char *s, size_t len)
{
	size_t keep = t->keep && t->keep < PAAS_TAIL_MAX ? t->keep : PAAS_TAIL_MAX;

	if (t->n == keep) {
		free(t->line[0]);
		memmove(t->line, t->line + 1, (keep - 1) * sizeof(*t->line));
		t->n--;
	}
	t->line[t->n++] = paas_xstrndup(s, len);
}

void
paas_tail_text(const struct paas_tail *t, struct paas_buf *b, int printable)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		paas_buf_adds(b, "\n  ");
		if (printable)
			paas_buf_add_printable(b, t->line[i]);
		else
			paas_buf_adds(b, t->line[i]);
	}
}

void
paas_tail_free(struct paas_tail *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->line[i]);
	t->n = 0;
}
