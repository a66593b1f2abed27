/*
 * Small helpers over jansson values that several modules need.
 */
#ifndef PAAS_JSONX_H
#define PAAS_JSONX_H

#include <stddef.h>

#include <jansson.h>

/* The keys of object o, sorted, in an array the caller frees (the strings
 * are o's); *n gets their number.  Not NULL even when o is empty or not an
 * object. */
const char **paas_json_keys(const json_t *o, size_t *n);
/* Whether array a holds the string s. */
int paas_json_has(const json_t *a, const char *s);
/* o's string under k, or dflt when it has none. */
const char *paas_json_str(const json_t *o, const char *k, const char *dflt);
/* A new JSON string holding data (len bytes) in base64. */
json_t *paas_json_base64(const void *data, size_t len);

/* len bytes of text at p as a JSON string: bytes that are not UTF-8 become
 * '?' (a log line, a command's output). */
json_t *paas_json_text(const char *p, size_t len);

#endif
