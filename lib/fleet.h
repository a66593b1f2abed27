/*
 * fleet v1 API client (CoreOS fleet 1.0, /fleet/v1/).
 *
 * Endpoints: unix:///PATH (fleetd's /run/fleet.sock on a machine),
 * http://HOST:PORT (its TCP socket; fleet has no TLS of its own), or
 * ssh://USER@HOST[:PORT][/SOCKET] (as fleetctl --tunnel: `fleetctl
 * fd-forward SOCKET`, default /var/run/fleet.sock, on exec channels of the
 * host's SSH session, ssh.h).
 *
 * Objects fleet returns (units, unit states, machines) are handed over as
 * jansson values, fleet's own fields unchanged, that the caller owns:
 *   unit     {name, options: [{section, name, value}], desiredState,
 *            currentState, machineID}
 *   state    {name, hash, machineID, systemdLoadState, systemdActiveState,
 *            systemdSubState}
 *   machine  {id, primaryIP, metadata: {KEY: VALUE}}
 * Lists are read whole, every page (nextPageToken) followed.
 *
 * fleet's errors, {"error": {"code", "message"}}, become messages that name
 * the fleet endpoint, what was asked and what fleet said; its quirks are
 * spelled out: a new unit without options is a 409, an unknown desired state
 * a 500 with an empty message (refused here first), a missing unit a 404.
 */
#ifndef PAAS_FLEET_H
#define PAAS_FLEET_H

#include <jansson.h>

#include "err.h"
#include "http.h"

struct paas_fleet;

/* Returns a client the caller frees with paas_fleet_free(), or NULL with
 * err set (PAAS_EINVAL for a malformed endpoint). */
struct paas_fleet *paas_fleet_new(const char *endpoint, const struct paas_http_opts *opts,
    struct paas_err *err);
void paas_fleet_free(struct paas_fleet *f);
const char *paas_fleet_endpoint(const struct paas_fleet *f);

/* Whether name is a unit name fleet takes and this client sends as it is:
 * letters, digits and ":_.@-", a known suffix (.service, .socket, .timer,
 * .path, .mount, .target), at most 255 bytes. */
int paas_fleet_valid_unit(const char *name);
/* Whether s is one of fleet's desired states: inactive, loaded, launched. */
int paas_fleet_valid_state(const char *s);

/* Every unit (*out an array). */
int paas_fleet_units(struct paas_fleet *f, json_t **out, struct paas_err *err);
/* One unit; *out NULL when fleet has no such unit. */
int paas_fleet_unit(struct paas_fleet *f, const char *name, json_t **out, struct paas_err *err);
/* Submit the unit (options: an array of {section, name, value}, checked
 * first: PAAS_EINVAL) with its desired state, or, with options NULL, change
 * an existing one's desired state (a missing one: PAAS_EFAILED, "no such
 * unit").  fleet 1.0 takes other options over an existing unit as a new
 * unit of that name, the same options as a change of state only.  A
 * template (NAME@.service) can only be inactive. */
int paas_fleet_put(struct paas_fleet *f, const char *name, const json_t *options,
    const char *desired, struct paas_err *err);
/* Destroy the unit; *found (may be NULL) says whether it existed, and a
 * missing one is not an error. */
int paas_fleet_delete(struct paas_fleet *f, const char *name, int *found,
    struct paas_err *err);
/* Unit states, of one machine and/or one unit when given (NULL: all). */
int paas_fleet_states(struct paas_fleet *f, const char *machine, const char *unit,
    json_t **out, struct paas_err *err);
/* The machines of the cluster. */
int paas_fleet_machines(struct paas_fleet *f, json_t **out, struct paas_err *err);

/* For tests: fleet's answer to a request as an error (0 for a 2xx),
 * worded as the client words it; what says what was asked. */
int paas_fleet_answer_error(const char *endpoint, const char *what, long status,
    const char *body, size_t len, struct paas_err *err);
/* For tests: one page of a list answer: the items of field appended to
 * into; *next (caller frees) the next page's token, or NULL. */
int paas_fleet_parse_page(const char *endpoint, const char *body, size_t len,
    const char *field, json_t *into, char **next, struct paas_err *err);

#endif
