#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "backup.h"
#include "buf.h"
#include "clock.h"
#include "etcd.h"
#include "file.h"
#include "keys.h"
#include "lock.h"
#include "valid.h"

#define FORMAT		1
#define TXN_OPS		100	/* etcd allows 128 operations in a transaction */
#define TXN_BYTES	(1L << 20)	/* keys and values in one: etcd takes 1.5 MiB */
#define ONE_MAX		(1572864L - 4096)	/* one key and value in a request of its
					 * own, under a default etcd's 1.5 MiB
					 * (--max-request-bytes) */
#define UNDO_MS		60000	/* how long a failed restore tries to put keys back */
#define MAX_FILE	(1L << 30)

/* The backup file's text of the keys of l not bound to a lease. */
static void
backup_text(const struct paas_kv_list *l, struct paas_buf *b, size_t *keys)
{
	char when[32], sum[17];
	size_t i;
	json_t *o;
	char *s;

	*keys = 0;
	for (i = 0; i < l->n; i++)
		if (l->kvs[i].lease == 0)
			(*keys)++;
	paas_utc_now(when, sizeof(when));
	o = json_pack("{s:i, s:s, s:I, s:s, s:I}", "paas_backup", FORMAT, "prefix", PAAS_PREFIX,
	    "revision", (json_int_t)l->revision, "time", when, "keys", (json_int_t)*keys);
	s = json_dumps(o, JSON_COMPACT);
	paas_buf_addf(b, "%s\n", s);
	free(s);
	json_decref(o);
	for (i = 0; i < l->n; i++) {
		char *k, *v;

		if (l->kvs[i].lease != 0)
			continue;
		k = paas_base64_encode(l->kvs[i].key, strlen(l->kvs[i].key));
		v = paas_base64_encode(l->kvs[i].value, l->kvs[i].value_len);
		paas_buf_addf(b, "{\"k\":\"%s\",\"v\":\"%s\"}\n", k, v);
		free(k);
		free(v);
	}
	paas_hash_hex(b->data, b->len, sum);
	paas_buf_addf(b, "{\"end\":true,\"keys\":%zu,\"checksum\":\"%s\"}\n", *keys, sum);
}

int
paas_backup(struct paas_etcd *e, const char *path, struct paas_backup_info *info,
    struct paas_err *err)
{
	struct paas_buf b = PAAS_BUF_INIT;
	struct paas_kv_list l;
	size_t i, keys;
	int rc;

	memset(info, 0, sizeof(*info));
	if (paas_etcd_range(e, PAAS_PREFIX, 0, 0, &l, err) < 0)
		return -1;
	/* A record no etcd with the default request limit takes back: the
	 * backup could never be restored whole. */
	for (i = 0; i < l.n; i++) {
		size_t len = strlen(l.kvs[i].key) + l.kvs[i].value_len;

		if (l.kvs[i].lease == 0 && len > (size_t)ONE_MAX) {
			paas_err_set(err, PAAS_EFAILED, "key %s holds %zu bytes, over the %ld that "
			    "one etcd request takes with the default limit (1.5 MiB): it could "
			    "not be restored; no backup was written", l.kvs[i].key, len, ONE_MAX);
			paas_kv_list_free(&l);
			return -1;
		}
		if (l.kvs[i].lease != 0)
			info->leased++;
	}
	backup_text(&l, &b, &keys);
	info->keys = keys;
	info->revision = l.revision;
	paas_kv_list_free(&l);
	rc = paas_output_write(path, b.data, b.len, 0600, err);
	paas_buf_free(&b);
	return rc;
}

struct entry {
	char *key, *value;
	size_t klen, vlen;
};

static void
entries_free(struct entry *es, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(es[i].key);
		free(es[i].value);
	}
	free(es);
}

