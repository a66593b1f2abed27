#!/bin/bash
# The deployment lock: bound to a lease kept alive by its holder; a second
# taker is refused (exit 2) naming the holder; the lock frees itself within
# its TTL when the holder is SIGKILLed.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"

etcd_start
E=$ETCD_ENDPOINT
lock() { "$PAAS_T" etcd "$E" lock "$@"; }

test_expect_success 'a held lock refuses a second taker, exit 2, naming the holder' '
	{ "$PAAS_T" etcd "$E" lock shop "alice@a pid 1" 5 30 >a.out 2>&1 & a=$!; } &&
	wait_for 5 grep -q locked a.out &&
	expect_status 2 lock shop "bob@b pid 2" 5 0 2>err &&
	expect_grep "deployment shop is locked by alice@a pid 1 since 20" err
'

test_expect_success 'the holder keeps it past its TTL of 5 s (keepalive)' '
	sleep 6 &&
	expect_status 2 lock shop "bob@b pid 2" 5 0 2>err &&
	expect_grep "alice" err
'

test_expect_success 'another deployment locks at the same time' '
	lock blog "carol" 5 0 >out && expect_grep released out
'

test_expect_success 'SIGKILL of the holder frees the lock within its TTL plus a second' '
	kill -9 $a && { wait $a 2>/dev/null || :; } && start=$(now_ms) &&
	wait_for 8 lock shop "bob@b pid 2" 5 0 &&
	elapsed=$(($(now_ms) - start)) && echo "freed after $elapsed ms" &&
	[ $elapsed -le 6000 ]
'

test_expect_success 'a released lock is free at once' '
	lock shop "dave" 5 0 >out && expect_grep released out &&
	start=$(now_ms) && lock shop "erin" 5 0 >out &&
	[ $(($(now_ms) - start)) -lt 1000 ] &&
	expect_status 1 "$PAAS_T" etcd "$E" get /paas/v1/deployments/shop/lock
'

test_expect_success 'an invalid deployment name is refused, exit 3' '
	expect_status 3 lock "../x" h 5 0
'

test_done
