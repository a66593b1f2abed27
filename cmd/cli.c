#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* One of paas-deploy's own flags: 0, or the usage error's exit status. */
static int
deploy_own_flag(int ch, struct cli_deploy *d)
{
	char *end;
	long t;

	switch (ch) {
	case 'H':
		if (!paas_valid_name(optarg))
			return cli_bad_usage("--host '%.64s': not a host name", optarg);
		d->host = optarg;
		return 0;
	case 'f': d->follow = 1; return 0;
	case 'T':
		t = strtol(optarg, &end, 10);
		if (*end || end == optarg || t < 0 || t > 1000000)
			return cli_bad_usage("--tail: expected a number of lines, not '%.32s'", optarg);
		d->tail = (int)t;
		return 0;
	case 'I':
		if ((d->since = paas_parse_since(optarg)) < 0)
			return cli_bad_usage("--since: expected a Unix time or an age such as 30s, 10m, "
			    "2h or 1d, not '%.32s'", optarg);
		return 0;
	case 'y': d->yes = 1; return 0;
	case 'r': d->o.ref = optarg; return 0;
	case 'g': d->git_dir = optarg; return 0;
	case 'P': d->o.from_push = 1; return 0;
	case 'A':
		if (d->nallow == 16)
			return cli_bad_usage("--allow-source: at most 16");
		d->allow[d->nallow++] = optarg;
		d->o.allowed_sources = d->allow;
		return 0;
	default:
		if (!paas_valid_name(optarg))
			return cli_bad_usage("--build-host '%.64s': not a host name", optarg);
		d->o.build_host = optarg;
		return 0;
	}
}

int
cli_deploy_parse(int argc, char **argv, int with_yes, struct cli_deploy *d, int *status)
{
	static const struct option longopts[] = {
		{ "deployment", required_argument, NULL, 'D' },
		{ "etcd", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "table", no_argument, NULL, 'X' },
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
		{ "from-push", no_argument, NULL, 'P' },
		{ "allow-source", required_argument, NULL, 'A' },
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
	while ((ch = getopt_long(argc, argv, with_yes ? "D:hVfit" : "D:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'D': d->dep = optarg; break;
		case 'e': d->etcd = optarg; break;
		case 'j': d->fmt = PAAS_FORMAT_JSON; break;
		case 'X': d->fmt = PAAS_FORMAT_TABLE; break;
		case 'n': d->o.dry_run = 1; break;
		case 'i': d->interactive = 1; break;
		case 't': d->interactive = d->tty = 1; break;
		case 'f':
		case 'I':
		case 'T':
		case 'H':
		case 'y':
		case 'r':
		case 'g':
		case 'b':
		case 'P':
		case 'A':
			if (!with_yes) {
				*status = cli_bad_usage("unknown option %s", argv[optind - 1]);
				return -1;
			}
			if ((*status = deploy_own_flag(ch, d)) != 0)
				return -1;
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

void
cli_print_event(const json_t *ev, void *arg)
{
	struct paas_buf b = PAAS_BUF_INIT;

	if (!*(const int *)arg) {
		paas_out_json(ev);
		fflush(stdout);
		return;
	}
	paas_deploy_event_text(ev, &b);
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

void
cli_print_cluster_event(const json_t *ev, void *arg)
{
	const enum paas_format *fmt = arg;
	const char *kind = json_string_value(json_object_get(ev, "kind"));
	const char *detail = json_string_value(json_object_get(ev, "detail"));
	const char *host = json_string_value(json_object_get(ev, "host"));
	json_int_t pid = json_integer_value(json_object_get(ev, "pid"));

	if (kind && strcmp(kind, "warning") == 0) {
		fprintf(stderr, "%s: warning: %s\n", cli_prog,
		    json_string_value(json_object_get(ev, "message")));
		return;
	}
	if (!paas_out_is_table(*fmt) || kind == NULL || strcmp(kind, "component") != 0) {
		paas_out_json(ev);
		fflush(stdout);
		return;
	}
	printf("%-8s %-10s", json_string_value(json_object_get(ev, "component")),
	    json_string_value(json_object_get(ev, "state")));
	if (host)
		printf(" %s\n", host);
	else {
		if (pid)
			printf(" pid %-8ld", (long)pid);
		printf("%s%s\n", detail ? " " : "", detail ? detail : "");
	}
	fflush(stdout);
}

int
cli_agent_docker(const char *url)
{
	if (strncmp(url, "unix:///", 8) != 0 || strlen(url) > 200 || !paas_only_chars(url + 7, "/._-"))
		return cli_bad_usage("--agent-docker %.64s: expected unix:///path", url);
	return 0;
}
