/*
 * A build context from a commit's tree: the files .dockerignore leaves,
 * written as a tar stream, and the key that says whether they changed.
 * What a build sends is decided here, in one tree walk, for both.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "buf.h"
#include "git-int.h"
#include "git.h"

struct ctx {
	git_tree *root, *tree;		/* the commit's, the context's */
	char *dir, *df;			/* resolved, from the top */
	git_oid df_blob;
	char *df_name;			/* the dockerfile's name in the tar */
	int64_t when;
};

static void
ctx_free(struct ctx *c)
{
	git_tree_free(c->root);
	git_tree_free(c->tree);
	free(c->dir);
	free(c->df);
	free(c->df_name);
}

static int
ctx_open(struct paas_git *g, const char *commit, const char *context, const char *dockerfile,
    struct ctx *c, struct paas_err *err)
{
	git_tree_entry *e = NULL;
	char *dfpath = NULL;
	size_t n;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (git_commit_tree_of(g, commit, &c->root, &c->when, err) < 0 ||
	    git_find(g, c->root, "context", context, &c->dir, &e, err) < 0)
		goto out;
	if (e && git_tree_entry_type(e) != GIT_OBJECT_TREE) {
		paas_err_set(err, PAAS_EINVAL, "build context '%.200s' is not a directory in %s",
		    context, g->where);
		goto out;
	}
	if (e == NULL)
		c->tree = NULL;
	else if (git_tree_lookup(&c->tree, g->repo, git_tree_entry_id(e)) < 0) {
		paas_err_set(err, PAAS_EFAILED, "%s: %s", g->where, git_errmsg("cannot read a tree"));
		goto out;
	}
	git_tree_entry_free(e);
	e = NULL;
	if (dockerfile[0] == '/') {
		paas_err_set(err, PAAS_EINVAL, "build dockerfile '%.200s': an absolute path leaves "
		    "the repository", dockerfile);
		goto out;
	}
	if (asprintf(&dfpath, "%s%s%s", c->dir, *c->dir ? "/" : "", dockerfile) < 0)
		abort();
	if (git_find(g, c->root, "dockerfile", dfpath, &c->df, &e, err) < 0)
		goto out;
	if (e == NULL || git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		paas_err_set(err, PAAS_EINVAL, "build dockerfile '%.200s' is not a file in %s",
		    dockerfile, g->where);
		goto out;
	}
	git_oid_cpy(&c->df_blob, git_tree_entry_id(e));
	n = strlen(c->dir);
	if (n == 0)
		c->df_name = paas_xstrdup(c->df);
	else if (strncmp(c->df, c->dir, n) == 0 && c->df[n] == '/')
		c->df_name = paas_xstrdup(c->df + n + 1);
	else {
		char hex[GIT_OID_HEXSZ + 1];

		/* Outside the context (through a link): sent beside it. */
		git_oid_tostr(hex, sizeof(hex), &c->df_blob);
		if (asprintf(&c->df_name, ".paas-dockerfile-%.12s", hex) < 0)
			abort();
	}
	rc = 0;
out:
	git_tree_entry_free(e);
	free(dfpath);
	return rc;
}

/* ---- .dockerignore ---- */

static int
match_parts(char **pat, size_t np, char **path, size_t nq)
{
	if (np == 0)
		return nq == 0;
	if (strcmp(pat[0], "**") == 0)
		return match_parts(pat + 1, np - 1, path, nq) ||
		    (nq > 0 && match_parts(pat, np, path + 1, nq - 1));
	return nq > 0 && fnmatch(pat[0], path[0], 0) == 0 &&
	    match_parts(pat + 1, np - 1, path + 1, nq - 1);
}

static size_t
split(char *s, char **parts, size_t max)
{
	size_t n = 0;
	char *save = NULL, *p;

	for (p = strtok_r(s, "/", &save); p && n < max; p = strtok_r(NULL, "/", &save))
		parts[n++] = p;
	return n;
}

