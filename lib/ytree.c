#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "buf.h"
#include "ytree.h"

struct anchor {
	char *name;
	struct paas_ynode *node;
};

struct ybuild {
	const char *name;
	const struct paas_ylimits *lim;
	struct paas_ydoc *doc;
	struct paas_ynode **stack;
	size_t depth;
	struct anchor *anchors;
	size_t nanchors;
	size_t total;		/* nodes so far, aliases expanded */
	struct paas_err *err;
};

static struct paas_ynode *
new_node(struct ybuild *b, enum paas_ytype t, const yaml_mark_t *m)
{
	struct paas_ynode *n = calloc(1, sizeof(*n));

	if (n == NULL)
		abort();
	n->type = t;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	n->weight = 1;
	n->next = b->doc->all;
	b->doc->all = n;
	return n;
}

static int
fail_at(struct ybuild *b, int line, int col, const char *msg, const char *arg)
{
	struct paas_buf safe = PAAS_BUF_INIT;

	/* One line, whatever the input held. */
	paas_buf_add_printable(&safe, msg);
	if (arg)
		paas_buf_add_printable(&safe, arg);
	paas_err_set(b->err, PAAS_EINVAL, "%s:%d:%d: %s", b->name, line, col, safe.data);
	paas_buf_free(&safe);
	return -1;
}

static int
cmp_keys(const void *a, const void *b)
{
	const struct paas_ynode *x = *(struct paas_ynode *const *)a;
	const struct paas_ynode *y = *(struct paas_ynode *const *)b;
	int c;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if ((c = memcmp(x->s, y->s, x->len)) != 0)
		return c;
	return x->line != y->line ? (x->line < y->line ? -1 : 1) : (x->col < y->col ? -1 : 1);
}

/* Duplicate keys, found by sorting: n log n even for a hostile mapping. */
static int
check_dups(struct ybuild *b, struct paas_ynode *map)
{
	size_t i, n = map->n / 2;
	struct paas_ynode **keys;
	int rc = 0;

	if (n < 2)
		return 0;
	keys = paas_xmalloc(n * sizeof(*keys));
	for (i = 0; i < n; i++)
		keys[i] = map->kids[2 * i];
	qsort(keys, n, sizeof(*keys), cmp_keys);
	for (i = 1; i < n; i++) {
		if (keys[i]->len == keys[i - 1]->len &&
		    memcmp(keys[i]->s, keys[i - 1]->s, keys[i]->len) == 0) {
			struct paas_buf m = PAAS_BUF_INIT;

			paas_buf_addf(&m, "duplicate key '%.*s' (first at line %d)",
			    keys[i]->len > 80 ? 80 : (int)keys[i]->len, keys[i]->s, keys[i - 1]->line);
			rc = fail_at(b, keys[i]->line, keys[i]->col, m.data, NULL);
			paas_buf_free(&m);
			break;
		}
	}
	free(keys);
	return rc;
}

static int
add_kid(struct ybuild *b, struct paas_ynode *parent, struct paas_ynode *kid)
{
	if (parent->type == PAAS_Y_MAP && parent->n % 2 == 0 && kid->type != PAAS_Y_SCALAR)
		return fail_at(b, kid->line, kid->col, "a key must be a plain string", NULL);
	/* A "\0" escape would cut the key short in every C string after this,
	 * and make two different keys look the same. */
	if (parent->type == PAAS_Y_MAP && parent->n % 2 == 0 && memchr(kid->s, '\0', kid->len))
		return fail_at(b, kid->line, kid->col, "a key may not hold a NUL (\\0)", NULL);
	if (parent->n == parent->cap) {
		parent->cap = parent->cap ? parent->cap * 2 : 8;
		parent->kids = paas_xrealloc(parent->kids, parent->cap * sizeof(*parent->kids));
	}
	parent->kids[parent->n++] = kid;
	parent->weight += kid->weight;
	return 0;
}

/* Attach a finished node to the open collection, or make it the root. */
static int
place(struct ybuild *b, struct paas_ynode *n)
{
	if (b->depth == 0) {
		b->doc->root = n;
		return 0;
	}
	return add_kid(b, b->stack[b->depth - 1], n);
}

static int
remember(struct ybuild *b, const yaml_char_t *anchor, struct paas_ynode *n)
{
	if (anchor == NULL)
		return 0;
	b->anchors = paas_xrealloc(b->anchors, (b->nanchors + 1) * sizeof(*b->anchors));
	b->anchors[b->nanchors].name = paas_xstrdup((const char *)anchor);
	b->anchors[b->nanchors].node = n;
	b->nanchors++;
	return 0;
}

