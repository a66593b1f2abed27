/*
 * git push deploys (paas-cluster git): `git add DEP --key FILE` makes a
 * bare repository STATE/git/DEP.git whose pre-receive hook runs
 * `paas-cluster git-hook`, which deploys the pushed commit of the deploy
 * branch (paas-deploy --git-dir --ref) and refuses the push when that
 * fails; FILE's key is let in through the machine's OpenSSH server with a
 * forced command (STATE/git/authorized_keys) that runs `paas-cluster
 * git-serve DEP`, which runs git receive-pack or upload-pack on that
 * repository and nothing else.  One deployment per key.
 */
#ifndef PAAS_GITPUSH_H
#define PAAS_GITPUSH_H

#include <jansson.h>

#include "err.h"

struct paas_gitpush_add {
	const char *state;		/* the state directory */
	const char *etcd;		/* the endpoints the hook deploys with */
	const char *deployment;
	const char *branch;		/* a push to it deploys */
	const char *servicefile;	/* its path in the repository */
	const char *keyfile;		/* the OpenSSH public key that may push */
	const char *self;		/* paas-cluster, for the hook and the command */
	const char *const *sources;	/* NULL-terminated: what the deployment's
					 * builds may read besides the pushed
					 * repository (build git values), or NULL */
};

/* The repository, its hook and the key's line; *authorized gets the
 * authorized_keys file's path (caller frees).  A key that pushes to
 * another deployment already is PAAS_EINVAL. */
int paas_gitpush_add(const struct paas_gitpush_add *o, char **authorized, struct paas_err *err);

/* The sources a push's builds may read besides the pushed repository, as
 * git add recorded them in the repository gd: a NULL-terminated array
 * (caller frees with paas_strv_free), empty when none. */
char **paas_gitpush_sources(const char *gd);
void paas_strv_free(char **v);

/* STATE/git/DEP.git (caller frees). */
char *paas_gitpush_dir(const char *state, const char *dep);

/* What the forced command may run for SSH_ORIGINAL_COMMAND oc (git's
 * "git-receive-pack 'DEP.git'" and the like): "receive-pack" or
 * "upload-pack" on dep's repository, or NULL (refused). */
const char *paas_gitpush_serve(const char *oc, const char *dep);

/* A line of the pre-receive hook's input: 1 when it moves branch to a
 * commit (new_oid set), -1 when it deletes the branch, 0 for another ref. */
int paas_gitpush_hook_line(const char *line, const char *branch, char new_oid[64]);

/* The keys allowed to push: [{"deployment","type","key"}] (caller
 * decrefs). */
int paas_gitpush_list(const char *state, json_t **keys, struct paas_err *err);

#endif
