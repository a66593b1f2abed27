/*
 * paas-cluster git: `git push` deploys.  `git add DEP --key FILE` makes a
 * bare repository STATE/git/DEP.git whose pre-receive hook deploys the
 * pushed commit of the deploy branch (paas-deploy --git-dir --ref), and
 * lets FILE's key in through the machine's OpenSSH server with a forced
 * command (STATE/git/authorized_keys) that runs git receive-pack on that
 * repository and nothing else.  The hook's output is the push's: the
 * build and the rollout as they happen; a failed deploy rejects the push,
 * so the branch moves only with what runs.
 *
 *   git add DEP --key FILE [--branch B] [--servicefile PATH] [--host H]
 *       [--port P] [--user U]
 *   git ls
 *   git-serve DEP          the forced command (SSH_ORIGINAL_COMMAND)
 *   git-hook DEP B PATH    the pre-receive hook
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cluster-up.h"
#include "file.h"
#include "git.h"
#include "paas-cluster.h"
#include "private.h"
#include "state.h"
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

static char *
git_dir(const char *state, const char *dep)
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

static int
git_add(const struct cluster_ctx *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "branch", required_argument, NULL, 'b' },
		{ "servicefile", required_argument, NULL, 'f' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ "state-dir", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_err err = PAAS_ERR_INIT;
	const char *keyfile = NULL, *branch = "main", *sfile = "Servicefile", *host = NULL;
	const char *user = NULL, *dirflag = NULL, *dep, *etcd = paas_etcd_endpoints(c->etcd);
	struct paas_buf hook = PAAS_BUF_INIT, cmd = PAAS_BUF_INIT, line = PAAS_BUF_INIT;
	char *state = NULL, *gd = NULL, *key = NULL, *self = NULL, *hookp = NULL, *gitd = NULL;
	char *ak = NULL, *hooks = NULL, hostname[256] = "localhost";
	int ch, port = 22, rc = PAAS_EINVAL;
	struct passwd *pw;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k': keyfile = optarg; break;
		case 'b':
			if (!paas_only_chars(optarg, "._-/") || strstr(optarg, "..") || *optarg == '/')
				return cli_bad_usage("--branch %.64s: expected a branch name", optarg);
			branch = optarg;
			break;
		case 'f':
			if (!paas_only_chars(optarg, "._-/") || strstr(optarg, "..") || *optarg == '/')
				return cli_bad_usage("--servicefile %.64s: expected a path inside the "
				    "repository", optarg);
			sfile = optarg;
			break;
		case 'H':
			if (!paas_valid_address(optarg))
				return cli_bad_usage("--host %.64s: expected a host name or address",
				    optarg);
			host = optarg;
			break;
		case 'p':
			if (paas_parse_int(optarg, 1, 65535, &port) < 0)
				return cli_bad_usage("--port %.32s: expected a TCP port", optarg);
			break;
		case 'u':
			if (!paas_valid_label(optarg))
				return cli_bad_usage("--user %.64s: expected a user name", optarg);
			user = optarg;
			break;
		case 's': dirflag = optarg; break;
		default: usage(stderr); return PAAS_EINVAL;
		}
	}
	if (optind != argc - 1)
		return cli_bad_usage("git add: expected one deployment name");
	dep = argv[optind];
	if (!paas_valid_name(dep))
		return cli_bad_usage("invalid deployment name '%.64s': use lower-case letters, digits "
		    "and '-', starting with a letter, at most 63", dep);
	if (keyfile == NULL)
		return cli_bad_usage("git add: --key FILE (the public key allowed to push) is needed");
	if (!paas_only_chars(etcd, ":/._,-[]"))
		return cli_bad_usage("etcd endpoints '%.64s': unexpected characters", etcd);
	state = paas_state_dir(dirflag);
	if (!path_ok(state)) {
		paas_err_set(&err, PAAS_EINVAL, "state directory %s: a quote, backslash or control "
		    "character in its path", state);
		goto fail;
	}
	if ((key = read_key(keyfile, &err)) == NULL)
		goto fail;
	self = sibling("paas-cluster");
	gitd = path_in(state, "git");
	gd = git_dir(state, dep);
	hooks = path_in(gd, "hooks");
	hookp = path_in(hooks, "pre-receive");
	ak = path_in(gitd, "authorized_keys");
	if (mkdir_p(gitd, 0700, &err) < 0 || paas_git_init_bare(gd, branch, &err) < 0 ||
	    mkdir_p(hooks, 0755, &err) < 0)
		goto fail;
	paas_buf_addf(&hook, "#!/bin/sh\n# Written by paas-cluster git add: a push to %s deploys "
	    "%s (paas-cluster(1)).\nPAAS_STATE_DIR=", branch, dep);
	sq(&hook, state);
	paas_buf_adds(&hook, " PAAS_ETCD=");
	sq(&hook, etcd);
	paas_buf_adds(&hook, " exec ");
	sq(&hook, self);
	paas_buf_addf(&hook, " git-hook '%s' '%s' '%s'\n", dep, branch, sfile);
	if (paas_file_replace(hookp, hook.data, hook.len, 0755, &err) < 0)
		goto fail;
	/* The forced command: sshd gives it to the user's shell. */
	paas_buf_adds(&cmd, "PAAS_STATE_DIR=");
	sq(&cmd, state);
	paas_buf_adds(&cmd, " exec ");
	sq(&cmd, self);
	paas_buf_addf(&cmd, " git-serve '%s'", dep);
	paas_buf_addf(&line, "restrict,command=\"%s\" %s paas-git-%s\n", cmd.data, key, dep);
	if (authorize(ak, key, dep, line.data, &err) < 0)
		goto fail;
	if (host == NULL) {
		gethostname(hostname, sizeof(hostname) - 1);
		host = hostname;
	}
	if (user == NULL)
		user = (pw = getpwuid(geteuid())) ? pw->pw_name : "root";
	if (paas_out_is_table(c->fmt)) {
		printf("Pushes to %s deploy %s; the key of %s may push (%s).\n", branch, dep, keyfile, ak);
		printf("Add the remote:  git remote add paas ssh://%s@%s:%d/%s.git\n", user, host, port,
		    dep);
		printf("Deploy:          git push paas %s\n", branch);
	} else {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "kind", "git_remote", "deployment",
		    dep, "branch", branch, "authorized_keys", ak);

		json_object_set_new(o, "remote", json_sprintf("ssh://%s@%s:%d/%s.git", user, host,
		    port, dep));
		paas_out_json(o);
		json_decref(o);
	}
	rc = 0;
	goto out;
