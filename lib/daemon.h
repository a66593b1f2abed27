/*
 * Background processes with pid files, for paas-cluster(1) up and down,
 * and files replaced atomically.
 *
 * A pid file holds one decimal pid.  A process counts as alive only when
 * the pid exists and its program name (argv[0]'s last component, from
 * /proc/PID/cmdline) is the one expected, so a pid reused by something
 * else after a reboot is not mistaken for ours.
 */
#ifndef PAAS_DAEMON_H
#define PAAS_DAEMON_H

#include <signal.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

/* The pid in pidfile if that process is alive and runs prog; else 0. */
pid_t paas_daemon_alive(const char *pidfile, const char *prog);

/*
 * Start argv (argv[0] looked up in PATH) in its own session, stdin from
 * /dev/null, stdout and stderr appended to logfile (mode 0600), and write
 * its pid to pidfile (atomically, mode 0644).  Returns at once; a program
 * that cannot be executed shows in the log and as a process that is gone.
 */
int paas_daemon_start(char *const argv[], const char *logfile,
    const char *pidfile, pid_t *pid, struct paas_err *err);

/*
 * SIGTERM the process in pidfile (if alive and running prog) and wait up
 * to timeout_ms for it to go, then SIGKILL it.  The pid file is removed.
 * *was (if not NULL) gets the pid, 0 if nothing ran.
 */
int paas_daemon_stop(const char *pidfile, const char *prog, long timeout_ms,
    pid_t *was, struct paas_err *err);

/*
 * Run argv (from the PATH, no shell) with standard input /dev/null and its
 * standard output and error collected into out (the first 64 KiB): its
 * exit status (128 + N for signal N), or -1 with err when it could not run.
 */
int paas_run_cmd(char *const argv[], struct paas_buf *out, struct paas_err *err);

/* Whether a TCP port is taken on address (an IPv4 address; NULL or
 * another name: every address): something listens there, so that a
 * server of ours could not bind it. */
int paas_port_taken(const char *address, int port);

/*
 * Set *flag when this process's caller is gone: on SIGHUP, or when nobody
 * reads its output any more (standard output or error a pipe or socket
 * whose reader closed; a thread looks every 250 ms).  SIGPIPE is ignored:
 * a write to that output fails instead.  For one flag per process.
 */
void paas_watch_caller(volatile sig_atomic_t *flag);

/* The parent of process pid (/proc), or -1 when it is gone. */
pid_t paas_parent_pid(pid_t pid);

#endif