/* Read and check the whole file; nothing is written before this passes. */
static int
load(const char *path, struct entry **out, size_t *nout, int64_t *rev, struct paas_err *err)
{
	struct paas_buf b = PAAS_BUF_INIT;
	struct entry *es = NULL;
	size_t n = 0, lineno = 0, want = 0, hashed = 0;
	char buf[65536], *p, *nl, sum[17];
	int ended = 0;
	FILE *f;
	size_t r;

	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "r")) == NULL)
		return paas_err_set(err, PAAS_EINVAL, "%s: %s", path, strerror(errno));
	while ((r = fread(buf, 1, sizeof(buf), f)) > 0) {
		paas_buf_add(&b, buf, r);
		if (b.len > MAX_FILE) {
			if (f != stdin)
				fclose(f);
			paas_buf_free(&b);
			return paas_err_set(err, PAAS_EINVAL, "%s: larger than 1 GiB; not a backup",
			    path);
		}
	}
	if (f != stdin)
		fclose(f);
	if (b.len == 0) {
		paas_buf_free(&b);
		return paas_err_set(err, PAAS_EINVAL, "%s: empty; not a backup", path);
	}
	for (p = b.data; p < b.data + b.len; p = nl + 1) {
		json_t *o;
		json_error_t je;

		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(b.data + b.len - p))) == NULL) {
			paas_err_set(err, PAAS_EINVAL, "%s: line %zu: cut short (no end of line): "
			    "the file is truncated", path, lineno);
			goto bad;
		}
		if (ended) {
			paas_err_set(err, PAAS_EINVAL, "%s: line %zu: data after the end line", path,
			    lineno);
			goto bad;
		}
		if ((o = json_loadb(p, (size_t)(nl - p), 0, &je)) == NULL || !json_is_object(o)) {
			json_decref(o);
			paas_err_set(err, PAAS_EINVAL, "%s: line %zu: not a backup record: %s", path,
			    lineno, je.text[0] ? je.text : "not an object");
			goto bad;
		}
		if (lineno == 1) {
			const char *prefix = json_string_value(json_object_get(o, "prefix"));

			if (json_integer_value(json_object_get(o, "paas_backup")) != FORMAT ||
			    prefix == NULL || strcmp(prefix, PAAS_PREFIX) != 0) {
				json_decref(o);
				paas_err_set(err, PAAS_EINVAL, "%s: line 1: not a paas backup of %s "
				    "(format %d)", path, PAAS_PREFIX, FORMAT);
				goto bad;
			}
			want = (size_t)json_integer_value(json_object_get(o, "keys"));
			*rev = json_integer_value(json_object_get(o, "revision"));
		} else if (json_is_true(json_object_get(o, "end"))) {
			const char *c = json_string_value(json_object_get(o, "checksum"));

			paas_hash_hex(b.data, hashed, sum);
			if ((size_t)json_integer_value(json_object_get(o, "keys")) != n || n != want) {
				json_decref(o);
				paas_err_set(err, PAAS_EINVAL, "%s: line %zu: %zu keys, but the file says "
				    "%zu", path, lineno, n, want);
				goto bad;
			}
			if (c == NULL || strcmp(c, sum) != 0) {
				paas_err_set(err, PAAS_EINVAL, "%s: checksum mismatch (the file says %.16s, "
				    "its contents give %s): the file is damaged", path, c ? c : "none", sum);
				json_decref(o);
				goto bad;
			}
			ended = 1;
		} else {
			const char *k = json_string_value(json_object_get(o, "k"));
			const char *v = json_string_value(json_object_get(o, "v"));
			struct entry *x;

			es = paas_xrealloc(es, (n + 1) * sizeof(*es));
			x = &es[n];
			memset(x, 0, sizeof(*x));
			if (k == NULL || v == NULL ||
			    (x->key = paas_base64_decode(k, &x->klen)) == NULL ||
			    (x->value = paas_base64_decode(v, &x->vlen)) == NULL ||
			    x->klen <= strlen(PAAS_PREFIX) || memchr(x->key, '\0', x->klen) ||
			    strncmp(x->key, PAAS_PREFIX, strlen(PAAS_PREFIX)) != 0) {
				free(x->key);
				free(x->value);
				json_decref(o);
				paas_err_set(err, PAAS_EINVAL, "%s: line %zu: not a key under %s with a "
				    "value", path, lineno, PAAS_PREFIX);
				goto bad;
			}
			n++;
			if (x->klen + x->vlen > (size_t)ONE_MAX) {
				json_decref(o);
				paas_err_set(err, PAAS_EINVAL, "%s: line %zu: key %s holds %zu bytes, "
				    "over the %ld one etcd request takes (1.5 MiB by default)", path,
				    lineno, x->key, x->klen + x->vlen, ONE_MAX);
				goto bad;
			}
		}
		json_decref(o);
		if (!ended)
			hashed = (size_t)(nl + 1 - b.data);
	}
	if (!ended) {
		paas_err_set(err, PAAS_EINVAL, "%s: no end line after line %zu: the file is truncated",
		    path, lineno);
		goto bad;
	}
	paas_buf_free(&b);
	*out = es;
	*nout = n;
	return 0;
bad:
	paas_buf_free(&b);
	entries_free(es, n);
	return -1;
}

