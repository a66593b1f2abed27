/*
 * paas-route: HAProxy in front of the cluster, configured from etcd.
 *
 *   render   the configuration, to standard output
 *   apply    render, check with haproxy -c on a staged file, rename into
 *            place, reload through the master CLI; no change, no reload
 *   watch    the router daemon (router.h): apply now and again on every
 *            change of the routes or the announcements, publishing the
 *            etcd revision its HAProxy serves so that paas-deploy can
 *            wait for it
 */
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "etcd.h"
#include "router.h"
#include "state.h"
#include "statuspage.h"
#include "valid.h"

#define DEFAULT_CONFIG	"/var/lib/paas/route/haproxy.cfg"

static volatile sig_atomic_t stopping;

struct conf {
	struct paas_router_opts o;
	char *config, *master, *stats, *pidfile, *status_sock, *cert_dir;
	const char *status_users_file;
	json_t *status_users;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: %s [--etcd endpoints] render [options]\n"
	    "       %s [--etcd endpoints] apply [options]\n"
	    "       %s [--etcd endpoints] watch [options] [--name name] [--coalesce-ms ms] [--ttl s]\n"
	    "           [--status-domain domain --status-users file]\n"
	    "options: [--config file] [--master-socket path] [--stats-socket path]\n"
	    "         [--port n] [--https-port n] [--tls-dir dir] [--hard-stop-after s]\n"
	    "         [--haproxy path] [--pid-file file]\n", cli_prog, cli_prog, cli_prog);
}

/* path next to the configuration file (caller frees). */
static char *
beside(const char *config, const char *name)
{
	char *copy = paas_xstrdup(config), *out;

	if (asprintf(&out, "%s/%s", dirname(copy), name) < 0)
		abort();
	free(copy);
	return out;
}

/* A number or a watch's flag: 0, or the usage error's exit status. */
static int
watch_flag(int ch, struct conf *cf, int watch)
{
	struct paas_router_opts *c = &cf->o;

	switch (ch) {
	case 'p':
		if (paas_parse_int(optarg, 1, 65535, &c->port) < 0)
			return cli_bad_usage("--port %.32s: expected a port, 1-65535", optarg);
		return 0;
	case 'P':
		if (paas_parse_int(optarg, 1, 65535, &c->https_port) < 0)
			return cli_bad_usage("--https-port %.32s: expected a port, 1-65535", optarg);
		return 0;
	case 'H':
		if (paas_parse_int(optarg, 1, 86400, &c->hard_stop) < 0)
			return cli_bad_usage("--hard-stop-after %.32s: expected seconds, 1-86400",
			    optarg);
		return 0;
	case 'C':
		if (!watch || paas_parse_int(optarg, 0, 10000, &c->coalesce_ms) < 0)
			return cli_bad_usage("--coalesce-ms: watch only, 0-10000");
		return 0;
	case 'l':
		if (!watch || paas_parse_int(optarg, 2, 3600, &c->ttl) < 0)
			return cli_bad_usage("--ttl: watch only, 2-3600 seconds");
		return 0;
	case 'D':
		if (!watch || !paas_valid_domain(optarg))
			return cli_bad_usage("--status-domain: watch only; a domain name (RFC 1123, "
			    "lower case)");
		c->status_domain = optarg;
		return 0;
	case 'U':
		if (!watch)
			return cli_bad_usage("--status-users: watch only");
		cf->status_users_file = optarg;
		return 0;
	case 'n':
		if (!watch || !paas_valid_label(optarg))
			return cli_bad_usage("--name: watch only; letters, digits, . _ -");
		c->name = optarg;
		return 0;
	default:
		usage(stderr);
		return PAAS_EINVAL;
	}
}

static int
parse(int argc, char **argv, struct conf *cf, int watch)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "master-socket", required_argument, NULL, 'm' },
		{ "stats-socket", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "https-port", required_argument, NULL, 'P' },
		{ "tls-dir", required_argument, NULL, 'T' },
		{ "hard-stop-after", required_argument, NULL, 'H' },
		{ "haproxy", required_argument, NULL, 'x' },
		{ "name", required_argument, NULL, 'n' },
		{ "coalesce-ms", required_argument, NULL, 'C' },
		{ "ttl", required_argument, NULL, 'l' },
		{ "pid-file", required_argument, NULL, 'i' },
		{ "status-domain", required_argument, NULL, 'D' },
		{ "status-users", required_argument, NULL, 'U' },
		{ "etcd", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = getenv("PAAS_ROUTE_CONFIG"), *env = getenv("PAAS_ROUTE_PORT");
	const char *master = NULL, *stats = NULL, *pidfile = NULL;
	struct paas_router_opts *c = &cf->o;
	int ch;

	c->port = geteuid() == 0 ? 80 : 8080;
	c->https_port = geteuid() == 0 ? 443 : 8443;
	c->hard_stop = 30;
	c->coalesce_ms = 50;
	c->ttl = 10;
	if (env && *env && paas_parse_int(env, 1, 65535, &c->port) < 0)
		return cli_bad_usage("PAAS_ROUTE_PORT=%.32s: expected a port, 1-65535", env);
	optind = 0;
	argv[0] = (char *)cli_prog;		/* getopt's messages name the command */
	while ((ch = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h': usage(stdout); return -1;
		case 'V': cli_version(); return -1;
		case 'e': c->etcd = optarg; break;
		case 'c': config = optarg; break;
		case 'm': master = optarg; break;
		case 's': stats = optarg; break;
		case 'i': pidfile = optarg; break;
		case 'x': c->haproxy = optarg; break;
		case 'T': c->tls_dir = optarg; break;
		default:
			if ((ch = watch_flag(ch, cf, watch)) != 0)
				return ch;
			break;
		}
	}
	if (optind != argc)
		return cli_bad_usage("unexpected argument '%.64s'", argv[optind]);
	/* The status page is never served without a password. */
	if (!c->status_domain != !cf->status_users_file)
		return cli_bad_usage("%s", "--status-domain and --status-users go together");
	if (c->tls_dir && c->tls_dir[0] != '/')
		return cli_bad_usage("--tls-dir %.64s: expected an absolute path", c->tls_dir);
	if (config == NULL || !*config)
		config = DEFAULT_CONFIG;
	if (strpbrk(config, "\n\r \t\"'") || (stats && strpbrk(stats, "\n\r \t\"'")) ||
	    (c->tls_dir && strpbrk(c->tls_dir, "\n\r \t\"'")))
		return cli_bad_usage("%s", "paths may not hold spaces, quotes or newlines");
	c->config = cf->config = paas_xstrdup(config);
	c->master = cf->master = master ? paas_xstrdup(master) : beside(config, "master.sock");
	c->stats = cf->stats = stats ? paas_xstrdup(stats) : beside(config, "stats.sock");
	c->pidfile = cf->pidfile = pidfile ? paas_xstrdup(pidfile) : beside(config, "haproxy.pid");
	/* The router's own server: the status page, and ACME's HTTP-01. */
	c->acme_socket = cf->status_sock = beside(config, "status.sock");
	c->cert_dir = cf->cert_dir = beside(config, "certs");
	return 0;
}

