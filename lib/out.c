#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "clock.h"
#include "out.h"

int
paas_out_is_table(enum paas_format f)
{
	if (f == PAAS_FORMAT_AUTO)
		return isatty(STDOUT_FILENO);
	return f == PAAS_FORMAT_TABLE;
}

/* Print c (ours to change): its time added where it has none. */
static void
print_record(json_t *c)
{
	char *s, now[40];

	if (json_object_get(c, "time") == NULL) {
		paas_utc_now_ms(now, sizeof(now));
		json_object_set_new(c, "time", json_string(now));
	}
	s = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	if (s == NULL)
		abort();
	puts(s);
	free(s);
}

void
paas_out_json(const json_t *o)
{
	json_t *c;

	/*
	 * The output contract of paas(7): every record says what it is and when.
	 * A record without a kind is a bug in the command that made it.
	 */
	if (!json_is_string(json_object_get(o, "kind"))) {
		fputs("paas: internal error: an output record without a kind\n", stderr);
		abort();
	}
	c = json_copy((json_t *)o);
	print_record(c);
	json_decref(c);
}

void
paas_out_record(const char *kind, const json_t *o)
{
	json_t *c = json_copy((json_t *)o);

	json_object_set_new(c, "kind", json_string(kind));
	print_record(c);
	json_decref(c);
}