/* The deployment of a key under PAAS_DEPLOYMENTS_PREFIX, added to deps. */
static void
note_deployment(json_t *deps, const char *key)
{
	const char *p = paas_key_tail(key, PAAS_DEPLOYMENTS_PREFIX);
	char name[64];

	if (p && strchr(p, '/') && paas_key_part(p, 0, name, sizeof(name)) == 0 &&
	    paas_valid_name(name))
		json_object_set_new(deps, name, json_true());
}

/* Take the lock of every deployment in deps: a deploy cannot run while
 * its releases are replaced.  One held elsewhere refuses the restore. */
static int
lock_all(const char *endpoints, json_t *deps, struct paas_lock ***locks, size_t *n,
    struct paas_err *err)
{
	char holder[128];
	const char *dep;
	json_t *v;

	snprintf(holder, sizeof(holder), "paas-cluster restore pid %ld", (long)getpid());
	*locks = paas_xmalloc((json_object_size(deps) + 1) * sizeof(**locks));
	*n = 0;
	json_object_foreach(deps, dep, v) {
		if (paas_lock_acquire(endpoints, dep, holder, 15, &(*locks)[*n], err) < 0)
			return paas_err_wrap(err, "restore refused, nothing was written");
		(*n)++;
	}
	return 0;
}

/* One change of a restore: key to value (a put) or to nothing (a delete). */
struct change {
	const char *key;
	const char *value;		/* NULL: delete */
	size_t vlen;
};

/* Write changes [from, to) in transactions of at most TXN_OPS operations
 * and TXN_BYTES bytes (one larger change goes alone); *done is how many
 * went through.  The first transaction refused ends it. */
static int
apply(struct paas_etcd *e, const struct change *c, size_t from, size_t to, size_t *done,
    struct paas_err *err)
{
	struct paas_op ops[TXN_OPS];
	size_t i = from, k, bytes;
	int ok;

	*done = from;
	while (i < to) {
		for (k = 0, bytes = 0; k < TXN_OPS && i + k < to; k++) {
			size_t len = strlen(c[i + k].key) + (c[i + k].value ? c[i + k].vlen : 0);

			if (k > 0 && bytes + len > (size_t)TXN_BYTES)
				break;
			bytes += len;
			ops[k].type = c[i + k].value ? PAAS_OP_PUT : PAAS_OP_DELETE;
			ops[k].key = c[i + k].key;
			ops[k].value = c[i + k].value;
			ops[k].value_len = c[i + k].value ? c[i + k].vlen : 0;
			ops[k].lease = 0;
		}
		if (paas_etcd_txn(e, NULL, 0, ops, k, NULL, 0, &ok, NULL, err) < 0)
			return -1;
		i += k;
		*done = i;
	}
	return 0;
}

/* The changes that make the prefix's unleased keys (have) those of the
 * backup (es): puts of what differs or is missing, deletes of the rest.
 * undo gets, for each, the key as it was. */
static size_t
plan(const struct paas_kv_list *have, const struct entry *es, size_t n, struct change **out,
    struct change **undo)
{
	json_t *was = json_object(), *now = json_object(), *v;
	struct change *c = paas_xmalloc((have->n + n + 1) * sizeof(*c));
	struct change *u = paas_xmalloc((have->n + n + 1) * sizeof(*u));
	size_t i, m = 0;

	/* Keys as bytes (the n and _nocheck calls): a key need not be UTF-8. */
	for (i = 0; i < have->n; i++)
		if (have->kvs[i].lease == 0)
			json_object_setn_new_nocheck(was, have->kvs[i].key, strlen(have->kvs[i].key),
			    json_integer((json_int_t)i));
	for (i = 0; i < n; i++)		/* a key given twice: the last one */
		json_object_setn_new_nocheck(now, es[i].key, es[i].klen, json_integer((json_int_t)i));
	for (i = 0; i < n; i++) {
		const struct paas_kv *kv;

		if ((size_t)json_integer_value(json_object_getn(now, es[i].key, es[i].klen)) != i)
			continue;
		v = json_object_getn(was, es[i].key, es[i].klen);
		kv = v ? &have->kvs[json_integer_value(v)] : NULL;
		if (kv && kv->value_len == es[i].vlen && memcmp(kv->value, es[i].value,
		    es[i].vlen) == 0)
			continue;
		c[m] = (struct change){ es[i].key, es[i].value, es[i].vlen };
		u[m] = kv ? (struct change){ kv->key, kv->value, kv->value_len } :
		    (struct change){ es[i].key, NULL, 0 };
		m++;
	}
	for (i = 0; i < have->n; i++)
		if (have->kvs[i].lease == 0 &&
		    json_object_getn(now, have->kvs[i].key, strlen(have->kvs[i].key)) == NULL) {
			c[m] = (struct change){ have->kvs[i].key, NULL, 0 };
			u[m] = (struct change){ have->kvs[i].key, have->kvs[i].value,
			    have->kvs[i].value_len };
			m++;
		}
	json_decref(was);
	json_decref(now);
	*out = c;
	*undo = u;
	return m;
}

