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
#include "types.h"

/* *units gets an array of {"name": NAME, "content": TEXT}, sorted by name
 * (caller json_decref()s). */
int paas_unit_render(const json_t *spec, const char *deployment, json_t **units,
    struct paas_err *err);

/*
 * The unit paas-deploy submits to fleet for one instance: *name
 * DEP-SVC@VERSION8-ID-RELEASE.service (old and new versions side by side,
 * and a name never used again: a unit destroyed and made again under its
 * old name would meet the state systemd kept of the first; %i is
 * VERSION8-ID-RELEASE), *options fleet's [{section, name, value}] (caller
 * frees both).  Its container, DEP-SVC-VERSION8-ID-RELEASE, publishes the instance's
 * host ports and carries the labels of a Docker host's instance plus
 * paas.unit (the unit's name, what the machine's agent announces it
 * under); an [X-Paas] section records deployment, service, instance,
 * version, release, container and ports for reading back.  Secrets come
 * from /etc/paas/DEP/SVC.env on the machine, as with paas-unitgen.
 */
int paas_unit_instance(const json_t *spec, const struct paas_instance_spec *is, char **name,
    json_t **options, struct paas_err *err);

/*
 * The agent of fleet cluster host (registered as a host with "fleet"): a
 * Global unit paas-agent-HOST.service running
 * /opt/paas-tools/bin/paas-cluster agent --fleet HOST on every machine,
 * with etcd at etcd (PAAS_ETCD; credentials from /etc/default/paas-agent
 * when there is one) and Docker at docker (NULL: the machine's socket).
 */
int paas_unit_agent(const char *host, const char *etcd, const char *docker, char **name,
    json_t **options, struct paas_err *err);

#endif
