#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fleet.h"
#include "valid.h"

#define API "/fleet/v1"
#define MAX_PAGES 10000		/* a token that never ends is fleet's bug, not a loop */

struct paas_fleet {
	struct paas_http *http;
	char *endpoint;
};

struct paas_fleet *
paas_fleet_new(const char *endpoint, const struct paas_http_opts *opts, struct paas_err *err)
{
	struct paas_fleet *f;
	struct paas_http *h;

	if (endpoint == NULL || *endpoint == '\0') {
		paas_err_set(err, PAAS_EINVAL, "no fleet endpoint given");
		return NULL;
	}
	if (strchr(endpoint, ',') != NULL) {
		paas_err_set(err, PAAS_EINVAL, "invalid fleet endpoint '%s': one URL", endpoint);
		return NULL;
	}
	if (strncmp(endpoint, "unix:///", 8) != 0 && strncmp(endpoint, "http://", 7) != 0 &&
	    strncmp(endpoint, "ssh://", 6) != 0) {
		paas_err_set(err, PAAS_EINVAL, "invalid fleet endpoint '%s': expected "
		    "unix:///PATH, http://HOST:PORT or ssh://USER@HOST[:PORT][/SOCKET]", endpoint);
		return NULL;
	}
	if (strncmp(endpoint, "ssh://", 6) == 0) {
		/* As fleetctl --tunnel: fleetctl fd-forward to fleetd's socket
		 * there, on an exec channel of the host's session. */
		const char *slash = strchr(endpoint + 6, '/'), *sock = slash ? slash :
		    "/var/run/fleet.sock";
		struct paas_http_opts o = { 0 };
		char cmd[300], *url;

		if (opts)
			o = *opts;
		if (strlen(sock) > 200 || !paas_only_chars(sock, "/._-") || strstr(sock, "..")) {
			paas_err_set(err, PAAS_EINVAL, "invalid fleet endpoint '%.300s': the socket's "
			    "path holds letters, digits and / . _ -", endpoint);
			return NULL;
		}
		snprintf(cmd, sizeof(cmd), "fleetctl fd-forward %s", sock);
		o.ssh_command = cmd;
		url = slash ? paas_xstrndup(endpoint, (size_t)(slash - endpoint)) :
		    paas_xstrdup(endpoint);
		h = paas_http_new("fleet", url, &o, err);
		free(url);
	} else
		h = paas_http_new("fleet", endpoint, opts, err);
	if (h == NULL)
		return NULL;
	f = paas_xmalloc(sizeof(*f));
	f->http = h;
	f->endpoint = paas_xstrdup(endpoint);
	return f;
}

void
paas_fleet_free(struct paas_fleet *f)
{
	if (f == NULL)
		return;
	paas_http_free(f->http);
	free(f->endpoint);
	free(f);
}

const char *
paas_fleet_endpoint(const struct paas_fleet *f)
{
	return f->endpoint;
}

int
paas_fleet_valid_unit(const char *name)
{
	static const char *const suffix[] = { ".service", ".socket", ".timer", ".path",
	    ".mount", ".target" };
	size_t n = name ? strlen(name) : 0, i, sl;
	const char *p;

	if (n == 0 || n > 255)
		return 0;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(":_.@-", *p)))
			return 0;
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		sl = strlen(suffix[i]);
		if (n > sl && strcmp(name + n - sl, suffix[i]) == 0)
			return 1;
	}
	return 0;
}

int
paas_fleet_valid_state(const char *s)
{
	return s && (strcmp(s, "inactive") == 0 || strcmp(s, "loaded") == 0 ||
	    strcmp(s, "launched") == 0);
}

int
paas_fleet_answer_error(const char *endpoint, const char *what, long status,
    const char *body, size_t len, struct paas_err *err)
{
	json_t *o;
	const char *m;
	int st;

	if (status >= 200 && status <= 299)
		return 0;
	o = json_loadb(body ? body : "", len, 0, NULL);
	m = json_string_value(json_object_get(json_object_get(o, "error"), "message"));
	st = status >= 502 && status <= 504 ? PAAS_EUNAVAIL : PAAS_EFAILED;
	if (status == 404)
		paas_err_set(err, st, "fleet at %s: %s: no such unit", endpoint, what);
	else if (status == 409 && m && strstr(m, "options field empty"))
		paas_err_set(err, st, "fleet at %s: %s: no such unit, and no options to create "
		    "it with", endpoint, what);
	else if (m && *m)
		paas_err_set(err, st, "fleet at %s: %s: %s (HTTP %ld)", endpoint, what, m, status);
	else if (o)
		/* fleet's 500 for what it cannot do says nothing more. */
		paas_err_set(err, st, "fleet at %s: %s: failed with HTTP %ld and no message "
		    "(see fleetd's log)", endpoint, what, status);
	else
		paas_err_set(err, st, "fleet at %s: %s: HTTP %ld: %.200s", endpoint, what, status,
		    len ? body : "no answer body");
	json_decref(o);
	return -1;
}

