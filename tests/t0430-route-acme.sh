#!/bin/bash
# ACME (issue 31, the first part): the client of lib/acme.c against Debian's
# pebble, and HTTP-01 answered by every router from the cluster's state.
# A challenge's key authorization is put in etcd; each router's own server
# answers /.well-known/acme-challenge/TOKEN for any domain, before auth and
# maintenance.  pebble validates through router A, then (started again
# with the other port) through router B; a challenge that reaches nothing
# fails naming the domain, and leaves nothing in etcd.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"
need pebble pebble-challtestsrv openssl

# pebble's own TLS, from a test CA.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca-key.pem \
	-out ca.pem -subj /CN=pebble-test-ca -days 2 >>"$TEST_LOG" 2>&1 &&
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout pebble-key.pem \
	-out pebble.csr -subj /CN=localhost >>"$TEST_LOG" 2>&1 &&
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >pebble.ext &&
openssl x509 -req -in pebble.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out pebble.pem \
	-days 2 -extfile pebble.ext >>"$TEST_LOG" 2>&1 || bail_out "cannot make pebble's certificate"

# Every name resolves to 127.0.0.1, through pebble-challtestsrv's DNS.
DNS_PORT=$(free_port)
pebble-challtestsrv -dns01 "127.0.0.1:$DNS_PORT" -http01 "" -https01 "" -tlsalpn01 "" \
	-management "127.0.0.1:$(free_port)" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
	>>"$TEST_TMP/challtestsrv.log" 2>&1 &
at_exit "kill_wait $!"

