/*
 * systemd / fleet unit files from a canonical spec (see paas-unitgen(1)).
 * Pure: no network, no files.
 *
 * Each service with N instances gives N units DEP-SVC@1.service ...
 * DEP-SVC@N.service with the same content, and the template DEP-SVC@.service
 * (fleet's model of a template and its instances: %i is the instance
 * number); a global service gives one unit DEP-SVC.service with
 * Global=true.  No line is over 2047 bytes (fleet's unit reader): the Exec
 * line is continued, and a value too long for a line is refused.  Every value from the Servicefile that
 * reaches a unit is escaped by systemd's rules (specifiers, quoting, and in
 * Exec lines variable expansion), so systemd passes it on unchanged.
 */
#ifndef PAAS_UNIT_H
#define PAAS_UNIT_H

#include <jansson.h>

#include "err.h"

/* *units gets an array of {"name": NAME, "content": TEXT}, sorted by name
 * (caller json_decref()s). */
int paas_unit_render(const json_t *spec, const char *deployment, json_t **units,
    struct paas_err *err);

#endif