int
paas_git_ignore_match(const char *pattern, const char *path)
{
	char *pc = paas_xstrdup(pattern), *qc = paas_xstrdup(path), *pp[64], *qp[64];
	size_t np = split(pc, pp, 64), nq = split(qc, qp, 64), k;
	int m = 0;

	/* A pattern that matches a directory matches what is in it. */
	for (k = nq; k >= 1 && !m; k--)
		m = match_parts(pp, np, qp, k);
	free(pc);
	free(qc);
	return m;
}

struct ignore {
	char **pat;		/* cleaned, without '!' */
	int *keep;		/* an exception (!pattern) */
	size_t n;
	int any_keep;
};

static void
ignore_free(struct ignore *ig)
{
	size_t i;

	for (i = 0; i < ig->n; i++)
		free(ig->pat[i]);
	free(ig->pat);
	free(ig->keep);
}

/* Docker's cleaning: no leading '/', no "./", no "//", no trailing '/'. */
char *
git_clean_path(const char *s)
{
	struct paas_buf b = PAAS_BUF_INIT;
	char *copy = paas_xstrdup(s), *save = NULL, *p;

	for (p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (strcmp(p, ".") == 0)
			continue;
		if (b.len)
			paas_buf_adds(&b, "/");
		paas_buf_adds(&b, p);
	}
	free(copy);
	p = paas_buf_detach(&b, NULL);
	return p ? p : paas_xstrdup("");
}

static void
ignore_load(struct paas_git *g, struct ctx *c, struct ignore *ig)
{
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	char *text, *line, *save = NULL;

	memset(ig, 0, sizeof(*ig));
	if (git_tree_entry_bypath(&e, c->tree ? c->tree : c->root, ".dockerignore") < 0 ||
	    git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    git_blob_lookup(&b, g->repo, git_tree_entry_id(e)) < 0) {
		git_tree_entry_free(e);
		return;
	}
	text = paas_xstrndup(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
	for (line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		int keep = 0;
		char *end;

		while (*line == ' ' || *line == '\t')
			line++;
		end = line + strlen(line);
		while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*line == '\0' || *line == '#')
			continue;
		if (*line == '!') {
			keep = 1;
			line++;
		}
		ig->pat = paas_xrealloc(ig->pat, (ig->n + 1) * sizeof(*ig->pat));
		ig->keep = paas_xrealloc(ig->keep, (ig->n + 1) * sizeof(*ig->keep));
		ig->pat[ig->n] = git_clean_path(line);
		ig->keep[ig->n++] = keep;
		ig->any_keep |= keep;
	}
	free(text);
	git_blob_free(b);
	git_tree_entry_free(e);
}

/* The last pattern that matches decides. */
static int
ignored(const struct ignore *ig, const char *path)
{
	int out = 0;
	size_t i;

	for (i = 0; i < ig->n; i++)
		if (paas_git_ignore_match(ig->pat[i], path))
			out = !ig->keep[i];
	return out;
}

/* ---- tar (POSIX ustar, pax headers for long names) ---- */

struct tar {
	FILE *out;		/* NULL: list what would be sent in list instead */
	struct paas_buf *list;	/* "MODE OID PATH\n" per entry */
	int64_t mtime;
	size_t files;
	int failed;
};

static void
octal(char *field, size_t size, unsigned long long v)
{
	snprintf(field, size, "%0*llo", (int)size - 1, v);
}

static void
put_block(struct tar *t, const void *data, size_t len)
{
	static const char zero[512];

	if (len && fwrite(data, 1, len, t->out) != len)
		t->failed = 1;
	if (len % 512 && fwrite(zero, 1, 512 - len % 512, t->out) != 512 - len % 512)
		t->failed = 1;
}

