/*
 * git push deploys (paas-cluster git): a bare repository STATE/git/DEP.git
 * whose pre-receive hook deploys the pushed commit of the deploy branch,
 * and the key allowed to push to it, let in by the machine's OpenSSH
 * server with a forced command (STATE/git/authorized_keys).  Anything
 * written into a shell line here (the hook, the forced command) is a
 * validated name or one word quoted by sq().  See gitpush.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "git.h"
#include "gitpush.h"
#include "private.h"
#include "valid.h"

#define ZERO_OID "0000000000000000000000000000000000000000"

/* s as one shell word. */
static void
sq(struct paas_buf *b, const char *s)
{
	paas_buf_adds(b, "'");
	for (; *s; s++) {
		if (*s == '\'')
			paas_buf_adds(b, "'\\''");
		else
			paas_buf_add(b, s, 1);
	}
	paas_buf_adds(b, "'");
}

/* A path that may go into a hook and an authorized_keys command: no
 * quote, backslash or control character. */
static int
path_ok(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* "TYPE BASE64" of a public key file's first key line, or NULL. */
static char *
read_key(const char *path, struct paas_err *err)
{
	static const char *const types[] = { "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256",
	    "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
	    "sk-ecdsa-sha2-nistp256@openssh.com", NULL };
	char line[16384], type[64], data[16000];
	FILE *f = fopen(path, "re");
	size_t i;

	if (f == NULL) {
		paas_err_set(err, PAAS_EINVAL, "--key %s: %s", path, strerror(errno));
		return NULL;
	}
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%63s %15999s", type, data) != 2)
			break;
		fclose(f);
		for (i = 0; types[i]; i++)
			if (strcmp(type, types[i]) == 0)
				break;
		if (types[i] == NULL || !paas_only_chars(data, "+/=")) {
			paas_err_set(err, PAAS_EINVAL, "--key %s: not an OpenSSH public key (TYPE "
			    "BASE64 [comment])", path);
			return NULL;
		}
		{
			char *out;

			if (asprintf(&out, "%s %s", type, data) < 0)
				abort();
			return out;
		}
	}
	fclose(f);
	paas_err_set(err, PAAS_EINVAL, "--key %s: no public key in it", path);
	return NULL;
}

char *
paas_gitpush_dir(const char *state, const char *dep)
{
	char *p;

	if (asprintf(&p, "%s/git/%s.git", state, dep) < 0)
		abort();
	return p;
}

/* authorized_keys without the lines of key or of dep, plus line. */
static int
authorize(const char *file, const char *key, const char *dep, const char *line,
    struct paas_err *err)
{
	struct paas_buf b = PAAS_BUF_INIT, tag = PAAS_BUF_INIT;
	char *have = NULL, *l, *save = NULL;
	size_t len = 0;
	int rc = -1;

	paas_buf_addf(&tag, " git-serve '%s'\"", dep);
	if (access(file, F_OK) == 0 &&
	    paas_private_read("authorized keys", file, 1 << 20, &have, &len, err) < 0)
		goto out;
	for (l = have ? strtok_r(have, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		if (strstr(l, key) && !strstr(l, tag.data)) {
			const char *other = strstr(l, " git-serve '");

			paas_err_set(err, PAAS_EINVAL, "this key already pushes to %.64s: one "
			    "deployment per key (sshd runs the first line that matches)",
			    other ? other + 12 : "another deployment");
			if (strchr(err->msg, '\''))
				*strchr(err->msg, '\'') = '\0';
			goto out;
		}
		if (strstr(l, tag.data) && strstr(l, key))
			continue;
		paas_buf_adds(&b, l);
		paas_buf_adds(&b, "\n");
	}
	paas_buf_adds(&b, line);
	rc = paas_file_replace(file, b.data, b.len, 0600, err);
out:
	free(have);
	paas_buf_free(&b);
	paas_buf_free(&tag);
	return rc;
}


/* GD/paas-sources: one allowed build source per line. */
static int
write_sources(const char *gd, const char *const *sources, struct paas_err *err)
{
	struct paas_buf b = PAAS_BUF_INIT;
	char *path = paas_path_join(gd, "paas-sources");
	size_t i;
	int rc = -1;

	for (i = 0; sources && sources[i]; i++) {
		if (!paas_only_chars(sources[i], "._-/:@+~") || !*sources[i]) {
			paas_err_set(err, PAAS_EINVAL, "--allow-source '%.80s': not a repository URL "
			    "or path", sources[i]);
			goto out;
		}
		paas_buf_addf(&b, "%s\n", sources[i]);
	}
	rc = paas_file_replace(path, b.data ? b.data : "", b.len, 0644, err);
out:
	paas_buf_free(&b);
	free(path);
	return rc;
}

char **
paas_gitpush_sources(const char *gd)
{
	char *path = paas_path_join(gd, "paas-sources"), line[1024], **v;
	size_t n = 0;
	FILE *f = fopen(path, "re");

	v = paas_xmalloc(sizeof(*v));
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!*line)
			continue;
		v = paas_xrealloc(v, (n + 2) * sizeof(*v));
		v[n++] = paas_xstrdup(line);
	}
	v[n] = NULL;
	if (f)
		fclose(f);
	free(path);
	return v;
}

