/*
 * Where the cluster is, for a command: its etcd endpoints and the state
 * directory that `paas-cluster up` keeps (credentials, keys, cluster.json).
 */
#ifndef PAAS_STATE_H
#define PAAS_STATE_H

/* The etcd endpoints: flag, else $PAAS_ETCD, else those of the cluster
 * whose state directory this is (its cluster.json, as paas-cluster up
 * wrote it), else http://127.0.0.1:2379. */
const char *paas_etcd_endpoints(const char *flag);

/* The state directory of `paas-cluster up` (caller frees): flag, else
 * $PAAS_STATE_DIR, else /var/lib/paas for root, else $XDG_STATE_HOME/paas
 * or ~/.local/state/paas. */
char *paas_state_dir(const char *flag);
/* A file the cluster keeps (caller frees): $env when set (an empty value:
 * none, NULL), else DIR/name in the state directory when it exists, else
 * NULL.  The etcd credentials of a role are ("PAAS_ETCD_AUTH",
 * "etcd-auth/ROLE"), the secrets key ("PAAS_SECRETS_KEY", "secrets.key"). */
char *paas_state_file(const char *env, const char *name);

#endif
