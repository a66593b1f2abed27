#!/bin/bash
# The HAProxy test helper: a master-worker HAProxy in front of a real HTTP
# server answers, and keeps answering across a reload.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-haproxy.sh"
need busybox

web=$(free_port)
front=$(free_port)
mkdir -p www && echo backend-ok >www/index.html
busybox httpd -f -p "127.0.0.1:$web" -h www &
web_pid=$!
at_exit "kill_wait $web_pid"
wait_for 5 curl -fsS "http://127.0.0.1:$web/" || bail_out "busybox httpd did not come up"

cat >haproxy.cfg <<CFG
global
	stats socket $TEST_TMP/stats.sock mode 600 level admin expose-fd listeners
defaults
	mode http
	timeout connect 2s
	timeout client 10s
	timeout server 10s
frontend web
	bind 127.0.0.1:$front
	default_backend app
backend app
	server s1 127.0.0.1:$web check inter 200ms
CFG
haproxy_start haproxy.cfg

test_expect_success 'haproxy forwards to the backend' '
	wait_for 5 curl -fsS "http://127.0.0.1:$front/" &&
	expect_eq "$(curl -fsS "http://127.0.0.1:$front/")" backend-ok
'

test_expect_success 'a reload keeps the listener answering' '
	haproxy_reload &&
	errors=0 &&
	for i in $(seq 20); do curl -fsS -o /dev/null "http://127.0.0.1:$front/" || errors=$((errors + 1)); sleep 0.02; done &&
	expect_eq "$errors" 0
'

test_expect_success 'the master is still the same process' '
	kill -0 $HAPROXY_PID
'

test_done
