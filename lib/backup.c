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
#define MAX_FILE	(1L << 30)

int
paas_backup(struct paas_etcd *e, const char *path, struct paas_backup_info *info,
    struct paas_err *err)
{
	struct paas_buf b = PAAS_BUF_INIT;
	struct paas_kv_list l;
	char when[32], sum[17];
	size_t i, keys = 0;
	json_t *o;
	char *s;
	int rc;

	memset(info, 0, sizeof(*info));
	if (paas_etcd_range(e, PAAS_PREFIX, 0, 0, &l, err) < 0)
		return -1;
	for (i = 0; i < l.n; i++)
		if (l.kvs[i].lease == 0)
			keys++;
	paas_utc_now(when, sizeof(when));
	o = json_pack("{s:i, s:s, s:I, s:s, s:I}", "paas_backup", FORMAT, "prefix", PAAS_PREFIX,
	    "revision", (json_int_t)l.revision, "time", when, "keys", (json_int_t)keys);
	s = json_dumps(o, JSON_COMPACT);
	paas_buf_addf(&b, "%s\n", s);
	free(s);
	json_decref(o);
	for (i = 0; i < l.n; i++) {
		char *k, *v;

		if (l.kvs[i].lease != 0) {
			info->leased++;
			continue;
		}
		k = paas_base64_encode(l.kvs[i].key, strlen(l.kvs[i].key));
		v = paas_base64_encode(l.kvs[i].value, l.kvs[i].value_len);
		paas_buf_addf(&b, "{\"k\":\"%s\",\"v\":\"%s\"}\n", k, v);
		free(k);
		free(v);
	}
	paas_hash_hex(b.data, b.len, sum);
	paas_buf_addf(&b, "{\"end\":true,\"keys\":%zu,\"checksum\":\"%s\"}\n", keys, sum);
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

int
paas_restore(struct paas_etcd *e, const char *endpoints, const char *path, int force,
    struct paas_backup_info *info, struct paas_err *err)
{
	struct paas_kv_list have;
	struct entry *es = NULL;
	struct paas_op ops[TXN_OPS];
	struct paas_lock **locks = NULL;
	json_t *deps = json_object();
	size_t n = 0, nlocks = 0, i, k;
	int ok, rc = -1;

	memset(info, 0, sizeof(*info));
	if (load(path, &es, &n, &info->revision, err) < 0)
		goto out;
	if (paas_etcd_range(e, PAAS_PREFIX, 0, 1, &have, err) < 0)
		goto out;
	if (have.n && !force) {
		paas_err_set(err, PAAS_EFAILED, "etcd already holds %zu keys under %s: restore only "
		    "into an empty cluster, or give --force to replace them (nothing was written)",
		    have.n, PAAS_PREFIX);
		paas_kv_list_free(&have);
		goto out;
	}
	for (i = 0; i < have.n; i++)
		note_deployment(deps, have.kvs[i].key);
	for (i = 0; i < n; i++)
		note_deployment(deps, es[i].key);
	if (lock_all(endpoints, deps, &locks, &nlocks, err) < 0) {
		paas_kv_list_free(&have);
		goto out;
	}
	/* Forced: what is not leased and not in the backup goes first. */
	for (i = 0, k = 0; i < have.n; i++) {
		if (have.kvs[i].lease != 0)
			continue;
		ops[k].type = PAAS_OP_DELETE;
		ops[k].key = have.kvs[i].key;
		ops[k].value = NULL;
		ops[k].value_len = 0;
		ops[k].lease = 0;
		if (++k == TXN_OPS) {
			if (paas_etcd_txn(e, NULL, 0, ops, k, NULL, 0, &ok, NULL, err) < 0) {
				paas_kv_list_free(&have);
				goto out;
			}
			k = 0;
		}
	}
	if (k && paas_etcd_txn(e, NULL, 0, ops, k, NULL, 0, &ok, NULL, err) < 0) {
		paas_kv_list_free(&have);
		goto out;
	}
	paas_kv_list_free(&have);
	for (i = 0; i < n; i += k) {
		for (k = 0; k < TXN_OPS && i + k < n; k++) {
			ops[k].type = PAAS_OP_PUT;
			ops[k].key = es[i + k].key;
			ops[k].value = es[i + k].value;
			ops[k].value_len = es[i + k].vlen;
			ops[k].lease = 0;
		}
		if (paas_etcd_txn(e, NULL, 0, ops, k, NULL, 0, &ok, NULL, err) < 0) {
			paas_err_wrap(err, "restored %zu of %zu keys", i, n);
			goto out;
		}
		info->keys += k;
	}
	rc = 0;
out:
	for (i = 0; i < nlocks; i++)
		paas_lock_release(locks[i]);
	free(locks);
	json_decref(deps);
	entries_free(es, n);
	return rc;
}
