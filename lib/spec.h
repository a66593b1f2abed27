/*
 * The Servicefile (servicefile(5)) and its canonical spec.
 *
 * paas_spec_parse() reads YAML with libyaml into a canonical spec: a JSON
 * object with every default filled in, so that two files that mean the same
 * thing give the same bytes from paas_spec_dump().  Errors name
 * FILE:LINE:COLUMN and say what was expected (status PAAS_EINVAL).
 *
 * Hostile input is bounded: the document size, the length of one scalar, the
 * nesting depth and the number of nodes after alias expansion all have limits.
 *
 * Canonical spec:
 *   {"domains": {DOMAIN: {"auth": {USER: HASH}, "deployment": D, "port": P|null,
 *                         "secret_auth": [USER...], "service": S, "sticky": BOOL,
 *                         "tls": PATH|null}},
 *    "env": {NAME: VALUE},
 *    "services": {NAME: {"build": null|{"context","dockerfile","git"},
 *        "cmd": [ARG...], "conflicts": [SVC...], "constraints": {K: V},
 *        "env": {NAME: VALUE}, "global": BOOL,
 *        "health": null|{"http": PATH|null, "tcp": BOOL, "port": P,
 *                        "interval_ms", "timeout_ms", "retries", "start_period_ms"},
 *        "image": IMAGE|null, "instances": N, "ports": [P...],
 *        "resources": {"cpu_milli": N|null, "memory_bytes": N|null},
 *        "restart": "always"|"on-failure"|"unless-stopped"|"no",
 *        "secret_env": [NAME...],
 *        "update": {"delay_ms", "failure_action": "rollback"|"pause",
 *                   "order": "start-first"|"stop-first", "parallel"},
 *        "volumes": {NAME: PATH}}}}
 * A value holding ${VAR} is kept as written (the variable is read at apply
 * time) and its name is listed in "secret_env" (of the file or of its
 * service) or, for a hash, in its domain's "secret_auth": such values
 * are secrets and every output shows them redacted.
 */
#ifndef PAAS_SPEC_H
#define PAAS_SPEC_H

#include <jansson.h>

#include "err.h"

#define PAAS_SPEC_MAX_SIZE	(8u << 20)	/* bytes in a document */
#define PAAS_SPEC_MAX_SCALAR	65536		/* bytes in one scalar */
#define PAAS_SPEC_MAX_STORED	(1u << 20)	/* bytes of the spec as a release
						 * stores it (compact JSON) */
#define PAAS_SPEC_MAX_DEPTH	32		/* nesting of mappings and sequences */
#define PAAS_SPEC_MAX_DOMAINS	500		/* routes of one Servicefile */
#define PAAS_SPEC_MAX_NODES	200000		/* after alias expansion */

/* Parse data (len bytes, need not be NUL-terminated); name is the file name
 * used in messages.  *spec gets the canonical spec (caller json_decref()s). */
int paas_spec_parse(const char *name, const char *data, size_t len,
    json_t **spec, struct paas_err *err);
/* Read and parse a file ("-" for standard input) for deployment (NULL:
 * none): the file's Deployments section is
 * checked, and deployment's entry there laid over the rest (mappings
 * merged key by key, Domains replaced whole, any other value replaced);
 * the canonical spec never holds Deployments. */
int paas_spec_parse_for(const char *name, const char *data, size_t len, const char *deployment,
    json_t **spec, struct paas_err *err);
int paas_spec_load_for(const char *path, const char *deployment, json_t **spec,
    struct paas_err *err);
/* The canonical bytes of a spec: compact JSON, keys sorted, one line, no
 * newline at the end (caller frees). */
char *paas_spec_dump(const json_t *spec);

/* The environment of service svc (an object of spec's "services"): the
 * file's env overlaid by the service's, as a new object.  *secret, if not
 * NULL, gets a new object whose keys are the names that hold ${VAR}. */
json_t *paas_spec_service_env(const json_t *spec, const json_t *svc, json_t **secret);
/* What a service's containers run, as 16 hex digits: it changes with
 * anything that reaches a container (image, cmd, env as written, ports,
 * health, resources, ...) and not with instances or update; with values
 * (the digest of the ${VAR} values its env takes, secrets.h), with those
 * too. */
void paas_spec_service_version(const json_t *spec, const char *deployment,
    const char *service, const char *values, char out[17]);
/* Every NAME a ${NAME} of service's env names (the file's env and its own),
 * as an object NAME: true (caller decrefs). */
json_t *paas_spec_service_vars(const json_t *spec, const char *service);
/* The same for the auth of one of its domains. */
json_t *paas_spec_domain_vars(const json_t *spec, const char *domain);
/* value with ${NAME} read from vars ({NAME: VALUE}, the secrets store's;
 * NULL: none) or else the environment, and $${ made a literal ${ (*out:
 * caller frees).  An unset variable is PAAS_EINVAL naming it and what (e.g.
 * "env DB_PASSWORD"); the value itself never appears in a message. */
int paas_spec_expand(const char *what, const char *value, const json_t *vars, char **out,
    struct paas_err *err);
/* Every NAME a ${NAME} of spec's values names (env, auth), as an object
 * NAME: true (caller decrefs). */
json_t *paas_spec_vars(const json_t *spec);

#endif
