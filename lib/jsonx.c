#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonx.h"

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **
paas_json_keys(const json_t *o, size_t *n)
{
	const char **k, *key;
	json_t *v;
	size_t i = 0;

	*n = json_object_size(o);
	k = paas_xmalloc((*n ? *n : 1) * sizeof(*k));
	json_object_foreach((json_t *)o, key, v)
		k[i++] = key;
	qsort(k, *n, sizeof(*k), cmp_str);
	return k;
}

int
paas_json_has(const json_t *a, const char *s)
{
	size_t i;

	for (i = 0; i < json_array_size(a); i++)
		if (strcmp(json_string_value(json_array_get(a, i)), s) == 0)
			return 1;
	return 0;
}

const char *
paas_json_str(const json_t *o, const char *k, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : dflt;
}

json_t *
paas_json_base64(const void *data, size_t len)
{
	char *s = paas_base64_encode(data, len);
	json_t *j = json_string(s);

	free(s);
	return j;
}

json_t *
paas_json_text(const char *p, size_t len)
{
	json_t *s = json_stringn(p, len);
	char *c;
	size_t i;

	if (s)
		return s;
	c = paas_xmalloc(len + 1);
	for (i = 0; i < len; i++)
		c[i] = (unsigned char)p[i] < 0x80 ? p[i] : '?';
	s = json_stringn(c, len);
	free(c);
	return s ? s : json_string("");
}
