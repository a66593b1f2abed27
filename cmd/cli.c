#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cli.h"
#include "clock.h"
#include "commit.h"
#include "etcd.h"
#include "out.h"
#include "state.h"
#include "valid.h"

const char *cli_prog = "paas";
void (*cli_usage)(FILE *f);

int
cli_fail(const struct paas_err *err)
{
	fprintf(stderr, "%s: %s\n", cli_prog, err->msg);
	return err->status ? err->status : PAAS_EFAILED;
}

int
cli_bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cli_usage)
		cli_usage(stderr);
	return PAAS_EINVAL;
}

int
cli_etcd_auth(const char *role)
{
	struct paas_err err = PAAS_ERR_INIT;
	char name[64], *path;
	int rc;

	snprintf(name, sizeof(name), "etcd-auth/%s", role);
	path = paas_state_file("PAAS_ETCD_AUTH", name);
	rc = paas_etcd_auth_load(path, &err) < 0 ? cli_fail(&err) : 0;
	free(path);
	return rc;
}

void
cli_log(const char *who, const char *msg)
{
	char when[32];

	paas_utc_now(when, sizeof(when));
	fprintf(stderr, "%s %s%s%s: %s\n", when, cli_prog, who ? " " : "", who ? who : "", msg);
}

/* --since: a Unix time, or an age (30s, 10m, 2h, 1d) before now; -1 when
 * neither. */
static int64_t
since(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (end == s || v < 0)
		return -1;
	if (*end == '\0')
		return v;
	if (end[1] != '\0')
		return -1;
	switch (*end) {
	case 's': break;
	case 'm': v *= 60; break;
	case 'h': v *= 3600; break;
	case 'd': v *= 86400; break;
	default: return -1;
	}
	return (int64_t)time(NULL) - v;
}

