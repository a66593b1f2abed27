/*
 * Source from git (git.h).  libgit2 is initialised per repository opened
 * (it counts), so a command that never builds never pays for it.
 */
#include <errno.h>
#include <fnmatch.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <git2.h>
#include <libssh2.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "git.h"

#define MAX_LINKS	16	/* symbolic links followed in one path */

struct paas_git {
	git_repository *repo;
	char *where;		/* as the Servicefile wrote it, for messages */
	int fetched;		/* from a URL: HEAD is refs/paas/HEAD */
};

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

/* libgit2's last error, or what. */
static const char *
gerr(const char *what)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : what;
}

static int
is_url(const char *s)
{
	return strncmp(s, "file://", 7) == 0 || strncmp(s, "ssh://", 6) == 0 ||
	    strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0 ||
	    strncmp(s, "git://", 6) == 0;
}

/* ssh:// credentials: the key file $PAAS_GIT_SSH_KEY, else the agent's. */
static int
credentials(git_credential **out, const char *url, const char *user, unsigned int allowed,
    void *arg)
{
	const char *key = getenv("PAAS_GIT_SSH_KEY");

	(void)url;
	(void)arg;
	if (!(allowed & GIT_CREDENTIAL_SSH_KEY))
		return GIT_PASSTHROUGH;
	if (key && *key)
		return git_credential_ssh_key_new(out, user ? user : "git", NULL, key, NULL);
	return git_credential_ssh_key_from_agent(out, user ? user : "git");
}

struct fetch_arg {
	const char *url;
	char why[512];		/* a refused host key, said here, not to libgit2 */
};

/* host and port of ssh://[user@]host[:port]/path (host: caller frees). */
static char *
ssh_host(const char *url, int *port)
{
	const char *p = strstr(url, "://"), *h, *slash, *e;

	*port = 22;
	if (p == NULL)
		return NULL;
	slash = strchr(p + 3, '/');
	h = strchr(p + 3, '@');
	h = h && (!slash || h < slash) ? h + 1 : p + 3;
	if (*h == '[') {
		if ((e = strchr(h, ']')) == NULL)
			return NULL;
		if (e[1] == ':')
			*port = atoi(e + 2);
		return paas_xstrndup(h + 1, (size_t)(e - h - 1));
	}
	e = h + strcspn(h, ":/");
	if (*e == ':')
		*port = atoi(e + 1);
	return paas_xstrndup(h, (size_t)(e - h));
}

static const char *
known_hosts_file(char **path)
{
	const char *file = getenv("PAAS_GIT_KNOWN_HOSTS");

	*path = NULL;
	if (file && *file)
		return file;
	if (getenv("HOME") && asprintf(path, "%s/.ssh/known_hosts", getenv("HOME")) < 0)
		*path = NULL;
	return *path;
}

/* Whether key (raw, len bytes) is host:port's in known_hosts (libssh2
 * reads plain and hashed entries); else why says so. */
static int
key_known(const char *host, int port, const char *key, size_t len, char *why, size_t size)
{
	LIBSSH2_SESSION *s = libssh2_session_init();
	LIBSSH2_KNOWNHOSTS *kh = s ? libssh2_knownhost_init(s) : NULL;
	char *path;
	const char *file = known_hosts_file(&path);
	int ok = 0;

	if (kh && file && libssh2_knownhost_readfile(kh, file, LIBSSH2_KNOWNHOST_FILE_OPENSSH) >= 0)
		ok = libssh2_knownhost_checkp(kh, host, port, key, len, LIBSSH2_KNOWNHOST_TYPE_PLAIN |
		    LIBSSH2_KNOWNHOST_KEYENC_RAW, NULL) == LIBSSH2_KNOWNHOST_CHECK_MATCH;
	if (!ok)
		snprintf(why, size, "the host key of %s%s%s:%d is not in %s (check it, then "
		    "ssh-keyscan -p %d %s >>known_hosts)", port == 22 ? "" : "[", host,
		    port == 22 ? "" : "]", port, file ? file : "~/.ssh/known_hosts", port, host);
	if (kh)
		libssh2_knownhost_free(kh);
	if (s)
		libssh2_session_free(s);
	free(path);
	return ok;
}

