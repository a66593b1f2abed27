/*
 * A build context from a commit's tree: the files .dockerignore leaves,
 * written as a tar stream, and the key that says whether they changed.
 * What a build sends is decided here, in one tree walk, for both.
 */
#include <errno.h>
#include <regex.h>
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

/* ---- .dockerignore, read and matched as Docker 20.10 does ----
 *
 * The docker CLI (cli/command/image/build/dockerignore.go, moby's
 * pkg/fileutils and pkg/archive): a line whose first byte is '#' is a
 * comment; the rest is trimmed; '!' makes an exception; the pattern is
 * cleaned as Go's filepath.Clean does (so "foo/../secret" is "secret"),
 * less a leading '/'; it becomes a regular expression ('*' and '?' within
 * a path element, "**" across any number, '\' escaping the next byte)
 * matched against the whole path, or else against the path's parent cut
 * to as many elements as the pattern has; the last pattern that matches
 * decides.  The walk skips an excluded directory unless an exception's
 * pattern starts with it.  Unlike any simpler reading, this sends exactly
 * what `docker build` of the same tree sends (t0705 compares them).
 */

struct pat {
	char *text;		/* cleaned, without '!' */
	regex_t re;
	size_t ndirs;		/* its path elements */
	int keep;		/* an exception (!pattern) */
};

struct ignore {
	struct pat *p;
	size_t n;
	int any_keep;
};

/* Go's filepath.Clean of a slash path. */
static char *
go_clean(const char *s)
{
	size_t n = strlen(s), k = 0, i, dots = 0;
	char *copy = paas_xstrdup(s), **el = paas_xmalloc((n / 2 + 2) * sizeof(*el)), *save = NULL;
	struct paas_buf b = PAAS_BUF_INIT;
	int rooted = s[0] == '/';
	char *p;

	for (p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (strcmp(p, ".") == 0)
			continue;
		if (strcmp(p, "..") == 0) {
			if (k > dots)
				k--;
			else if (!rooted)
				el[k++] = p, dots++;
			continue;
		}
		el[k++] = p;
	}
	if (rooted)
		paas_buf_adds(&b, "/");
	for (i = 0; i < k; i++)
		paas_buf_addf(&b, "%s%s", i ? "/" : "", el[i]);
	if (b.len == 0)
		paas_buf_adds(&b, ".");
	free(el);
	free(copy);
	return paas_buf_detach(&b, NULL);
}

/* moby's pattern.compile: the pattern as an anchored regular expression. */
static int
pat_compile(struct pat *pt)
{
	struct paas_buf r = PAAS_BUF_INIT;
	const char *c = pt->text;
	int rc;

	paas_buf_adds(&r, "^");
	while (*c) {
		if (c[0] == '*' && c[1] == '*') {
			c += 2;
			if (*c == '/')
				c++;
			paas_buf_adds(&r, *c ? "(.*/)?" : ".*");
		} else if (*c == '*') {
			paas_buf_adds(&r, "[^/]*");
			c++;
		} else if (*c == '?') {
			paas_buf_adds(&r, "[^/]");
			c++;
		} else if (*c == '.' || *c == '$') {
			paas_buf_addf(&r, "\\%c", *c);
			c++;
		} else if (*c == '\\') {
			paas_buf_adds(&r, "\\");
			if (c[1])
				paas_buf_add(&r, c + 1, 1), c += 2;
			else
				c++;
		} else
			paas_buf_add(&r, c++, 1);
	}
	paas_buf_adds(&r, "$");
	rc = regcomp(&pt->re, r.data, REG_EXTENDED | REG_NOSUB);
	paas_buf_free(&r);
	return rc == 0 ? 0 : -1;
}

static int
pat_re_match(const struct pat *pt, const char *s)
{
	return regexec(&pt->re, s, 0, NULL, 0) == 0;
}

/* moby's PatternMatcher.Matches, for one pattern: the path itself, or
 * its parent cut to as many elements as the pattern has. */
static int
pat_match(const struct pat *pt, const char *path)
{
	const char *slash = strrchr(path, '/'), *p;
	size_t parents = 1, cut;
	int m;

	if (pat_re_match(pt, path))
		return 1;
	if (slash == NULL)
		return 0;
	for (p = path; p < slash; p++)
		parents += *p == '/';
	if (pt->ndirs > parents)
		return 0;
	/* The first ndirs elements of the parent. */
	for (p = path, cut = 0; p < slash; p++)
		if (*p == '/' && ++cut == pt->ndirs)
			break;
	{
		char *prefix = paas_xstrndup(path, (size_t)(p - path));

		m = pat_re_match(pt, prefix);
		free(prefix);
	}
	return m;
}

