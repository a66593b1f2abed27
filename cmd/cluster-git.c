/*
 * paas-cluster git: `git push` deploys (gitpush.h).  `git add DEP --key
 * FILE` makes the repository, its hook and the key's forced command, and
 * says the remote to add; `git ls` lists the keys; `git-serve DEP` is the
 * forced command (SSH_ORIGINAL_COMMAND); `git-hook DEP B PATH` is the
 * pre-receive hook, whose output is the push's: the build and the rollout
 * as they happen; a failed deploy rejects the push, so the branch moves
 * only with what runs.
 *
 *   git add DEP --key FILE [--branch B] [--servicefile PATH] [--host H]
 *       [--port P] [--user U] [--state-dir DIR]
 *   git ls
 *   git-serve DEP
 *   git-hook DEP B PATH
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "component.h"
#include "daemon.h"
#include "gitpush.h"
#include "paas-cluster.h"
#include "state.h"
#include "valid.h"

struct git_flags {
	struct paas_gitpush_add o;
	const char *host, *user, *dirflag;
	int port;
	const char *sources[17];	/* --allow-source, NULL-terminated */
	size_t nsources;
};

/* One of git add's flags into f: 0, or the usage error's exit status. */
static int
add_flag(int ch, struct git_flags *f)
{
	switch (ch) {
	case 'k': f->o.keyfile = optarg; return 0;
	case 'b':
		if (!paas_only_chars(optarg, "._-/") || strstr(optarg, "..") || *optarg == '/')
			return cli_bad_usage("--branch %.64s: expected a branch name", optarg);
		f->o.branch = optarg;
		return 0;
	case 'f':
		if (!paas_only_chars(optarg, "._-/") || strstr(optarg, "..") || *optarg == '/')
			return cli_bad_usage("--servicefile %.64s: expected a path inside the "
			    "repository", optarg);
		f->o.servicefile = optarg;
		return 0;
	case 'H':
		if (!paas_valid_address(optarg))
			return cli_bad_usage("--host %.64s: expected a host name or address", optarg);
		f->host = optarg;
		return 0;
	case 'p':
		if (paas_parse_int(optarg, 1, 65535, &f->port) < 0)
			return cli_bad_usage("--port %.32s: expected a TCP port", optarg);
		return 0;
	case 'u':
		if (!paas_valid_label(optarg))
			return cli_bad_usage("--user %.64s: expected a user name", optarg);
		f->user = optarg;
		return 0;
	case 's': f->dirflag = optarg; return 0;
	case 'a':
		if (f->nsources == 16)
			return cli_bad_usage("--allow-source: at most 16");
		f->sources[f->nsources++] = optarg;
		f->o.sources = f->sources;
		return 0;
	default: cli_usage(stderr); return PAAS_EINVAL;
	}
}

/* The remote to add, and how to deploy. */
static void
git_remote(const struct git_flags *f, const char *ak, enum paas_format fmt)
{
	const char *host = f->host, *user = f->user, *dep = f->o.deployment;
	char hostname[256] = "localhost";
	struct passwd *pw;

	if (host == NULL) {
		gethostname(hostname, sizeof(hostname) - 1);
		host = hostname;
	}
	if (user == NULL)
		user = (pw = getpwuid(geteuid())) ? pw->pw_name : "root";
	if (paas_out_is_table(fmt)) {
		printf("Pushes to %s deploy %s; the key of %s may push (%s).\n", f->o.branch, dep,
		    f->o.keyfile, ak);
		printf("Add the remote:  git remote add paas ssh://%s@%s:%d/%s.git\n", user, host,
		    f->port, dep);
		printf("Deploy:          git push paas %s\n", f->o.branch);
	} else {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "kind", "git_remote", "deployment",
		    dep, "branch", f->o.branch, "authorized_keys", ak);

		json_object_set_new(o, "remote", json_sprintf("ssh://%s@%s:%d/%s.git", user, host,
		    f->port, dep));
		paas_out_json(o);
		json_decref(o);
	}
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
		{ "allow-source", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_err err = PAAS_ERR_INIT;
	struct git_flags f = { 0 };
	char *state, *self, *ak = NULL;
	int ch, rc;

	f.o.branch = "main";
	f.o.servicefile = "Servicefile";
	f.o.etcd = paas_etcd_endpoints(c->etcd);
	f.port = 22;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if ((rc = add_flag(ch, &f)) != 0)
			return rc;
	if (optind != argc - 1)
		return cli_bad_usage("git add: expected one deployment name");
	f.o.deployment = argv[optind];
	if (!paas_valid_name(f.o.deployment))
		return cli_bad_usage("invalid deployment name '%.64s': use lower-case letters, digits "
		    "and '-', starting with a letter, at most 63", f.o.deployment);
	if (f.o.keyfile == NULL)
		return cli_bad_usage("git add: --key FILE (the public key allowed to push) is needed");
	if (!paas_only_chars(f.o.etcd, ":/._,-[]"))
		return cli_bad_usage("etcd endpoints '%.64s': unexpected characters", f.o.etcd);
	f.o.state = state = paas_state_dir(f.dirflag);
	f.o.self = self = paas_component_program("paas-cluster");
	if (paas_gitpush_add(&f.o, &ak, &err) < 0)
		rc = cli_fail(&err);
	else {
		git_remote(&f, ak, c->fmt);
		rc = 0;
	}
	free(state);
	free(self);
	free(ak);
	return rc;
}

