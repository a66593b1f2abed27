/*
 * Who may do what in the cluster's etcd (paas(7), SECURITY): one etcd user
 * per role, each with a password kept in DIR/etcd-auth/ROLE (mode 0600, in
 * a 0700 directory), as one line USER:PASSWORD:
 *
 *   root      etcd's root: members, users and roles (paas-cluster up,
 *             members)
 *   deployer  reads and writes every key of keys.h, the secrets too
 *             (paas-deploy, paas-scale, check --repair, hosts, backup,
 *             restore)
 *   agent     reads every key but the secrets; writes announce/ and agents/
 *   router    reads every key but the secrets; writes routers/
 *   check     reads every key but the secrets (check, status)
 */
#ifndef PAAS_ACCESS_H
#define PAAS_ACCESS_H

#include "err.h"

/*
 * Turn authentication on in the etcd at endpoints (which must not have it
 * yet): make the users and roles above and their files in dir (made 0700
 * if need be), then enable it.  Files already there keep their passwords,
 * so a run cut short is finished by the next.  The process then
 * authenticates as root (paas_etcd_auth_load).
 */
int paas_access_setup(const char *endpoints, const char *dir, struct paas_err *err);

/* Whether the etcd at endpoints asks for a user: 1 yes, 0 no, -1 error. */
int paas_access_enabled(const char *endpoints, struct paas_err *err);

#endif