fail:
	rc = cli_fail(&err);
out:
	paas_buf_free(&hook);
	paas_buf_free(&cmd);
	paas_buf_free(&line);
	free(state);
	free(gd);
	free(gitd);
	free(key);
	free(self);
	free(hookp);
	free(hooks);
	free(ak);
	return rc;
}

/* The forced command: git receive-pack (or upload-pack) on dep's
 * repository, whatever path the client asked for as long as it is that. */
static int
git_serve(int argc, char **argv)
{
	const char *oc = getenv("SSH_ORIGINAL_COMMAND"), *dep = argc == 2 ? argv[1] : NULL;
	char verb[32] = "", path[512] = "", *state, *gd;
	const char *p;
	size_t n;

	if (dep == NULL || !paas_valid_name(dep))
		return cli_bad_usage("git-serve: expected one deployment name");
	if (oc == NULL || sscanf(oc, "%31s %511[^\n]", verb, path) != 2) {
		fprintf(stderr, "paas: this key only pushes to %s.git with git\n", dep);
		return PAAS_EINVAL;
	}
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
	if ((strcmp(verb, "git-receive-pack") != 0 && strcmp(verb, "git-upload-pack") != 0) ||
	    strncmp(p, dep, n) != 0 || (strcmp(p + n, ".git") != 0 && strcmp(p + n, "") != 0 &&
	    strcmp(p + n, ".git/") != 0 && strcmp(p + n, "/") != 0)) {
		fprintf(stderr, "paas: this key only pushes to %s.git with git\n", dep);
		return PAAS_EINVAL;
	}
	state = paas_state_dir(NULL);
	gd = git_dir(state, dep);
	execlp("git", "git", verb + 4, gd, (char *)NULL);
	fprintf(stderr, "paas: cannot run git %s: %s\n", verb + 4, strerror(errno));
	free(gd);
	free(state);
	return PAAS_EFAILED;
}

