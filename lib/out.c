#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "out.h"

int
paas_out_is_table(enum paas_format f)
{
	if (f == PAAS_FORMAT_AUTO)
		return isatty(STDOUT_FILENO);
	return f == PAAS_FORMAT_TABLE;
}

void
paas_out_json(const json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	if (s == NULL)
		abort();
	puts(s);
	free(s);
}