int
paas_fleet_parse_page(const char *endpoint, const char *body, size_t len,
    const char *field, json_t *into, char **next, struct paas_err *err)
{
	json_error_t jerr;
	json_t *o = json_loadb(body ? body : "", len, 0, &jerr), *items, *v;
	const char *tok;
	size_t i;

	*next = NULL;
	if (!json_is_object(o)) {
		json_decref(o);
		return paas_err_set(err, PAAS_EFAILED, "fleet at %s: %s: answer is not a JSON "
		    "object%s%s", endpoint, field, o ? "" : ": ", o ? "" : jerr.text);
	}
	items = json_object_get(o, field);
	/* fleet leaves the field out of an empty list. */
	if (items != NULL && !json_is_array(items)) {
		json_decref(o);
		return paas_err_set(err, PAAS_EFAILED, "fleet at %s: %s: not a list", endpoint,
		    field);
	}
	json_array_foreach(items, i, v) {
		if (!json_is_object(v)) {
			json_decref(o);
			return paas_err_set(err, PAAS_EFAILED, "fleet at %s: %s: item %zu is not "
			    "an object", endpoint, field, i);
		}
		json_array_append(into, v);
	}
	tok = json_string_value(json_object_get(o, "nextPageToken"));
	if (tok && *tok)
		*next = paas_xstrdup(tok);
	json_decref(o);
	return 0;
}

static int
request(struct paas_fleet *f, const char *method, const char *path, const char *body,
    const char *what, struct paas_http_resp *resp, struct paas_err *err)
{
	struct paas_http_req hr = { 0 };

	hr.method = method;
	hr.path = path;
	hr.body = body;
	hr.len = body ? strlen(body) : 0;
	/* Every fleet call is idempotent: a PUT of the same unit and state,
	 * a DELETE of a unit gone (404, taken as done). */
	hr.idempotent = 1;
	if (paas_http_do(f->http, &hr, resp, err) < 0)
		return paas_err_wrap(err, "fleet: %s", what);
	return 0;
}

/* GET a list, page after page. */
static int
list(struct paas_fleet *f, const char *path, const char *field, json_t **out,
    struct paas_err *err)
{
	struct paas_buf p = PAAS_BUF_INIT;
	char *tok = NULL;
	int pages = 0, rc = -1;

