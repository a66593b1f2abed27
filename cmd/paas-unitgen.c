/*
 * paas-unitgen: read a Servicefile and print its canonical spec (--spec), or
 * render the systemd/fleet unit files of one deployment: NDJSON objects
 * {"name","content"} on standard output, or files in a directory (-o).
 * Pure: no network.  Everything is validated and rendered before anything is
 * written, so bad input changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "paas.h"
#include "spec.h"
#include "unit.h"

static const char *prog = "paas-unitgen";

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-D deployment] [--spec] [-o dir] [servicefile | -]\n"
	    "-D is --deployment, default $PAAS_DEPLOYMENT; -o is --output; -h --help, "
	    "-V --version\n", prog);
}

/* Write every unit to dir: each to a temporary file, then one syncfs() for
 * all of them, then the renames, so that a crash leaves whole files only. */
static int
write_units(const char *dir, json_t *units, struct paas_err *err)
{
	struct paas_buf tmp = PAAS_BUF_INIT, path = PAAS_BUF_INIT;
	size_t i, done = 0, n = json_array_size(units);
	int fd, dfd = -1, rc = -1;
	json_t *u;

	json_array_foreach(units, i, u) {
		const char *content = json_string_value(json_object_get(u, "content"));
		size_t len = strlen(content), off = 0;

		paas_buf_reset(&tmp);
		paas_buf_addf(&tmp, "%s/.%s.tmp%ld", dir, json_string_value(json_object_get(u, "name")),
		    (long)getpid());
		if ((fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
			goto fail;
		while (off < len) {
			ssize_t w = write(fd, content + off, len - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				close(fd);
				goto fail;
			}
			off += (size_t)w;
		}
		if (close(fd) < 0)
			goto fail;
		done = i + 1;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || syncfs(dfd) < 0)
		goto fail;
	json_array_foreach(units, i, u) {
		const char *name = json_string_value(json_object_get(u, "name"));

		paas_buf_reset(&tmp);
		paas_buf_reset(&path);
		paas_buf_addf(&tmp, "%s/.%s.tmp%ld", dir, name, (long)getpid());
		paas_buf_addf(&path, "%s/%s", dir, name);
		if (rename(tmp.data, path.data) < 0)
			goto fail;
	}
	done = 0;
	if (fsync(dfd) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	paas_err_set(err, PAAS_EFAILED, "cannot write %s: %s", tmp.data, strerror(errno));
	/* Leave no temporary file behind. */
	for (i = 0; i < done && i < n; i++) {
		paas_buf_reset(&tmp);
		paas_buf_addf(&tmp, "%s/.%s.tmp%ld", dir,
		    json_string_value(json_object_get(json_array_get(units, i), "name")), (long)getpid());
		unlink(tmp.data);
	}
out:
	if (dfd >= 0)
		close(dfd);
	paas_buf_free(&tmp);
	paas_buf_free(&path);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "deployment", required_argument, NULL, 'D' },
		{ "spec", no_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_err err = PAAS_ERR_INIT;
	const char *dep = getenv("PAAS_DEPLOYMENT"), *dir = NULL, *file = "Servicefile";
	json_t *spec = NULL, *units = NULL, *u;
	struct stat st;
	int ch, want_spec = 0, rc = 0;
	size_t i;

	cli_prog = prog;
	cli_usage = usage;
	if (dep == NULL || *dep == '\0')
		dep = "default";
	while ((ch = getopt_long(argc, argv, "D:so:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'D': dep = optarg; break;
		case 's': want_spec = 1; break;
		case 'o': dir = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': return cli_version();
		default: usage(stderr); return PAAS_EINVAL;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return PAAS_EINVAL;
	}
	if (argc - optind == 1)
		file = argv[optind];
	if (dir && (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
		fprintf(stderr, "%s: %s: not a directory\n", prog, dir);
		return PAAS_EINVAL;
	}
	if (paas_spec_load_for(file, dep, &spec, &err) < 0)
		goto fail;
	if (want_spec) {
		char *s = paas_spec_dump(spec);

		printf("%s\n", s);
		free(s);
		goto out;
	}
	if (paas_unit_render(spec, dep, &units, &err) < 0)
		goto fail;
	if (dir && write_units(dir, units, &err) < 0)
		goto fail;
	json_array_foreach(units, i, u) {
		if (dir)
			break;
		paas_out_record("unit", u);
	}
out:
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: cannot write to standard output\n", prog);
		rc = PAAS_EFAILED;
	}
	json_decref(spec);
	json_decref(units);
	return rc;
fail:
	fprintf(stderr, "%s: %s\n", prog, err.msg);
	json_decref(spec);
	json_decref(units);
	return err.status ? err.status : PAAS_EFAILED;
}
