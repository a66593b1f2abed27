#!/bin/bash
# The HAProxy render (lib/haproxy.c) against a real HAProxy: the output
# passes haproxy -c, routes by Host header to the right servers, asks for
# credentials where a route has users, answers 503 for a domain without
# instances and 404 for an unknown one.  The servers are busybox httpd on
# loopback ports standing in for announced instances.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-haproxy.sh"
need busybox openssl

servers="["
start_web() {	# start_web DEP SVC INSTANCE TEXT
	local port pid
	port=$(free_port)
	mkdir -p "www-$1-$3" && echo "$4" >"www-$1-$3/index.html"
	busybox httpd -f -p "127.0.0.1:$port" -h "www-$1-$3" &
	pid=$!
	at_exit "kill_wait $pid"
	wait_for 5 curl -fsS "http://127.0.0.1:$port/" >/dev/null || bail_out "busybox httpd did not come up"
	[ "$servers" = "[" ] || servers="$servers,"
	servers="$servers{\"deployment\":\"$1\",\"service\":\"$2\",\"instance\":\"$3\",\"address\":\"127.0.0.1\",\"port\":$port,\"healthy\":true}"
}
start_web shop web 1 shop-1
start_web shop web 2 shop-2
start_web staging web 1 staging-1
echo "$servers]" >servers.json
hash=$(openssl passwd -6 -salt paastest s3cret)
cat >routes.json <<JSON
{"example.org": {"deployment": "shop", "service": "web", "port": null, "auth": {},
                 "sticky": false, "health": "/"},
 "staging.example.org": {"deployment": "staging", "service": "web", "port": null,
                 "auth": {"alice": "$hash"}, "sticky": true, "health": null},
 "empty.example.org": {"deployment": "gone", "service": "web", "port": null, "auth": {},
                 "sticky": false, "health": null}}
JSON
front=$(free_port)

test_expect_success 'the render passes haproxy -c, and renders the same bytes twice' '
	"$PAAS_T" render routes.json servers.json $front "$TEST_TMP/stats.sock" >haproxy.cfg &&
	"$PAAS_T" render routes.json servers.json $front "$TEST_TMP/stats.sock" >again.cfg &&
	cmp haproxy.cfg again.cfg &&
	haproxy -c -f haproxy.cfg
'

haproxy_start haproxy.cfg
wait_for 5 curl -sS -o /dev/null "http://127.0.0.1:$front/" || bail_out "haproxy does not answer"
get() { curl -sS -m 5 -H "Host: $1" "${@:2}" "http://127.0.0.1:$front/"; }
code() { curl -sS -m 5 -o /dev/null -w "%{http_code}" -H "Host: $1" "${@:2}" "http://127.0.0.1:$front/"; }

test_expect_success 'each Host header reaches its own service, across its instances; case and port do not matter' '
	for i in 1 2 3 4; do get example.org; done | sort -u >seen &&
	expect_eq "$(cat seen | tr "\n" " ")" "shop-1 shop-2 " &&
	get EXAMPLE.org:$front | grep -q "^shop-[12]$"
'

test_expect_success 'basic auth: 401 without credentials, 401 with wrong ones, 200 with the right ones' '
	expect_eq "$(code staging.example.org)" 401 &&
	expect_eq "$(code staging.example.org -u alice:wrong)" 401 &&
	expect_eq "$(code staging.example.org -u alice:s3cret)" 200 &&
	expect_eq "$(get staging.example.org -u alice:s3cret)" staging-1
'

test_expect_success 'a domain with no instance answers 503, an unknown one 404' '
	expect_eq "$(code empty.example.org)" 503 &&
	expect_eq "$(code nosuch.example.org)" 404
'

test_done
