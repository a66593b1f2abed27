#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "etcd.h"
#include "keys.h"
#include "record.h"
#include "release.h"
#include "valid.h"

#define KEEP_RELEASES	100	/* a deployment's history: its last releases */

/* *out gets the JSON at key, or NULL when there is none. */
static int
get_json(struct paas_etcd *e, const char *key, json_t **out, int64_t *mod,
    struct paas_err *err)
{
	struct paas_kv kv;
	int found;

	*out = NULL;
	if (mod)
		*mod = 0;
	if (paas_etcd_get(e, key, &kv, &found, NULL, err) < 0)
		return -1;
	if (!found)
		return 0;
	if (mod)
		*mod = kv.mod_revision;
	*out = json_loadb(kv.value, kv.value_len, JSON_DECODE_ANY, NULL);
	paas_kv_clear(&kv);
	if (*out == NULL)
		return paas_err_set(err, PAAS_EFAILED, "etcd key %s does not hold JSON", key);
	return 0;
}

int
paas_release_last(struct paas_etcd *e, const char *dep, int64_t *n, struct paas_err *err)
{
	char *prefix = paas_key_release(dep, 0);
	struct paas_kv_list l;
	size_t i;

	*n = 0;
	if (paas_etcd_range(e, prefix, 0, 1, &l, err) < 0) {
		free(prefix);
		return -1;
	}
	for (i = 0; i < l.n; i++)
		if (paas_key_release_num(l.kvs[i].key) > *n)
			*n = paas_key_release_num(l.kvs[i].key);
	paas_kv_list_free(&l);
	free(prefix);
	return 0;
}

int
paas_release_read(struct paas_etcd *e, const char *dep, int64_t n, json_t **rec,
    struct paas_err *err)
{
	char *key = paas_key_release(dep, n);
	int rc = get_json(e, key, rec, NULL, err);

	if (rc == 0 && *rec && paas_record_check(key, *rec, err) < 0) {
		json_decref(*rec);
		*rec = NULL;
		rc = -1;
	}
	free(key);
	return rc;
}

int
paas_release_number(struct paas_etcd *e, const char *dep, int64_t *n, int64_t *mod,
    struct paas_err *err)
{
	char *key = paas_key_current(dep);
	json_t *v = NULL;
	int rc = -1;

	*n = 0;
	if (get_json(e, key, &v, mod, err) < 0)
		goto out;
	rc = 0;
	if (v == NULL)
		goto out;
	*n = json_is_integer(v) ? json_integer_value(v) :
	    json_is_string(v) ? strtoll(json_string_value(v), NULL, 10) : 0;
	json_decref(v);
	if (*n <= 0)
		rc = paas_err_set(err, PAAS_EFAILED, "etcd key %s: damaged release pointer: not a "
		    "release number", key);
out:
	free(key);
	return rc;
}

int
paas_release_current(struct paas_etcd *e, const char *dep, int64_t *n, json_t **rec,
    int64_t *mod, struct paas_err *err)
{
	char *key = paas_key_current(dep);
	int rc = -1;

	*rec = NULL;
	if (paas_release_number(e, dep, n, mod, err) < 0)
		goto out;
	rc = 0;
	if (*n == 0)
		goto out;
	rc = -1;
	if (paas_release_read(e, dep, *n, rec, err) < 0)
		;
	else if (*rec == NULL)
		paas_err_set(err, PAAS_EFAILED, "deployment %s: release %" PRId64 " is current "
		    "(%s) but not recorded", dep, *n, key);
	else
		rc = 0;
out:
	free(key);
	return rc;
}

