/*
 * Names and numbers from users (the Servicefile, flags, records read from
 * etcd): one place that says what is acceptable, so that every value that
 * reaches an etcd key, a container name, a unit file or an HAProxy
 * configuration has passed the same check.
 */
#ifndef PAAS_VALID_H
#define PAAS_VALID_H

#include <stdint.h>

/* Each returns 1 when s is acceptable, 0 when not. */
int paas_valid_name(const char *s);		/* deployment, service or host: [a-z][a-z0-9-]*, at most 63 */
int paas_valid_domain(const char *s);		/* RFC 1123, lower case */
int paas_valid_env_name(const char *s);		/* [A-Za-z_][A-Za-z0-9_]* */
int paas_valid_label(const char *s);		/* label name or value: letters, digits, . _ - */
int paas_valid_address(const char *s);		/* an IPv4 or IPv6 address, or a host name */
/* A crypt(3) hash: "$id$salt$hash" in crypt's alphabet, or 13 characters
 * of traditional DES crypt. */
int paas_valid_crypt(const char *s);
/* s is not empty and holds only letters, digits and the characters of extra. */
int paas_only_chars(const char *s, const char *extra);

/* "256m", "1g", "1048576" -> bytes (at least 4 MiB); "0.5" -> 500 milli-CPUs.
 * Each returns 0, or -1 when s is not one. */
int paas_parse_memory(const char *s, long long *bytes);
int paas_parse_cpu(const char *s, long long *milli);
/* A decimal integer from lo to hi (a flag's value): 0, or -1 when s is not one. */
int paas_parse_int(const char *s, int lo, int hi, int *out);
/* A Unix time, or an age (30s, 10m, 2h, 1d) before now, as a Unix time;
 * -1 when neither. */
int64_t paas_parse_since(const char *s);

#endif
