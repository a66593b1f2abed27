/*
 * Typed reads of YAML nodes for the Servicefile parser (spec-int.h).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "spec-int.h"
#include "valid.h"

int
spec_at(struct ctx *c, const Y *n, const char *fmt, ...)
{
	char msg[768];
	struct paas_buf safe = PAAS_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line, whatever the input held. */
	paas_buf_add_printable(&safe, msg);
	paas_err_set(c->err, PAAS_EINVAL, "%s:%d:%d: %s", c->file,
	    n ? n->line : 1, n ? n->col : 1, safe.data ? safe.data : "");
	paas_buf_free(&safe);
	return -1;
}

const char *
spec_tname(const Y *n)
{
	if (n->type == PAAS_Y_MAP)
		return "a mapping";
	if (n->type == PAAS_Y_SEQ)
		return "a list";
	return "a string";
}

/* Scalars ---------------------------------------------------------------- */

int
spec_is_null(const Y *n)
{
	return n->type == PAAS_Y_SCALAR && n->plain && (n->len == 0 || strcmp(n->s, "~") == 0 ||
	    strcmp(n->s, "null") == 0 || strcmp(n->s, "Null") == 0 || strcmp(n->s, "NULL") == 0);
}

/* A string value: no newline, carriage return, NUL or other control byte
 * (tab aside) may reach a unit file, a config or a shell. */
int
spec_get_str(struct ctx *c, const Y *n, const char *what, const char **out)
{
	size_t i;

	if (n->type != PAAS_Y_SCALAR)
		return spec_at(c, n, "%s: expected a string, found %s", what, spec_tname(n));
	if (spec_is_null(n))
		return spec_at(c, n, "%s: expected a string, found nothing (write \"\" for an empty one)", what);
	for (i = 0; i < n->len; i++) {
		unsigned char ch = (unsigned char)n->s[i];

		if (ch == '\n')
			return spec_at(c, n, "%s: a newline is not allowed in a value", what);
		if (ch == '\r')
			return spec_at(c, n, "%s: a carriage return is not allowed in a value", what);
		if (ch == '\0')
			return spec_at(c, n, "%s: a NUL byte is not allowed in a value", what);
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return spec_at(c, n, "%s: control character 0x%02x is not allowed in a value", what, ch);
		/* UTF-8's control characters: C1 (U+0080-U+009F, NEL among
		 * them) and the line and paragraph separators U+2028, U+2029,
		 * which some readers take for line ends. */
		if (ch == 0xc2 && i + 1 < n->len && (unsigned char)n->s[i + 1] >= 0x80 &&
		    (unsigned char)n->s[i + 1] <= 0x9f)
			return spec_at(c, n, "%s: control character U+%04X is not allowed in a value",
			    what, (unsigned char)n->s[i + 1]);
		if (ch == 0xe2 && i + 2 < n->len && (unsigned char)n->s[i + 1] == 0x80 &&
		    ((unsigned char)n->s[i + 2] == 0xa8 || (unsigned char)n->s[i + 2] == 0xa9))
			return spec_at(c, n, "%s: U+%04X (a %s separator) is not allowed in a value",
			    what, 0x2000 + (unsigned char)n->s[i + 2] - 0x80,
			    (unsigned char)n->s[i + 2] == 0xa8 ? "line" : "paragraph");
	}
	*out = n->s;
	return 0;
}

