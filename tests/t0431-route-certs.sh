#!/bin/bash
# The certificate store (issue 31): `paas-cluster certs add` seals a
# certificate's key into etcd and every router serves it, by SNI, without
# a file copied by hand; a new certificate and a renewed one enter
# HAProxy's running worker through its runtime API: no reload (the worker's
# PID stays) and, under wrk over HTTPS, no connection error.  No key in
# etcd unsealed, in a log, or in a file others can read.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"
need openssl wrk

head -c 32 /dev/urandom >secrets.key && chmod 600 secrets.key
export PAAS_SECRETS_KEY=$TEST_TMP/secrets.key
HTTPS1=$(free_port)
HTTPS2=$(free_port)

# A test CA, and certificates from it: cert NAME DOMAIN
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca-key.pem \
	-out ca.pem -subj /CN=paas-test-ca -days 2 >>"$TEST_LOG" 2>&1 || bail_out "cannot make a CA"
cert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1-key.pem" \
		-out "$1.csr" -subj "/CN=$2" >>"$TEST_LOG" 2>&1 &&
	printf 'subjectAltName=DNS:%s\n' "$2" >"$1.ext" &&
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out "$1.pem" \
		-days 2 -extfile "$1.ext" >>"$TEST_LOG" 2>&1
}
cert a1 a.test && cert a2 a.test && cert b1 b.test || bail_out "cannot make certificates"
openssl x509 -req -in b1.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out c10.pem -days 10 \
	-extfile b1.ext >>"$TEST_LOG" 2>&1 || bail_out "cannot make a certificate"
# served PORT DOMAIN: the serial of what the router on PORT serves for DOMAIN, verified
served() {
	echo | openssl s_client -connect "127.0.0.1:$1" -servername "$2" -CAfile ca.pem \
		-verify_hostname "$2" -verify_return_error 2>/dev/null |
		openssl x509 -noout -serial 2>/dev/null
}
serial() { openssl x509 -in "$1.pem" -noout -serial; }
worker() { "$PAAS_T" haproxy-cli "$1" "show proc" | awk '/^# workers/ { getline; print $1 }'; }

test_expect_success 'bad input is refused, with nothing stored' '
	expect_status 3 paas-cluster certs add a a1.pem b1-key.pem 2>err && expect_grep "the key is not the certificate" err &&
	expect_status 3 paas-cluster certs add "a/../b" a1.pem a1-key.pem 2>err && expect_grep "certificate name" err &&
	expect_status 3 paas-cluster certs add a ca-key.pem a1-key.pem 2>err && expect_grep "not PEM" err &&
	expect_status 3 paas-cluster certs add a nosuch.pem a1-key.pem 2>err && expect_grep "nosuch.pem" err &&
	expect_status 3 env PAAS_SECRETS_KEY=/nonexistent paas-cluster certs add a a1.pem a1-key.pem 2>err &&
	cat err && expect_status 3 paas-cluster certs rm a 2>err && expect_grep "no certificate a" err &&
	expect_eq "$(paas-cluster --json certs ls | wc -l)" 0
'

test_expect_success 'a certificate added is served by both routers, its key sealed in etcd' '
	router_start --https-port "$HTTPS1" && router2_start --https-port "$HTTPS2" &&
	paas-cluster certs add a a1.pem a1-key.pem &&
	wait_for 20 sh -c "[ \"\$(echo | openssl s_client -connect 127.0.0.1:$HTTPS1 -servername a.test 2>/dev/null | openssl x509 -noout -serial)\" = \"$(serial a1)\" ]" &&
	wait_for 20 sh -c "[ \"\$(echo | openssl s_client -connect 127.0.0.1:$HTTPS2 -servername a.test 2>/dev/null | openssl x509 -noout -serial)\" = \"$(serial a1)\" ]" &&
	expect_eq "$(served "$HTTPS1" a.test)" "$(serial a1)" &&
	expect_eq "$(curl -sS --cacert ca.pem --resolve "a.test:$HTTPS1:127.0.0.1" "https://a.test:$HTTPS1/")" "no such route" &&
	paas-cluster --json certs ls >ls && jq -e "select(.name == \"a\") | .names == [\"a.test\"] and .source == \"user\" and .days_left >= 1 and (.key == null)" ls &&
	"$PAAS_T" etcd "$PAAS_ETCD" get /paas/v1/certs/a >rec && ! grep -q "PRIVATE KEY" rec &&
	jq -e ".key.cipher == \"aes-256-gcm\"" rec &&
	expect_eq "$(stat -c %a "$ROUTER_DIR/certs")" 700 &&
	expect_eq "$(stat -c %a "$ROUTER_DIR/certs/a.pem")" 600