void
paas_strv_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int
paas_gitpush_add(const struct paas_gitpush_add *o, char **authorized, struct paas_err *err)
{
	struct paas_buf hook = PAAS_BUF_INIT, cmd = PAAS_BUF_INIT, line = PAAS_BUF_INIT;
	char *gd = NULL, *key = NULL, *hookp = NULL, *gitd = NULL, *hooks = NULL;
	int rc = -1;

	*authorized = NULL;
	if (!path_ok(o->state))
		return paas_err_set(err, PAAS_EINVAL, "state directory %s: a quote, backslash or "
		    "control character in its path", o->state);
	if ((key = read_key(o->keyfile, err)) == NULL)
		return -1;
	gitd = paas_path_join(o->state, "git");
	gd = paas_gitpush_dir(o->state, o->deployment);
	hooks = paas_path_join(gd, "hooks");
	hookp = paas_path_join(hooks, "pre-receive");
	*authorized = paas_path_join(gitd, "authorized_keys");
	if (paas_mkdir_p(gitd, 0700, err) < 0 || paas_git_init_bare(gd, o->branch, err) < 0 ||
	    paas_mkdir_p(hooks, 0755, err) < 0)
		goto out;
	paas_buf_addf(&hook, "#!/bin/sh\n# Written by paas-cluster git add: a push to %s deploys "
	    "%s (paas-cluster(1)).\nPAAS_STATE_DIR=", o->branch, o->deployment);
	sq(&hook, o->state);
	paas_buf_adds(&hook, " PAAS_ETCD=");
	sq(&hook, o->etcd);
	paas_buf_adds(&hook, " exec ");
	sq(&hook, o->self);
	paas_buf_addf(&hook, " git-hook '%s' '%s' '%s'\n", o->deployment, o->branch,
	    o->servicefile);
	if (paas_file_replace(hookp, hook.data, hook.len, 0755, err) < 0 ||
	    write_sources(gd, o->sources, err) < 0)
		goto out;
	/* The forced command: sshd gives it to the user's shell. */
	paas_buf_adds(&cmd, "PAAS_STATE_DIR=");
	sq(&cmd, o->state);
	paas_buf_adds(&cmd, " exec ");
	sq(&cmd, o->self);
	paas_buf_addf(&cmd, " git-serve '%s'", o->deployment);
	paas_buf_addf(&line, "restrict,command=\"%s\" %s paas-git-%s\n", cmd.data, key,
	    o->deployment);
	if (authorize(*authorized, key, o->deployment, line.data, err) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		free(*authorized);
		*authorized = NULL;
	}
	paas_buf_free(&hook);
	paas_buf_free(&cmd);
	paas_buf_free(&line);
	free(gd);
	free(gitd);
	free(key);
	free(hookp);
	free(hooks);
	return rc;
}

const char *
paas_gitpush_serve(const char *oc, const char *dep)
{
	char verb[32] = "", path[512] = "";
	const char *p;
	size_t n;

	if (oc == NULL || sscanf(oc, "%31s %511[^\n]", verb, path) != 2)
		return NULL;
	if (strcmp(verb, "git") == 0 && sscanf(oc, "git %31s %511[^\n]", verb, path) == 2) {
		memmove(verb + 4, verb, strlen(verb) + 1);
		memcpy(verb, "git-", 4);
	}
	p = path;
	n = strlen(p);
	if (n >= 2 && (*p == '\'' || *p == '"') && p[n - 1] == *p) {
		path[n - 1] = '\0';
		p++;
	}
	while (*p == '/' || *p == '~')
		p++;
	n = strlen(dep);
	if (strncmp(p, dep, n) != 0 || (strcmp(p + n, ".git") != 0 && strcmp(p + n, "") != 0 &&
	    strcmp(p + n, ".git/") != 0 && strcmp(p + n, "/") != 0))
		return NULL;
	if (strcmp(verb, "git-receive-pack") == 0)
		return "receive-pack";
	if (strcmp(verb, "git-upload-pack") == 0)
		return "upload-pack";
	return NULL;
}

int
paas_gitpush_hook_line(const char *line, const char *branch, char new_oid[64])
{
	char old[64], ref[800], want[800];

	snprintf(want, sizeof(want), "refs/heads/%s", branch);
	if (sscanf(line, "%63s %63s %799s", old, new_oid, ref) != 3 || strcmp(ref, want) != 0)
		return 0;
	return strcmp(new_oid, ZERO_OID) == 0 ? -1 : 1;
}

int
paas_gitpush_list(const char *state, json_t **keys, struct paas_err *err)
{
	char *ak = paas_path_join(state, "git/authorized_keys"), *have = NULL, *l, *save = NULL;
	size_t len;

	*keys = NULL;
	if (access(ak, F_OK) == 0 && paas_private_read("authorized keys", ak, 1 << 20, &have, &len,
	    err) < 0) {
		free(ak);
		return -1;
	}
	*keys = json_array();
	for (l = have ? strtok_r(have, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		const char *d = strstr(l, " git-serve '"), *k = strstr(l, "\" ");
		char dep[64] = "", type[64] = "", data[80] = "";

		if (d == NULL || k == NULL || sscanf(d + 12, "%63[^']", dep) != 1 ||
		    sscanf(k + 2, "%63s %60s", type, data) != 2)
			continue;
		json_array_append_new(*keys, json_pack("{s:s, s:s, s:s}", "deployment", dep, "type",
		    type, "key", data));
	}
	free(have);
	free(ak);
	return 0;
}
