#!/bin/bash
# What held when tried by hand (issue 29), kept under test: requests through
# the router with odd or duplicated Host headers and ambiguous framing
# (request smuggling) reach no route they do not name and never the one
# behind basic auth without its password; option values and names that
# start with '-' are refused as values, not taken for options; malformed
# bytes in a Servicefile are refused; a malformed pack pushed to a
# deployment's repository changes nothing (t0730).  The servers are busybox httpd on
# loopback standing in for announced instances.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
need busybox openssl
etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
E=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"
HASH=$(openssl passwd -6 -salt paashost s3cret)

# announce N DEPLOYMENT SERVICE: web N (answers "sN") as an instance of it
announce() {
	local c
	c=$(printf 'c%011d' "$1")
	"$PAAS_T" etcd "$E" put "/paas/v1/announce/$2/$3/$1/$c" \
		"{\"deployment\":\"$2\",\"service\":\"$3\",\"instance\":\"$1\",\"container\":\"$c\",\"address\":\"127.0.0.1\",\"port\":${WEB_PORT[$1]},\"healthy\":true}" >/dev/null
}
route() {
	"$PAAS_T" etcd "$E" put "/paas/v1/routes/$1" "{\"deployment\":\"$2\",\"service\":\"$3\",\"port\":null,\"auth\":$4,\"health\":null}" >/dev/null
}
# raw REQUEST: the status line and body HAProxy answers REQUEST (printf
# escapes) with, on one connection
raw() { printf "$1" | timeout 5 busybox nc 127.0.0.1 "$ROUTER_PORT" | tr -d "\r" >raw.out; head -n 1 raw.out; }
body() { sed "1,/^$/d" raw.out; }

test_expect_success 'a router, a public domain and one behind basic auth' '
	web_server 1 && web_server 2 &&
	announce 1 shop web && announce 2 shop admin &&
	route shop.test shop web "{}" && route admin.shop.test shop admin "{\"alice\":\"$HASH\"}" &&
	router_start &&
	wait_for 10 sh -c "test \"\$(curl -sS -m 2 -H \"Host: shop.test\" http://127.0.0.1:$ROUTER_PORT/)\" = s1" &&
	expect_eq "$(via admin.shop.test / -u alice:s3cret)" s2 &&
	expect_eq "$(via admin.shop.test / -o /dev/null -w "%{http_code}")" 401
'

test_expect_success 'odd Host headers: case and port ignored, anything else no route, never admin' '
	expect_eq "$(raw "GET / HTTP/1.1\r\nHost: SHOP.TEST\r\nConnection: close\r\n\r\n")" "HTTP/1.1 200 OK" &&
	expect_eq "$(body)" s1 &&
	expect_eq "$(raw "GET / HTTP/1.1\r\nHost: shop.test:80\r\nConnection: close\r\n\r\n")" "HTTP/1.1 200 OK" &&
	expect_eq "$(raw "GET / HTTP/1.1\r\nHost: admin.shop.test.\r\nConnection: close\r\n\r\n")" "HTTP/1.1 404 Not Found" &&
	expect_eq "$(raw "GET / HTTP/1.1\r\nHost: admin.shop.test\r\nConnection: close\r\n\r\n")" "HTTP/1.1 401 Unauthorized" &&
	expect_eq "$(raw "GET / HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n")" "HTTP/1.1 404 Not Found" &&
	expect_eq "$(raw "GET / HTTP/1.0\r\n\r\n")" "HTTP/1.1 404 Not Found" &&
	raw "GET / HTTP/1.1\r\nHost: admin.shop.test\000shop.test\r\nConnection: close\r\n\r\n" >/dev/null &&
	cat raw.out && ! grep -q "^s2" raw.out && ! grep -q "^HTTP/1.1 200" raw.out &&
	raw "GET / HTTP/1.1\r\nHost: shop.test\000admin.shop.test\r\nConnection: close\r\n\r\n" >/dev/null &&
	! grep -q "^s2" raw.out
'

