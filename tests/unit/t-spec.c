/*
 * The Servicefile model and the unit escaping, without servers.
 *
 * The round trip parses rendered lines the way systemd does (systemd.unit(5),
 * systemd.service(5), systemd.exec(5)): specifiers are expanded first (%% ->
 * %), then the line is split into words with quotes removed and C escapes
 * undone; in Exec lines $$ is a literal $ and $NAME / ${NAME} are variables.
 */
#include <stdlib.h>
#include <time.h>

#include "paas.h"
#include "spec.h"
#include "valid.h"
#include "tap.h"
#include "unit.h"

/* Specifier expansion of a whole line: %% -> %, %i -> 1, %H -> host. */
static char *
sd_specifiers(const char *s)
{
	struct paas_buf b = PAAS_BUF_INIT;

	for (; *s; s++) {
		if (*s != '%') {
			paas_buf_add(&b, s, 1);
			continue;
		}
		s++;
		if (*s == '%')
			paas_buf_adds(&b, "%");
		else if (*s == 'i')
			paas_buf_adds(&b, "1");
		else if (*s == 'H')
			paas_buf_adds(&b, "host");
		else {
			paas_buf_free(&b);
			return NULL;	/* systemd: unknown specifier, line ignored */
		}
	}
	return paas_buf_detach(&b, NULL);
}

/* One word, EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE; with exec, $$ -> $ and a bare
 * $ makes the word fail the test (it would be a variable). */
static const char *
sd_word(const char *p, struct paas_buf *w, int exec, int *bad)
{
	char q = 0;

	paas_buf_reset(w);
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return NULL;
	for (; *p; p++) {
		if (!q && (*p == ' ' || *p == '\t'))
			break;
		if (*p == '"' || *p == '\'') {
			if (!q) {
				q = *p;
				continue;
			}
			if (q == *p) {
				q = 0;
				continue;
			}
		}
		if (*p == '\\') {
			p++;
			switch (*p) {
			case '\\': case '"': case '\'': paas_buf_add(w, p, 1); break;
			case 'n': paas_buf_adds(w, "\n"); break;
			case 't': paas_buf_adds(w, "\t"); break;
			case ' ': paas_buf_adds(w, " "); break;
			default: *bad = 1; return NULL;
			}
			continue;
		}
		if (exec && *p == '$') {
			if (p[1] == '$') {
				paas_buf_adds(w, "$");
				p++;
				continue;
			}
			*bad = 1;	/* would be expanded */
			return NULL;
		}
		paas_buf_add(w, p, 1);
	}
	if (q) {
		*bad = 1;
		return NULL;
	}
	if (w->data == NULL)
		paas_buf_adds(w, "");
	return p;
}

/* The value systemd gives NAME from the Environment= lines of a unit. */
static char *
sd_env(const char *unit, const char *name)
{
	const char *line = unit, *nl, *p;
	struct paas_buf w = PAAS_BUF_INIT;
	char *found = NULL;
	int bad = 0;

	for (; *line; line = *nl ? nl + 1 : nl) {
		char *raw, *exp;

		nl = strchr(line, '\n');
		if (nl == NULL)
			nl = line + strlen(line);
		if (strncmp(line, "Environment=", 12) != 0)
			continue;
		raw = paas_xstrndup(line + 12, (size_t)(nl - line - 12));
		exp = sd_specifiers(raw);
		free(raw);
		if (exp == NULL)
			continue;
		for (p = exp; (p = sd_word(p, &w, 0, &bad)) != NULL;) {
			size_t n = strlen(name);

			if (strncmp(w.data, name, n) == 0 && w.data[n] == '=') {
				free(found);
				found = paas_xstrdup(w.data + n + 1);
			}
		}
		free(exp);
	}
	paas_buf_free(&w);
	return bad ? (free(found), NULL) : found;
}