/*
 * An ssh:// server's host key checked before libgit2 connects: libgit2 1.5
 * checks none itself, and leaks when its certificate callback refuses one.
 */
static int
ssh_known(const char *url, char *why, size_t size)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	LIBSSH2_SESSION *s = NULL;
	struct timeval tv = { 10, 0 };
	char sport[16], *host;
	const char *key;
	size_t len;
	int port, fd = -1, type, ok = 0;

	if ((host = ssh_host(url, &port)) == NULL) {
		snprintf(why, size, "not an ssh://host/path URL");
		return 0;
	}
	snprintf(sport, sizeof(sport), "%d", port);
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, sport, &hints, &ai) != 0 ||
	    (fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		snprintf(why, size, "cannot connect to %s port %d: %s", host, port, strerror(errno));
		goto out;
	}
	if ((s = libssh2_session_init()) == NULL || libssh2_session_handshake(s, fd) != 0 ||
	    (key = libssh2_session_hostkey(s, &len, &type)) == NULL) {
		snprintf(why, size, "no ssh handshake with %s port %d", host, port);
		goto out;
	}
	ok = key_known(host, port, key, len, why, size);
out:
	if (s) {
		libssh2_session_disconnect(s, "paas: host key checked");
		libssh2_session_free(s);
	}
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	free(host);
	return ok;
}

/* libgit2's own connection: the key it met must be known too. */
static int
check_host(git_cert *cert, int valid, const char *host, void *arg)
{
	struct fetch_arg *fa = arg;
	git_cert_hostkey *hk = (git_cert_hostkey *)cert;
	char *h;
	int port;

	(void)valid;
	(void)host;
	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
		return 1;
	if (!(hk->type & GIT_CERT_SSH_RAW)) {
		snprintf(fa->why, sizeof(fa->why), "the server gave no host key to check");
		return -1;
	}
	if ((h = ssh_host(fa->url, &port)) == NULL)
		return -1;
	port = key_known(h, port, hk->hostkey, hk->hostkey_len, fa->why, sizeof(fa->why)) ? 0 : -1;
	free(h);
	return port;
}

/* url fetched into a bare repository of its own under cache_dir. */
static int
fetch(struct paas_git *g, const char *url, const char *cache_dir, struct paas_err *err)
{
	static char *specs[] = { "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*",
	    "+HEAD:refs/paas/HEAD" };
	git_strarray refspecs = { specs, 3 };
	struct fetch_arg fa = { url, "" };
	git_remote_create_options ro;
	git_fetch_options fo;
	git_remote *remote = NULL;
	char hash[17], *path = NULL;
	int rc = -1;

	if (cache_dir == NULL)
		return paas_err_set(err, PAAS_EINVAL, "build git %s: a URL needs a cache directory",
		    url);
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	if (mkdir(cache_dir, 0700) < 0 && errno != EEXIST)
		return paas_err_set(err, PAAS_EFAILED, "cannot create %s: %s", cache_dir,
		    strerror(errno));
	paas_hash_hex(url, strlen(url), hash);
	if (asprintf(&path, "%s/%s.git", cache_dir, hash) < 0)
		abort();
	if (git_repository_open_bare(&g->repo, path) < 0 &&
	    git_repository_init(&g->repo, path, 1) < 0) {
		paas_err_set(err, PAAS_EFAILED, "cannot make the git cache %s: %s", path,
		    gerr("init failed"));
		goto out;
	}
	fo.callbacks.credentials = credentials;
	fo.callbacks.certificate_check = check_host;
	fo.callbacks.payload = &fa;
	fo.prune = GIT_FETCH_PRUNE;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	/* Like git_remote_create_anonymous(), without reading url.*.insteadOf
	 * from the configuration: libgit2 1.5 leaks regex match data there. */
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = g->repo;
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (strncmp(url, "ssh://", 6) == 0 && !ssh_known(url, fa.why, sizeof(fa.why))) {
		paas_err_set(err, PAAS_EUNAVAIL, "cannot fetch %s: %s", url, fa.why);
		goto out;
	}
	if (git_remote_create_with_opts(&remote, url, &ro) < 0 ||
	    git_remote_fetch(remote, &refspecs, &fo, NULL) < 0) {
		paas_err_set(err, PAAS_EUNAVAIL, "cannot fetch %s: %s", url,
		    fa.why[0] ? fa.why : gerr("fetch failed"));
		goto out;
	}
	g->fetched = 1;
	rc = 0;
out:
	git_remote_free(remote);
	free(path);
	return rc;
}

