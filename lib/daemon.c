#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "daemon.h"
#include "file.h"

static pid_t
read_pid(const char *pidfile)
{
	char buf[32];
	ssize_t n;
	long v;
	char *end;
	int fd;

	if ((fd = open(pidfile, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	v = strtol(buf, &end, 10);
	if (v <= 1 || (*end != '\0' && *end != '\n'))
		return 0;
	return (pid_t)v;
}

static int
runs(pid_t pid, const char *prog)
{
	char path[64], cmd[4096], *base;
	ssize_t n;
	int fd;

	if (kill(pid, 0) < 0 && errno != EPERM)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return 0;		/* a zombie has an empty command line */
	cmd[n] = '\0';
	base = strrchr(cmd, '/');
	return strcmp(base ? base + 1 : cmd, prog) == 0;
}

pid_t
paas_daemon_alive(const char *pidfile, const char *prog)
{
	pid_t pid = read_pid(pidfile);

	return pid && runs(pid, prog) ? pid : 0;
}

int
paas_daemon_start(char *const argv[], const char *logfile, const char *pidfile,
    pid_t *pidp, struct paas_err *err)
{
	char line[32];
	int fd, p[2], child_errno = 0;
	ssize_t n;
	pid_t pid;

	if ((fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
		return paas_err_set(err, PAAS_EFAILED, "%s: %s", logfile, strerror(errno));
	/* The child reports a failed exec through a pipe that a successful
	 * one closes: when fork returns here the program runs, or we know why
	 * it does not. */
	if (pipe2(p, O_CLOEXEC) < 0) {
		close(fd);
		return paas_err_set(err, PAAS_EFAILED, "pipe: %s", strerror(errno));
	}
	if ((pid = fork()) < 0) {
		close(fd);
		close(p[0]);
		close(p[1]);
		return paas_err_set(err, PAAS_EFAILED, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		close(p[0]);
		setsid();
		if (null >= 0) {
			dup2(null, 0);
			close(null);
		}
		dup2(fd, 1);
		dup2(fd, 2);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		child_errno = errno;
		if (write(p[1], &child_errno, sizeof(child_errno)) < 0)
			_exit(127);
		_exit(127);
	}
	close(fd);
	close(p[1]);
	while ((n = read(p[0], &child_errno, sizeof(child_errno))) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (n > 0) {
		waitpid(pid, NULL, 0);
		return paas_err_set(err, PAAS_EFAILED, "cannot run %s: %s", argv[0],
		    strerror(child_errno));
	}
	n = snprintf(line, sizeof(line), "%ld\n", (long)pid);
	if (paas_file_replace(pidfile, line, (size_t)n, 0644, err) < 0) {
		kill(pid, SIGTERM);
		return -1;
	}
	if (pidp)
		*pidp = pid;
	return 0;
}

int
paas_daemon_stop(const char *pidfile, const char *prog, long timeout_ms, pid_t *was,
    struct paas_err *err)
{
	pid_t pid = paas_daemon_alive(pidfile, prog);
	long long until = paas_now_ms() + timeout_ms;

	if (was)
		*was = pid;
	if (pid) {
		if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
			return paas_err_set(err, PAAS_EFAILED, "%s pid %ld: %s", prog, (long)pid,
			    strerror(errno));
		/* Our own child (started by this process) must be reaped to go. */
		while (runs(pid, prog) && paas_now_ms() < until) {
			waitpid(pid, NULL, WNOHANG);
			paas_sleep_ms(20);
		}
		if (runs(pid, prog)) {
			kill(pid, SIGKILL);
			while (runs(pid, prog) && paas_now_ms() < until + 5000) {
				waitpid(pid, NULL, WNOHANG);
				paas_sleep_ms(20);
			}
		}
	}
	if (unlink(pidfile) < 0 && errno != ENOENT)
		return paas_err_set(err, PAAS_EFAILED, "%s: %s", pidfile, strerror(errno));
	return 0;
}

int
paas_run_cmd(char *const argv[], struct paas_buf *out, struct paas_err *err)
{
	posix_spawn_file_actions_t fa;
	char chunk[4096];
	int pfd[2], st, rc;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return paas_err_set(err, PAAS_EFAILED, "pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		return paas_err_set(err, PAAS_EFAILED, "cannot run %s: %s", argv[0], strerror(rc));
	}
	while ((n = read(pfd[0], chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && out->len < 65536)
			paas_buf_add(out, chunk, (size_t)n);
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return paas_err_set(err, PAAS_EFAILED, "waitpid: %s", strerror(errno));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return paas_err_set(err, PAAS_EFAILED, "cannot run %s", argv[0]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
paas_port_taken(const char *address, int port)
{
	struct sockaddr_in a;
	int fd, one = 1, taken = 0;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (address == NULL || inet_pton(AF_INET, address, &a.sin_addr) != 1)
		a.sin_addr.s_addr = htonl(INADDR_ANY);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno == EADDRINUSE)
		taken = 1;
	close(fd);
	return taken;
}

pid_t
paas_parent_pid(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	long pp = -1;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	/* "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses. */
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) != NULL)
		sscanf(p + 1, " %*c %ld", &pp);
	fclose(f);
	return (pid_t)pp;
}

static volatile sig_atomic_t *caller_flag;

static void
on_hangup(int sig)
{
	(void)sig;
	if (caller_flag)
		*caller_flag = 1;
}

/* Is fd a pipe or socket whose reader is gone? */
static int
reader_gone(int fd)
{
	struct pollfd p = { fd, 0, 0 };
	struct stat st;

	if (fstat(fd, &st) < 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return 0;
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

static void *
watch_caller(void *arg)
{
	volatile sig_atomic_t *flag = arg;

	while (!*flag) {
		if (reader_gone(1) || reader_gone(2))
			*flag = 1;
		paas_sleep_ms(250);
	}
	return NULL;
}

void
paas_watch_caller(volatile sig_atomic_t *flag)
{
	struct sigaction sa;
	pthread_t t;

	caller_flag = flag;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hangup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&t, NULL, watch_caller, (void *)flag) == 0)
		pthread_detach(t);
}
