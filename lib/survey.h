/*
 * A survey of the whole cluster for paas-cluster(1) status and check: etcd
 * and each of its members, every host, every deployment's services, routes
 * and routers, read in a bounded time.  Every member and every host is asked
 * at once (paas_http_multi), each under what is left of the timeout, so a
 * host that drops packets costs the timeout once, not once per host.
 *
 * The report (a JSON object the caller owns):
 *   "etcd":     {"endpoints","members","healthy","quorum","leader","revision",
 *                "error"}
 *   "members":  [{"id" (hex),"name","client_urls","healthy","leader","version",
 *                 "db_size","error"}]
 *   "hosts":    [{"name","docker","reachable","error","version","containers",
 *                 "running","labels","agent"}]; a fleet cluster has "fleet"
 *               (its endpoint), "machines":[{"id","address","metadata",
 *               "agent"}] and "units":[{"name","desired","state","machine"}]
 *               (paas's, state "unplaced" when on no machine), "agent"
 *               saying every machine runs one
 *   "services": [{"deployment","service","release","desired","running",
 *                 "announced","healthy","down_hosts":[HOST]}]
 *   "routes":   [{"domain","deployment","service","servers"}]
 *   "routers":  [{"name","revision","time","behind"}]
 *   "registry": {"address","managed","reachable","error"}, when the cluster
 *               has one
 * A service's "healthy" counts its running containers on reachable hosts
 * that are announced healthy where the host runs an agent, and that Docker
 * does not call unhealthy where it does not.  A router is "behind" when it
 * serves a revision older than the newest route or announcement.
 *
 * Without etcd (unreachable, or no member healthy) the report says so in
 * "etcd" and the rest is empty: that is a finding, not an error.
 */
#ifndef PAAS_SURVEY_H
#define PAAS_SURVEY_H

#include <jansson.h>

#include "err.h"

struct paas_survey_opts {
	const char *etcd;		/* endpoints */
	long timeout_ms;		/* the whole survey; 0: 10000 */
};

int paas_survey(const struct paas_survey_opts *o, json_t **report, struct paas_err *err);

/* Only "etcd" and "members" (paas-cluster members). */
int paas_survey_etcd(const struct paas_survey_opts *o, json_t **report,
    struct paas_err *err);

/* Read the routers again (after a moment, to tell a lag from a stale
 * router) and update report's "routers". */
int paas_survey_routers(const char *etcd, long timeout_ms, json_t *report,
    struct paas_err *err);

#endif