int
paas_git_open(const char *where, const char *base, const char *cache_dir,
    struct paas_git **gp, struct paas_err *err)
{
	struct paas_git *g = calloc(1, sizeof(*g));
	char *path = NULL;

	if (g == NULL)
		abort();
	git_libgit2_init();
	g->where = paas_xstrdup(where);
	if (is_url(where)) {
		if (fetch(g, where, cache_dir, err) < 0)
			goto fail;
	} else {
		if (where[0] == '/' || base == NULL)
			path = paas_xstrdup(where);
		else if (asprintf(&path, "%s/%s", base, where) < 0)
			abort();
		if (git_repository_open_ext(&g->repo, path, 0, NULL) < 0) {
			paas_err_set(err, PAAS_EINVAL, "build git %s: not a git repository (%s)", where,
			    path);
			goto fail;
		}
		/* In a push's pre-receive hook the pushed objects are in a
		 * quarantine directory until the hook accepts them. */
		if (getenv("GIT_QUARANTINE_PATH") && *getenv("GIT_QUARANTINE_PATH")) {
			git_odb *odb = NULL;

			if (git_repository_odb(&odb, g->repo) < 0 ||
			    git_odb_add_disk_alternate(odb, getenv("GIT_QUARANTINE_PATH")) < 0) {
				git_odb_free(odb);
				paas_err_set(err, PAAS_EFAILED, "%s: cannot read the pushed objects: %s",
				    where, gerr("odb"));
				goto fail;
			}
			git_odb_free(odb);
		}
	}
	free(path);
	*gp = g;
	return 0;
fail:
	free(path);
	paas_git_free(g);
	*gp = NULL;
	return -1;
}

void
paas_git_free(struct paas_git *g)
{
	if (g == NULL)
		return;
	git_repository_free(g->repo);
	free(g->where);
	free(g);
	git_libgit2_shutdown();
}

const char *
paas_git_workdir(const struct paas_git *g)
{
	return git_repository_workdir(g->repo);
}

int
paas_git_resolve(struct paas_git *g, const char *ref, char out[41], struct paas_err *err)
{
	git_object *obj = NULL, *commit = NULL;
	git_reference *r = NULL;
	const char *spec = ref ? ref : g->fetched ? "refs/paas/HEAD" : "HEAD";
	git_oid oid;
	int rc = -1, found;

	/* A full id, a reference or a short name first; rev-parse syntax
	 * (v1^, HEAD~2) only when the name has some: libgit2 1.5's rev-parse
	 * leaks its regex match data on a name it does not know. */
	if (strlen(spec) == GIT_OID_HEXSZ && git_oid_fromstr(&oid, spec) == 0)
		found = git_object_lookup(&obj, g->repo, &oid, GIT_OBJECT_ANY) == 0;
	else if (git_reference_dwim(&r, g->repo, spec) == 0)
		found = git_reference_peel(&obj, r, GIT_OBJECT_ANY) == 0;
	else
		found = strpbrk(spec, "~^@:{}") != NULL && git_revparse_single(&obj, g->repo, spec) == 0;
	if (!found || git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		if (ref)
			paas_err_set(err, PAAS_EINVAL, "%s: ref '%.80s' names no commit", g->where, ref);
		else
			paas_err_set(err, PAAS_EINVAL, "%s: HEAD names no commit (nothing committed?)",
			    g->where);
		goto out;
	}
	git_oid_tostr(out, 41, git_object_id(commit));
	rc = 0;
out:
	git_reference_free(r);
	git_object_free(obj);
	git_object_free(commit);
	return rc;
}

static int
commit_tree(struct paas_git *g, const char *commit, git_tree **tree, int64_t *when,
    struct paas_err *err)
{
	git_oid oid;
	git_commit *c = NULL;
	int rc = -1;

