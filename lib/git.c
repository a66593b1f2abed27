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
#include "git-int.h"
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

/* libgit2's last error, or what. */
const char *
git_errmsg(const char *what)
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
		    git_errmsg("init failed"));
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
		    fa.why[0] ? fa.why : git_errmsg("fetch failed"));
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
				    where, git_errmsg("odb"));
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

int
git_commit_tree_of(struct paas_git *g, const char *commit, git_tree **tree, int64_t *when,
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
int
git_find(struct paas_git *g, git_tree *root, const char *what, const char *path, char **resolved,
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
	if (git_commit_tree_of(g, commit, &root, NULL, err) < 0 ||
	    git_find(g, root, "file", path, &resolved, &e, err) < 0)
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
	char *spec = git_clean_path(context);
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
		paas_err_set(err, PAAS_EFAILED, "%s: %s", g->where, git_errmsg("cannot read git status"));
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
		    git_errmsg("init failed"));
	free(head);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}
