/*
 * A YAML document as a tree that remembers where each node came from, built
 * with libyaml's event parser under hard limits (size, scalar length, depth,
 * nodes after alias expansion).  Used by the Servicefile parser.
 */
#ifndef PAAS_YTREE_H
#define PAAS_YTREE_H

#include <stddef.h>

#include "err.h"

enum paas_ytype { PAAS_Y_SCALAR, PAAS_Y_SEQ, PAAS_Y_MAP };

struct paas_ynode {
	enum paas_ytype type;
	int line, col;			/* 1-based */
	char *s;			/* scalar text, NUL-terminated */
	size_t len;
	int plain;			/* an unquoted scalar */
	struct paas_ynode **kids;	/* seq items; map key, value, key, value... */
	size_t n;			/* kids (a map has n / 2 pairs) */
	size_t cap;
	size_t weight;			/* nodes below, aliases expanded */
	struct paas_ynode *next;	/* every node of a document, for freeing */
};

struct paas_ydoc {
	struct paas_ynode *root;	/* NULL for an empty document */
	struct paas_ynode *all;
};

struct paas_ylimits {
	size_t max_size, max_scalar, max_depth, max_nodes;
};

/* Parse one YAML document.  Duplicate keys in a mapping, keys that are not
 * scalars and more than one document are errors.  Messages start with
 * "NAME:LINE:COLUMN: ".  doc is the caller's to free with paas_ydoc_free(). */
int paas_yaml_parse(const char *name, const char *data, size_t len,
    const struct paas_ylimits *lim, struct paas_ydoc *doc, struct paas_err *err);
void paas_ydoc_free(struct paas_ydoc *doc);
/* A new empty mapping, freed with doc, placed where like is (or 1:1). */
struct paas_ynode *paas_ydoc_new_map(struct paas_ydoc *doc, const struct paas_ynode *like);
/* Append the pair k: v to map (nodes of the same document; not copied). */
void paas_ynode_add(struct paas_ynode *map, struct paas_ynode *k, struct paas_ynode *v);

#endif
