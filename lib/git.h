/*
 * Source from git (libgit2): the repository a Servicefile's build names,
 * the commit it builds, and the build context of that commit as a tar
 * stream for the Docker Engine's /build.
 *
 * A build reads a commit's tree, never the work tree: the context is what
 * git holds, with each file's executable bit and each symbolic link as git
 * records them, less what the context's .dockerignore excludes.  Paths that
 * would leave the repository (.., an absolute path, a symbolic link whose
 * target is outside) are refused (PAAS_EINVAL) before anything is read.
 */
#ifndef PAAS_GIT_H
#define PAAS_GIT_H

#include <stdio.h>

#include <jansson.h>

#include "err.h"

struct paas_git;

/* The commit HEAD points at in the repository holding path (a file or a
 * directory), as 40 hex digits in out.  Returns 0, or -1 when path is not in
 * a repository or HEAD has no commit yet: not an error for a deploy. */
int paas_git_head(const char *path, char out[41]);

/*
 * Open the repository `where` names: a path (relative ones to base, a
 * directory; the repository holding it, bare or not) or a URL (file://,
 * ssh://, https://), fetched with its branches and tags into a bare
 * repository under cache_dir (made if missing; NULL: URLs are refused).
 * Not a repository is PAAS_EINVAL, a URL that cannot be fetched
 * PAAS_EUNAVAIL; both name it.  *g: caller frees with paas_git_free().
 */
int paas_git_open(const char *where, const char *base, const char *cache_dir,
    struct paas_git **g, struct paas_err *err);
void paas_git_free(struct paas_git *g);
/* The work tree's top directory, or NULL for a bare repository (borrowed). */
const char *paas_git_workdir(const struct paas_git *g);

/* ref (a branch, tag, commit or NULL for HEAD) as a commit's 40 hex digits
 * in out; a ref that names no commit is PAAS_EINVAL. */
int paas_git_resolve(struct paas_git *g, const char *ref, char out[41], struct paas_err *err);

/* The bytes of file path (from the top of the repository) at commit, as
 * *data (NUL-terminated, caller frees) and *len. */
int paas_git_read(struct paas_git *g, const char *commit, const char *path, char **data,
    size_t *len, struct paas_err *err);

/*
 * What a build of directory context (from the top) with dockerfile (in the
 * context) at commit would send, as 40 hex digits in key: the same key, the
 * same bytes (every entry .dockerignore keeps, by mode, id and path; no
 * file is read).  Refuses paths leaving the repository, a context that is
 * not a directory and a dockerfile that is not a file (PAAS_EINVAL).
 */
int paas_git_context_key(struct paas_git *g, const char *commit, const char *context,
    const char *dockerfile, char key[41], struct paas_err *err);

/* The context as a tar stream written to out; *df_name (caller frees) gets
 * the dockerfile's path in it, for /build, and *files, if not NULL, the
 * number of entries written. */
int paas_git_context_tar(struct paas_git *g, const char *commit, const char *context,
    const char *dockerfile, FILE *out, char **df_name, size_t *files, struct paas_err *err);

/* The paths under context (from the top) that differ from HEAD in the
 * index or the work tree, untracked ones included, as a new array (empty
 * for a bare repository). */
int paas_git_uncommitted(struct paas_git *g, const char *context, json_t **paths,
    struct paas_err *err);

/* A new bare repository at path (an existing one is kept) whose HEAD
 * names branch. */
int paas_git_init_bare(const char *path, const char *branch, struct paas_err *err);

#endif
