/*
 * Output conventions of paas(7): NDJSON on standard output, a table only when
 * it is a terminal, --json / --table to force one.
 */
#ifndef PAAS_OUT_H
#define PAAS_OUT_H

#include <jansson.h>

enum paas_format { PAAS_FORMAT_AUTO, PAAS_FORMAT_JSON, PAAS_FORMAT_TABLE };

/* Whether to print a table. */
int paas_out_is_table(enum paas_format f);
/*
 * One record on one line of standard output, keys sorted: it must have a
 * "kind"; a "time" (now, UTC) is added where it has none.
 */
void paas_out_json(const json_t *o);

/* The same, of a copy of O whose "kind" is KIND. */
void paas_out_record(const char *kind, const json_t *o);

#endif
