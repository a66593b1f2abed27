/*
 * Backups of the cluster's state (paas-cluster(1) backup, restore): every
 * key under /paas/v1/ that is not bound to a lease, read at one revision.
 * Leased keys (agents, announcements, routers, locks) belong to running
 * processes, which write them again; a restored copy would never expire.
 *
 * The file is NDJSON, written atomically (mode 0600: it holds auth hashes):
 *   {"paas_backup":1,"prefix":"/paas/v1/","revision":R,"time":"...","keys":N}
 *   {"k":BASE64,"v":BASE64}                      N lines, in key order
 *   {"end":true,"keys":N,"checksum":"FNV-1a 64 of every byte before this line"}
 * A file cut short, edited, or not a backup at all fails the checks before
 * anything is written.
 */
#ifndef PAAS_BACKUP_H
#define PAAS_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "etcd.h"

struct paas_backup_info {
	size_t keys;			/* written or restored */
	size_t leased;			/* left out: bound to a lease */
	int64_t revision;		/* the store revision of the backup */
};

int paas_backup(struct paas_etcd *e, const char *path, struct paas_backup_info *info,
    struct paas_err *err);

/*
 * Check path, then write its keys.  Keys already under the prefix refuse
 * the restore (PAAS_EFAILED) unless force, when those not bound to a lease
 * are deleted first, so that the prefix then holds exactly the backup.  A
 * file that fails its checks is PAAS_EINVAL, with nothing written.  The
 * lock of every deployment in etcd or in the file is taken (through
 * endpoints) for the whole restore: one that a deploy holds refuses it
 * (PAAS_EUNAVAIL, naming the holder), with nothing written.
 */
int paas_restore(struct paas_etcd *e, const char *endpoints, const char *path, int force,
    struct paas_backup_info *info, struct paas_err *err);

#endif