static int
on_event(struct ybuild *b, yaml_event_t *ev)
{
	struct paas_ynode *n;
	size_t i;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->doc->root != NULL)
			return fail_at(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
			    "only one YAML document is allowed", NULL);
		return 0;
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.length > b->lim->max_scalar) {
			char lim[64];

			snprintf(lim, sizeof(lim), "%zu", b->lim->max_scalar);
			return fail_at(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
			    "string longer than the limit of bytes: ", lim);
		}
		n = new_node(b, PAAS_Y_SCALAR, &ev->start_mark);
		n->s = paas_xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		n->len = ev->data.scalar.length;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		if (++b->total > b->lim->max_nodes)
			return fail_at(b, n->line, n->col, "too many nodes", NULL);
		remember(b, ev->data.scalar.anchor, n);
		return place(b, n);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		n = new_node(b, ev->type == YAML_MAPPING_START_EVENT ? PAAS_Y_MAP : PAAS_Y_SEQ,
		    &ev->start_mark);
		if (b->depth >= b->lim->max_depth) {
			char lim[64];

			snprintf(lim, sizeof(lim), "%zu", b->lim->max_depth);
			return fail_at(b, n->line, n->col, "nested deeper than the limit of ", lim);
		}
		if (++b->total > b->lim->max_nodes)
			return fail_at(b, n->line, n->col, "too many nodes", NULL);
		remember(b, ev->type == YAML_MAPPING_START_EVENT ? ev->data.mapping_start.anchor :
		    ev->data.sequence_start.anchor, n);
		b->stack = paas_xrealloc(b->stack, (b->depth + 1) * sizeof(*b->stack));
		b->stack[b->depth++] = n;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		n = b->stack[--b->depth];
		if (n->type == PAAS_Y_MAP && check_dups(b, n) < 0)
			return -1;
		return place(b, n);
	case YAML_ALIAS_EVENT:
		for (i = b->nanchors; i > 0; i--)
			if (strcmp(b->anchors[i - 1].name, (const char *)ev->data.alias.anchor) == 0)
				break;
		if (i == 0)
			return fail_at(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
			    "unknown alias *", (const char *)ev->data.alias.anchor);
		n = b->anchors[i - 1].node;
		/* An alias of a collection still open would make a cycle. */
		if (n->type != PAAS_Y_SCALAR) {
			size_t k;

			for (k = 0; k < b->depth; k++)
				if (b->stack[k] == n)
					return fail_at(b, (int)ev->start_mark.line + 1,
					    (int)ev->start_mark.column + 1, "recursive alias *",
					    (const char *)ev->data.alias.anchor);
		}
		b->total += n->weight;
		if (b->total > b->lim->max_nodes) {
			char lim[64];

			snprintf(lim, sizeof(lim), "%zu", b->lim->max_nodes);
			return fail_at(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
			    "aliases expand to more nodes than the limit of ", lim);
		}
		return place(b, n);
	default:
		return 0;
	}
}

/* Line and column of a byte offset, for the size limit's message. */
static void
position(const char *data, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		if (data[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

int
paas_yaml_parse(const char *name, const char *data, size_t len,
    const struct paas_ylimits *lim, struct paas_ydoc *doc, struct paas_err *err)
{
	struct ybuild b;
	yaml_parser_t p;
	yaml_event_t ev;
	size_t i;
	int rc = -1, done = 0;

	memset(doc, 0, sizeof(*doc));
	memset(&b, 0, sizeof(b));
	b.name = name;
	b.lim = lim;
	b.doc = doc;
	b.err = err;
	if (len > lim->max_size) {
		int line, col;

		position(data, lim->max_size, &line, &col);
		return paas_err_set(err, PAAS_EINVAL,
		    "%s:%d:%d: document larger than the limit of %zu bytes", name, line, col,
		    lim->max_size);
	}
	if (memchr(data, '\0', len) != NULL) {
		int line, col;

		position(data, (size_t)((const char *)memchr(data, '\0', len) - data), &line, &col);
		return paas_err_set(err, PAAS_EINVAL, "%s:%d:%d: NUL byte in the file", name, line, col);
	}
	if (!yaml_parser_initialize(&p))
		abort();
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			paas_err_set(err, PAAS_EINVAL, "%s:%zu:%zu: invalid YAML: %s%s%s", name,
			    p.problem_mark.line + 1, p.problem_mark.column + 1,
			    p.problem ? p.problem : "syntax error",
			    p.context ? " " : "", p.context ? p.context : "");
			goto out;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		if (on_event(&b, &ev) < 0) {
			yaml_event_delete(&ev);
			goto out;
		}
		yaml_event_delete(&ev);
	}
	rc = 0;
out:
	yaml_parser_delete(&p);
	for (i = 0; i < b.nanchors; i++)
		free(b.anchors[i].name);
	free(b.anchors);
	free(b.stack);
	if (rc < 0)
		paas_ydoc_free(doc);
	return rc;
}

void
paas_ydoc_free(struct paas_ydoc *doc)
{
	struct paas_ynode *n, *next;

	for (n = doc->all; n; n = next) {
		next = n->next;
		free(n->s);
		free(n->kids);
		free(n);
	}
	memset(doc, 0, sizeof(*doc));
}

struct paas_ynode *
paas_ydoc_new_map(struct paas_ydoc *doc, const struct paas_ynode *like)
{
	struct paas_ynode *n = calloc(1, sizeof(*n));

	if (n == NULL)
		abort();
	n->type = PAAS_Y_MAP;
	n->line = like ? like->line : 1;
	n->col = like ? like->col : 1;
	n->weight = 1;
	n->next = doc->all;
	doc->all = n;
	return n;
}

void
paas_ynode_add(struct paas_ynode *map, struct paas_ynode *k, struct paas_ynode *v)
{
	if (map->n + 2 > map->cap) {
		map->cap = map->cap ? 2 * map->cap : 8;
		map->kids = realloc(map->kids, map->cap * sizeof(*map->kids));
		if (map->kids == NULL)
			abort();
	}
	map->kids[map->n++] = k;
	map->kids[map->n++] = v;
	map->weight += k->weight + v->weight;
}