	if (git_oid_fromstr(&oid, commit) < 0 || git_commit_lookup(&c, g->repo, &oid) < 0 ||
	    git_commit_tree(tree, c) < 0) {
		paas_err_set(err, PAAS_EINVAL, "%s: no commit %.40s", g->where, commit);
		goto out;
	}
	if (when)
		*when = git_commit_time(c);
	rc = 0;
out:
	git_commit_free(c);
	return rc;
}

/*
 * path (from the top) looked up in root, following symbolic links as
 * the file system would: *resolved gets the path it ends at (caller
 * frees; "" for the top) and *entry its entry (NULL for the top).  A path
 * that leaves the repository, or is not there, is PAAS_EINVAL.
 */
static int
find(struct paas_git *g, git_tree *root, const char *what, const char *path, char **resolved,
    git_tree_entry **entry, struct paas_err *err)
{
	struct paas_buf cur = PAAS_BUF_INIT, todo = PAAS_BUF_INIT;
	git_tree_entry *e = NULL;
	int links = 0, rc = -1;

	*entry = NULL;
	*resolved = NULL;
	if (path[0] == '/') {
		paas_err_set(err, PAAS_EINVAL, "build %s '%.200s': an absolute path leaves the "
		    "repository", what, path);
		goto out;
	}
	paas_buf_adds(&todo, path);
	while (todo.len > 0) {
		size_t n = strcspn(todo.data, "/");
		char *comp = paas_xstrndup(todo.data, n);

		memmove(todo.data, todo.data + n + (todo.data[n] == '/'),
		    todo.len - n - (todo.data[n] == '/') + 1);
		todo.len -= n + (n < todo.len ? 1 : 0);
		if (n == 0 || strcmp(comp, ".") == 0) {
			free(comp);
			continue;
		}
		if (strcmp(comp, "..") == 0) {
			char *slash = cur.len ? strrchr(cur.data, '/') : NULL;

			free(comp);
			if (cur.len == 0) {
				paas_err_set(err, PAAS_EINVAL, "build %s '%.200s' leaves the repository",
				    what, path);
				goto out;
			}
			cur.len = slash ? (size_t)(slash - cur.data) : 0;
			cur.data[cur.len] = '\0';
			continue;
		}
		{
			size_t was = cur.len;

			if (cur.len)
				paas_buf_adds(&cur, "/");
			paas_buf_adds(&cur, comp);
			free(comp);
			git_tree_entry_free(e);
			e = NULL;
			if (git_tree_entry_bypath(&e, root, cur.data) < 0) {
				paas_err_set(err, PAAS_EINVAL, "build %s '%.200s': %s is not in the "
				    "commit (not committed, or ignored?)", what, path, cur.data);
				goto out;
			}
			if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
				git_blob *b = NULL;
				char *target;

				if (++links > MAX_LINKS ||
				    git_blob_lookup(&b, g->repo, git_tree_entry_id(e)) < 0) {
					paas_err_set(err, PAAS_EINVAL, "build %s '%.200s': too many "
					    "symbolic links", what, path);
					goto out;
				}
				target = paas_xstrndup(git_blob_rawcontent(b),
				    (size_t)git_blob_rawsize(b));
				git_blob_free(b);
				if (target[0] == '/') {
					paas_err_set(err, PAAS_EINVAL, "build %s '%.200s': symbolic link "
					    "%s points outside the repository (%.200s)", what, path,
					    cur.data, target);
					free(target);
					goto out;
				}
				/* The link's target is read from the directory holding it. */
				cur.len = was;
				cur.data[cur.len] = '\0';
				{
					struct paas_buf t = PAAS_BUF_INIT;

					paas_buf_adds(&t, target);
					if (todo.len) {
						paas_buf_adds(&t, "/");
						paas_buf_adds(&t, todo.data);
					}
					paas_buf_free(&todo);
					todo = t;
				}
				free(target);
				git_tree_entry_free(e);
				e = NULL;
			}
		}
	}
	*resolved = paas_buf_detach(&cur, NULL);
	if (*resolved == NULL)
		*resolved = paas_xstrdup("");
	*entry = e;
	e = NULL;
	rc = 0;