/* The forced command: git receive-pack (or upload-pack) on dep's
 * repository, whatever path the client asked for as long as it is that. */
static int
git_serve(int argc, char **argv)
{
	const char *dep = argc == 2 ? argv[1] : NULL, *prog;
	char *state, *gd;

	if (dep == NULL || !paas_valid_name(dep))
		return cli_bad_usage("git-serve: expected one deployment name");
	if ((prog = paas_gitpush_serve(getenv("SSH_ORIGINAL_COMMAND"), dep)) == NULL) {
		fprintf(stderr, "paas: this key only pushes to %s.git with git\n", dep);
		return PAAS_EINVAL;
	}
	state = paas_state_dir(NULL);
	gd = paas_gitpush_dir(state, dep);
	execlp("git", "git", prog, gd, (char *)NULL);
	fprintf(stderr, "paas: cannot run git %s: %s\n", prog, strerror(errno));
	free(gd);
	free(state);
	return PAAS_EFAILED;
}

/* paas-deploy of dep's commit new from its repository gd: its status.
 * The push's connection closing (its ssh session, or a local git client,
 * gone: git receive-pack, our parent, then has another parent) sends the
 * deploy SIGHUP, which stops a build under way: receive-pack itself would
 * not notice until the hook ends. */
static int
deploy(const char *dep, const char *gd, const char *new, const char *sfile)
{
	char *prog = paas_component_program("paas-deploy"), **src = paas_gitpush_sources(gd);
	const char *argv[64] = { "paas-deploy", "--table", "-D", dep, "--git-dir", gd, "--ref", new,
		"--from-push" };
	pid_t pid, rp = getppid(), client = paas_parent_pid(getppid()), w;
	int status, told = 0;
	size_t n = 9, i;

	/* Builds read the pushed repository, or what git add allowed. */
	for (i = 0; src[i] && n < 60; i++) {
		argv[n++] = "--allow-source";
		argv[n++] = src[i];
	}
	argv[n++] = sfile;
	argv[n] = NULL;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		execv(prog, (char *const *)argv);
		fprintf(stderr, "paas: cannot run %s: %s\n", prog, strerror(errno));
		_exit(PAAS_EFAILED);
	}
	free(prog);
	paas_strv_free(src);
	while (pid > 0 && (w = waitpid(pid, &status, WNOHANG)) == 0) {
		if (!told && client > 1 && paas_parent_pid(rp) != client) {
			kill(pid, SIGHUP);
			told = 1;
		}
		usleep(200 * 1000);
	}
	if (pid < 0 || w < 0) {
		fprintf(stderr, "paas: cannot run paas-deploy: %s\n", strerror(errno));
		return PAAS_EFAILED;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : PAAS_EFAILED;
}

/* The pre-receive hook: the deploy branch's new commit deployed, or the
 * push refused. */
static int
git_hook(int argc, char **argv)
{
	char line[1024], new[64], *gd, *state;
	int rc = 0, what;

	if (argc != 4 || !paas_valid_name(argv[1]))
		return cli_bad_usage("git-hook: expected a deployment, a branch and a Servicefile");
	state = paas_state_dir(NULL);
	gd = paas_gitpush_dir(state, argv[1]);
	while (fgets(line, sizeof(line), stdin)) {
		if ((what = paas_gitpush_hook_line(line, argv[2], new)) == 0)
			continue;
		if (what < 0) {
			fprintf(stderr, "paas: %s is what %s runs: deleting it is refused\n", argv[2],
			    argv[1]);
			rc = PAAS_EINVAL;
			break;
		}
		if ((rc = deploy(argv[1], gd, new, argv[3])) != 0)
			fprintf(stderr, "paas: %s was not deployed (exit %d): the push is refused, "
			    "%s stays where it was\n", new, rc, argv[2]);
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
	struct paas_err err = PAAS_ERR_INIT;
	char *state = paas_state_dir(NULL);
	json_t *keys, *rows, *k;
	size_t i;

	if (paas_gitpush_list(state, &keys, &err) < 0) {
		free(state);
		return cli_fail(&err);
	}
	rows = json_array();
	json_array_foreach(keys, i, k) {
		if (paas_out_is_table(c->fmt))
			json_array_append_new(rows, json_pack("[O, o]", json_object_get(k, "deployment"),
			    json_sprintf("%s %.20s...", json_string_value(json_object_get(k, "type")),
			    json_string_value(json_object_get(k, "key")))));
		else
			paas_out_record("git_key", k);
	}
	if (paas_out_is_table(c->fmt))
		cli_table(stdout, head, sizeof(head) / sizeof(head[0]), rows);
	json_decref(rows);
	json_decref(keys);
	free(state);
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
