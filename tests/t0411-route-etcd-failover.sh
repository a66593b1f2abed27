#!/bin/bash
# paas-route watch against a three-member etcd: when the member it watches
# dies, the watch resumes on another from the revision after the last one it
# saw, so a change made meanwhile is served; a burst of changes is coalesced
# into few reloads; bad routes are left out, not fatal.  The servers are
# busybox httpd on loopback standing in for announced instances.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
need busybox
etcd_cluster_start 3
export PAAS_ETCD=$ETCD_ENDPOINTS
. "$SRCDIR/tests/lib-route.sh"
E1=${ETCD_EP[1]}

# announce N PORT [ENDPOINT]: instance N of shop/web at 127.0.0.1:PORT
# (container c0000000000N, 12 hex digits)
announce() {
	local c
	c=$(printf 'c%011d' "$1")
	"$PAAS_T" etcd "${3:-$E1}" put "/paas/v1/announce/shop/web/$1/$c" \
		"{\"deployment\":\"shop\",\"service\":\"web\",\"instance\":\"$1\",\"container\":\"$c\",\"address\":\"127.0.0.1\",\"port\":$2,\"healthy\":true}" >/dev/null
}
web_server 1
web_server 2
p1=${WEB_PORT[1]}
p2=${WEB_PORT[2]}
reloads() { "$PAAS_T" haproxy-cli "$ROUTER_SOCK" "show proc" | awk '$2 == "master" { print $3 }'; }

test_expect_success 'a router on member 0 serves a route with one instance' '
	"$PAAS_T" etcd "$E1" put /paas/v1/routes/shop.test "{\"deployment\":\"shop\",\"service\":\"web\",\"port\":null}" >/dev/null &&
	announce 1 "$p1" &&
	router_start --etcd "$ETCD_ENDPOINTS" &&
	expect_eq "$(via shop.test /)" s1
'

test_expect_success 'the watched member dies; a change made through another is served' '
	etcd_member_kill 0 &&
	announce 2 "$p2" &&
	wait_for 15 sh -c "grep -q c00000000002 $ROUTER_CFG" &&
	wait_for 10 sh -c "[ \$(\"$PAAS_T\" etcd \"$E1\" get /paas/v1/routers/test | jq .revision) -ge \$(\"$PAAS_T\" etcd \"$E1\" modrev /paas/v1/announce/shop/web/2/c00000000002) ]" &&
	for i in 1 2 3 4; do via shop.test /; done | sort -u >seen &&
	printf "s1\ns2\n" >want && test_cmp want seen
'

test_expect_success 'the member comes back; withdrawals are served too' '
	etcd_member_restart 0 &&
	"$PAAS_T" etcd "$E1" del /paas/v1/announce/shop/web/1/c00000000001 >/dev/null &&
	wait_for 10 sh -c "! grep -q c00000000001 $ROUTER_CFG" &&
	wait_for 5 sh -c "[ \"\$(curl -s -m 1 -H \"Host: shop.test\" http://127.0.0.1:$ROUTER_PORT/)\" = s2 ]" &&
	for i in 1 2 3 4; do via shop.test /; done | sort -u >seen && expect_eq "$(cat seen)" s2
'

test_expect_success 'a burst of 50 changes (one writer, back to back) is coalesced into a few reloads' '
	jq -n --argjson p "$p2" "[range(10; 60) | {deployment: \"shop\", service: \"web\",
		instance: \"\(.)\", container: (\"d0000000\" + (1000 + . | tostring)), address: \"127.0.0.1\",
		port: \$p, healthy: true}]" >burst.json &&
	r0=$(reloads) &&
	"$PAAS_T" etcd "$E1" putmany /paas/v1/announce/shop/web/burst/ burst.json &&
	wait_for 10 sh -c "grep -q d00000001059 $ROUTER_CFG" && sleep 0.5 &&
	n=$(($(reloads) - r0)) && say "50 changes in a row: $n reloads" &&
	[ "$n" -ge 1 ] && [ "$n" -le 5 ] &&
	expect_eq "$(grep -c "server shop.web" "$ROUTER_CFG")" 51
'

test_expect_success 'a route that would not render is left out with a warning, the rest served' '
	"$PAAS_T" etcd "$E1" put /paas/v1/routes/bad.test "{\"deployment\":\"shop\",\"service\":\"web\",\"health\":\"/x\\ny\"}" >/dev/null &&
	"$PAAS_T" etcd "$E1" put /paas/v1/routes/other.test "{\"deployment\":\"shop\",\"service\":\"web\"}" >/dev/null &&
	wait_for 10 sh -c "grep -q \"str other.test }\" $ROUTER_CFG" &&
	wait_for 10 sh -c "[ \$(\"$PAAS_T\" etcd \"$E1\" get /paas/v1/routers/test | jq .revision) -ge \$(\"$PAAS_T\" etcd \"$E1\" modrev /paas/v1/routes/other.test) ]" &&
	! grep -q "bad.test" "$ROUTER_CFG" &&
	expect_grep "left out: route bad.test: health check path" "$TEST_TMP/router.log" &&
	expect_eq "$(via other.test /)" s2
'

test_expect_success 'HAProxy stopped under the router: it is started again' '
	old=$(cat "$ROUTER_DIR/haproxy.pid") && _haproxy_stop &&
	! kill -0 "$old" 2>/dev/null &&
	wait_for 10 sh -c "[ \$(cat $ROUTER_DIR/haproxy.pid) != $old ]" &&
	wait_for 10 sh -c "[ \"\$(curl -s -m 1 -H \"Host: other.test\" http://127.0.0.1:$ROUTER_PORT/)\" = s2 ]" &&
	expect_grep "starting one" "$TEST_TMP/router.log"
'

test_expect_success 'bad usage exits 3, an unknown host 3, etcd unreachable 2, each in one line' '
	expect_status 3 paas-route render --port 0 2>err && expect_grep "^paas-route: --port 0: expected a port" err &&
	expect_status 3 paas-route watch --coalesce-ms soon 2>err && expect_grep "coalesce-ms" err &&
	expect_status 3 paas-route apply --coalesce-ms 10 2>err && expect_grep "watch only" err &&
	expect_status 3 paas-route render --config "/tmp/a b.cfg" 2>err && expect_grep "spaces" err &&
	PAAS_ROUTE_PORT=http expect_status 3 paas-route render 2>err && expect_grep PAAS_ROUTE_PORT err &&
	expect_status 3 paas-cluster agent --interval 50 2>err && expect_grep "100-3600000" err &&
	expect_status 3 paas-cluster agent --host nosuch 2>err && expect_grep "no host nosuch is registered" err &&
	expect_status 2 paas-route render --etcd http://127.0.0.1:1 2>err && expect_grep "cannot reach etcd" err &&
	expect_status 2 paas-cluster --etcd http://127.0.0.1:1 agent --host a 2>err && expect_grep "cannot reach etcd" err
'

test_done
