#!/bin/bash
# The router serves the status page (issue 18): paas-route watch
# --status-domain D --status-users FILE puts the page on D behind basic
# auth: no or wrong credentials 401, right ones the page, fresh (its
# numbers those of status --json, a new deployment seen within seconds);
# HEAD without a body, POST refused; the options go together, the users
# file must be private and well-formed; deployment "paas" is refused.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
need openssl
etcd_start
docker_host_start a
export PAAS_ETCD=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"
SF=$SRCDIR/tests/servicefiles/cluster/small.yml
HASH=$(openssl passwd -6 -salt paasstat 's3cret pass')
printf '# the status page\nops:%s\n\n' "$HASH" >users && chmod 600 users
# page [curl args]: the page through the router as ops
page() { via status.test / -u 'ops:s3cret pass' "$@"; }
span() { sed -n "s/.*<span id=\"$1\">\([0-9]*\)<.*/\1/p"; }

test_expect_success 'bad options: exit 3, no router' '
	expect_status 3 paas-route watch --status-domain status.test 2>err &&
	expect_grep "go together" err &&
	expect_status 3 paas-route watch --status-domain "Bad_Domain" --status-users users 2>err &&
	expect_status 3 paas-route render --status-domain status.test 2>err &&
	expect_grep "watch only" err &&
	printf "ops:%s\n" "$HASH" >open && chmod 644 open &&
	expect_status 3 paas-route watch --config "$TEST_TMP/x/haproxy.cfg" --status-domain status.test \
		--status-users open 2>err && expect_grep "chmod 600" err &&
	printf "ops:plain\n" >weak && chmod 600 weak &&
	expect_status 3 paas-route watch --config "$TEST_TMP/x/haproxy.cfg" --status-domain status.test \
		--status-users weak 2>err && expect_grep "line 1: expected USER:HASH" err &&
	! grep -q plain err
'

test_expect_success 'a host with its agent, the router with a status domain, shop deployed' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS &&
	agent_start a && router_start --status-domain status.test --status-users users &&
	paas-deploy -D shop "$SF" >/dev/null
'

test_expect_success 'no credentials, a wrong password, an unknown user: 401, no page' '
	expect_eq "$(via status.test / -o body -w "%{http_code}")" 401 &&
	! grep -q "etcd-members" body &&
	expect_eq "$(via status.test / -u ops:wrong -o body -w "%{http_code}")" 401 &&
	expect_eq "$(via status.test / -u eve:s3cret -o body -w "%{http_code}")" 401
'

# hold_open SOCKET SECONDS: a client that sends half a request and waits.
hold_open() {
	perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!\n";
		print $s "GET / HTTP/1.1\r\nHost: x\r\n"; $s->flush; sleep $ARGV[1];' "$1" "$2"
}

test_expect_success 'the status server: a socket only HAProxy reaches (0600, no TCP port); a slow client holds no other' '
	sock="$ROUTER_DIR/status.sock" && test -S "$sock" &&
	expect_eq "$(stat -c %a "$sock")" 600 &&
	! ss -ltnp | grep "pid=$ROUTER_PID," &&
	! setpriv --reuid=65534 --regid=65534 --clear-groups curl -sS -m 5 --unix-socket "$sock" http://x/ >nobody.out 2>&1 &&
	cat nobody.out && expect_grep "Permission denied\|Couldn.t connect" nobody.out && ! grep -q "etcd-members" nobody.out &&
	grep -q "server paas.status.1 unix@$sock " "$ROUTER_CFG" &&
	{ hold_open "$sock" 30 & h=$!; } && { hold_open "$sock" 30 & h2=$!; } &&
	t0=$(now_ms) && expect_eq "$(page -o body -w "%{http_code}")" 200 && grep -q "etcd-members" body &&
	ms=$(($(now_ms) - t0)) && say "the page with two slow clients on the socket: $ms ms" && test $ms -lt 4000 &&
	kill $h $h2 && { wait $h $h2 || :; }
'

test_expect_success 'the right ones: the page, its numbers those of status --json' '
	wait_for 20 sh -c "paas-cluster --json status | jq -e -s \"map(select(.kind == \\\"service\\\") | .instances_healthy) | add == 1\" >/dev/null" &&
	wait_for 10 sh -c "curl -sS -m 5 -H \"Host: status.test\" -u \"ops:s3cret pass\" http://127.0.0.1:$ROUTER_PORT/ | grep -q \"<span id=\\\"healthy\\\">1<\"" &&
	page -D head -o p.html -w "%{http_code} %{content_type}\n" >code &&
	expect_eq "$(cat code)" "200 text/html; charset=utf-8" &&
	grep -qi "^cache-control: no-store" head &&
	paas-cluster --json status >s.json &&
	expect_eq "$(span desired <p.html)" "$(jq -s "map(select(.kind == \"service\") | .instances_desired) | add" s.json)" &&
	expect_eq "$(span healthy <p.html)" "$(jq -s "map(select(.kind == \"service\") | .instances_healthy) | add" s.json)" &&
	expect_eq "$(span etcd-members <p.html)" "$(jq -s "map(select(.kind == \"etcd\"))[0].members" s.json)" &&
	! grep -q "<script\|src=\|href=\"http" p.html &&
	! grep -qF "$HASH" p.html && ! grep -q "s3cret" "$TEST_TMP/router.log"
'

test_expect_success 'fresh: a second deployment is on the page within seconds' '
	paas-deploy -D blog "$SF" >/dev/null &&
	wait_for 15 sh -c "curl -sS -m 5 -H \"Host: status.test\" -u \"ops:s3cret pass\" http://127.0.0.1:$ROUTER_PORT/ | grep -q \"<td>blog</td>\""
'

test_expect_success 'HEAD: headers only; POST: 405' '
	expect_eq "$(page -I -o /dev/null -w "%{http_code} %{size_download}")" "200 0" &&
	expect_eq "$(page -X POST -d x -o /dev/null -w "%{http_code}")" 405
'

test_expect_success 'deployment "paas" is reserved: exit 3, nothing recorded' '
	expect_status 3 paas-deploy -D paas "$SF" 2>err &&
	expect_grep "reserved for the router.s status page" err &&
	expect_status 1 paas-deploy -D paas history 2>/dev/null
'

test_done
