/*
 * Files that hold a secret (credentials, keys): read whole only when
 * nobody but their owner can read them and they are no link, and wiped
 * from memory when done.
 */
#ifndef PAAS_PRIVATE_H
#define PAAS_PRIVATE_H

#include <stddef.h>

#include "err.h"

/* s wiped and freed; NULL is fine. */
void paas_secret_free(char *s);

/* A file that holds a secret, whole (*data NUL-terminated; caller wipes and
 * frees): a regular file, not a symbolic link, of at most max bytes, that
 * nobody but its owner can read; else PAAS_EINVAL naming what and path
 * ("chmod 600 it" when the mode is the trouble). */
int paas_private_read(const char *what, const char *path, size_t max, char **data, size_t *len,
    struct paas_err *err);
/* Such a file's one line USER:PASSWORD (both caller frees). */
int paas_private_credentials(const char *what, const char *path, char **user, char **password,
    struct paas_err *err);

#endif
