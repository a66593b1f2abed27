/*
 * What git.c shares with git-context.c, internal to them.
 */
#ifndef PAAS_GIT_INT_H
#define PAAS_GIT_INT_H

#include <stdint.h>

#include <git2.h>

#include "err.h"
#include "git.h"

#define MAX_LINKS	16	/* symbolic links followed in one path */

struct paas_git {
	git_repository *repo;
	char *where;		/* as the Servicefile wrote it, for messages */
	int fetched;		/* from a URL: HEAD is refs/paas/HEAD */
};

/* libgit2's last error message, else what (borrowed). */
const char *git_errmsg(const char *what);
/* The tree of commit (and its time, when when is not NULL). */
int git_commit_tree_of(struct paas_git *g, const char *commit, git_tree **tree, int64_t *when,
    struct paas_err *err);
/*
 * path (from the top) looked up in root, following symbolic links as
 * the file system would: *resolved gets the path it ends at (caller
 * frees; "" for the top) and *entry its entry (NULL for the top).  A path
 * that leaves the repository, or is not there, is PAAS_EINVAL.
 */
int git_find(struct paas_git *g, git_tree *root, const char *what, const char *path,
    char **resolved, git_tree_entry **entry, struct paas_err *err);

/* Docker's cleaning of a path: no leading '/', no "./", no "//", no
 * trailing '/' (caller frees). */
char *git_clean_path(const char *s);

#endif