int
cli_deploy_parse(int argc, char **argv, int with_yes, struct cli_deploy *d, int *status)
{
	static const struct option longopts[] = {
		{ "deployment", required_argument, NULL, 'D' },
		{ "etcd", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "table", no_argument, NULL, 't' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "lock-ttl", required_argument, NULL, 'L' },
		{ "stop-timeout", required_argument, NULL, 'S' },
		{ "drain", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "yes", no_argument, NULL, 'y' },
		{ "ref", required_argument, NULL, 'r' },
		{ "git-dir", required_argument, NULL, 'g' },
		{ "build-host", required_argument, NULL, 'b' },
		{ "follow", no_argument, NULL, 'f' },
		{ "since", required_argument, NULL, 'I' },
		{ "tail", required_argument, NULL, 'T' },
		{ "host", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int ch;

	memset(d, 0, sizeof(*d));
	d->dep = getenv("PAAS_DEPLOYMENT");
	d->fmt = PAAS_FORMAT_AUTO;
	*status = PAAS_EINVAL;
	while ((ch = getopt_long(argc, argv, "D:hVf", longopts, NULL)) != -1) {
		switch (ch) {
		case 'D': d->dep = optarg; break;
		case 'e': d->etcd = optarg; break;
		case 'j': d->fmt = PAAS_FORMAT_JSON; break;
		case 't': d->fmt = PAAS_FORMAT_TABLE; break;
		case 'n': d->o.dry_run = 1; break;
		case 'f':
		case 'I':
		case 'T':
		case 'H':
			if (!with_yes) {
				*status = cli_bad_usage("unknown option %s", argv[optind - 1]);
				return -1;
			}
			if (ch == 'H') {
				if (!paas_valid_name(optarg)) {
					*status = cli_bad_usage("--host '%.64s': not a host name", optarg);
					return -1;
				}
				d->host = optarg;
			} else if (ch == 'f')
				d->follow = 1;
			else if (ch == 'T') {
				long t = strtol(optarg, &end, 10);

				if (*end || end == optarg || t < 0 || t > 1000000) {
					*status = cli_bad_usage("--tail: expected a number of lines, not "
					    "'%.32s'", optarg);
					return -1;
				}
				d->tail = (int)t;
			} else if ((d->since = since(optarg)) < 0) {
				*status = cli_bad_usage("--since: expected a Unix time or an age such as "
				    "30s, 10m, 2h or 1d, not '%.32s'", optarg);
				return -1;
			}
			break;
		case 'y':
		case 'r':
		case 'g':
		case 'b':
			if (!with_yes) {
				*status = cli_bad_usage("unknown option %s", argv[optind - 1]);
				return -1;
			}
			if (ch == 'y')
				d->yes = 1;
			else if (ch == 'r')
				d->o.ref = optarg;
			else if (ch == 'g')
				d->git_dir = optarg;
			else if (!paas_valid_name(optarg)) {
				*status = cli_bad_usage("--build-host '%.64s': not a host name", optarg);
				return -1;
			} else
				d->o.build_host = optarg;
			break;
		case 'L':
			if (paas_parse_int(optarg, 2, 3600, &d->o.lock_ttl) < 0) {
				*status = cli_bad_usage("--lock-ttl: expected seconds from 2 to 3600, "
				    "not '%s'", optarg);
				return -1;
			}
			break;
		case 'S':
			if (paas_parse_int(optarg, 1, 3600, &d->o.stop_timeout) < 0) {
				*status = cli_bad_usage("--stop-timeout: expected seconds from 1 to 3600, "
				    "not '%s'", optarg);
				return -1;
			}
			break;
		case 'd': {
			double s = strtod(optarg, &end);

			if (*end || end == optarg || !(s >= 0 && s <= 3600)) {
				*status = cli_bad_usage("--drain: expected seconds from 0 to 3600, not '%s'",
				    optarg);
				return -1;
			}
			d->o.drain_ms = s == 0 ? -1 : (int)(s * 1000);
			break;
		}
		case 'h':
			cli_usage(stdout);
			*status = 0;
			return -1;
		case 'V':
			*status = cli_version();
			return -1;
		default:
			cli_usage(stderr);
			return -1;
		}
	}
	return 0;
}

int
cli_deploy_ready(struct cli_deploy *d, int *status)
{
	if ((*status = cli_etcd_auth("deployer")) != 0)
		return -1;
	*status = PAAS_EINVAL;
	if (d->dep == NULL || *d->dep == '\0') {
		*status = cli_bad_usage("no deployment: give -D name or set PAAS_DEPLOYMENT");
		return -1;
	}
	if (!paas_valid_name(d->dep)) {
		*status = cli_bad_usage("invalid deployment name '%.64s': use lower-case letters, "
		    "digits and '-', starting with a letter, at most 63", d->dep);
		return -1;
	}
	d->table = paas_out_is_table(d->fmt);
	d->o.etcd = paas_etcd_endpoints(d->etcd);
	d->o.deployment = d->dep;
	d->o.event = cli_print_event;
	d->o.arg = &d->table;
	return 0;
}

static void
text_list(struct paas_buf *b, const json_t *a, const char *verb)
{
	const json_t *x;
	size_t i;

	if (json_array_size(a) == 0)
		return;
	paas_buf_addf(b, "\n  %s:", verb);
	json_array_foreach(a, i, x)
		paas_buf_addf(b, " %s.%s@%s", json_string_value(json_object_get(x, "service")),
		    json_string_value(json_object_get(x, "instance")),
		    json_string_value(json_object_get(x, "host")));
}

void
cli_print_event(const json_t *ev, void *arg)
{
	const char *e = json_string_value(json_object_get(ev, "kind"));
	const char *svc = json_string_value(json_object_get(ev, "service"));
	const char *inst = json_string_value(json_object_get(ev, "instance"));
	const char *host = json_string_value(json_object_get(ev, "host"));
	long long rel = json_integer_value(json_object_get(ev, "release"));
	struct paas_buf b = PAAS_BUF_INIT;

	if (!*(const int *)arg) {
		paas_out_json(ev);
		fflush(stdout);
		return;
	}
	if (!strcmp(e, "unchanged"))
		paas_buf_adds(&b, "No changes.");
	else if (!strcmp(e, "lock"))
		paas_buf_addf(&b, "locked %s as %s", json_string_value(json_object_get(ev, "deployment")),
		    json_string_value(json_object_get(ev, "holder")));
	else if (!strcmp(e, "plan")) {
		paas_buf_addf(&b, "%splan for release %lld: start %zu, stop %zu",
		    json_is_true(json_object_get(ev, "dry_run")) ? "dry run: " : "", rel,
		    json_array_size(json_object_get(ev, "start")),
		    json_array_size(json_object_get(ev, "stop")));
		text_list(&b, json_object_get(ev, "start"), "start");
		text_list(&b, json_object_get(ev, "stop"), "stop ");
	} else if (!strcmp(e, "release"))
		paas_buf_addf(&b, "release %lld (%s)", rel,
		    json_string_value(json_object_get(ev, "release_kind")));
	else if (!strcmp(e, "resume"))
		paas_buf_addf(&b, "release %lld is current: finishing its rollout", rel);
	else if (!strcmp(e, "start"))
		paas_buf_addf(&b, "%s.%s  started on %s as %s", svc, inst, host,
		    json_string_value(json_object_get(ev, "container")));
	else if (!strcmp(e, "healthy"))
		paas_buf_addf(&b, "%s.%s  healthy after %.1f s", svc, inst,
		    json_integer_value(json_object_get(ev, "ms")) / 1000.0);
	else if (!strcmp(e, "unhealthy"))
		paas_buf_addf(&b, "%s.%s  NOT healthy: %s", svc, inst,
		    json_string_value(json_object_get(ev, "error")));
	else if (!strcmp(e, "stop"))
		paas_buf_addf(&b, "%s.%s  stopped %s on %s", svc, inst,
		    json_string_value(json_object_get(ev, "container")), host);
	else if (!strcmp(e, "rollback"))
		paas_buf_addf(&b, "rolling back from release %lld to %lld",
		    (long long)json_integer_value(json_object_get(ev, "from")),
		    (long long)json_integer_value(json_object_get(ev, "to")));
	else if (!strcmp(e, "done"))
		paas_buf_addf(&b, "release %lld done in %.1f s: %lld started, %lld stopped", rel,
		    json_integer_value(json_object_get(ev, "ms")) / 1000.0,
		    (long long)json_integer_value(json_object_get(ev, "started")),
		    (long long)json_integer_value(json_object_get(ev, "stopped")));
	else if (!strcmp(e, "announced"))
		paas_buf_addf(&b, "%s.%s  announced by the agent on %s", svc, inst, host);
	else if (!strcmp(e, "served"))
		paas_buf_addf(&b, "         %s: %lld router(s) serve revision %lld after %.2f s",
		    json_string_value(json_object_get(ev, "what")),
		    (long long)json_integer_value(json_object_get(ev, "routers")),
		    (long long)json_integer_value(json_object_get(ev, "revision")),
		    json_integer_value(json_object_get(ev, "ms")) / 1000.0);
	else if (!strcmp(e, "withdrawn"))
		paas_buf_addf(&b, "%s.%s  withdrawn from the routers, draining", svc, inst);
	else if (!strcmp(e, "routes")) {
		const json_t *x;
		size_t i;

		paas_buf_adds(&b, "routes:");
		json_array_foreach(json_object_get(ev, "set"), i, x)
			paas_buf_addf(&b, " +%s", json_string_value(x));
		json_array_foreach(json_object_get(ev, "removed"), i, x)
			paas_buf_addf(&b, " -%s", json_string_value(x));
	} else if (!strcmp(e, "build") && json_object_get(ev, "tag"))
		paas_buf_addf(&b, "%s  building %s on %s", svc,
		    json_string_value(json_object_get(ev, "tag")), host);
	else if (!strcmp(e, "build")) {
		paas_buf_addf(&b, "%s  | ", svc);
		paas_buf_add_printable(&b, json_string_value(json_object_get(ev, "line")));
	} else if (!strcmp(e, "built") && json_is_true(json_object_get(ev, "cached")))
		paas_buf_addf(&b, "%s  unchanged since its last build: %s", svc,
		    json_string_value(json_object_get(ev, "image")));
	else if (!strcmp(e, "built") && json_is_true(json_object_get(ev, "pending")))
		paas_buf_addf(&b, "%s  would build %s", svc,
		    json_string_value(json_object_get(ev, "image")));
	else if (!strcmp(e, "built"))
		paas_buf_addf(&b, "%s  built %s in %.1f s", svc,
		    json_string_value(json_object_get(ev, "image")),
		    json_integer_value(json_object_get(ev, "ms")) / 1000.0);
	else if (!strcmp(e, "uncommitted")) {
		const json_t *x;
		size_t i;

		paas_buf_addf(&b, "warning: %s: building commit %.12s; not in it:", svc,
		    json_string_value(json_object_get(ev, "commit")));
		json_array_foreach(json_object_get(ev, "paths"), i, x) {
			paas_buf_adds(&b, " ");
			paas_buf_add_printable(&b, json_string_value(x));
		}
	} else if (!strcmp(e, "warning"))
		paas_buf_addf(&b, "warning: %s", json_string_value(json_object_get(ev, "message")));
	else if (!strcmp(e, "destroyed"))
		paas_buf_addf(&b, "destroyed %s: %lld containers removed",
		    json_string_value(json_object_get(ev, "deployment")),
		    (long long)json_integer_value(json_object_get(ev, "stopped")));
	else
		paas_buf_adds(&b, e);
	printf("%s\n", b.data);
	fflush(stdout);
	paas_buf_free(&b);
}

int
cli_version(void)
{
	printf("%s (paas-tools) %s, commit %s\n", cli_prog, PACKAGE_VERSION, PAAS_COMMIT);
	return 0;
}

static void
cell(FILE *f, const char *v, size_t w, int last)
{
	if (v == NULL)
		v = "-";
	if (last)
		fprintf(f, "%s\n", v);
	else
		fprintf(f, "%-*s  ", (int)w, v);
}

void
cli_table(FILE *f, const char *const *head, size_t ncol, const json_t *rows)
{
	size_t *w = calloc(ncol, sizeof(*w)), i, c;
	const json_t *row;

	if (w == NULL)
		return;
	for (c = 0; c < ncol; c++)
		w[c] = strlen(head[c]);
	json_array_foreach(rows, i, row)
		for (c = 0; c < ncol; c++) {
			const char *v = json_string_value(json_array_get(row, c));

			if (v && strlen(v) > w[c])
				w[c] = strlen(v);
		}
	for (c = 0; c < ncol; c++)
		cell(f, head[c], w[c], c + 1 == ncol);
	json_array_foreach(rows, i, row)
		for (c = 0; c < ncol; c++)
			cell(f, json_string_value(json_array_get(row, c)), w[c], c + 1 == ncol);
	free(w);
}
