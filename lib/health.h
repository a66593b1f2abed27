/*
 * Health checks from outside the container, as the Servicefile's `health`
 * says (servicefile(5)): an HTTP GET of a path that answers 2xx or 3xx, or a
 * TCP connection that opens.
 */
#ifndef PAAS_HEALTH_H
#define PAAS_HEALTH_H

#include <jansson.h>

#include "err.h"

/* One probe of addr:port (the host port the container port is published on)
 * within timeout_ms; health is the spec's object (borrowed).  0 when
 * healthy; -1 with err saying what was seen ("HTTP 500 from /healthz",
 * "connection refused"). */
int paas_health_probe(const char *addr, int port, const json_t *health,
    long timeout_ms, struct paas_err *err);

#endif
