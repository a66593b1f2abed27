/*
 * A growable byte buffer, always NUL-terminated, and base64 for etcd's JSON
 * gateway.  Allocation failure aborts: a toolkit of short-lived commands has
 * no better answer to it, and every caller would otherwise grow a branch.
 */
#ifndef PAAS_BUF_H
#define PAAS_BUF_H

#include <stddef.h>


struct paas_buf {
	char *data;	/* NUL-terminated; owned by the buffer */
	size_t len;
	size_t cap;
};

#define PAAS_BUF_INIT { NULL, 0, 0 }

void paas_buf_add(struct paas_buf *b, const void *data, size_t len);
void paas_buf_adds(struct paas_buf *b, const char *s);
void paas_buf_addf(struct paas_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append s with control bytes shown escaped (\n, \xNN), so that text from
 * input stays on one line of a message. */
void paas_buf_add_printable(struct paas_buf *b, const char *s);
void paas_buf_reset(struct paas_buf *b);
/* Drop the characters of chars from b's end. */
void paas_buf_rstrip(struct paas_buf *b, const char *chars);
/* Hand the data to the caller (free() it); the buffer is left empty. */
char *paas_buf_detach(struct paas_buf *b, size_t *len);
void paas_buf_free(struct paas_buf *b);

/* The last lines of some output, for an error that quotes them: keep of
 * them (0: PAAS_TAIL_MAX).  A zeroed one is empty. */
#define PAAS_TAIL_MAX	12
struct paas_tail {
	char *line[PAAS_TAIL_MAX];
	size_t n, keep;
};
void paas_tail_add(struct paas_tail *t, const char *s, size_t len);
/* Each line after "\n  ", shown printable (paas_buf_add_printable) or as is. */
void paas_tail_text(const struct paas_tail *t, struct paas_buf *b, int printable);
void paas_tail_free(struct paas_tail *t);

void *paas_xmalloc(size_t n);
void *paas_xrealloc(void *p, size_t n);
char *paas_xstrdup(const char *s);
char *paas_xstrndup(const char *s, size_t n);

/* A 64-bit FNV-1a hash as 16 hex digits in out: a fingerprint for change
 * detection, not a cryptographic hash. */
void paas_hash_hex(const char *data, size_t len, char out[17]);

/* Base64 (RFC 4648, padded).  Both return a NUL-terminated string the caller
 * frees; decode returns NULL on malformed input. */
char *paas_base64_encode(const void *data, size_t len);
char *paas_base64_decode(const char *s, size_t *len);


#endif