static void
put_header(struct tar *t, const char *name, char type, unsigned mode, unsigned long long size,
    const char *link)
{
	unsigned char h[512];
	unsigned sum = 0;
	size_t i;

	memset(h, 0, sizeof(h));
	memcpy(h, name, strlen(name) < 100 ? strlen(name) : 99);
	octal((char *)h + 100, 8, mode);
	octal((char *)h + 108, 8, 0);
	octal((char *)h + 116, 8, 0);
	octal((char *)h + 124, 12, size);
	octal((char *)h + 136, 12, (unsigned long long)t->mtime);
	h[156] = (unsigned char)type;
	if (link)
		memcpy(h + 157, link, strlen(link) < 100 ? strlen(link) : 99);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	put_block(t, h, sizeof(h));
}

/* "LEN key=value\n", LEN counting itself. */
static void
pax_record(struct paas_buf *b, const char *key, const char *value)
{
	size_t n = strlen(key) + strlen(value) + 3, len = n + 1;

	while (len != n + snprintf(NULL, 0, "%zu", len))
		len = n + snprintf(NULL, 0, "%zu", len);
	paas_buf_addf(b, "%zu %s=%s\n", len, key, value);
}

static void
put_entry(struct tar *t, const char *name, char type, unsigned mode, const void *data,
    size_t size, const char *link)
{
	if (strlen(name) >= 100 || (link && strlen(link) >= 100)) {
		struct paas_buf pax = PAAS_BUF_INIT;

		if (strlen(name) >= 100)
			pax_record(&pax, "path", name);
		if (link && strlen(link) >= 100)
			pax_record(&pax, "linkpath", link);
		put_header(t, "PaxHeader", 'x', 0644, pax.len, NULL);
		put_block(t, pax.data, pax.len);
		paas_buf_free(&pax);
	}
	put_header(t, name, type, mode, size, link);
	if (size)
		put_block(t, data, size);
	t->files++;
}

static int
walk(struct paas_git *g, struct tar *t, const struct ignore *ig, git_tree *tree,
    const char *prefix, struct paas_err *err)
{
	size_t i, n = git_tree_entrycount(tree);

	for (i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		git_filemode_t mode = git_tree_entry_filemode(e);
		char *path;
		int skip, rc = 0;

		if (asprintf(&path, "%s%s%s", prefix, *prefix ? "/" : "", git_tree_entry_name(e)) < 0)
			abort();
		skip = ignored(ig, path) && strcmp(path, ".dockerignore") != 0;
		if (mode == GIT_FILEMODE_TREE) {
			git_tree *sub = NULL;

			/* An ignored directory is still entered when an exception
			 * may bring something in it back. */
			if (!skip || ig->any_keep) {
				if (git_tree_lookup(&sub, g->repo, git_tree_entry_id(e)) < 0)
					rc = paas_err_set(err, PAAS_EFAILED, "%s: %s", g->where,
					    git_errmsg("cannot read a tree"));
				else {
					char *dir;

					if (!skip && t->list)
						paas_buf_addf(t->list, "dir %s\n", path);
					else if (!skip) {
						if (asprintf(&dir, "%s/", path) < 0)
							abort();
						put_entry(t, dir, '5', 0755, NULL, 0, NULL);
						free(dir);
					}
					rc = walk(g, t, ig, sub, path, err);
				}
				git_tree_free(sub);
			}
		} else if (!skip && t->list && (mode == GIT_FILEMODE_BLOB ||
		    mode == GIT_FILEMODE_BLOB_EXECUTABLE || mode == GIT_FILEMODE_LINK)) {
			char hex[GIT_OID_HEXSZ + 1];

			/* What is sent is known by its ids: no blob is read. */
			git_oid_tostr(hex, sizeof(hex), git_tree_entry_id(e));
			paas_buf_addf(t->list, "%06o %s %s\n", (unsigned)mode, hex, path);
		} else if (!skip && (mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE ||
		    mode == GIT_FILEMODE_LINK)) {
			git_blob *b = NULL;

			if (git_blob_lookup(&b, g->repo, git_tree_entry_id(e)) < 0)
				rc = paas_err_set(err, PAAS_EFAILED, "%s: %s", g->where,
				    git_errmsg("cannot read a file"));
			else if (mode == GIT_FILEMODE_LINK) {
				char *target = paas_xstrndup(git_blob_rawcontent(b),
				    (size_t)git_blob_rawsize(b));

				put_entry(t, path, '2', 0777, NULL, 0, target);
				free(target);
			} else
				put_entry(t, path, '0', mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644,
				    git_blob_rawcontent(b), (size_t)git_blob_rawsize(b), NULL);
			git_blob_free(b);
		}
		/* Submodules (commits) are not in the tree's bytes: left out. */
		free(path);
		if (rc < 0)
			return -1;
		if (t->failed)
			return paas_err_set(err, PAAS_EFAILED, "cannot write the build context: %s",
			    strerror(errno));
	}
	return 0;
}

