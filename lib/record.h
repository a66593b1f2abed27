/*
 * Records read back from etcd, checked before anything trusts them: the
 * value of every key of keys.h has a shape, and a damaged one (hand-edited,
 * written by an older version, cut short) is an error that names its key
 * and what is wrong, never a crash or a silent zero.
 */
#ifndef PAAS_RECORD_H
#define PAAS_RECORD_H

#include <jansson.h>

#include "err.h"

/* Whether v, the value of key, has the shape the key's kind of record must
 * have: 0, or -1 with err (PAAS_EFAILED) "etcd key KEY: damaged KIND
 * record: WHAT".  A key of no known kind passes. */
int paas_record_check(const char *key, const json_t *v, struct paas_err *err);

/* The same from the raw bytes (not JSON, or not an object, is damaged);
 * *out gets the record (caller decrefs) when it is whole. */
int paas_record_parse(const char *key, const char *value, size_t len, json_t **out,
    struct paas_err *err);

#endif
