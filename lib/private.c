/*
 * Files that hold a secret.  See private.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "private.h"

int
paas_private_read(const char *what, const char *path, size_t max, char **data, size_t *len,
    struct paas_err *err)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	*data = NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return paas_err_set(err, PAAS_EINVAL, "%s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return paas_err_set(err, PAAS_EINVAL, "%s %s: not a regular file", what, path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return paas_err_set(err, PAAS_EINVAL, "%s %s: open to group or others (mode %04o): "
		    "chmod 600 it", what, path, (unsigned)(st.st_mode & 07777));
	}
	buf = paas_xmalloc(max + 1);
	n = read(fd, buf, max + 1);
	close(fd);
	if (n < 0 || (size_t)n > max) {
		explicit_bzero(buf, max + 1);
		free(buf);
		return paas_err_set(err, PAAS_EINVAL, "%s %s: %s", what, path,
		    n < 0 ? strerror(errno) : "too long");
	}
	buf[n] = '\0';
	*data = buf;
	if (len)
		*len = (size_t)n;
	return 0;
}

int
paas_private_credentials(const char *what, const char *path, char **user, char **password,
    struct paas_err *err)
{
	char *buf, *colon;
	size_t n;

	*user = *password = NULL;
	if (paas_private_read(what, path, 510, &buf, &n, err) < 0)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	if ((colon = strchr(buf, ':')) == NULL || colon == buf || colon[1] == '\0') {
		explicit_bzero(buf, n);
		free(buf);
		return paas_err_set(err, PAAS_EINVAL, "%s %s: expected one line USER:PASSWORD", what,
		    path);
	}
	*colon = '\0';
	*user = paas_xstrdup(buf);
	*password = paas_xstrdup(colon + 1);
	explicit_bzero(buf, n);
	free(buf);
	return 0;
}

void
paas_secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}