'

test_expect_success 'a second certificate and a renewal enter the running worker: no reload, no error under wrk' '
	w1=$(worker "$ROUTER_SOCK") && w2=$(worker "$R2_DIR/master.sock") && say "workers $w1 $w2" &&
	paas-cluster certs add b b1.pem b1-key.pem &&
	wait_for 20 sh -c "[ \"\$(echo | openssl s_client -connect 127.0.0.1:$HTTPS1 -servername b.test 2>/dev/null | openssl x509 -noout -serial)\" = \"$(serial b1)\" ]" &&
	wait_for 20 sh -c "[ \"\$(echo | openssl s_client -connect 127.0.0.1:$HTTPS2 -servername b.test 2>/dev/null | openssl x509 -noout -serial)\" = \"$(serial b1)\" ]" &&
	expect_eq "$(served "$HTTPS1" b.test)" "$(serial b1)" &&
	{ wrk -t1 -c4 -d8s -H "Connection: close" "https://127.0.0.1:$HTTPS1/" >wrk.out 2>&1 & wp=$!; } &&
	sleep 2 && paas-cluster certs add a a2.pem a2-key.pem &&
	wait_for 20 sh -c "[ \"\$(echo | openssl s_client -connect 127.0.0.1:$HTTPS1 -servername a.test 2>/dev/null | openssl x509 -noout -serial)\" = \"$(serial a2)\" ]" &&
	wait_for 20 sh -c "[ \"\$(echo | openssl s_client -connect 127.0.0.1:$HTTPS2 -servername a.test 2>/dev/null | openssl x509 -noout -serial)\" = \"$(serial a2)\" ]" &&
	wait "$wp" && cat wrk.out &&
	! grep -q "Socket errors" wrk.out && grep -q "requests in" wrk.out &&
	expect_eq "$(worker "$ROUTER_SOCK")" "$w1" && expect_eq "$(worker "$R2_DIR/master.sock")" "$w2" &&
	grep -q "certificate .*/a.pem changed, in the running worker" "$TEST_TMP/router.log"
'

test_expect_success 'a certificate removed is no longer served, still without a reload; no key in any log' '
	w1=$(worker "$ROUTER_SOCK") &&
	paas-cluster certs rm b &&
	wait_for 20 sh -c "[ \"\$(echo | openssl s_client -connect 127.0.0.1:$HTTPS1 -servername b.test 2>/dev/null | openssl x509 -noout -serial)\" != \"$(serial b1)\" ]" &&
	test ! -e "$ROUTER_DIR/certs/b.pem" &&
	expect_eq "$(worker "$ROUTER_SOCK")" "$w1" &&
	grep -q "certificate .*/b.pem removed, in the running worker" "$TEST_TMP/router.log" &&
	! grep -q "PRIVATE KEY" "$TEST_TMP/router.log" "$TEST_TMP/router2.log"
'

test_expect_success 'check warns 14 days before a certificate expires, and is critical 3 days before; status lists them' '
	paas-cluster certs add c c10.pem b1-key.pem &&
	expect_status 2 paas-cluster check >check && cat check &&
	expect_grep "certificate a (a.test) expires in 1 day " check &&
	expect_grep "certificate c (b.test) expires in 9 days" check &&
	paas-cluster --json status >st && jq -e -s "map(select(.kind == \"certificate\")) | map(.name) == [\"a\", \"c\"]" st &&
	! grep -q "PRIVATE KEY" st check
'

test_done