int
spec_get_int(struct ctx *c, const Y *n, const char *what, long min, long max, long *out)
{
	char *end;
	long v;

	if (n->type != PAAS_Y_SCALAR || !n->plain || n->len == 0 || n->len > 12 ||
	    !isdigit((unsigned char)n->s[0]))
		goto bad;
	errno = 0;
	v = strtol(n->s, &end, 10);
	if (*end || errno || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	return spec_at(c, n, "%s: expected a whole number from %ld to %ld", what, min, max);
}

int
spec_get_bool(struct ctx *c, const Y *n, const char *what, int *out)
{
	if (n->type == PAAS_Y_SCALAR && n->plain) {
		if (!strcmp(n->s, "true") || !strcmp(n->s, "True") || !strcmp(n->s, "TRUE"))
			return *out = 1, 0;
		if (!strcmp(n->s, "false") || !strcmp(n->s, "False") || !strcmp(n->s, "FALSE"))
			return *out = 0, 0;
	}
	return spec_at(c, n, "%s: expected true or false", what);
}

void
spec_key_lower(const Y *k, char *out)
{
	size_t i;

	for (i = 0; i <= k->len; i++)
		out[i] = (char)tolower((unsigned char)k->s[i]);
}

/* A duration: seconds as a number, or a number with ms, s, m or h. */
int
spec_get_duration(struct ctx *c, const Y *n, const char *what, long *ms)
{
	const char *s;
	char *end;
	long v, mul = 1000;

	if (n->type != PAAS_Y_SCALAR || n->len == 0 || n->len > 16 || !isdigit((unsigned char)n->s[0]))
		goto bad;
	s = n->s;
	v = strtol(s, &end, 10);
	if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		mul = 1000;
	else if (strcmp(end, "m") == 0)
		mul = 60000;
	else if (strcmp(end, "h") == 0)
		mul = 3600000;
	else
		goto bad;
	if (v < 0 || v > 86400000L / mul)
		goto bad;
	*ms = v * mul;
	return 0;
bad:
	return spec_at(c, n, "%s: expected a duration such as 500ms, 5s, 2m or 1h (at most a day)", what);
}

/* ${NAME} in a value is read from the environment at apply time; $${ is a
 * literal "${".  Returns 1 when the value refers to a variable. */
int
spec_scan_vars(struct ctx *c, const Y *n, const char *what, const char *s)
{
	const char *p, *e;
	int found = 0;

	for (p = s; (p = strchr(p, '$')) != NULL; p++) {
		if (p[1] == '$' && p[2] == '{') {
			p += 2;
			continue;
		}
		if (p[1] != '{')
			continue;
		if ((e = strchr(p + 2, '}')) == NULL)
			return spec_at(c, n, "%s: unclosed ${ (write $${ for a literal ${)", what);
		{
			char *name = paas_xstrndup(p + 2, (size_t)(e - p - 2));
			int ok = paas_valid_env_name(name);

			if (!ok) {
				spec_at(c, n, "%s: '${%s}' is not a variable name", what, name);
				free(name);
				return -1;
			}
			free(name);
		}
		found = 1;
		p = e;
	}
	return found;
}

/* Keys ------------------------------------------------------------------- */

size_t
spec_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, d[32][32];

	if (la >= 32 || lb >= 32)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t v = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

int
spec_unknown_key(struct ctx *c, const Y *k, const char *where, const char *const *known)
{
	const char *best = NULL;
	size_t bd = 3, d;

	for (; *known; known++) {
		d = spec_distance(k->s, *known);
		if (d < bd) {
			bd = d;
			best = *known;
		}
	}
	if (best)
		return spec_at(c, k, "unknown key '%.64s' in %s (did you mean '%s'?)", k->s, where, best);
	return spec_at(c, k, "unknown key '%.64s' in %s", k->s, where);
}

int
spec_key_in(const char *k, const char *const *known)
{
	for (; *known; known++)
		if (strcmp(k, *known) == 0)
			return 1;
	return 0;
}

int
spec_need_map(struct ctx *c, const Y *n, const char *what)
{
	if (n->type != PAAS_Y_MAP)
		return spec_at(c, n, "%s: expected a mapping, found %s", what, spec_tname(n));
	return 0;
}

static int
cmp_json_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* Sort an array of strings in place, so that order in the file does not
 * change the spec. */
void
spec_sort_strings(json_t *a)
{
	size_t i, n = json_array_size(a);
	json_t **v = paas_xmalloc((n ? n : 1) * sizeof(*v));

	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(a, i));
	qsort(v, n, sizeof(*v), cmp_json_str);
	for (i = 0; i < n; i++)
		json_array_set_new(a, i, v[i]);
	free(v);
}