# pebble_start HTTP-PORT: pebble validating HTTP-01 on that port.
PEBBLE_PID=""
pebble_start() {
	PEBBLE_PORT=$(free_port)
	PEBBLE_MGMT=$(free_port)
	cat >pebble.json <<EOF
{"pebble": {"listenAddress": "127.0.0.1:$PEBBLE_PORT", "managementListenAddress": "127.0.0.1:$PEBBLE_MGMT",
 "certificate": "pebble.pem", "privateKey": "pebble-key.pem", "httpPort": $1, "tlsPort": $(free_port),
 "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF
	PEBBLE_VA_NOSLEEP=1 pebble -config pebble.json -dnsserver "127.0.0.1:$DNS_PORT" \
		>>"$TEST_TMP/pebble.log" 2>&1 &
	PEBBLE_PID=$!
	at_exit "kill_wait $PEBBLE_PID"
	DIR="https://127.0.0.1:$PEBBLE_PORT/dir"
	wait_for 20 curl -fsS --cacert ca.pem "$DIR" ||
		{ tail -n 20 "$TEST_TMP/pebble.log" >>"$TEST_LOG"; bail_out "pebble did not come up"; }
}
pebble_stop() { kill_wait "$PEBBLE_PID"; }
# challenge PORT HOST TOKEN: what the router on PORT answers for it
challenge() { curl -sS -m 5 -H "Host: $2" "http://127.0.0.1:$1/.well-known/acme-challenge/$3"; }
order() { "$PAAS_T" --tls-ca ca.pem acme "$PAAS_ETCD" "$DIR" "$@"; }
# verify CERT: the chain pebble issued, checked against pebble's root
verify() {
	curl -fsS --cacert ca.pem "https://127.0.0.1:$PEBBLE_MGMT/roots/0" >root.pem &&
	openssl verify -CAfile root.pem -untrusted "$1" "$1"
}

test_expect_success 'two routers answer a challenge in etcd, for any domain, before auth and maintenance' '
	router_start && router2_start &&
	"$PAAS_T" etcd "$PAAS_ETCD" put /paas/v1/routes/a.test "{\"deployment\":\"a\",\"service\":\"web\",\"port\":null,\"auth\":{\"alice\":\"\$6\$x\$y\"},\"sticky\":false,\"health\":null,\"tls\":null}" &&
	"$PAAS_T" etcd "$PAAS_ETCD" put /paas/v1/acme/challenges/tok-EN_1 "tok-EN_1.thumb" &&
	wait_for 10 sh -c "[ \"\$(curl -s -o /dev/null -w %{http_code} -H \"Host: a.test\" http://127.0.0.1:$ROUTER_PORT/)\" = 401 ]" &&
	"$PAAS_T" etcd "$PAAS_ETCD" put /paas/v1/maintenance/a "{\"since\":\"2026-12-07T00:00:00Z\",\"page\":null}" &&
	wait_for 10 sh -c "[ \"\$(curl -s -o /dev/null -w %{http_code} -H \"Host: a.test\" http://127.0.0.1:$ROUTER_PORT/)\" = 503 ]" &&
	wait_for 10 sh -c "curl -fsS -H \"Host: a.test\" http://127.0.0.1:$ROUTER_PORT/.well-known/acme-challenge/tok-EN_1" &&
	expect_eq "$(challenge "$ROUTER_PORT" a.test tok-EN_1)" tok-EN_1.thumb &&
	expect_eq "$(challenge "$R2_PORT" b.example tok-EN_1)" tok-EN_1.thumb &&
	expect_eq "$(curl -sS -o /dev/null -w "%{http_code}" -H "Host: a.test" "http://127.0.0.1:$ROUTER_PORT/.well-known/acme-challenge/nope")" 404 &&
	expect_eq "$(curl -sS -o /dev/null -w "%{http_code}" -H "Host: a.test" "http://127.0.0.1:$ROUTER_PORT/.well-known/acme-challenge/..%2f..%2fetc")" 404 &&
	expect_eq "$(curl -sS -o /dev/null -w "%{http_code}" -H "Host: b.example" "http://127.0.0.1:$ROUTER_PORT/other")" 404 &&
	haproxy -c -f "$ROUTER_CFG" >hc 2>&1 && ! grep -q WARNING hc &&
	"$PAAS_T" etcd "$PAAS_ETCD" del /paas/v1/acme/challenges/tok-EN_1 &&
	"$PAAS_T" etcd "$PAAS_ETCD" del /paas/v1/maintenance/a && "$PAAS_T" etcd "$PAAS_ETCD" del /paas/v1/routes/a.test &&
	expect_eq "$(curl -sS -o /dev/null -w "%{http_code}" -H "Host: a.test" "http://127.0.0.1:$R2_PORT/.well-known/acme-challenge/tok-EN_1")" 404
'

test_expect_success 'pebble validates through router A: a certificate that verifies against its root' '
	pebble_start "$ROUTER_PORT" &&
	order a.pem a-key.pem a.test www.a.test >out 2>err && cat out &&
	grep -q "^https://127.0.0.1:$PEBBLE_PORT/" out &&
	verify a.pem &&
	openssl x509 -in a.pem -noout -ext subjectAltName | grep -q "DNS:a.test, DNS:www.a.test" &&
	expect_eq "$(stat -c %a a-key.pem)" 600 &&
	openssl pkey -in a-key.pem -noout &&
	expect_eq "$("$PAAS_T" etcd "$PAAS_ETCD" range /paas/v1/acme/challenges/ | wc -l)" 0 &&
	! grep -q "PRIVATE KEY" err out
'

test_expect_success 'then through router B: whichever router the CA reaches has the token' '
	pebble_stop && pebble_start "$R2_PORT" &&
	order b.pem b-key.pem b.test >out &&
	verify b.pem &&
	openssl x509 -in b.pem -noout -ext subjectAltName | grep -q "DNS:b.test"
'

test_expect_success 'a challenge that reaches nothing fails naming the domain, and leaves nothing behind' '
	pebble_stop && pebble_start "$(free_port)" &&
	expect_status 1 order c.pem c-key.pem nowhere.test 2>err && cat err &&
	expect_grep "domain nowhere.test: the CA did not validate it (invalid)" err &&
	test ! -e c.pem && test ! -e c-key.pem &&
	expect_eq "$("$PAAS_T" etcd "$PAAS_ETCD" range /paas/v1/acme/challenges/ | wc -l)" 0
'

test_expect_success 'a CA that is not there, or a directory that is not https, is said so' '
	pebble_stop &&
	expect_status 2 order x.pem x-key.pem x.test 2>err && cat err && expect_grep "ACME CA" err &&
	expect_status 3 "$PAAS_T" acme "$PAAS_ETCD" "http://127.0.0.1:$ROUTER_PORT/dir" x.pem x-key.pem x.test 2>err &&
	expect_grep "expected an https:// URL" err && test ! -e x.pem
'

test_done
