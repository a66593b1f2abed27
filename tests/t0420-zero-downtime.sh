#!/bin/bash
# Zero downtime, measured with wrk through the router's HAProxy: a rolling
# deploy of 3 instances on two hosts, 20 back-to-back `paas-route apply`
# reloads with changes, and 100 refused renders in a row: 0 non-2xx, 0
# socket errors.  The control run (stop-first, --drain 0) shows that the
# same measurement does see failures when there are some.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
need wrk openssl
etcd_start
docker_host_start a
docker_host_start b
export PAAS_ETCD=$ETCD_ENDPOINT
E=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"
SF=$SRCDIR/tests/servicefiles/route/shop.yml
ADMIN_HASH=$(openssl passwd -6 -salt paasroute s3cret)
export ADMIN_HASH

# version V [sed...]: shop.yml with web's VERSION set to V
version() {
	local v=$1
	shift
	sed -e "s/VERSION: web-v1/VERSION: $v/" "$@" "$SF" >"shop-$v.yml"
	echo "shop-$v.yml"
}

# load_start / load_stop: wrk at a steady concurrency (8 connections, each
# request 0.1 s in the CGI) through HAProxy; load_stop prints its summary.
load_start() {
	wrk -t 2 -c 8 -d 300s -s "$SRCDIR/tests/lua/count.lua" -H "Host: shop.test" \
		"http://127.0.0.1:$ROUTER_PORT/cgi-bin/slow" >wrk.out 2>&1 &
	WRK=$!
	at_exit "kill -9 $WRK 2>/dev/null"
	sleep 1
}
load_stop() {
	kill -INT "$WRK" && wait "$WRK"
	grep "^paas:" wrk.out || { cat wrk.out; return 1; }
}
# field NAME: from the last load_stop line
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p; s/^paas: $1=\([0-9.]*\).*/\1/p" load | head -n 1; }
reloads() { "$PAAS_T" haproxy-cli "$ROUTER_SOCK" "show proc" | awk '$2 == "master" { print $3 }'; }

test_expect_success 'two hosts with agents, a router, release 1 of web (3 instances)' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS &&
	paas-cluster hosts add b --docker "${HOST_URL[b]}" $TLS_OPTS &&
	agent_start a && agent_start b && router_start &&
	paas-deploy -D shop "$(version web-v1)" >out &&
	expect_eq "$(via shop.test /cgi-bin/slow)" web-v1
'

test_expect_success 'a rolling deploy under load: 0 non-2xx, 0 socket errors' '
	load_start &&
	paas-deploy -D shop "$(version web-v2)" >out &&
	sleep 1 && load_stop >load && cat load &&
	jq -e -s "[.[] | select(.kind == \"withdrawn\")] | length == 3" out &&
	jq -e -s "[.[] | select(.kind == \"stop\")] | length == 3" out &&
	[ "$(field ok)" -gt 100 ] && expect_eq "$(field non2xx)" 0 && expect_eq "$(field errors)" 0 &&
	expect_eq "$(via shop.test /cgi-bin/slow)" web-v2 &&
	say "rolling deploy: $(cat load)"
'

test_expect_success '20 back-to-back paas-route apply reloads with changes under load: 0 failures' '
	router_stop && r0=$(reloads) &&
	load_start &&
	for i in $(seq 1 20); do
		"$PAAS_T" etcd "$E" put "/paas/v1/routes/extra$i.test" \
			"{\"deployment\":\"shop\",\"service\":\"web\",\"port\":8000}" >/dev/null &&
		paas-route apply --config "$ROUTER_CFG" --port "$ROUTER_PORT" 2>>apply.log || return 1
	done &&
	load_stop >load && cat load &&
	expect_eq "$(($(reloads) - r0))" 20 &&
	expect_eq "$(grep -c "applied and reloaded" apply.log)" 20 &&
	[ "$(field ok)" -gt 100 ] && expect_eq "$(field non2xx)" 0 && expect_eq "$(field errors)" 0 &&
	say "20 reloads: $(cat load)"
'

test_expect_success 'no change, no reload' '
	r0=$(reloads) &&
	paas-route apply --config "$ROUTER_CFG" --port "$ROUTER_PORT" 2>msg &&
	expect_grep unchanged msg && expect_eq "$(reloads)" "$r0"
'

# A route HAProxy would refuse is left out (t0600); what is refused as a
# whole is the router's own setting: a TLS directory holding a file that is
# no certificate.
test_expect_success '100 refused renders in a row (a TLS directory HAProxy cannot load): config, HAProxy and traffic untouched' '
	cp "$ROUTER_CFG" good.cfg && r0=$(reloads) &&
	mkdir -p badtls && echo "not a certificate" >badtls/broken.pem &&
	load_start &&
	for i in $(seq 1 100); do
		expect_status 1 paas-route apply --config "$ROUTER_CFG" --port "$ROUTER_PORT" \
			--tls-dir "$TEST_TMP/badtls" 2>msg || return 1
	done &&
	load_stop >load && cat load && cat msg &&
	expect_grep "haproxy refused the new configuration" msg && expect_grep "broken.pem" msg &&
	cmp good.cfg "$ROUTER_CFG" && expect_eq "$(reloads)" "$r0" &&
	! ls "$ROUTER_DIR" | grep -q paas- &&
	expect_eq "$(field non2xx)" 0 && expect_eq "$(field errors)" 0 &&
	"$PAAS_T" etcd "$E" put /paas/v1/routes/after.test \
		"{\"deployment\":\"shop\",\"service\":\"web\"}" >/dev/null &&
	paas-route apply --config "$ROUTER_CFG" --port "$ROUTER_PORT" &&
	grep -q "str after.test }" "$ROUTER_CFG" && expect_eq "$(reloads)" "$((r0 + 1))" &&
	expect_eq "$(via after.test /cgi-bin/slow)" web-v2 &&
	say "100 refused renders: $(cat load)"
'

test_expect_success 'control: stop-first with --drain 0 under the same load does fail requests' '
	router_start &&
	load_start &&
	paas-deploy -D shop --drain 0 "$(version web-v3 -e s/order:\ start-first/order:\ stop-first/)" >out &&
	sleep 1 && load_stop >load && cat load &&
	! jq -e -s "any(.kind == \"withdrawn\")" out >/dev/null &&
	failures=$(($(field non2xx) + $(field errors))) &&
	say "control run: $(cat load)" &&
	[ "$failures" -gt 0 ]
'

test_done
