/*
 * The fleet client's reading of fleet's answers, on exchanges recorded with
 * a real fleetd (two machines): lists, paging, error shapes and quirks, the
 * checks made before anything is sent.  The same calls against a running
 * fleetd are in t0800-fleet.sh.
 *
 * The recordings are the project's, tests/fixtures/fleet, made by
 * scripts/fleet-record from a fleetd built from fleet's source
 * ($PAAS_FLEET_FIXTURES reads others); without them this test fails.
 */
#include <stdlib.h>

#include "buf.h"
#include "fleet.h"
#include "tap.h"

#define EP "unix:///run/fleet.sock"

static char dir[4096];

/* The status and body of a recorded answer; NULL when it cannot be read. */
static char *
answer(const char *name, long *status, size_t *len)
{
	struct paas_buf b = PAAS_BUF_INIT;
	char path[4200], chunk[4096], *h, *body, *out;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		paas_buf_add(&b, chunk, n);
	fclose(f);
	if (b.data == NULL || (h = strstr(b.data, "\nHTTP/1.1 ")) == NULL) {
		paas_buf_free(&b);
		return NULL;
	}
	*status = strtol(h + 10, NULL, 10);
	body = strstr(h + 1, "\n\n");
	body = body ? body + 2 : b.data + b.len;
	*len = strlen(body);
	out = paas_xstrdup(body);
	paas_buf_free(&b);
	return out;
}

/* The paged list in a recorded answer, as the client reads it. */
static json_t *
page(const char *name, const char *field, char **next, struct paas_err *err)
{
	long st = 0;
	size_t len = 0;
	char *body = answer(name, &st, &len);
	json_t *into = json_array();

	*next = NULL;
	if (body == NULL || st != 200 ||
	    paas_fleet_parse_page(EP, body, len, field, into, next, err) < 0) {
		free(body);
		json_decref(into);
		return NULL;
	}
	free(body);
	return into;
}

static const char *
str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The message the client makes of a recorded answer ("" for none). */
static void
error_of(const char *name, const char *what, struct paas_err *err, long *status)
{
	size_t len = 0;
	char *body = answer(name, status, &len);

	paas_err_clear(err);
	if (body)
		paas_fleet_answer_error(EP, what, *status, body, len, err);
	free(body);
}

