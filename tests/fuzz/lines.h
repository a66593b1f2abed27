/* For the fuzz targets that render text: every line must be one the
 * renderer means to write. */
#ifndef PAAS_FUZZ_LINES_H
#define PAAS_FUZZ_LINES_H

#include <stdlib.h>
#include <string.h>

/* Abort unless every line of text ends with its newline and starts with
 * one of starts (NULL-terminated), and, with printable set, holds nothing
 * but printable ASCII and tabs. */
static void
only_lines(const char *text, const char *const *starts, int printable)
{
	const char *line, *nl, *p;
	size_t i;

	for (line = text; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			abort();
		if (nl == line)
			continue;
		for (i = 0; starts[i]; i++)
			if (strncmp(line, starts[i], strlen(starts[i])) == 0)
				break;
		if (starts[i] == NULL)
			abort();
		for (p = line; printable && p < nl; p++)
			if ((*p < ' ' && *p != '\t') || *p == 127)
				abort();
	}
}

#endif