	*out = json_array();
	do {
		struct paas_http_resp resp;

		paas_buf_free(&p);
		paas_buf_adds(&p, path);
		if (tok) {
			char *e = paas_http_escape(tok);

			paas_buf_addf(&p, "%snextPageToken=%s", strchr(path, '?') ? "&" : "?", e);
			free(e);
			free(tok);
			tok = NULL;
		}
		if (request(f, "GET", p.data, NULL, field, &resp, err) < 0)
			goto out;
		if (paas_fleet_answer_error(f->endpoint, field, resp.status, resp.body, resp.len,
		    err) < 0 || paas_fleet_parse_page(f->endpoint, resp.body, resp.len, field, *out,
		    &tok, err) < 0) {
			paas_http_resp_free(&resp);
			goto out;
		}
		paas_http_resp_free(&resp);
	} while (tok && ++pages < MAX_PAGES);
	rc = 0;
out:
	free(tok);
	paas_buf_free(&p);
	if (rc < 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

int
paas_fleet_units(struct paas_fleet *f, json_t **out, struct paas_err *err)
{
	return list(f, API "/units", "units", out, err);
}

int
paas_fleet_machines(struct paas_fleet *f, json_t **out, struct paas_err *err)
{
	return list(f, API "/machines", "machines", out, err);
}

int
paas_fleet_states(struct paas_fleet *f, const char *machine, const char *unit,
    json_t **out, struct paas_err *err)
{
	struct paas_buf p = PAAS_BUF_INIT;
	char *e;
	int rc;

	*out = NULL;
	if (unit && !paas_fleet_valid_unit(unit))
		return paas_err_set(err, PAAS_EINVAL, "invalid fleet unit name '%.100s'", unit);
	paas_buf_adds(&p, API "/state");
	if (machine) {
		e = paas_http_escape(machine);
		paas_buf_addf(&p, "?machineID=%s", e);
		free(e);
	}
	if (unit) {
		e = paas_http_escape(unit);
		paas_buf_addf(&p, "%sunitName=%s", machine ? "&" : "?", e);
		free(e);
	}
	rc = list(f, p.data, "states", out, err);
	paas_buf_free(&p);
	return rc;
}

/* A valid unit name needs no escaping in a path (':', '@' are pchars). */
static char *
unit_path(const char *name)
{
	struct paas_buf p = PAAS_BUF_INIT;

	paas_buf_addf(&p, API "/units/%s", name);
	return paas_buf_detach(&p, NULL);
}

int
paas_fleet_unit(struct paas_fleet *f, const char *name, json_t **out, struct paas_err *err)
{
	struct paas_http_resp resp;
	json_error_t jerr;
	char *path, what[300];

	*out = NULL;
	if (!paas_fleet_valid_unit(name))
		return paas_err_set(err, PAAS_EINVAL, "invalid fleet unit name '%.100s'", name);
	snprintf(what, sizeof(what), "unit %s", name);
	path = unit_path(name);
	if (request(f, "GET", path, NULL, what, &resp, err) < 0) {
		free(path);
		return -1;
	}
	free(path);
	if (resp.status == 404) {
		paas_http_resp_free(&resp);
		return 0;
	}
	if (paas_fleet_answer_error(f->endpoint, what, resp.status, resp.body, resp.len, err) < 0) {
		paas_http_resp_free(&resp);
		return -1;
	}
	*out = json_loadb(resp.body, resp.len, 0, &jerr);
	paas_http_resp_free(&resp);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return paas_err_set(err, PAAS_EFAILED, "fleet at %s: %s: answer is not a JSON "
		    "object", f->endpoint, what);
	}
	return 0;
}

/* A value is one line of a unit file, continued lines included (a newline
 * right after a backslash, as systemd and fleet read them). */
static int
one_line(const char *v)
{
	const char *p;

	for (p = strchr(v, '\n'); p; p = strchr(p + 1, '\n'))
		if (p == v || p[-1] != '\\' || p[1] == '\0' || p[1] == '\n')
			return 0;
	return 1;
}

static int
valid_options(const json_t *options, struct paas_err *err)
{
	const json_t *o;
	size_t i;

	if (!json_is_array(options) || json_array_size(options) == 0)
		return paas_err_set(err, PAAS_EINVAL, "a fleet unit needs at least one option");
	json_array_foreach(options, i, o) {
		const char *s = json_string_value(json_object_get(o, "section"));
		const char *n = json_string_value(json_object_get(o, "name"));
		const char *v = json_string_value(json_object_get(o, "value"));

		if (!s || !*s || !n || !*n || !v || !one_line(v) || strpbrk(s, "[]\n") ||
		    strpbrk(n, "=\n "))
			return paas_err_set(err, PAAS_EINVAL, "option %zu: needs a "
			    "section, a name and a one-line value", i);
	}
	return 0;
}

int
paas_fleet_put(struct paas_fleet *f, const char *name, const json_t *options,
    const char *desired, struct paas_err *err)
{
	struct paas_http_resp resp;
	char *path, *body, what[300];
	json_t *b;
	int rc;

	if (!paas_fleet_valid_unit(name))
		return paas_err_set(err, PAAS_EINVAL, "invalid fleet unit name '%.100s'", name);
	/* fleet answers an unknown state with a bare 500. */
	if (!paas_fleet_valid_state(desired))
		return paas_err_set(err, PAAS_EINVAL, "fleet unit %s: desired state '%.40s': "
		    "expected inactive, loaded or launched", name, desired ? desired : "");
	if (options && valid_options(options, err) < 0)
		return paas_err_wrap(err, "fleet unit %s", name);
	snprintf(what, sizeof(what), "%s unit %s", options ? "submit" : desired, name);
	b = json_pack("{s:s}", "desiredState", desired);
	if (options)
		json_object_set_new(b, "options", json_deep_copy(options));
	body = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	path = unit_path(name);
	rc = request(f, "PUT", path, body, what, &resp, err);
	free(path);
	free(body);
	if (rc < 0)
		return -1;
	rc = paas_fleet_answer_error(f->endpoint, what, resp.status, resp.body, resp.len, err);
	paas_http_resp_free(&resp);
	return rc;
}

int
paas_fleet_delete(struct paas_fleet *f, const char *name, int *found, struct paas_err *err)
{
	struct paas_http_resp resp;
	char *path, what[300];
	int rc;

	if (found)
		*found = 0;
	if (!paas_fleet_valid_unit(name))
		return paas_err_set(err, PAAS_EINVAL, "invalid fleet unit name '%.100s'", name);
	snprintf(what, sizeof(what), "destroy unit %s", name);
	path = unit_path(name);
	rc = request(f, "DELETE", path, NULL, what, &resp, err);
	free(path);
	if (rc < 0)
		return -1;
	if (resp.status == 404) {
		paas_http_resp_free(&resp);
		return 0;
	}
	rc = paas_fleet_answer_error(f->endpoint, what, resp.status, resp.body, resp.len, err);
	if (rc == 0 && found)
		*found = 1;
	paas_http_resp_free(&resp);
	return rc;
}
