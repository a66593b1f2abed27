/*
 * paas-cluster check: the cluster surveyed (survey.h) and judged with
 * Nagios's levels, OK, WARNING, CRITICAL, UNKNOWN, which are check's exit
 * statuses.  CRITICAL: etcd unreachable, a host down, a service with
 * crit_pct of its instances or more not healthy, a damaged host, release
 * or instance record.  WARNING: an unhealthy member, a host without its
 * agent (where others have one), a fleet machine without its agent or a
 * unit not active, a service with warn_pct or more not healthy or running
 * more instances than it wants, other damaged records, a registry that
 * does not answer, routes with no router, a router behind or leaving
 * routes out.  With repair first: every deployment with a service short of
 * healthy instances, with instances on a host that is down, or with a
 * surplus, converged without the hosts that are down (paas_deploy_repair),
 * then surveyed again.
 */
#ifndef PAAS_CHECK_H
#define PAAS_CHECK_H

#include <jansson.h>

#include "err.h"

enum paas_check_level { PAAS_CHECK_OK, PAAS_CHECK_WARNING, PAAS_CHECK_CRITICAL,
	PAAS_CHECK_UNKNOWN };

struct paas_check_opts {
	const char *etcd;		/* endpoints */
	long timeout_ms;		/* for the whole survey */
	int warn_pct, crit_pct;		/* of a service's instances not healthy */
	int repair;
};

/*
 * *out (caller decrefs): {"status":"OK"...,"code":LEVEL,"summary":the line
 * Nagios reads ("PAAS OK - ... | perfdata"),"problems":[{"level","what",
 * "message"}],"instances_desired","instances_healthy"[,"repaired":
 * [{"deployment","started":[{"service","instance","host"}],"skipped",
 * "error"}]]}.  A survey that cannot be made is -1 (UNKNOWN).
 */
int paas_check(const struct paas_check_opts *o, json_t **out, struct paas_err *err);

#endif
