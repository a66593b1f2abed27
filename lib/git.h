/*
 * What git says about the directory a Servicefile lives in (libgit2).
 */
#ifndef PAAS_GIT_H
#define PAAS_GIT_H

/* The commit HEAD points at in the repository holding path (a file or a
 * directory), as 40 hex digits in out.  Returns 0, or -1 when path is not in
 * a repository or HEAD has no commit yet: not an error for a deploy. */
int paas_git_head(const char *path, char out[41]);

#endif
