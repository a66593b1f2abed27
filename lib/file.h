/*
 * Files and directories: a path joined, directories made, a file replaced
 * atomically, a command's output file written.
 */
#ifndef PAAS_FILE_H
#define PAAS_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* dir/name (caller frees). */
char *paas_path_join(const char *dir, const char *name);

/* path and its parents made (the parents 0755, path itself mode); one
 * that exists already is fine. */
int paas_mkdir_p(const char *path, mode_t mode, struct paas_err *err);

/* The whole of path, at most max bytes, into *data (NUL-terminated,
 * caller frees) and *len: -1 with err (strerror's words) when it cannot be
 * read or is larger. */
int paas_read_file(const char *path, size_t max, char **data, size_t *len,
    struct paas_err *err);
/* All len bytes to fd, through EINTR: 0, or -1 with errno. */
int paas_write_all(int fd, const void *data, size_t len);
/* Flush the directory holding path, so that a rename into it is on disk. */
int paas_fsync_dir(const char *path);

/*
 * Replace path with data atomically: written to a temporary file beside it
 * with mode, flushed to disk, renamed over path, the directory flushed.
 * A reader sees the old file or the new one, never a part.
 */
int paas_file_replace(const char *path, const void *data, size_t len,
    mode_t mode, struct paas_err *err);

/*
 * A command's output file: "-" is standard output; a path that does not
 * exist or is a regular file is replaced atomically (paas_file_replace);
 * anything else that exists (a symbolic link, a device such as
 * /dev/stdout, a FIFO) is opened and written in place, never renamed over;
 * a directory is refused.
 */
int paas_output_write(const char *path, const void *data, size_t len, mode_t mode,
    struct paas_err *err);

#endif
