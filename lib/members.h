/*
 * etcd's membership changed with the quorum arithmetic done before etcd is
 * asked (paas-cluster members).
 */
#ifndef PAAS_MEMBERS_H
#define PAAS_MEMBERS_H

#include <jansson.h>

#include "err.h"

/*
 * Remove a member (by hex ID or name).  Refused unless forced: from a
 * cluster of two or fewer (one left has no fault tolerance, and a
 * two-member cluster missing one has no quorum to commit the change), or
 * when the members left that answer would not make a quorum of the
 * smaller cluster.  *removed: {"id","name","members": how many are left}
 * (caller decrefs).
 */
int paas_members_remove(const char *etcd, const char *which, int force, json_t **removed,
    struct paas_err *err);

/*
 * Add a member at peer (asked again for 15 s while etcd says the cluster
 * is unhealthy, as it does for 5 s after a removal).  *added: {"id","name",
 * "peer_urls","initial_cluster","initial_cluster_state":"existing"}, the
 * settings its etcd must start with (caller decrefs).
 */
int paas_members_add(const char *etcd, const char *name, const char *peer, json_t **added,
    struct paas_err *err);

#endif