int
paas_release_set_current(struct paas_etcd *e, const char *dep, int64_t n, const json_t *rec,
    int64_t mod, struct paas_err *err)
{
	char *pkey = paas_key_current(dep), *rkey = NULL, *rval = NULL, *okey = NULL;
	struct paas_cmp cmp = { pkey, PAAS_CMP_MOD, PAAS_CMP_EQUAL, mod, NULL, 0 };
	struct paas_op ops[3];
	char num[32];
	size_t nops = 0;
	int ok = 0, rc = -1;

	snprintf(num, sizeof(num), "%" PRId64, n);
	memset(ops, 0, sizeof(ops));
	if (n > 0) {
		ops[nops].type = PAAS_OP_PUT;
		ops[nops].key = pkey;
		ops[nops].value = num;
		ops[nops++].value_len = strlen(num);
	} else {
		ops[nops].type = PAAS_OP_DELETE;
		ops[nops++].key = pkey;
	}
	if (rec) {
		int64_t rn = json_integer_value(json_object_get(rec, "release"));

		rkey = paas_key_release(dep, rn);
		rval = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
		ops[nops].type = PAAS_OP_PUT;
		ops[nops].key = rkey;
		ops[nops].value = rval;
		ops[nops++].value_len = strlen(rval);
		/* The history is bounded: the release KEEP_RELEASES before goes. */
		if (rn > KEEP_RELEASES) {
			okey = paas_key_release(dep, rn - KEEP_RELEASES);
			ops[nops].type = PAAS_OP_DELETE;
			ops[nops++].key = okey;
		}
	}
	if (paas_etcd_txn(e, &cmp, 1, ops, nops, NULL, 0, &ok, NULL, err) < 0)
		goto out;
	if (!ok) {
		paas_err_set(err, PAAS_EUNAVAIL, "deployment %s changed under us (another writer without "
		    "the lock)", dep);
		goto out;
	}
	rc = 0;
out:
	free(pkey);
	free(rkey);
	free(rval);
	free(okey);
	return rc;
}

static int
cmp_release(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "release"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "release"));

	return (x > y) - (x < y);
}

int
paas_release_history(const char *etcd, const char *deployment, json_t **releases,
    struct paas_err *err)
{
	struct paas_etcd *e = NULL;
	struct paas_kv_list l;
	json_t *currec = NULL, **v = NULL;
	int64_t cur, mod;
	char *prefix = NULL;
	size_t i, n = 0;
	int rc = -1;

	*releases = NULL;
	if (!paas_valid_name(deployment)) {
		paas_err_set(err, PAAS_EINVAL, "invalid deployment name '%.64s'", deployment);
		goto out;
	}
	if ((e = paas_etcd_new(etcd, NULL, err)) == NULL ||
	    paas_release_current(e, deployment, &cur, &currec, &mod, err) < 0)
		goto out;
	prefix = paas_key_release(deployment, 0);
	if (paas_etcd_range(e, prefix, 0, 0, &l, err) < 0)
		goto out;
	v = paas_xmalloc((l.n ? l.n : 1) * sizeof(*v));
	for (i = 0; i < l.n; i++) {
		json_t *x = json_loadb(l.kvs[i].value, l.kvs[i].value_len, 0, NULL);

		if (!json_is_object(x)) {
			json_decref(x);
			continue;
		}
		json_object_del(x, "spec");
		/* Stored, "kind" is the release's; as a record of paas(7), "release". */
		json_object_set(x, "release_kind", json_object_get(x, "kind"));
		json_object_set_new(x, "kind", json_string("release"));
		json_object_set_new(x, "deployment", json_string(deployment));
		json_object_set_new(x, "current", json_boolean(json_integer_value(
		    json_object_get(x, "release")) == cur));
		v[n++] = x;
	}
	paas_kv_list_free(&l);
	/* A name nobody deployed (a typo) is not an empty history. */
	if (n == 0 && cur == 0) {
		paas_release_missing(deployment, err);
		goto out;
	}
	qsort(v, n, sizeof(*v), cmp_release);
	*releases = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(*releases, v[i]);
	rc = 0;
out:
	free(v);
	free(prefix);
	json_decref(currec);
	paas_etcd_free(e);
	return rc;
}

int
paas_release_missing(const char *dep, struct paas_err *err)
{
	return paas_err_set(err, PAAS_EFAILED, "deployment %s has no release: nothing was "
	    "deployed under that name", dep);
}

int
paas_release_require(struct paas_etcd *e, const char *dep, int64_t *n, json_t **rec,
    struct paas_err *err)
{
	int64_t mod;

	if (paas_release_current(e, dep, n, rec, &mod, err) < 0)
		return -1;
	if (*n == 0) {
		json_decref(*rec);
		*rec = NULL;
		return paas_release_missing(dep, err);
	}
	return 0;
}

const json_t *
paas_release_service(const json_t *rec, const char *dep, const char *svc,
    struct paas_err *err)
{
	const json_t *s = json_object_get(json_object_get(json_object_get(rec, "spec"),
	    "services"), svc);

	if (s == NULL)
		paas_err_set(err, PAAS_EINVAL, "deployment %s has no service %.64s", dep, svc);
	return s;
}