/* The argv systemd gives for the ExecStart= line. */
static json_t *
sd_exec(const char *unit)
{
	const char *line = strstr(unit, "\nExecStart="), *nl, *p;
	struct paas_buf w = PAAS_BUF_INIT;
	json_t *argv = json_array();
	char *raw, *exp;
	int bad = 0;

	if (line == NULL)
		return argv;
	line += 11;
	nl = strchr(line, '\n');
	raw = paas_xstrndup(line, (size_t)(nl - line));
	exp = sd_specifiers(raw);
	free(raw);
	for (p = exp; p && (p = sd_word(p, &w, 1, &bad)) != NULL;)
		json_array_append_new(argv, json_string(w.data));
	if (bad)
		json_array_append_new(argv, json_string("<BAD>"));
	free(exp);
	paas_buf_free(&w);
	return argv;
}

static json_t *
parse(const char *yaml, struct paas_err *err)
{
	json_t *spec = NULL;

	paas_spec_parse("t.yml", yaml, strlen(yaml), &spec, err);
	return spec;
}

static char *
canon(const char *yaml)
{
	struct paas_err err = PAAS_ERR_INIT;
	json_t *spec = parse(yaml, &err);
	char *s;

	if (spec == NULL)
		return paas_xstrdup(err.msg);
	s = paas_spec_dump(spec);
	json_decref(spec);
	return s;
}

/* The canonical spec of yaml for deployment dep, or the error. */
static char *
canon_for(const char *yaml, const char *dep)
{
	struct paas_err err = PAAS_ERR_INIT;
	json_t *spec = NULL;
	char *s;

	if (paas_spec_parse_for("t.yml", yaml, strlen(yaml), dep, &spec, &err) < 0)
		return paas_xstrdup(err.msg);
	s = paas_spec_dump(spec);
	json_decref(spec);
	return s;
}

static const char *nasty[] = {
	"two  spaces and\ttab",
	"both \"double\" and 'single' quotes",
	"percent %n and %% and %i",
	"trailing backslash\\",
	"dollar $HOME and $NOT with $$ and $",
	"backslash-n \\n is not a newline",
	"unicode caf\xc3\xa9 \xe2\x9c\x93",
	" leading and trailing ",
	"",
	";",
	"-dash",
};

