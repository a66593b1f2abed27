#!/bin/bash
# Routing through an etcd stall (issue 29): etcd frozen (SIGSTOP) for 20 s
# during a rolling deploy, at each of five points of the roll (after the
# first start, healthy, announced, served and withdrawn event).  When etcd
# answers again every lease has lapsed at once; the router holds what it
# served (hold.h) until the agent announces again, so requests through it
# under a steady load: 0 non-2xx, 0 socket errors.  Each trial also shows
# that the leases did lapse (the agent registered again), so the stall
# was real.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
need wrk
etcd_start
docker_host_start a
export PAAS_ETCD=$ETCD_ENDPOINT
E=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"
ETCD_PID=${_etcd_pid[0]}
at_exit "kill -CONT $ETCD_PID 2>/dev/null"
STALL=20

version() { curl -sS -m 2 -H "Host: web.test" "http://127.0.0.1:$ROUTER_PORT/version"; }

# A steady load (4 connections, each a request every 20 ms) through the router.
load_start() {
	WRK_DELAY_MS=20 wrk -t 2 -c 4 -d 600s -s "$SRCDIR/tests/lua/count.lua" \
		-H "Host: web.test" "http://127.0.0.1:$ROUTER_PORT/version" >wrk.out 2>&1 &
	WRK=$!
	at_exit "kill -9 $WRK 2>/dev/null"
	wait_for 10 sh -c "[ \$(curl -s \"http://127.0.0.1:$ROUTER_PORT\" -o /dev/null -w %{http_code}) != 000 ]"
}
load_stop() {
	kill -INT "$WRK" && wait "$WRK"
	grep "^paas:" wrk.out || { cat wrk.out; return 1; }
}
field() { sed -n "s/^paas: .*\<$1=\([0-9.]*\).*/\1/p" load | head -n 1; }
registered() { grep -c "registered again" "$TEST_TMP/agent-a.log" || :; }

test_expect_success 'a host with an agent (TTL 10 s), a router, hw serving v0' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS &&
	agent_start a --ttl 10 && router_start &&
	paas-deploy -D hw "$(web v0 start-first 2)" >out &&
	wait_for 10 sh -c "[ \"\$(curl -sS -m 2 -H \"Host: web.test\" http://127.0.0.1:$ROUTER_PORT/version)\" = v0 ]"
'

n=0
for point in start healthy announced served withdrawn; do
	n=$((n + 1))
	test_expect_success "etcd frozen ${STALL} s after the first \"$point\" event of a roll: 0 failed requests" '
		lapsed=$(registered) && sf=$(web v$n start-first 2) &&
		load_start &&
		{ (paas-deploy -D hw "$sf" >roll.out 2>roll.err; echo $? >roll.rc) & deploy=$!; } &&
		wait_for 60 grep -q "\"kind\":\"$point\"" roll.out &&
		kill -STOP $ETCD_PID && sleep $STALL && kill -CONT $ETCD_PID &&
		{ wait $deploy; :; } && say "deploy: exit $(cat roll.rc) $(tail -n 1 roll.err)" &&
		# the leases lapsed: the agent registered again
		wait_for 30 sh -c "[ \$(grep -c \"registered again\" \"$TEST_TMP/agent-a.log\") -gt $lapsed ]" &&
		# a deploy the stall made give up is run again
		wait_for 90 paas-deploy -D hw "$sf" >/dev/null &&
		wait_for 15 sh -c "[ \"\$(curl -sS -m 2 -H \"Host: web.test\" http://127.0.0.1:$ROUTER_PORT/version)\" = v$n ]" &&
		load_stop >load && cat load && say "$point: $(cat load)" &&
		[ "$(field ok)" -gt 200 ] && expect_eq "$(field non2xx)" 0 && expect_eq "$(field errors)" 0
	'
done

test_expect_success 'the router held the lapsed servers and let them go once announced again' '
	expect_grep "holding /paas/v1/announce/hw/web/" "$TEST_TMP/router.log" &&
	! grep "let go of" "$TEST_TMP/router.log" | grep -v "drained by a deploy"
'

test_done