/* The pre-receive hook: the deploy branch's new commit deployed, or the
 * push refused. */
static int
git_hook(int argc, char **argv)
{
	const char *dep, *branch, *sfile;
	char line[1024], old[64], new[64], ref[800], want[800], *gd, *state;
	int rc = 0;

	if (argc != 4 || !paas_valid_name(argv[1]))
		return cli_bad_usage("git-hook: expected a deployment, a branch and a Servicefile");
	dep = argv[1];
	branch = argv[2];
	sfile = argv[3];
	snprintf(want, sizeof(want), "refs/heads/%s", branch);
	state = paas_state_dir(NULL);
	gd = git_dir(state, dep);
	while (fgets(line, sizeof(line), stdin)) {
		char *deploy;
		pid_t pid;
		int status;

		if (sscanf(line, "%63s %63s %799s", old, new, ref) != 3 || strcmp(ref, want) != 0)
			continue;
		if (strcmp(new, ZERO_OID) == 0) {
			fprintf(stderr, "paas: %s is what %s runs: deleting it is refused\n", branch, dep);
			rc = PAAS_EINVAL;
			break;
		}
		fflush(stdout);
		deploy = sibling("paas-deploy");
		if ((pid = fork()) == 0) {
			execl(deploy, "paas-deploy", "--table", "-D", dep, "--git-dir", gd, "--ref", new,
			    sfile, (char *)NULL);
			fprintf(stderr, "paas: cannot run %s: %s\n", deploy, strerror(errno));
			_exit(PAAS_EFAILED);
		}
		free(deploy);
		if (pid < 0 || waitpid(pid, &status, 0) < 0) {
			fprintf(stderr, "paas: cannot run paas-deploy: %s\n", strerror(errno));
			rc = PAAS_EFAILED;
			break;
		}
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : PAAS_EFAILED;
		if (rc != 0)
			fprintf(stderr, "paas: %s was not deployed (exit %d): the push is refused, "
			    "%s stays where it was\n", new, rc, branch);
		break;
	}
	free(gd);
	free(state);
	return rc;
}

static int
git_ls(const struct cluster_ctx *c)
{
	static const char *const head[] = { "DEPLOYMENT", "KEY" };
	char *state = paas_state_dir(NULL), *ak = path_in(state, "git/authorized_keys"), *have = NULL;
	struct paas_err err = PAAS_ERR_INIT;
	char *l, *save = NULL;
	json_t *rows;
	size_t len;

	if (access(ak, F_OK) == 0 && paas_private_read("authorized keys", ak, 1 << 20, &have, &len,
	    &err) < 0) {
		free(state);
		free(ak);
		return cli_fail(&err);
	}
	rows = json_array();
	for (l = have ? strtok_r(have, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		const char *d = strstr(l, " git-serve '"), *k = strstr(l, "\" ");
		char dep[64] = "", type[64] = "", data[80] = "";

		if (d == NULL || k == NULL || sscanf(d + 12, "%63[^']", dep) != 1 ||
		    sscanf(k + 2, "%63s %60s", type, data) != 2)
			continue;
		if (paas_out_is_table(c->fmt))
			json_array_append_new(rows, json_pack("[s, o]", dep,
			    json_sprintf("%s %.20s...", type, data)));
		else {
			json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "kind", "git_key", "deployment",
			    dep, "type", type, "key", data);

			paas_out_json(o);
			json_decref(o);
		}
	}
	if (paas_out_is_table(c->fmt))
		cli_table(stdout, head, sizeof(head) / sizeof(head[0]), rows);
	json_decref(rows);
	free(have);
	free(state);
	free(ak);
	return 0;
}

int
cmd_git(const struct cluster_ctx *c, int argc, char **argv)
{
	if (strcmp(argv[0], "git-serve") == 0)
		return git_serve(argc, argv);
	if (strcmp(argv[0], "git-hook") == 0)
		return git_hook(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return git_add(c, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "ls") == 0) {
		if (argc > 2)
			return cli_bad_usage("git ls: unexpected '%.64s'", argv[2]);
		return git_ls(c);
	}
	return cli_bad_usage("git: expected add DEPLOYMENT --key FILE, or ls");
}