int
main(void)
{
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_buf y = PAAS_BUF_INIT;
	json_t *spec, *units, *argv;
	char *a, *b;
	size_t i;

	/* Canonical: order, comments and flow style change no byte. */
	a = canon("web:\n  image: x/y:1\n  ports: [80, 81]\n  env: {B: 2, A: 1}\nEnv:\n  Z: z\n");
	b = canon("# comment\nEnv: {Z: z}   # global\nweb: {env: {A: '1', B: \"2\"}, ports: [80, 81],\n"
	    "  image: \"x/y:1\"}\n");
	is_str(b, a, "reordered keys, comments and flow style give the same spec");
	free(a);
	free(b);
	a = canon("web:\n  image: i\n");
	b = canon("web:\n  image: i\n  instances: 1\n  restart: always\n  update: {parallel: 1, order: start-first}\n");
	is_str(b, a, "spelled-out defaults give the same spec as omitted ones");
	free(a);
	free(b);
	a = canon("web: {image: i, cmd: \"sh -c 'echo a  b'\"}\n");
	b = canon("web: {image: i, cmd: [sh, -c, echo a  b]}\n");
	is_str(b, a, "a cmd string is split like a shell would");
	free(a);
	free(b);

	/* Deployments: one file, the values that differ per deployment. */
	{
		static const char file[] =
		    "Env: {MODE: prod, KEEP: k}\n"
		    "Domains:\n  shop.example: {http: \"shop:web\"}\n"
		    "web:\n  image: i\n  instances: 4\n  env: {A: a}\n  constraints: {role: web}\n"
		    "Deployments:\n"
		    "  shop-staging:\n"
		    "    Env: {MODE: staging}\n"
		    "    Domains:\n      staging.shop.example: {http: \"shop-staging:web\"}\n"
		    "    web: {instances: 1, env: {B: b}, constraints: {role: any}}\n"
		    "  shop: {}\n";

		a = canon_for(file, "shop");
		b = canon("Env: {MODE: prod, KEEP: k}\nDomains:\n  shop.example: {http: \"shop:web\"}\n"
		    "web:\n  image: i\n  instances: 4\n  env: {A: a}\n  constraints: {role: web}\n");
		is_str(a, b, "an empty overlay gives the file without its Deployments");
		free(a);
		a = canon_for(file, "other");
		is_str(a, b, "a deployment without an overlay gets the file as it is");
		free(a);
		free(b);
		a = canon_for(file, "shop-staging");
		b = canon("Env: {MODE: staging, KEEP: k}\n"
		    "Domains:\n  staging.shop.example: {http: \"shop-staging:web\"}\n"
		    "web:\n  image: i\n  instances: 1\n  env: {A: a, B: b}\n  constraints: {role: any}\n");
		is_str(a, b, "the overlay: mappings merged, Domains replaced whole, values replaced");
		free(a);
		free(b);
		a = canon_for("web: {image: i}\nDeployments:\n  Bad_Name: {}\n", "x");
		is_str(a, "t.yml:3:3: Deployments: invalid deployment name 'Bad_Name': use lower-case "
		    "letters, digits and '-', starting with a letter, at most 63",
		    "a bad deployment name is refused where it stands");
		free(a);
		a = canon_for("web: {image: i}\nDeployments:\n  s: {web: {instances: many}}\n", "s");
		ok(strncmp(a, "t.yml:3:24: ", 12) == 0, "an overlay's bad value is named at its "
		    "own line and column: %s", a);
		free(a);
		a = canon_for("web: {image: i}\nDeployments: [a]\n", NULL);
		ok(strncmp(a, "t.yml:2:14: ", 12) == 0, "Deployments must be a mapping: %s", a);
		free(a);
	}

	/* A NUL in a mapping key would cut it short and defeat the duplicate
	 * check: refused where it stands. */
	a = canon("web:\n  image: i\n  env: {\"A\\0B\": x, A: y}\n");
	is_str(a, "t.yml:3:9: a key may not hold a NUL (\\0)", "a NUL in an env key is refused "
	    "with its position");
	free(a);
	a = canon("\"web\\0b\": {image: i}\nweb: {image: j}\n");
	is_str(a, "t.yml:1:1: a key may not hold a NUL (\\0)", "a NUL in a service name is "
	    "refused, not cut to a duplicate");
	free(a);

	/* The escaping round trip through systemd's rules. */
	paas_buf_adds(&y, "web:\n  image: local/web:1\n  env:\n");
	for (i = 0; i < sizeof(nasty) / sizeof(*nasty); i++) {
		json_t *js = json_string(nasty[i]);
		char *q = json_dumps(js, JSON_ENCODE_ANY);

		paas_buf_addf(&y, "    V%zu: %s\n", i, q);
		free(q);
		json_decref(js);
	}
	paas_buf_adds(&y, "  cmd:\n");
	for (i = 0; i < sizeof(nasty) / sizeof(*nasty); i++) {
		json_t *js = json_string(nasty[i]);
		char *q = json_dumps(js, JSON_ENCODE_ANY);

		paas_buf_addf(&y, "    - %s\n", q);
		free(q);
		json_decref(js);
	}
	spec = parse(y.data, &err);
	ok(spec != NULL, "nasty values parse: %s", err.msg);
	units = NULL;
	ok(spec && paas_unit_render(spec, "dep", &units, &err) == 0, "and render");
	if (units) {
		const char *content = json_string_value(json_object_get(json_array_get(units, 0), "content"));

		for (i = 0; i < sizeof(nasty) / sizeof(*nasty); i++) {
			char name[8], *got;

			snprintf(name, sizeof(name), "V%zu", i);
			got = sd_env(content, name);
			is_str(got, nasty[i], "env round trip: '%s'", nasty[i]);
			free(got);
		}
		argv = sd_exec(content);
		for (i = 0; i < sizeof(nasty) / sizeof(*nasty); i++) {
			size_t n = json_array_size(argv);
			const char *got = n >= i + 1 ?
			    json_string_value(json_array_get(argv, n - (sizeof(nasty) / sizeof(*nasty)) + i)) : NULL;

			is_str(got, nasty[i], "ExecStart argument round trip: '%s'", nasty[i]);
		}
		ok(strstr(content, "$HOME") != NULL, "the value is in the unit as the environment, not argv");
		json_decref(argv);
	}
	json_decref(units);
	json_decref(spec);
	paas_buf_free(&y);

	/* ${VAR} is a secret read at apply time; $${ is a literal ${. */
	spec = parse("web:\n  image: i\n  env: {S: \"pw=${DB_PASS}\", L: \"a $${B} c\"}\n", &err);
	{
		json_t *want = json_pack("[s]", "S");

		ok(spec && json_equal(json_object_get(json_object_get(json_object_get(spec, "services"), "web"),
		    "secret_env"), want), "a ${VAR} value is marked secret");
		json_decref(want);
	}
	units = NULL;
	if (spec && paas_unit_render(spec, "dep", &units, &err) == 0) {
		const char *content = json_string_value(json_object_get(json_array_get(units, 0), "content"));
		char *got = sd_env(content, "L");

		is_str(got, "a ${B} c", "$${ reaches the unit as a literal ${");
		free(got);
		ok(strstr(content, "DB_PASS") == NULL && strstr(content, "EnvironmentFile=/etc/paas/dep/web.env"),
		    "a secret is not in the unit; it comes from the EnvironmentFile");
		ok(strstr(content, " -e S ") != NULL, "and is passed by name only");
	}
	json_decref(units);
	json_decref(spec);

	/* One instance as paas-deploy submits it to fleet. */
	spec = parse("web:\n  image: i\n  ports: [8000]\n  env: {A: \"50%\", S: \"${PW}\"}\n"
	    "  conflicts: [web]\n  resources: {cpu: 0.5}\n", &err);
	if (spec) {
		const json_t *svc = json_object_get(json_object_get(spec, "services"), "web");
		json_t *ports = json_pack("{s:i}", "8000", 30007), *opts = NULL, *o;
		struct paas_instance_spec is = { "dep", "web", "3", "0123456789abcdef", 4, "fl",
		    NULL, svc, NULL, ports, spec };
		struct paas_buf all = PAAS_BUF_INIT;
		char *name = NULL;
		int xpaas = 0;

		ok(paas_unit_instance(spec, &is, &name, &opts, &err) == 0, "an instance unit: %s",
		    err.msg);
		is_str(name, "dep-web@01234567-3-4.service", "named DEP-SVC@VERSION8-ID-RELEASE.service");
		json_array_foreach(opts, i, o) {
			const char *sec = json_string_value(json_object_get(o, "section"));

			paas_buf_addf(&all, "[%s] %s=%s\n", sec,
			    json_string_value(json_object_get(o, "name")),
			    json_string_value(json_object_get(o, "value")));
			xpaas += strcmp(sec, "X-Paas") == 0;
		}
		ok(all.data && strstr(all.data, "-p 30007:8000") &&
		    strstr(all.data, "--label paas.unit=%n") && strstr(all.data, "paas.release=4") &&
		    strstr(all.data, "--name dep-web-01234567-3-4"), "its host port, release and unit "
		    "labels, its versioned container");
		ok(all.data && strstr(all.data, "[X-Paas] Port=8000:30007") &&
		    strstr(all.data, "[X-Paas] Release=4") && strstr(all.data, "[X-Paas] CpuMilli=500") &&
		    xpaas == 9, "an [X-Paas] section to read it back (%d options)", xpaas);
		ok(all.data && strstr(all.data, "[X-Fleet] Conflicts=dep-web@*.service") &&
		    strstr(all.data, "\"A=50%%\"") && !strstr(all.data, "${PW}") &&
		    strstr(all.data, "EnvironmentFile=/etc/paas/dep/web.env"),
		    "conflicts for fleet, values escaped, the secret from its file");
		paas_buf_free(&all);
		free(name);
		json_decref(opts);
		json_decref(ports);
	}
	json_decref(spec);

	/* Refusals, each naming file:line:column. */
	spec = parse("web:\n  image: i\n  env: {A: \"x\\ny\"}\n", &err);
	ok(spec == NULL && err.status == PAAS_EINVAL, "a newline in a value is refused");
	is_str(err.msg, "t.yml:3:12: env A: a newline is not allowed in a value", "message");
	spec = parse("web:\n  image: i\n  env: {A: \"x\\ry\"}\n", &err);
	ok(spec == NULL && strstr(err.msg, "carriage return"), "a carriage return is refused: %s", err.msg);
	spec = parse("web:\n  image: i\n  env: {A: \"x\\0y\"}\n", &err);
	ok(spec == NULL && strstr(err.msg, "NUL"), "a NUL is refused: %s", err.msg);
	spec = parse("web:\n  imgae: i\n", &err);
	is_str(err.msg, "t.yml:2:3: unknown key 'imgae' in service 'web' (did you mean 'image'?)",
	    "an unknown key suggests the nearest");
	spec = parse("web:\n  image: i\n  image: j\n", &err);
	is_str(err.msg, "t.yml:3:3: duplicate key 'image' (first at line 2)", "a duplicate key");
	spec = parse("Web:\n  image: i\n", &err);
	ok(spec == NULL && strstr(err.msg, "t.yml:1:1: invalid service name 'Web'"), "%s", err.msg);

	{
		struct timespec t0, t1;
		long ms;
		const char *lol = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n";

		clock_gettime(CLOCK_MONOTONIC, &t0);
		spec = parse(lol, &err);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		ok(spec == NULL && strstr(err.msg, "aliases expand to more nodes"), "billion laughs refused: %s", err.msg);
		ok(ms < 200, "in %ld ms", ms);
	}
	{
		struct paas_buf d = PAAS_BUF_INIT;

		paas_buf_adds(&d, "web: ");
		for (i = 0; i < 10000; i++)
			paas_buf_adds(&d, "[");
		spec = parse(d.data, &err);
		ok(spec == NULL && strstr(err.msg, "nested deeper than the limit of 32"), "10,000-deep nesting refused: %s", err.msg);
		paas_buf_free(&d);
	}
	ok(paas_valid_domain("a-b.example.org") && !paas_valid_domain("-a.org") &&
	    !paas_valid_domain("a..org") && !paas_valid_domain("A.org") && !paas_valid_domain("a_b.org"),
	    "domain names per RFC 1123");
	{
		int v = -1;

		ok(paas_parse_int("15", 2, 3600, &v) == 0 && v == 15, "15 is a number from 2 to 3600");
		ok(paas_parse_int("1", 2, 3600, &v) < 0 && paas_parse_int("3601", 2, 3600, &v) < 0 &&
		    paas_parse_int("", 2, 3600, &v) < 0 && paas_parse_int("10s", 2, 3600, &v) < 0,
		    "out of range, empty or trailing text refused");
		ok(paas_parse_int("4294967306", 2, 3600, &v) < 0 &&
		    paas_parse_int("99999999999999999999", 2, 3600, &v) < 0,
		    "a number that would wrap around an int is refused, not taken as 10");
	}
	return done_testing();
}
