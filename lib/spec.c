#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "spec.h"
#include "valid.h"
#include "spec-int.h"
#include "ytree.h"

/* Pieces of a service ----------------------------------------------------- */

static int
env_map(struct ctx *c, const Y *n, const char *what, json_t *out)
{
	size_t i;

	if (spec_need_map(c, n, what) < 0)
		return -1;
	for (i = 0; i < n->n; i += 2) {
		const Y *k = n->kids[i], *v = n->kids[i + 1];
		const char *val;
		char w[160];
		int r;

		if (!paas_valid_env_name(k->s))
			return spec_at(c, k, "%s: '%.64s' is not a valid variable name (letters, digits, _)",
			    what, k->s);
		if (strncmp(k->s, "PAAS_", 5) == 0)
			return spec_at(c, k, "%s: names starting with PAAS_ are set by paas itself", what);
		snprintf(w, sizeof(w), "%s %s", what, k->s);
		/* Numbers and booleans keep their text: PORT: 5432 is "5432". */
		if (spec_get_str(c, v, w, &val) < 0)
			return -1;
		if ((r = spec_scan_vars(c, v, w, val)) < 0)
			return -1;
		if (r)
			json_array_append_new(c->secrets, json_string(k->s));
		json_object_set_new(out, k->s, json_string(val));
	}
	return 0;
}

static int
is_image(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 255 && isalnum((unsigned char)s[0]) && paas_only_chars(s, "._-/:@");
}