int
paas_git_context_tar(struct paas_git *g, const char *commit, const char *context,
    const char *dockerfile, FILE *out, char **df_name, size_t *files, struct paas_err *err)
{
	struct tar t = { out, NULL, 0, 0, 0 };
	struct ignore ig;
	struct ctx c;
	int rc = -1;

	memset(&ig, 0, sizeof(ig));
	if (ctx_open(g, commit, context, dockerfile, &c, err) < 0)
		goto out;
	t.mtime = c.when;
	ignore_load(g, &c, &ig);
	if (walk(g, &t, &ig, c.tree ? c.tree : c.root, "", err) < 0)
		goto out;
	/* The dockerfile goes even when ignored, and from outside the
	 * context under a name of its own. */
	if (strncmp(c.df_name, ".paas-dockerfile-", 17) == 0 || ignored(&ig, c.df_name)) {
		git_blob *b = NULL;

		if (git_blob_lookup(&b, g->repo, &c.df_blob) < 0) {
			paas_err_set(err, PAAS_EFAILED, "%s: %s", g->where, git_errmsg("cannot read a file"));
			goto out;
		}
		put_entry(&t, c.df_name, '0', 0644, git_blob_rawcontent(b),
		    (size_t)git_blob_rawsize(b), NULL);
		git_blob_free(b);
	}
	put_block(&t, NULL, 0);
	{
		static const char zero[1024];

		if (fwrite(zero, 1, sizeof(zero), out) != sizeof(zero) || fflush(out) != 0 || t.failed) {
			paas_err_set(err, PAAS_EFAILED, "cannot write the build context: %s",
			    strerror(errno));
			goto out;
		}
	}
	if (files)
		*files = t.files;
	if (df_name) {
		*df_name = c.df_name;
		c.df_name = NULL;
	}
	rc = 0;
out:
	ignore_free(&ig);
	ctx_free(&c);
	return rc;
}

int
paas_git_context_key(struct paas_git *g, const char *commit, const char *context,
    const char *dockerfile, char key[41], struct paas_err *err)
{
	struct paas_buf list = PAAS_BUF_INIT;
	struct tar t = { NULL, &list, 0, 0, 0 };
	char hex[GIT_OID_HEXSZ + 1];
	struct ignore ig;
	struct ctx c;
	git_oid oid;
	int rc = -1;

	memset(&ig, 0, sizeof(ig));
	if (ctx_open(g, commit, context, dockerfile, &c, err) < 0)
		goto out;
	ignore_load(g, &c, &ig);
	paas_buf_adds(&list, "paas-build 2\n");
	if (walk(g, &t, &ig, c.tree ? c.tree : c.root, "", err) < 0)
		goto out;
	git_oid_tostr(hex, sizeof(hex), &c.df_blob);
	paas_buf_addf(&list, "dockerfile %s %s\n", c.df_name, hex);
	git_odb_hash(&oid, list.data, list.len, GIT_OBJECT_BLOB);
	git_oid_tostr(key, 41, &oid);
	rc = 0;
out:
	ignore_free(&ig);
	ctx_free(&c);
	paas_buf_free(&list);
	return rc;
}