int
main(void)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_fleet *f;
	json_t *l, *o, *opts;
	char *next = NULL;
	const char *e = getenv("PAAS_FLEET_FIXTURES"), *src = getenv("SRCDIR"), *body;
	long st = 0;
	size_t i, n;

	if (e)
		snprintf(dir, sizeof(dir), "%s", e);
	else
		snprintf(dir, sizeof(dir), "%s/tests/fixtures/fleet", src ? src : ".");
	{
		size_t len;
		char *probe = answer("01-get-machines.http", &st, &len);

		if (probe == NULL) {
			printf("Bail out! no recorded fleet exchanges in %s (set PAAS_FLEET_FIXTURES)\n",
			    dir);
			return 1;
		}
		free(probe);
	}

	l = page("01-get-machines.http", "machines", &next, &err);
	ok(l && json_array_size(l) == 2 && next == NULL, "machines: two, no next page");
	o = json_array_get(l, 0);
	is_str(str(o, "id"), "00000000000000000000000000000001", "machine id");
	is_str(str(json_object_get(o, "metadata"), "host"), "fleet1", "machine metadata");
	ok(str(o, "primaryIP") && strspn(str(o, "primaryIP"), "0123456789.") ==
	    strlen(str(o, "primaryIP")) && strchr(str(o, "primaryIP"), '.') != NULL,
	    "machine address: %s", str(o, "primaryIP") ? str(o, "primaryIP") : "none");
	json_decref(l);

	l = page("02-get-units.http", "units", &next, &err);
	ok(l && json_array_size(l) >= 1, "units listed");
	o = json_array_get(l, 0);
	is_str(str(o, "name"), "hello@1.service", "unit name");
	is_str(str(o, "currentState"), "launched", "unit current state");
	ok(json_is_array(json_object_get(o, "options")) &&
	    str(json_array_get(json_object_get(o, "options"), 0), "section") != NULL,
	    "unit options: section, name, value");
	json_decref(l);

	l = page("20-get-units-mixed.http", "units", &next, &err);
	n = 0;
	json_array_foreach(l, i, o)
		if (json_object_get(o, "machineID") == NULL)
			n++;
	ok(l && json_array_size(l) >= 4 && n >= 2,
	    "units not scheduled (global, unplaceable, conflicting) have no machineID");
	json_decref(l);

	l = page("11-get-state-filtered.http", "states", &next, &err);
	ok(l && json_array_size(l) == 1, "state filtered to one unit");
	is_str(str(json_array_get(l, 0), "systemdActiveState"), "active", "systemd active state");
	json_decref(l);

	l = page("22-get-machines-after-loss.http", "machines", &next, &err);
	ok(l && json_array_size(l) == 1, "after a machine stopped: one machine left");
	json_decref(l);

	/* Paging and damaged answers. */
	l = json_array();
	body = "{\"units\":[{\"name\":\"a.service\"}],\"nextPageToken\":\"t1\"}";
	ok(paas_fleet_parse_page(EP, body, strlen(body), "units", l, &next, &err) == 0 && next && strcmp(next, "t1") == 0 &&
	    json_array_size(l) == 1, "a page with a next token");
	free(next);
	ok(paas_fleet_parse_page(EP, "{}", 2, "units", l, &next, &err) == 0 && next == NULL &&
	    json_array_size(l) == 1, "an empty list: fleet leaves the field out");
	ok(paas_fleet_parse_page(EP, "<html>", 6, "units", l, &next, &err) < 0 &&
	    err.status == PAAS_EFAILED && strstr(err.msg, "not a JSON object"),
	    "an answer that is not JSON: %s", err.msg);
	paas_err_clear(&err);
	ok(paas_fleet_parse_page(EP, "{\"units\":{}}", 12, "units", l, &next, &err) < 0 &&
	    strstr(err.msg, "not a list"), "a list that is not one: %s", err.msg);
	paas_err_clear(&err);
	ok(paas_fleet_parse_page(EP, "{\"units\":[1]}", 13, "units", l, &next, &err) < 0 &&
	    strstr(err.msg, "item 0"), "an item that is not an object: %s", err.msg);
	json_decref(l);

	/* fleet's error shapes, as recorded. */
	error_of("05-get-unit-missing.http", "unit nope.service", &err, &st);
	ok(st == 404 && strcmp(err.msg, "fleet at " EP ": unit nope.service: no such unit") == 0,
	    "404: %s", err.msg);
	error_of("06-put-unit-no-options.http", "launched unit empty.service", &err, &st);
	ok(st == 409 && strstr(err.msg, "no such unit, and no options to create it with") &&
	    err.status == PAAS_EFAILED, "409 for a new unit without options: %s", err.msg);
	error_of("07-put-unit-bad-state.http", "running unit bad.service", &err, &st);
	ok(st == 500 && strstr(err.msg, "failed with HTTP 500 and no message"),
	    "500 with an empty message: %s", err.msg);
	error_of("08-put-unit-create.http", "submit unit web@2.service", &err, &st);
	ok(st == 201 && err.msg[0] == '\0', "201 is no error");
	error_of("09-put-unit-desired-state.http", "inactive unit web@2.service", &err, &st);
	ok(st == 204 && err.msg[0] == '\0', "204 is no error");
	error_of("13-delete-unit-missing.http", "destroy unit web@2.service", &err, &st);
	ok(st == 404 && strstr(err.msg, "no such unit"), "404 on delete: %s", err.msg);
	paas_err_clear(&err);
	ok(paas_fleet_answer_error(EP, "units", 503, "busy", 4, &err) < 0 &&
	    err.status == PAAS_EUNAVAIL && strstr(err.msg, "HTTP 503: busy"),
	    "503 with a text body: unavailable: %s", err.msg);

	/* Names and states. */
	ok(paas_fleet_valid_unit("web@1.service") && paas_fleet_valid_unit("shop-web@.service") &&
	    paas_fleet_valid_unit("a:b_c.d-e.socket"), "unit names fleet takes");
	ok(!paas_fleet_valid_unit("web") && !paas_fleet_valid_unit("a b.service") &&
	    !paas_fleet_valid_unit("../x.service") && !paas_fleet_valid_unit("x/y.service") &&
	    !paas_fleet_valid_unit("x.service\n") && !paas_fleet_valid_unit("") &&
	    !paas_fleet_valid_unit(NULL), "names refused: no suffix, space, slash, newline, empty");
	ok(paas_fleet_valid_state("launched") && paas_fleet_valid_state("loaded") &&
	    paas_fleet_valid_state("inactive") && !paas_fleet_valid_state("running") &&
	    !paas_fleet_valid_state(NULL), "desired states");

	/* Refused before anything is sent: nothing listens on this socket. */
	f = paas_fleet_new("unix:///nonexistent/fleet.sock", NULL, &err);
	ok(f != NULL, "a client");
	opts = json_loads("[{\"section\":\"Service\",\"name\":\"ExecStart\",\"value\":\"/bin/true\"}]",
	    0, NULL);
	paas_err_clear(&err);
	ok(paas_fleet_put(f, "bad.service", opts, "running", &err) < 0 && err.status == PAAS_EINVAL &&
	    strstr(err.msg, "expected inactive, loaded or launched"),
	    "an unknown desired state is refused here, not with fleet's bare 500: %s", err.msg);
	paas_err_clear(&err);
	ok(paas_fleet_put(f, "a b.service", opts, "launched", &err) < 0 && err.status == PAAS_EINVAL,
	    "a bad unit name: %s", err.msg);
	json_decref(opts);
	opts = json_loads("[{\"section\":\"Service\",\"name\":\"ExecStart\",\"value\":\"/bin/true\\n"
	    "ExecStartPre=/bin/evil\"}]", 0, NULL);
	paas_err_clear(&err);
	ok(paas_fleet_put(f, "x.service", opts, "launched", &err) < 0 && err.status == PAAS_EINVAL &&
	    strstr(err.msg, "x.service: option 0") && strstr(err.msg, "one-line value"), "a value that would add a line: %s", err.msg);
	json_decref(opts);
	opts = json_loads("[{\"section\":\"Service\",\"name\":\"ExecStart\",\"value\":\"/bin/true a \\\\\\n\\tb\"}]",
	    0, NULL);
	paas_err_clear(&err);
	ok(opts && paas_fleet_put(f, "x.service", opts, "launched", &err) < 0 &&
	    err.status == PAAS_EUNAVAIL, "a continued line passes the checks (and meets no fleet): %s",
	    err.msg);
	json_decref(opts);
	paas_err_clear(&err);
	ok(paas_fleet_units(f, &l, &err) < 0 && err.status == PAAS_EUNAVAIL && l == NULL,
	    "an unreachable fleet: %s", err.msg);
	paas_fleet_free(f);
	paas_err_clear(&err);
	ok(paas_fleet_new("tcp://1.2.3.4:1", NULL, &err) == NULL && err.status == PAAS_EINVAL,
	    "an endpoint that is neither unix:// nor http://: %s", err.msg);
	return done_testing();
}