/* One line's pattern: 0, or -1 (a pattern Docker refuses too). */
static int
pat_init(struct pat *pt, const char *line, int keep)
{
	char *clean = go_clean(line);
	const char *c;

	memset(pt, 0, sizeof(*pt));
	pt->keep = keep;
	pt->text = paas_xstrdup(strlen(clean) > 1 && clean[0] == '/' ? clean + 1 : clean);
	free(clean);
	pt->ndirs = 1;
	for (c = pt->text; *c; c++)
		pt->ndirs += *c == '/';
	if (pat_compile(pt) < 0) {
		free(pt->text);
		pt->text = NULL;
		return -1;
	}
	return 0;
}

static void
pat_free(struct pat *pt)
{
	if (pt->text) {
		regfree(&pt->re);
		free(pt->text);
	}
}

static void
ignore_free(struct ignore *ig)
{
	size_t i;

	for (i = 0; i < ig->n; i++)
		pat_free(&ig->p[i]);
	free(ig->p);
	memset(ig, 0, sizeof(*ig));
}

/* Docker's cleaning of a context path: no leading '/', no "./", no "//",
 * no trailing '/'. */
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

static int
ignore_add(struct ignore *ig, const char *line, int keep, struct paas_err *err)
{
	ig->p = paas_xrealloc(ig->p, (ig->n + 1) * sizeof(*ig->p));
	if (pat_init(&ig->p[ig->n], line, keep) < 0)
		return paas_err_set(err, PAAS_EINVAL, ".dockerignore: '%.200s' is not a pattern "
		    "(docker build refuses it too)", line);
	ig->n++;
	ig->any_keep |= keep;
	return 0;
}

static int ignored(const struct ignore *ig, const char *path);

/* The context's .dockerignore, and then, as the docker CLI does, the
 * exceptions that keep .dockerignore and the Dockerfile in the context. */
static int
ignore_load(struct paas_git *g, struct ctx *c, struct ignore *ig, struct paas_err *err)
{
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	char *text, *line, *next;
	int rc = 0, first = 1;

	memset(ig, 0, sizeof(*ig));
	if (git_tree_entry_bypath(&e, c->tree ? c->tree : c->root, ".dockerignore") < 0 ||
	    git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    git_blob_lookup(&b, g->repo, git_tree_entry_id(e)) < 0) {
		git_tree_entry_free(e);
		return 0;
	}
	text = paas_xstrndup(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
	for (line = text; line && rc == 0; line = next) {
		char *end;
		int keep = 0;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		end = line + strlen(line);
		if (end > line && end[-1] == '\r')
			*--end = '\0';
		/* A UTF-8 byte order mark on the first line goes. */
		if (first && strncmp(line, "\xef\xbb\xbf", 3) == 0)
			line += 3;
		first = 0;
		if (*line == '#')
			continue;
		while (*line && strchr(" \t\v\f\r", *line))
			line++;
		while (end > line && strchr(" \t\v\f\r", end[-1]))
			*--end = '\0';
		if (*line == '\0')
			continue;
		if (*line == '!') {
			keep = 1;
			line++;
			while (*line && strchr(" \t\v\f\r", *line))
				line++;
		}
		rc = ignore_add(ig, line, keep, err);
	}
	free(text);
	git_blob_free(b);
	git_tree_entry_free(e);
	if (rc == 0 && ignored(ig, ".dockerignore"))
		rc = ignore_add(ig, ".dockerignore", 1, err);
	if (rc == 0 && ig->n && ignored(ig, c->df_name))
		rc = ignore_add(ig, c->df_name, 1, err);
	if (rc < 0)
		ignore_free(ig);
	return rc;
}

/* The last pattern that matches decides. */
static int
ignored(const struct ignore *ig, const char *path)
{
	int out = 0;
	size_t i;

	for (i = 0; i < ig->n; i++)
		if (pat_match(&ig->p[i], path))
			out = !ig->p[i].keep;
	return out;
}

/* An excluded directory is entered only when an exception's pattern
 * starts with it (pkg/archive). */
static int
exception_under(const struct ignore *ig, const char *dir)
{
	size_t i, n = strlen(dir);

	for (i = 0; i < ig->n; i++)
		if (ig->p[i].keep && strncmp(ig->p[i].text, dir, n) == 0 &&
		    (ig->p[i].text[n] == '/' || ig->p[i].text[n] == '\0'))
			return 1;
	return 0;
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
		skip = ignored(ig, path);
		if (mode == GIT_FILEMODE_TREE) {
			git_tree *sub = NULL;

			/* An ignored directory is still entered when an exception
			 * names something in it. */
			if (!skip || exception_under(ig, path)) {
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
	if (ignore_load(g, &c, &ig, err) < 0)
		goto out;
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
	if (ignore_load(g, &c, &ig, err) < 0)
		goto out;
	paas_buf_adds(&list, "paas-build 3\n");
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