static int
is_path(const char *s)
{
	const char *p;

	if (s[0] != '/' || !paas_only_chars(s, "._-/+"))
		return 0;
	for (p = s; (p = strstr(p, "..")) != NULL; p += 2)
		if ((p == s || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			return 0;
	return 1;
}

/* Split a command line as a shell would for words and quotes (no
 * expansions): "a 'b c' \"d\\\"e\"" -> a, b c, d"e. */
int
spec_split_cmd(struct ctx *c, const Y *n, const char *s, json_t *out)
{
	struct paas_buf w = PAAS_BUF_INIT;
	int inword = 0;
	char q = 0;

	for (; *s; s++) {
		if (q == '\'') {
			if (*s == '\'')
				q = 0;
			else
				paas_buf_add(&w, s, 1);
		} else if (q == '"') {
			if (*s == '"')
				q = 0;
			else if (*s == '\\' && (s[1] == '"' || s[1] == '\\' || s[1] == '$'))
				paas_buf_add(&w, ++s, 1);
			else
				paas_buf_add(&w, s, 1);
		} else if (*s == ' ' || *s == '\t') {
			if (inword)
				json_array_append_new(out, json_string(w.data ? w.data : ""));
			paas_buf_reset(&w);
			inword = 0;
		} else {
			inword = 1;
			if (*s == '\'' || *s == '"')
				q = *s;
			else if (*s == '\\' && s[1])
				paas_buf_add(&w, ++s, 1);
			else
				paas_buf_add(&w, s, 1);
		}
	}
	if (q) {
		paas_buf_free(&w);
		return spec_at(c, n, "cmd: unclosed %c quote", q);
	}
	if (inword)
		json_array_append_new(out, json_string(w.data ? w.data : ""));
	paas_buf_free(&w);
	return 0;
}

static const char *const service_keys[] = { "image", "build", "cmd", "env", "ports", "volumes",
	"instances", "health", "update", "constraints", "conflicts", "resources", "global",
	"restart", "release", "schedule", NULL };

static int
parse_service(struct ctx *c, const Y *name, const Y *n, json_t **out)
{
	json_t *s = NULL, *env = json_object(), *ports = json_array(), *vols = json_object();
	json_t *cons = json_object(), *confl = json_array(), *cmd = json_array();
	json_t *health = json_null(), *update = NULL, *res = NULL, *build = json_null(), *rel = NULL;
	json_t *sched = NULL;
	const char *image = NULL, *restart = "always";
	long instances = 1;
	int global = 0, have_instances = 0;
	const Y *health_n = NULL;
	char where[96];
	size_t i, j;

	snprintf(where, sizeof(where), "service '%s'", name->s);
	c->secrets = json_array();
	if (spec_need_map(c, n, where) < 0)
		goto fail;
	for (i = 0; i < n->n; i += 2) {
		const Y *k = n->kids[i], *v = n->kids[i + 1];

		if (!spec_key_in(k->s, service_keys)) {
			spec_unknown_key(c, k, where, service_keys);
			goto fail;
		}
		if (!strcmp(k->s, "image")) {
			if (spec_get_str(c, v, "image", &image) < 0)
				goto fail;
			if (!is_image(image)) {
				spec_at(c, v, "image: '%.80s' is not an image reference (letters, digits, . _ - / : @)", image);
				goto fail;
			}
		} else if (!strcmp(k->s, "build")) {
			static const char *const bkeys[] = { "git", "dockerfile", "context", "timeout",
				NULL };
			const char *git = NULL, *df = "Dockerfile", *ctxdir = ".";
			long btimeout = 0;

			if (v->type == PAAS_Y_SCALAR) {
				if (spec_get_str(c, v, "build", &git) < 0)
					goto fail;
			} else {
				if (spec_need_map(c, v, "build") < 0)
					goto fail;
				for (j = 0; j < v->n; j += 2) {
					const Y *bk = v->kids[j], *bv = v->kids[j + 1];
					const char **dst = !strcmp(bk->s, "git") ? &git :
					    !strcmp(bk->s, "dockerfile") ? &df : &ctxdir;

					if (!spec_key_in(bk->s, bkeys)) {
						spec_unknown_key(c, bk, "build", bkeys);
						goto fail;
					}
					if (!strcmp(bk->s, "timeout")) {
						if (spec_get_duration(c, bv, "build timeout", &btimeout) < 0)
							goto fail;
						if (btimeout < 1000) {
							spec_at(c, bv, "build timeout: at least 1s");
							goto fail;
						}
						continue;
					}
					if (spec_get_str(c, bv, bk->s, dst) < 0)
						goto fail;
					if (dst != &git && (!paas_only_chars(*dst, "._-/") || strstr(*dst, ".."))) {
						spec_at(c, bv, "build %s: expected a relative path inside the repository", bk->s);
						goto fail;
					}
				}
				if (git == NULL) {
					spec_at(c, v, "build: git (a repository URL or path) is required");
					goto fail;
				}
			}
			if (!paas_only_chars(git, "._-/:@+~")) {
				spec_at(c, v, "build git: '%.80s' is not a repository URL or path", git);
				goto fail;
			}
			json_decref(build);
			build = json_pack("{s:s, s:s, s:s}", "git", git, "dockerfile", df, "context", ctxdir);
			/* Only when given: the specs of earlier releases stay the same. */
			if (btimeout)
				json_object_set_new(build, "timeout_ms", json_integer(btimeout));
		} else if (!strcmp(k->s, "cmd")) {
			const char *str;

			if (v->type == PAAS_Y_SEQ) {
				for (j = 0; j < v->n; j++) {
					if (spec_get_str(c, v->kids[j], "cmd", &str) < 0)
						goto fail;
					json_array_append_new(cmd, json_string(str));
				}
			} else {
				if (spec_get_str(c, v, "cmd", &str) < 0 || spec_split_cmd(c, v, str, cmd) < 0)
					goto fail;
			}
		} else if (!strcmp(k->s, "release")) {
			json_decref(rel);
			if (spec_parse_release(c, v, &rel) < 0)
				goto fail;
		} else if (!strcmp(k->s, "schedule")) {
			json_decref(sched);
			if (spec_parse_schedule(c, v, &sched) < 0)
				goto fail;
		} else if (!strcmp(k->s, "env")) {
			if (env_map(c, v, "env", env) < 0)
				goto fail;
		} else if (!strcmp(k->s, "ports")) {
			if (v->type != PAAS_Y_SEQ) {
				spec_at(c, v, "ports: expected a list of port numbers, found %s", spec_tname(v));
				goto fail;
			}
			for (j = 0; j < v->n; j++) {
				long p;
				size_t q;

				if (spec_get_int(c, v->kids[j], "ports", 1, 65535, &p) < 0)
					goto fail;
				for (q = 0; q < json_array_size(ports); q++)
					if (json_integer_value(json_array_get(ports, q)) == p) {
						spec_at(c, v->kids[j], "ports: %ld is listed twice", p);
						goto fail;
					}
				json_array_append_new(ports, json_integer(p));
			}
		} else if (!strcmp(k->s, "volumes")) {
			if (spec_need_map(c, v, "volumes") < 0)
				goto fail;
			for (j = 0; j < v->n; j += 2) {
				const char *path;

				if (!paas_only_chars(v->kids[j]->s, "_.-") || v->kids[j]->len > 64 ||
				    !isalnum((unsigned char)v->kids[j]->s[0])) {
					spec_at(c, v->kids[j], "volumes: '%.64s' is not a volume name (letters, digits, _ . -)",
					    v->kids[j]->s);
					goto fail;
				}
				if (spec_get_str(c, v->kids[j + 1], "volumes", &path) < 0)
					goto fail;
				if (!is_path(path)) {
					spec_at(c, v->kids[j + 1], "volumes %s: expected an absolute path in the container "
					    "without '..' (letters, digits, . _ - / +)", v->kids[j]->s);
					goto fail;
				}
				json_object_set_new(vols, v->kids[j]->s, json_string(path));
			}
		} else if (!strcmp(k->s, "instances")) {
			if (spec_get_int(c, v, "instances", 0, 1000, &instances) < 0)
				goto fail;
			have_instances = 1;
		} else if (!strcmp(k->s, "health")) {
			health_n = v;
		} else if (!strcmp(k->s, "update")) {
			if (spec_parse_update(c, v, &update) < 0)
				goto fail;
		} else if (!strcmp(k->s, "constraints")) {
			if (spec_need_map(c, v, "constraints") < 0)
				goto fail;
			for (j = 0; j < v->n; j += 2) {
				const char *val;

				if (!paas_only_chars(v->kids[j]->s, "._-") || v->kids[j]->len > 64) {
					spec_at(c, v->kids[j], "constraints: '%.64s' is not a label name (letters, digits, . _ -)",
					    v->kids[j]->s);
					goto fail;
				}
				if (spec_get_str(c, v->kids[j + 1], "constraints", &val) < 0)
					goto fail;
				if (!paas_valid_label(val)) {
					spec_at(c, v->kids[j + 1], "constraints %s: '%.64s' is not a label value (letters, digits, . _ -)",
					    v->kids[j]->s, val);
					goto fail;
				}
				json_object_set_new(cons, v->kids[j]->s, json_string(val));
			}
		} else if (!strcmp(k->s, "conflicts")) {
			if (v->type != PAAS_Y_SEQ) {
				spec_at(c, v, "conflicts: expected a list of service names, found %s", spec_tname(v));
				goto fail;
			}
			for (j = 0; j < v->n; j++) {
				const char *sv;

				if (spec_get_str(c, v->kids[j], "conflicts", &sv) < 0)
					goto fail;
				if (!paas_valid_name(sv)) {
					spec_at(c, v->kids[j], "conflicts: '%.64s' is not a service name", sv);
					goto fail;
				}
				json_array_append_new(confl, json_string(sv));
			}
		} else if (!strcmp(k->s, "resources")) {
			if (spec_parse_resources(c, v, &res) < 0)
				goto fail;
		} else if (!strcmp(k->s, "global")) {
			if (spec_get_bool(c, v, "global", &global) < 0)
				goto fail;
		} else if (!strcmp(k->s, "restart")) {
			if (spec_get_str(c, v, "restart", &restart) < 0)
				goto fail;
			if (strcmp(restart, "always") && strcmp(restart, "on-failure") &&
			    strcmp(restart, "unless-stopped") && strcmp(restart, "no")) {
				spec_at(c, v, "restart: expected always, on-failure, unless-stopped or no");
				goto fail;
			}
		}
	}
	if ((image == NULL) == json_is_null(build)) {
		spec_at(c, name, "service '%s' needs exactly one of image or build", name->s);
		goto fail;
	}
	if (global && have_instances) {
		spec_at(c, name, "service '%s': global runs one per host; drop instances", name->s);
		goto fail;
	}
	/* A job runs at its times, serves nothing and has no instances. */
	if (sched && (have_instances || global || health_n || update || json_array_size(ports))) {
		spec_at(c, name, "service '%s' has a schedule: it is a job, run at its times; drop %s",
		    name->s, have_instances ? "instances" : global ? "global" : health_n ? "health" :
		    update ? "update" : "ports");
		goto fail;
	}
	if (health_n && spec_parse_health(c, health_n, ports, &health) < 0)
		goto fail;
	if (update == NULL)
		update = json_pack("{s:i, s:s, s:i, s:s}", "parallel", 1, "order", "start-first",
		    "delay_ms", 0, "failure_action", "rollback");
	if (res == NULL)
		res = json_pack("{s:n, s:n}", "cpu_milli", "memory_bytes");
	spec_sort_strings(c->secrets);
	s = json_pack("{s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:I, s:o, s:o, s:s, s:o, s:o, s:o}",
	    "build", build, "cmd", cmd, "conflicts", confl, "constraints", cons, "env", env,
	    "global", global, "health", health, "image", image ? json_string(image) : json_null(),
	    "instances", (json_int_t)(global || sched ? 0 : instances), "ports", ports,
	    "resources", res, "restart", restart, "secret_env", c->secrets, "update", update,
	    "volumes", vols);
	c->secrets = NULL;
	/* Only when given: the specs of earlier releases stay the same. */
	if (rel)
		json_object_set_new(s, "release", rel);
	if (sched)
		json_object_set_new(s, "schedule", sched);
	*out = s;
	return 0;
fail:
	json_decref(sched);
	json_decref(rel);
	json_decref(env);
	json_decref(ports);
	json_decref(vols);
	json_decref(cons);
	json_decref(confl);
	json_decref(cmd);
	json_decref(health);
	json_decref(update);
	json_decref(res);
	json_decref(build);
	json_decref(c->secrets);
	c->secrets = NULL;
	return -1;
}

static int
parse_domain(struct ctx *c, const Y *k, const Y *v, json_t *domains)
{
	static const char *const keys[] = { "http", "port", "auth", "sticky", "tls", NULL };
	const char *target = NULL, *tls = NULL, *colon;
	char name[256], *dep;
	json_t *auth = json_object(), *secret = json_array();
	long port = 0;
	int sticky = 0;
	size_t i, j;

	if (k->len >= sizeof(name)) {
		json_decref(auth);
		json_decref(secret);
		return spec_at(c, k, "domain name longer than 253 characters");
	}
	spec_key_lower(k, name);
	if (!paas_valid_domain(name)) {
		json_decref(auth);
		json_decref(secret);
		return spec_at(c, k, "'%.80s' is not a valid domain name (RFC 1123: labels of letters, "
		    "digits and '-', separated by dots)", k->s);
	}
	if (json_object_get(domains, name)) {
		json_decref(auth);
		json_decref(secret);
		return spec_at(c, k, "domain '%s' is given twice", name);
	}
	if (spec_need_map(c, v, name) < 0)
		goto fail;
	for (i = 0; i < v->n; i += 2) {
		const Y *dk = v->kids[i], *dv = v->kids[i + 1];

		if (!spec_key_in(dk->s, keys)) {
			spec_unknown_key(c, dk, "a domain", keys);
			goto fail;
		}
		if (!strcmp(dk->s, "http")) {
			if (spec_get_str(c, dv, "http", &target) < 0)
				goto fail;
			colon = strchr(target, ':');
			dep = colon ? paas_xstrndup(target, (size_t)(colon - target)) : NULL;
			if (!colon || !paas_valid_name(dep) || !paas_valid_name(colon + 1)) {
				free(dep);
				spec_at(c, dv, "http: expected \"DEPLOYMENT:SERVICE\" (names of lower-case letters, "
				    "digits and '-')");
				goto fail;
			}
			free(dep);
		} else if (!strcmp(dk->s, "port")) {
			if (spec_get_int(c, dv, "port", 1, 65535, &port) < 0)
				goto fail;
		} else if (!strcmp(dk->s, "sticky")) {
			if (spec_get_bool(c, dv, "sticky", &sticky) < 0)
				goto fail;
		} else if (!strcmp(dk->s, "tls")) {
			if (spec_get_str(c, dv, "tls", &tls) < 0)
				goto fail;
			if (!is_path(tls)) {
				spec_at(c, dv, "tls: expected the absolute path of a PEM certificate file");
				goto fail;
			}
		} else {
			if (spec_need_map(c, dv, "auth") < 0)
				goto fail;
			for (j = 0; j < dv->n; j += 2) {
				const char *hash;
				int r;

				if (!paas_only_chars(dv->kids[j]->s, "._-") || dv->kids[j]->len > 64) {
					spec_at(c, dv->kids[j], "auth: '%.64s' is not a user name (letters, digits, . _ -)",
					    dv->kids[j]->s);
					goto fail;
				}
				if (spec_get_str(c, dv->kids[j + 1], "auth", &hash) < 0)
					goto fail;
				if ((r = spec_scan_vars(c, dv->kids[j + 1], "auth", hash)) < 0)
					goto fail;
				if (r)
					json_array_append_new(secret, json_string(dv->kids[j]->s));
				if (r == 0 && !paas_valid_crypt(hash)) {
					spec_at(c, dv->kids[j + 1], "auth %s: expected a crypt(3) hash such as $6$...; "
					    "to read it from the environment write ${VARIABLE}", dv->kids[j]->s);
					goto fail;
				}
				json_object_set_new(auth, dv->kids[j]->s, json_string(hash));
			}
		}
	}
	if (target == NULL) {
		spec_at(c, k, "domain '%s' needs http: \"DEPLOYMENT:SERVICE\"", name);
		goto fail;
	}
	colon = strchr(target, ':');
	spec_sort_strings(secret);
	json_object_set_new(domains, name, json_pack("{s:o, s:s#, s:o, s:o, s:s, s:b, s:o}",
	    "auth", auth, "deployment", target, (int)(colon - target),
	    "port", port ? json_integer(port) : json_null(), "secret_auth", secret,
	    "service", colon + 1, "sticky", sticky, "tls", tls ? json_string(tls) : json_null()));
	return 0;
fail:
	json_decref(auth);
	json_decref(secret);
	return -1;
}

/* A key of the Servicefile's top level, in either spelling. */
static int
top_key(const char *k, const char *name)
{
	return strcmp(k, name) == 0 || (k[0] == (char)(name[0] | 0x20) && strcmp(k + 1, name + 1) == 0);
}

/*
 * base with over laid on it, as a new mapping of doc: a key of both whose
 * values are mappings is merged, except Domains (a deployment's routes are
 * its own: replaced whole); any other value of over replaces base's; a
 * key of over alone is added.  Nodes are shared, never changed (an alias
 * may point at them).
 */
static Y *
overlay(struct paas_ydoc *doc, const Y *base, const Y *over, int top)
{
	Y *m = paas_ydoc_new_map(doc, base);
	size_t i, j;

	for (i = 0; i < base->n; i += 2) {
		const Y *k = base->kids[i], *v = base->kids[i + 1];
		const Y *o = NULL;

		if (top && top_key(k->s, "Deployments"))
			continue;
		for (j = 0; j < over->n; j += 2)
			if (strcmp(over->kids[j]->s, k->s) == 0 ||
			    (top && top_key(k->s, "Env") && top_key(over->kids[j]->s, "Env")) ||
			    (top && top_key(k->s, "Domains") && top_key(over->kids[j]->s, "Domains")))
				o = over->kids[j + 1];
		if (o == NULL)
			paas_ynode_add(m, (Y *)k, (Y *)v);
		else if (v->type == PAAS_Y_MAP && o->type == PAAS_Y_MAP &&
		    !(top && top_key(k->s, "Domains")))
			paas_ynode_add(m, (Y *)k, overlay(doc, v, o, 0));
		else
			paas_ynode_add(m, (Y *)k, (Y *)o);
	}
	for (j = 0; j < over->n; j += 2) {
		const Y *k = over->kids[j];
		int found = 0;

		for (i = 0; i < base->n && !found; i += 2)
			found = strcmp(base->kids[i]->s, k->s) == 0 ||
			    (top && top_key(k->s, "Env") && top_key(base->kids[i]->s, "Env")) ||
			    (top && top_key(k->s, "Domains") && top_key(base->kids[i]->s, "Domains"));
		if (!found)
			paas_ynode_add(m, (Y *)k, over->kids[j + 1]);
	}
	return m;
}

/* The Servicefile for deployment dep: its Deployments section checked,
 * and dep's overlay laid on the rest (dep NULL, or without one: the rest). */
static int
for_deployment(struct ctx *c, struct paas_ydoc *doc, const Y *root, const char *dep,
    const Y **out)
{
	const Y *deps = NULL, *mine = NULL;
	size_t i;

	*out = root;
	for (i = 0; i < root->n; i += 2)
		if (top_key(root->kids[i]->s, "Deployments")) {
			if (deps) {
				spec_at(c, root->kids[i], "'%s' given twice (as Deployments and "
				    "deployments)", root->kids[i]->s);
				return -1;
			}
			deps = root->kids[i + 1];
		}
	if (deps == NULL)
		return 0;
	if (spec_need_map(c, deps, "Deployments") < 0)
		return -1;
	for (i = 0; i < deps->n; i += 2) {
		const Y *k = deps->kids[i], *v = deps->kids[i + 1];

		if (!paas_valid_name(k->s)) {
			spec_at(c, k, "Deployments: invalid deployment name '%.64s': use lower-case "
			    "letters, digits and '-', starting with a letter, at most 63", k->s);
			return -1;
		}
		if (spec_need_map(c, v, k->s) < 0)
			return -1;
		if (dep && strcmp(k->s, dep) == 0)
			mine = v;
	}
	*out = overlay(doc, root, mine ? mine : paas_ydoc_new_map(doc, deps), 1);
	return 0;
}

int
paas_spec_parse(const char *name, const char *data, size_t len, json_t **spec,
    struct paas_err *err)
{
	return paas_spec_parse_for(name, data, len, NULL, spec, err);
}

int
paas_spec_parse_for(const char *name, const char *data, size_t len, const char *deployment,
    json_t **spec, struct paas_err *err)
{
	static const struct paas_ylimits lim = { PAAS_SPEC_MAX_SIZE, PAAS_SPEC_MAX_SCALAR,
		PAAS_SPEC_MAX_DEPTH, PAAS_SPEC_MAX_NODES };
	struct ctx c = { name, err, NULL };
	struct paas_ydoc doc;
	json_t *env = json_object(), *domains = json_object(), *services = json_object();
	json_t *top_secrets = NULL;
	const Y *root, *env_n = NULL, *dom_n = NULL;
	size_t i, j;

	*spec = NULL;
	if (paas_yaml_parse(name, data, len, &lim, &doc, err) < 0)
		goto fail0;
	root = doc.root;
	if (root == NULL || spec_is_null(root)) {
		spec_at(&c, root, "the Servicefile is empty: expected a mapping of services");
		goto fail;
	}
	if (spec_need_map(&c, root, "Servicefile") < 0 ||
	    for_deployment(&c, &doc, root, deployment, &root) < 0)
		goto fail;
	for (i = 0; i < root->n; i += 2) {
		const Y *k = root->kids[i], *v = root->kids[i + 1];

		if (!strcmp(k->s, "Env") || !strcmp(k->s, "env")) {
			if (env_n) {
				spec_at(&c, k, "'%s' given twice (as Env and env)", k->s);
				goto fail;
			}
			env_n = v;
		} else if (!strcmp(k->s, "Domains") || !strcmp(k->s, "domains")) {
			if (dom_n) {
				spec_at(&c, k, "'%s' given twice (as Domains and domains)", k->s);
				goto fail;
			}
			dom_n = v;
		}
	}
	c.secrets = json_array();
	if (env_n && env_map(&c, env_n, "Env", env) < 0)
		goto fail;
	top_secrets = c.secrets;
	c.secrets = NULL;
	if (dom_n) {
		if (spec_need_map(&c, dom_n, "Domains") < 0)
			goto fail;
		if (dom_n->n / 2 > PAAS_SPEC_MAX_DOMAINS) {
			spec_at(&c, dom_n, "Domains: %zu domains, over the %d one Servicefile may "
			    "route", dom_n->n / 2, PAAS_SPEC_MAX_DOMAINS);
			goto fail;
		}
		for (i = 0; i < dom_n->n; i += 2)
			if (parse_domain(&c, dom_n->kids[i], dom_n->kids[i + 1], domains) < 0)
				goto fail;
	}
	for (i = 0; i < root->n; i += 2) {
		const Y *k = root->kids[i], *v = root->kids[i + 1];
		json_t *svc;

		if (!strcmp(k->s, "Env") || !strcmp(k->s, "env") ||
		    !strcmp(k->s, "Domains") || !strcmp(k->s, "domains"))
			continue;
		if (!paas_valid_name(k->s)) {
			size_t d;

			for (d = 0; d < 3; d++) {
				static const char *const top[] = { "Env", "Domains", "Deployments", NULL };

				if (spec_distance(k->s, top[d]) <= 2 && k->len > 2) {
					spec_unknown_key(&c, k, "the Servicefile", top);
					goto fail;
				}
			}
			spec_at(&c, k, "invalid service name '%.64s': use lower-case letters, digits and '-', "
			    "starting with a letter, at most 63", k->s);
			goto fail;
		}
		if (v->type != PAAS_Y_MAP && spec_key_in(k->s, service_keys)) {
			spec_at(&c, k, "'%s' is a service key: put it under a service", k->s);
			goto fail;
		}
		if (parse_service(&c, k, v, &svc) < 0)
			goto fail;
		json_object_set_new(services, k->s, svc);
	}
	if (json_object_size(services) == 0) {
		spec_at(&c, root, "no services: every top-level key other than Env and Domains is a service");
		goto fail;
	}
	/* A domain routes to a service of this file (under this deployment's
	 * name or another's, as the design's example does for its staging
	 * copy): one naming a service the file does not have would be left
	 * unrouted by every deployment of it. */
	for (i = 0; dom_n && i < dom_n->n; i += 2) {
		char dom[256];
		const json_t *d;
		const char *svc;

		spec_key_lower(dom_n->kids[i], dom);
		d = json_object_get(domains, dom);
		svc = json_string_value(json_object_get(d, "service"));
		if (svc && json_object_get(json_object_get(services, svc), "schedule")) {
			spec_at(&c, dom_n->kids[i], "domain '%s' routes to %s, a job (it has a schedule "
			    "and serves nothing)", dom, svc);
			goto fail;
		}
		if (svc && !json_object_get(services, svc)) {
			spec_at(&c, dom_n->kids[i], "domain '%s' routes to %s:%s, but this Servicefile "
			    "has no service %s: a Servicefile routes only to its own services", dom,
			    json_string_value(json_object_get(d, "deployment")), svc, svc);
			goto fail;
		}
	}
	/* Conflicts must name services of this file. */
	{
		const char *sname;
		json_t *svc;

		json_object_foreach(services, sname, svc) {
			json_t *cf = json_object_get(svc, "conflicts");

			for (j = 0; j < json_array_size(cf); j++) {
				const char *o = json_string_value(json_array_get(cf, j));

				if (!json_object_get(services, o)) {
					for (i = 0; i < root->n; i += 2)
						if (!strcmp(root->kids[i]->s, sname))
							break;
					spec_at(&c, root->kids[i], "service '%s' conflicts with '%s', which is not "
					    "a service of this file", sname, o);
					goto fail;
				}
			}
		}
	}
	*spec = json_pack("{s:o, s:o, s:o, s:o}", "domains", domains, "env", env,
	    "secret_env", top_secrets, "services", services);
	/* The spec goes to etcd in one request, as a release. */
	{
		size_t stored = json_dumpb(*spec, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS);

		if (stored > PAAS_SPEC_MAX_STORED) {
			spec_at(&c, root, "the spec is %zu bytes as stored, over the %u bytes a "
			    "release may hold (etcd takes 1.5 MiB in one request by default)", stored,
			    PAAS_SPEC_MAX_STORED);
			json_decref(*spec);
			*spec = NULL;
			paas_ydoc_free(&doc);
			return -1;
		}
	}
	paas_ydoc_free(&doc);
	return 0;
fail:
	paas_ydoc_free(&doc);
fail0:
	json_decref(env);
	json_decref(domains);
	json_decref(services);
	json_decref(top_secrets);
	json_decref(c.secrets);
	return -1;
}

int
paas_spec_load_for(const char *path, const char *deployment, json_t **spec,
    struct paas_err *err)
{
	struct paas_buf b = PAAS_BUF_INIT;
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int rc;

	*spec = NULL;
	if (f == NULL)
		return paas_err_set(err, PAAS_EINVAL, "%s: %s", path, strerror(errno));
	/* Read one byte past the limit, so that the parser reports it. */
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		paas_buf_add(&b, chunk, n);
		if (b.len > PAAS_SPEC_MAX_SIZE)
			break;
	}
	if (ferror(f)) {
		rc = paas_err_set(err, PAAS_EINVAL, "%s: %s", name, strerror(errno));
		goto out;
	}
	rc = paas_spec_parse_for(name, b.data ? b.data : "", b.len, deployment, spec, err);
out:
	if (f != stdin)
		fclose(f);
	paas_buf_free(&b);
	return rc;
}