test_expect_success 'two Host headers, or a URI naming another host: 400, neither route answers' '
	expect_eq "$(raw "GET / HTTP/1.1\r\nHost: shop.test\r\nHost: admin.shop.test\r\nConnection: close\r\n\r\n")" "HTTP/1.1 400 Bad request" &&
	! grep -q "^s[12]" raw.out &&
	expect_eq "$(raw "GET / HTTP/1.1\r\nHost: admin.shop.test\r\nHost: shop.test\r\nConnection: close\r\n\r\n")" "HTTP/1.1 400 Bad request" &&
	expect_eq "$(raw "GET http://admin.shop.test/ HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n")" "HTTP/1.1 400 Bad request" &&
	! grep -q "^s2" raw.out
'

test_expect_success 'request smuggling: ambiguous framing is refused; a request hidden in a body never reaches admin' '
	expect_eq "$(raw "POST / HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 0\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")" "HTTP/1.1 400 Bad request" &&
	expect_eq "$(raw "POST / HTTP/1.1\r\nHost: shop.test\r\nTransfer-Encoding: xchunked\r\nConnection: close\r\n\r\n0\r\n\r\n")" "HTTP/1.1 400 Bad request" &&
	raw "POST / HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 60\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: admin.shop.test\r\nConnection: close\r\n\r\n" >/dev/null &&
	cat raw.out && ! grep -q "^s2" raw.out && ! grep -q "^HTTP/1.1 200" raw.out
'

test_expect_success '4,000 domains on one service: one health check of its instance per interval' '
	mkdir -p www3/cgi-bin && echo many >www3/index.html &&
	printf "#!/bin/sh\necho x >>$TEST_TMP/checks\nprintf \"Content-Type: text/plain\\r\\n\\r\\nok\\n\"\n" >www3/cgi-bin/h &&
	chmod +x www3/cgi-bin/h && WEB_PORT[3]=$(free_port) &&
	{ busybox httpd -f -p "127.0.0.1:${WEB_PORT[3]}" -h www3 & at_exit "kill_wait $!"; } &&
	announce 3 shop many &&
	jq -n "[range(4000) | {deployment: \"shop\", service: \"many\", port: null, auth: {}, health: \"/cgi-bin/h\"}]" >many.json &&
	"$PAAS_T" etcd "$E" putmany /paas/v1/routes/many many.json &&
	wait_for 60 sh -c "test \"\$(curl -sS -m 2 -H \"Host: many03999\" http://127.0.0.1:$ROUTER_PORT/)\" = many" &&
	expect_eq "$(grep -c "server shop.many.3" "$ROUTER_CFG")" 1 &&
	: >checks && t0=$(now_ms) && wait_for 30 sh -c "test \$(wc -l <checks) -ge 6" && ms=$(($(now_ms) - t0)) &&
	say "6 health checks of the instance behind 4,000 domains took $ms ms" && test "$ms" -ge 4000
'

test_expect_success 'names and values that start with -: refused as what they are, exit 3' '
	expect_status 3 paas-cluster hosts add -x --docker tcp://127.0.0.1:1 2>err && expect_grep "invalid option" err &&
	expect_status 3 paas-cluster hosts add h --docker -H 2>err && expect_grep "invalid endpoint .-H." err &&
	expect_status 3 paas-deploy -D -rf ps 2>err && expect_grep "invalid deployment name .-rf." err &&
	expect_status 3 paas-deploy -D shop logs -- -f 2>err && expect_grep "not .-f." err &&
	: >users && chmod 600 users &&
	expect_status 3 paas-route watch --status-domain -x --status-users users 2>err &&
	expect_grep "a domain name" err &&
	paas-cluster --json hosts ls >hosts.out && expect_eq "$(jq -r -s "map(select(.implicit | not)) | length" hosts.out)" 0
'

test_expect_success 'a Servicefile of malformed bytes: refused, exit 3, one line naming it' '
	printf "web:\n  image: i\n  env: {A: \"\377\376\"}\n" >bad-utf8.yml &&
	head -c 4096 /dev/urandom >random.yml &&
	printf "web:\n  image: i\n\0  ports: [1]\n" >nul.yml &&
	for f in bad-utf8.yml random.yml nul.yml; do
		expect_status 3 paas-unitgen --spec "$f" >/dev/null 2>err && cat err &&
		expect_eq "$(wc -l <err)" 1 && grep -q "^paas-unitgen: $f" err || return 1
	done
'
test_done