out:
	git_tree_entry_free(e);
	paas_buf_free(&cur);
	paas_buf_free(&todo);
	return rc;
}

/* The context's tree and dockerfile blob at commit, checked. */
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
	if (commit_tree(g, commit, &c->root, &c->when, err) < 0 ||
	    find(g, c->root, "context", context, &c->dir, &e, err) < 0)
		goto out;
	if (e && git_tree_entry_type(e) != GIT_OBJECT_TREE) {
		paas_err_set(err, PAAS_EINVAL, "build context '%.200s' is not a directory in %s",
		    context, g->where);
		goto out;
	}
	if (e == NULL)
		c->tree = NULL;
	else if (git_tree_lookup(&c->tree, g->repo, git_tree_entry_id(e)) < 0) {
		paas_err_set(err, PAAS_EFAILED, "%s: %s", g->where, gerr("cannot read a tree"));
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
	if (find(g, c->root, "dockerfile", dfpath, &c->df, &e, err) < 0)
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
static char *
clean(const char *s)
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
		ig->pat[ig->n] = clean(line);
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
					    gerr("cannot read a tree"));
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
				    gerr("cannot read a file"));
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
			paas_err_set(err, PAAS_EFAILED, "%s: %s", g->where, gerr("cannot read a file"));
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

int
paas_git_read(struct paas_git *g, const char *commit, const char *path, char **data,
    size_t *len, struct paas_err *err)
{
	git_tree *root = NULL;
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	char *resolved = NULL;
	int rc = -1;

	*data = NULL;
	if (commit_tree(g, commit, &root, NULL, err) < 0 ||
	    find(g, root, "file", path, &resolved, &e, err) < 0)
		goto out;
	if (e == NULL || git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    git_blob_lookup(&b, g->repo, git_tree_entry_id(e)) < 0) {
		paas_err_set(err, PAAS_EINVAL, "%.200s is not a file in commit %.12s", path, commit);
		goto out;
	}
	*len = (size_t)git_blob_rawsize(b);
	*data = paas_xstrndup(git_blob_rawcontent(b), *len);
	rc = 0;
out:
	git_blob_free(b);
	git_tree_entry_free(e);
	git_tree_free(root);
	free(resolved);
	return rc;
}

int
paas_git_uncommitted(struct paas_git *g, const char *context, json_t **paths,
    struct paas_err *err)
{
	git_status_options so;
	git_status_list *list = NULL;
	char *spec = clean(context);
	char *specs[1] = { spec };
	size_t i, n;
	int rc = -1;

	git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION);
	*paths = json_array();
	if (git_repository_is_bare(g->repo)) {
		rc = 0;
		goto out;
	}
	so.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS;
	if (*spec) {
		so.pathspec.strings = specs;
		so.pathspec.count = 1;
	}
	if (git_status_list_new(&list, g->repo, &so) < 0) {
		paas_err_set(err, PAAS_EFAILED, "%s: %s", g->where, gerr("cannot read git status"));
		goto out;
	}
	n = git_status_list_entrycount(list);
	for (i = 0; i < n; i++) {
		const git_status_entry *s = git_status_byindex(list, i);
		const git_diff_delta *d = s->index_to_workdir ? s->index_to_workdir : s->head_to_index;

		if (d && d->new_file.path)
			json_array_append_new(*paths, json_string(d->new_file.path));
	}
	rc = 0;
out:
	git_status_list_free(list);
	free(spec);
	return rc;
}

int
paas_git_init_bare(const char *path, const char *branch, struct paas_err *err)
{
	git_repository *repo = NULL;
	char *head = NULL;
	int rc = 0;

	git_libgit2_init();
	if (asprintf(&head, "refs/heads/%s", branch) < 0)
		abort();
	/* HEAD names the deploy branch, so that a clone or a build's fetch
	 * of the repository gets what runs. */
	if ((git_repository_open_bare(&repo, path) < 0 && git_repository_init(&repo, path, 1) < 0) ||
	    git_repository_set_head(repo, head) < 0)
		rc = paas_err_set(err, PAAS_EFAILED, "cannot make the repository %s: %s", path,
		    gerr("init failed"));
	free(head);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}