/* Put back the keys the first n changes touched, as they were, trying
 * again while etcd does not answer (stopped, restarting) for UNDO_MS.
 * The changes that may have been written are those that went through and
 * the whole transaction that failed (at most TXN_OPS): undoing one that
 * was not written is harmless. */
static int
undo_changes(struct paas_etcd *e, const struct change *u, size_t n, struct paas_err *err)
{
	long long deadline = paas_now_ms() + UNDO_MS;
	size_t done = 0;

	for (;;) {
		paas_err_clear(err);
		if (apply(e, u, done, n, &done, err) == 0)
			return 0;
		if (paas_now_ms() > deadline)
			return -1;
		paas_sleep_ms(300);
	}
}

/* The keys as they were, to a file the operator is told of, when even
 * putting them back failed. */
static char *
save_before(const struct paas_kv_list *have)
{
	struct paas_buf b = PAAS_BUF_INIT;
	struct paas_err err = PAAS_ERR_INIT;
	const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char when[32], *path;
	size_t keys;

	backup_text(have, &b, &keys);
	paas_utc_now(when, sizeof(when));
	path = paas_xmalloc(strlen(dir) + 80);
	sprintf(path, "%s/paas-before-restore-%s-%ld.ndjson", dir, when, (long)getpid());
	if (paas_output_write(path, b.data, b.len, 0600, &err) < 0) {
		free(path);
		path = NULL;
	}
	paas_buf_free(&b);
	paas_err_clear(&err);
	return path;
}

int
paas_restore(struct paas_etcd *e, const char *endpoints, const char *path, int force,
    struct paas_backup_info *info, struct paas_err *err)
{
	struct paas_kv_list have = { 0 };
	struct entry *es = NULL;
	struct change *c = NULL, *u = NULL;
	struct paas_lock **locks = NULL;
	json_t *deps = json_object();
	size_t n = 0, nlocks = 0, i, m, done;
	int rc = -1;

	memset(info, 0, sizeof(*info));
	if (load(path, &es, &n, &info->revision, err) < 0)
		goto out;
	if (paas_etcd_range(e, PAAS_PREFIX, 0, 0, &have, err) < 0)
		goto out;
	if (have.n && !force) {
		paas_err_set(err, PAAS_EFAILED, "etcd already holds %zu keys under %s: restore only "
		    "into an empty cluster, or give --force to replace them (nothing was written)",
		    have.n, PAAS_PREFIX);
		goto out;
	}
	for (i = 0; i < have.n; i++)
		note_deployment(deps, have.kvs[i].key);
	for (i = 0; i < n; i++)
		note_deployment(deps, es[i].key);
	if (lock_all(endpoints, deps, &locks, &nlocks, err) < 0)
		goto out;
	/* Under the locks, what is there now: nothing else writes these keys. */
	paas_kv_list_free(&have);
	if (paas_etcd_range(e, PAAS_PREFIX, 0, 0, &have, err) < 0)
		goto out;
	m = plan(&have, es, n, &c, &u);
	if (apply(e, c, 0, m, &done, err) < 0) {
		struct paas_err why = *err, uerr = PAAS_ERR_INIT;
		/* The transaction that failed may have been applied (etcd killed
		 * after its commit, before its answer): all of it goes back. */
		size_t touched = done + TXN_OPS < m ? done + TXN_OPS : m;
		char *saved;

		/* Never half a restore: the keys go back as they were. */
		if (undo_changes(e, u, touched, &uerr) == 0) {
			paas_err_set(err, why.status, "%s; restore failed after %zu of %zu changes, and "
			    "the keys under %s were put back as they were", why.msg, done, m,
			    PAAS_PREFIX);
		} else {
			saved = save_before(&have);
			paas_err_set(err, why.status, "%s; restore failed after %zu of %zu changes, and "
			    "putting the keys back failed too (%s): the keys as they were are in "
			    "%s; `paas-cluster restore --force` of that file puts them back", why.msg,
			    done, m, uerr.msg, saved ? saved : "no file (it could not be written)");
			free(saved);
		}
		paas_err_clear(&uerr);
		goto out;
	}
	info->keys = n;
	rc = 0;
out:
	for (i = 0; i < nlocks; i++)
		paas_lock_release(locks[i]);
	free(locks);
	free(c);
	free(u);
	json_decref(deps);
	paas_kv_list_free(&have);
	entries_free(es, n);
	return rc;
}
