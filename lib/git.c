#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "buf.h"
#include "git.h"

int
paas_git_head(const char *path, char out[41])
{
	git_repository *repo = NULL;
	git_oid oid;
	char *copy = paas_xstrdup(path), *dir;
	int rc = -1;

	dir = dirname(copy);
	git_libgit2_init();
	if (git_repository_open_ext(&repo, dir, 0, NULL) == 0 &&
	    git_reference_name_to_id(&oid, repo, "HEAD") == 0) {
		git_oid_tostr(out, 41, &oid);
		rc = 0;
	}
	git_repository_free(repo);
	git_libgit2_shutdown();
	free(copy);
	return rc;
}
