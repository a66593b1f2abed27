/*
 * Files and directories.  See file.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"

char *
paas_path_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

int
paas_mkdir_p(const char *path, mode_t mode, struct paas_err *err)
{
	char *copy = paas_xstrdup(path), *p;

	for (p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(copy, mode) < 0 && errno != EEXIST)
		goto fail;
	free(copy);
	return 0;
fail:
	paas_err_set(err, PAAS_EFAILED, "cannot create %s: %s", copy, strerror(errno));
	free(copy);
	return -1;
}

int
paas_fsync_dir(const char *path)
{
	char *copy = paas_xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	free(copy);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
paas_file_replace(const char *path, const void *data, size_t len, mode_t mode,
    struct paas_err *err)
{
	struct paas_buf tmp = PAAS_BUF_INIT;
	const char *p = data;
	size_t off = 0;
	int fd;

	paas_buf_addf(&tmp, "%s.paas-XXXXXX", path);
	if ((fd = mkostemp(tmp.data, O_CLOEXEC)) < 0) {
		paas_err_set(err, PAAS_EFAILED, "cannot create a file beside %s: %s", path,
		    strerror(errno));
		paas_buf_free(&tmp);
		return -1;
	}
	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp.data, path) < 0)
		goto fail;
	paas_fsync_dir(path);
	paas_buf_free(&tmp);
	return 0;
fail:
	paas_err_set(err, PAAS_EFAILED, "cannot write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp.data);
	paas_buf_free(&tmp);
	return -1;
}

int
paas_read_file(const char *path, size_t max, char **data, size_t *len, struct paas_err *err)
{
	struct paas_buf b = PAAS_BUF_INIT;
	char chunk[8192];
	size_t n;
	FILE *f = fopen(path, "rb");

	*data = NULL;
	*len = 0;
	if (f == NULL)
		return paas_err_set(err, PAAS_EINVAL, "%s", strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len + n <= max)
		paas_buf_add(&b, chunk, n);
	if (ferror(f) || n > 0) {
		int e = errno;

		fclose(f);
		paas_buf_free(&b);
		return paas_err_set(err, PAAS_EINVAL, "%s", n > 0 ? "too large" : strerror(e));
	}
	fclose(f);
	paas_buf_add(&b, "", 0);
	*data = paas_buf_detach(&b, len);
	return 0;
}

int
paas_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

int
paas_output_write(const char *path, const void *data, size_t len, mode_t mode,
    struct paas_err *err)
{
	struct stat st;
	int fd;

	if (strcmp(path, "-") == 0) {
		fflush(stdout);
		if (paas_write_all(STDOUT_FILENO, data, len) < 0)
			return paas_err_set(err, PAAS_EFAILED, "cannot write to standard output: %s",
			    strerror(errno));
		return 0;
	}
	if (lstat(path, &st) < 0 || S_ISREG(st.st_mode))
		return paas_file_replace(path, data, len, mode, err);
	if (S_ISDIR(st.st_mode))
		return paas_err_set(err, PAAS_EINVAL, "%s: is a directory", path);
	/* Written where it leads, as a shell's > would. */
	if ((fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return paas_err_set(err, PAAS_EFAILED, "cannot write %s: %s", path, strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ftruncate(fd, 0) < 0) {
		close(fd);
		return paas_err_set(err, PAAS_EFAILED, "cannot write %s: %s", path, strerror(errno));
	}
	if (paas_write_all(fd, data, len) < 0) {
		paas_err_set(err, PAAS_EFAILED, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) < 0)
		return paas_err_set(err, PAAS_EFAILED, "cannot write %s: %s", path, strerror(errno));
	return 0;
}
