/* Buffers, base64 and the error type. */
#include <stdlib.h>

#include "paas.h"
#include "tap.h"

static void
b64_round(const char *in, size_t n, const char *want)
{
	char *enc = paas_base64_encode(in, n), *dec;
	size_t len = 0;

	is_str(enc, want, "base64 of %zu bytes", n);
	dec = paas_base64_decode(enc, &len);
	ok(dec && len == n && memcmp(dec, in, n) == 0, "base64 round trip of %zu bytes", n);
	free(enc);
	free(dec);
}

int
main(void)
{
	struct paas_buf b = PAAS_BUF_INIT;
	struct paas_err err = PAAS_ERR_INIT;
	char *s, big[3000];
	size_t i, n;

	b64_round("", 0, "");
	b64_round("f", 1, "Zg==");
	b64_round("fo", 2, "Zm8=");
	b64_round("foo", 3, "Zm9v");
	b64_round("foob", 4, "Zm9vYg==");
	b64_round("\0\xff\x10", 3, "AP8Q");
	ok(paas_base64_decode("Zm9v!", &n) == NULL, "base64 refuses a bad character");
	ok(paas_base64_decode("Z", &n) == NULL, "base64 refuses a truncated quantum");

	for (i = 0; i < sizeof(big); i++)
		paas_buf_addf(&b, "%c", 'a' + (int)(i % 26));
	ok(b.len == sizeof(big) && b.data[b.len] == '\0', "buffer grows and stays terminated");
	paas_buf_reset(&b);
	paas_buf_add(&b, "x\0y", 3);
	ok(b.len == 3 && b.data[1] == '\0' && b.data[2] == 'y', "buffer keeps NUL bytes");
	s = paas_buf_detach(&b, &n);
	ok(n == 3 && b.data == NULL && b.len == 0, "detach empties the buffer");
	free(s);
	s = paas_buf_detach(&b, &n);
	ok(s && *s == '\0' && n == 0, "detach of an empty buffer gives an empty string");
	free(s);

	{
		struct paas_tail t = { { NULL }, 0, 2 };
		struct paas_buf o = PAAS_BUF_INIT;

		paas_tail_add(&t, "one", 3);
		paas_tail_add(&t, "two\x01", 4);
		paas_tail_add(&t, "three", 5);
		paas_tail_text(&t, &o, 1);
		is_str(o.data, "\n  two\\x01\n  three", "a tail keeps its last lines, in order, "
		    "shown printable when asked");
		paas_tail_free(&t);
		ok(t.n == 0, "a tail freed is empty");
		paas_buf_free(&o);
	}

	ok(paas_err_set(&err, PAAS_EUNAVAIL, "cannot reach %s", "x") == -1, "err_set returns -1");
	paas_err_wrap(&err, "deploy %s", "shop");
	is_str(err.msg, "deploy shop: cannot reach x", "err_wrap puts context first");
	ok(err.status == PAAS_EUNAVAIL, "err_wrap keeps the status");
	paas_err_clear(&err);
	ok(err.status == 0 && err.msg[0] == '\0', "err_clear");
	return done_testing();
}
