/*
 * etcd's watch: a stream that resumes where it broke.  See etcd.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "etcd-int.h"
#include "etcd.h"
#include "jsonx.h"

struct watch {
	struct paas_etcd *e;
	paas_watch_fn fn;
	void *arg;
	int64_t next_rev;	/* the first revision not yet delivered */
	int64_t compacted;
	int stopped;		/* fn asked to stop */
	int delivered;		/* something arrived on this connection */
	int stale;		/* etcd did not know our token */
	int resume;		/* the stream ended with an error to watch again after */
	struct paas_err err;	/* an error the server sent in the stream */
	int failed;
};

static int
on_watch_line(const char *line, size_t len, void *arg)
{
	struct watch *w = arg;
	json_t *o = json_loadb(line, len, 0, NULL), *r, *evs;
	int64_t maxrev = 0;
	size_t i;
	int rc = 0;

	if (o == NULL)
		return 0;	/* not a message; ignore */
	w->delivered = 1;
	if ((r = json_object_get(o, "result")) == NULL) {
		/* An error in the stream: a member going away ("transport is
		 * closing", "the client connection is closing") is watched
		 * again, elsewhere or later; being refused is not. */
		etcd_gateway_error(w->e, o, 500, &w->err);
		w->failed = strstr(w->err.msg, "permission denied") != NULL ||
		    strstr(w->err.msg, "wants a user") != NULL;
		w->resume = !w->failed;
		w->err.status = w->failed ? PAAS_EFAILED : PAAS_EUNAVAIL;
		rc = 1;
		goto out;
	}
	if (etcd_i64(r, "compact_revision") > 0) {
		w->compacted = etcd_i64(r, "compact_revision");
		paas_err_set(&w->err, PAAS_EFAILED,
		    "etcd watch from revision %" PRId64 ": compacted away (oldest is %" PRId64 ")",
		    w->next_rev, w->compacted);
		w->failed = 1;
		rc = 1;
		goto out;
	}
	if (json_is_true(json_object_get(r, "canceled"))) {
		const char *why = json_string_value(json_object_get(r, "cancel_reason"));

		if (why && (strstr(why, "permission denied") || strstr(why, "user name is empty"))) {
			etcd_auth_error(w->e, 0, why, &w->err);
			w->failed = 1;
			rc = 1;
			goto out;
		}
		/* Canceled without compaction: the member lost its leader, or
		 * forgot our token (then watched again with a new one). */
		w->stale = why && strstr(why, "invalid auth token");
		paas_err_set(&w->err, PAAS_EUNAVAIL, "etcd watch canceled: %s", why ? why : "no reason given");
		w->resume = 1;
		rc = 1;
		goto out;
	}
	evs = json_object_get(r, "events");
	for (i = 0; i < json_array_size(evs); i++) {
		json_t *ev = json_array_get(evs, i);
		struct paas_event pe;
		const char *type = json_string_value(json_object_get(ev, "type"));

		if (etcd_parse_kv(json_object_get(ev, "kv"), &pe.kv, &w->err) < 0) {
			w->failed = 1;
			rc = 1;
			goto out;
		}
		/* After a resume, skip what was already delivered. */
		if (pe.kv.mod_revision < w->next_rev) {
			paas_kv_clear(&pe.kv);
			continue;
		}
		pe.type = (type && strcmp(type, "DELETE") == 0) ? PAAS_EVENT_DELETE : PAAS_EVENT_PUT;
		if (pe.kv.mod_revision > maxrev)
			maxrev = pe.kv.mod_revision;
		if (w->fn(&pe, w->arg) != 0) {
			/* Events of the same revision after this one were not delivered. */
			w->next_rev = pe.kv.mod_revision;
			w->stopped = 1;
			paas_kv_clear(&pe.kv);
			rc = 1;
			goto out;
		}
		paas_kv_clear(&pe.kv);
	}
	if (maxrev)
		w->next_rev = maxrev + 1;
	else if (json_array_size(evs) == 0) {
		/* A created or a progress notice: every event up to the header's
		 * revision has been sent. */
		int64_t hrev = etcd_i64(json_object_get(r, "header"), "revision");

		if (json_is_true(json_object_get(r, "created"))) {
			if (w->next_rev == 0)
				w->next_rev = hrev + 1;
		} else if (w->next_rev != 0 && hrev + 1 > w->next_rev) {
			w->next_rev = hrev + 1;
		}
	}
out:
	json_decref(o);
	return rc;
}

int
paas_etcd_watch(struct paas_etcd *e, const struct paas_watch_opts *opts,
    paas_watch_fn fn, void *arg, struct paas_err *err)
{
	struct watch w;
	long retry_ms = opts->retry_ms > 0 ? opts->retry_ms : 30000, since = paas_now_ms();
	long backoff = 50;
	struct paas_http_req hr = { 0 };
	int rc, restaled = 0;

	memset(&w, 0, sizeof(w));
	w.e = e;
	w.fn = fn;
	w.arg = arg;
	w.next_rev = opts->start_revision;
	hr.method = "POST";
	hr.path = "/v3/watch";
	for (;;) {
		json_t *cr = json_object(), *req;
		char *body, hdr[600], tok[512];

		/* Ask the member to cancel the watch when it loses its leader,
		 * rather than keep a stream that will never see another event. */
		if (etcd_auth_headers(e, "Grpc-Metadata-hasleader: true", hdr, sizeof(hdr), tok,
		    sizeof(tok), err) < 0) {
			json_decref(cr);
			if (err->status != PAAS_EUNAVAIL || paas_now_ms() - since > retry_ms ||
			    (e->cancel && *e->cancel))
				return -1;
			paas_http_next(e->http);
			paas_sleep_ms(backoff);
			if (backoff < 1000)
				backoff *= 2;
			continue;
		}
		hr.header = hdr;
		if (opts->end) {
			json_object_set_new(cr, "key", paas_json_base64(opts->key, strlen(opts->key)));
			json_object_set_new(cr, "range_end", paas_json_base64(opts->end,
			    strlen(opts->end)));
		} else
			etcd_set_range(cr, opts->key, opts->prefix);
		if (w.next_rev)
			json_object_set_new(cr, "start_revision", etcd_i64str(w.next_rev));
		json_object_set_new(cr, "progress_notify", json_true());
		req = json_pack("{s:o}", "create_request", cr);
		body = json_dumps(req, JSON_COMPACT);
		json_decref(req);
		hr.body = body;
		hr.len = strlen(body);
		w.delivered = w.stale = w.resume = 0;
		paas_err_clear(&w.err);
		rc = paas_http_stream(e->http, &hr, on_watch_line, &w, NULL, err);
		free(body);
		if (w.stopped || (rc == 0 && !w.failed && !w.resume))
			return 0;
		if (w.failed) {
			if (opts->compacted)
				*opts->compacted = w.compacted;
			*err = w.err;
			return -1;
		}
		if (e->cancel && *e->cancel)
			return 0;
		if (w.stale) {
			etcd_token_drop(tok);
			if (!restaled++)
				continue;	/* at once the first time, then as any retry */
		}
		if (w.delivered) {
			since = paas_now_ms();
			backoff = 50;
		}
		if (paas_now_ms() - since > retry_ms) {
			if (w.err.status)
				*err = w.err;
			return paas_err_wrap(err, "etcd watch gave up after %ld ms", retry_ms);
		}
		/* Broken stream or member failure: resume on the next endpoint. */
		paas_http_next(e->http);
		paas_sleep_ms(backoff);
		if (backoff < 1000)
			backoff *= 2;
	}
}