static void
conf_free(struct conf *c)
{
	free(c->config);
	free(c->master);
	free(c->stats);
	free(c->pidfile);
	free(c->status_sock);
	free(c->cert_dir);
	json_decref(c->status_users);
}

static void
warn_skipped(json_t *skipped)
{
	json_t *v;
	size_t i;

	json_array_foreach(skipped, i, v)
		fprintf(stderr, "%s: warning: left out: %s\n", cli_prog, json_string_value(v));
	json_decref(skipped);
}

static int
cmd_render(struct paas_etcd *e, const struct paas_router_opts *o)
{
	struct paas_err err = PAAS_ERR_INIT;
	json_t *skipped = NULL;
	char *cfg;
	int rc = paas_router_render(e, o, &cfg, NULL, &skipped, &err);

	warn_skipped(skipped);
	if (rc < 0)
		return cli_fail(&err);
	fputs(cfg, stdout);
	free(cfg);
	if (fflush(stdout) == EOF)
		return PAAS_EFAILED;
	return 0;
}

static int
cmd_apply(struct paas_etcd *e, const struct paas_router_opts *o)
{
	struct paas_err err = PAAS_ERR_INIT;
	json_t *skipped = NULL;
	int changed, rc = paas_router_apply(e, o, 0, NULL, &changed, &skipped, &err);

	warn_skipped(skipped);
	if (rc < 0)
		return cli_fail(&err);
	if (changed && !paas_router_haproxy_running(o))
		fprintf(stderr, "%s: %s written; no HAProxy answers on %s, nothing reloaded\n",
		    cli_prog, o->config, o->master);
	else
		fprintf(stderr, "%s: %s\n", cli_prog, changed ? "applied and reloaded" : "unchanged");
	return 0;
}

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
log_line(const char *msg, void *arg)
{
	(void)arg;
	cli_log(NULL, msg);
}

static int
cmd_watch(struct conf *c)
{
	struct paas_router_opts *o = &c->o;
	struct paas_err err = PAAS_ERR_INIT;
	struct paas_status_server *status = NULL;
	struct sigaction sa;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	o->stop = &stopping;
	o->log = log_line;
	if ((o->status_domain && paas_status_users_read(c->status_users_file, &c->status_users,
	    &err) < 0) || paas_status_server_start(o->etcd, c->status_sock, &status, &err) < 0)
		return cli_fail(&err);
	if (o->status_domain) {
		o->status_users = c->status_users;
		o->status_socket = c->status_sock;
	}
	rc = paas_router_run(o, &err) < 0 ? cli_fail(&err) : 0;
	paas_status_server_stop(status);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "etcd", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct paas_err err = PAAS_ERR_INIT;
	struct conf c;
	struct paas_etcd *e;
	const char *etcd = NULL, *cmd;
	int ch, rc;

	cli_prog = "paas-route";
	cli_usage = usage;
	memset(&c, 0, sizeof(c));
	while ((ch = getopt_long(argc, argv, "+e:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e': etcd = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': return cli_version();
		default: usage(stderr); return PAAS_EINVAL;
		}
	}
	argc -= optind, argv += optind;
	if (argc < 1 || (strcmp(argv[0], "render") && strcmp(argv[0], "apply") &&
	    strcmp(argv[0], "watch"))) {
		usage(stderr);
		return PAAS_EINVAL;
	}
	cmd = argv[0];
	c.o.etcd = etcd;
	/* -1: help or version printed. */
	if ((rc = parse(argc, argv, &c, strcmp(cmd, "watch") == 0)) != 0) {
		conf_free(&c);
		return rc < 0 ? 0 : rc;
	}
	c.o.etcd = paas_etcd_endpoints(c.o.etcd);
	rc = cli_etcd_auth("router");
	if (rc == 0 && strcmp(cmd, "watch") == 0)
		rc = cmd_watch(&c);
	else if (rc == 0 && (e = paas_etcd_new(c.o.etcd, NULL, &err)) == NULL)
		rc = cli_fail(&err);
	else if (rc == 0) {
		rc = strcmp(cmd, "render") == 0 ? cmd_render(e, &c.o) : cmd_apply(e, &c.o);
		paas_etcd_free(e);
	}
	conf_free(&c);
	return rc;
}
