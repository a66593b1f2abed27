/*
 * Inside the Servicefile parser (spec.c, spec-yaml.c): the YAML nodes with
 * their positions, and the typed reads that turn a node into a value or
 * into an error naming FILE:LINE:COLUMN.  Not part of libpaas's interface.
 */
#ifndef PAAS_SPEC_INT_H
#define PAAS_SPEC_INT_H

#include <jansson.h>

#include "err.h"
#include "ytree.h"

typedef struct paas_ynode Y;

struct ctx {
	const char *file;
	struct paas_err *err;
	json_t *secrets;	/* secret_env of what is being built */
};


/* Key k lower-cased into out, its length plus one bytes or more. */
void spec_key_lower(const Y *k, char *out);

/* Set c->err to "FILE:LINE:COLUMN: message" at node n (NULL: 1:1); -1. */
int spec_at(struct ctx *c, const Y *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "a mapping", "a list" or "a string". */
const char *spec_tname(const Y *n);
int spec_is_null(const Y *n);
/* Typed scalars: 0, or -1 with c->err naming what was expected. */
int spec_get_str(struct ctx *c, const Y *n, const char *what, const char **out);
int spec_get_int(struct ctx *c, const Y *n, const char *what, long min, long max, long *out);
int spec_get_bool(struct ctx *c, const Y *n, const char *what, int *out);
int spec_get_duration(struct ctx *c, const Y *n, const char *what, long *ms);
/* ${VAR} in s: checked, and the names recorded as secrets. */
int spec_scan_vars(struct ctx *c, const Y *n, const char *what, const char *s);
/* Edit distance between two keys (for "did you mean"). */
size_t spec_distance(const char *a, const char *b);
/* An unknown key, with the nearest known one suggested; -1. */
int spec_unknown_key(struct ctx *c, const Y *k, const char *where, const char *const *known);
int spec_key_in(const char *k, const char *const *known);
int spec_need_map(struct ctx *c, const Y *n, const char *what);
void spec_sort_strings(json_t *a);

/* A service's parts (spec-service.c), and a command as a word list. */
int spec_split_cmd(struct ctx *c, const Y *n, const char *s, json_t *out);
int spec_parse_health(struct ctx *c, const Y *n, json_t *ports, json_t **out);
int spec_parse_update(struct ctx *c, const Y *n, json_t **out);
int spec_parse_resources(struct ctx *c, const Y *n, json_t **out);
int spec_parse_release(struct ctx *c, const Y *n, json_t **out);
int spec_parse_schedule(struct ctx *c, const Y *n, json_t **out);

#endif
