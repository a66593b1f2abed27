#!/bin/bash
# paas-route watch changes HAProxy's running worker ahead of each reload:
# a new server is served and a gone one gets no new request while the
# configuration that holds the change is still being checked.  The router's
# HAProxy is a wrapper that holds `haproxy -c` while the file HOLD exists,
# so "before the reload" is a state the test can look at, not a race.  The
# servers are busybox httpd on loopback standing in for announced instances.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
need busybox
etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
E=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"

# announce N [DEPLOYMENT]: instance N at web N's port, container cN (12 characters)
announce() {
	local c d=${2:-shop}
	c=$(printf 'c%011d' "$1")
	"$PAAS_T" etcd "$E" put "/paas/v1/announce/$d/web/$1/$c" \
		"{\"deployment\":\"$d\",\"service\":\"web\",\"instance\":\"$1\",\"container\":\"$c\",\"address\":\"127.0.0.1\",\"port\":${WEB_PORT[$1]},\"healthy\":true}" >/dev/null
}
reloads() { "$PAAS_T" haproxy-cli "$ROUTER_SOCK" "show proc" | awk '$2 == "master" { print $3 }'; }
state() { "$PAAS_T" haproxy-cli "$ROUTER_SOCK" "@1 show servers state $1"; }
# answers DOMAIN: what 6 requests through the router got, sorted, one each
answers() { for i in 1 2 3 4 5 6; do via "$1" /; echo; done | sort -u | grep .; }
# served_rev KEY: the router says it serves the revision KEY was last written in
served_rev() { [ "$(router_rev)" -ge "$("$PAAS_T" etcd "$E" modrev "$1")" ]; }
# after_mark: the router serves a revision later than the last mark
mark() { "$PAAS_T" etcd "$E" put /test/mark x >/dev/null; }
after_mark() { [ "$(router_rev)" -gt "$("$PAAS_T" etcd "$E" modrev /test/mark)" ]; }
# held: the router is in `haproxy -c`, held
held() { wait_for 10 test -e "$TEST_TMP/CHECKING"; }
release() { rm -f "$TEST_TMP/HOLD"; wait_for 10 test ! -e "$TEST_TMP/CHECKING"; }

cat >hap <<EOF
#!/bin/sh
case " \$* " in *" -c "*)
	if [ -e "$TEST_TMP/HOLD" ]; then
		: >"$TEST_TMP/CHECKING"
		i=0
		while [ -e "$TEST_TMP/HOLD" ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
		rm -f "$TEST_TMP/CHECKING"
	fi
esac
exec haproxy "\$@"
EOF
chmod +x hap
for n in 1 2 3 4; do web_server $n; done

test_expect_success 'a router serves a route with one instance' '
	"$PAAS_T" etcd "$E" put /paas/v1/routes/shop.test "{\"deployment\":\"shop\",\"service\":\"web\",\"port\":null}" >/dev/null &&
	"$PAAS_T" etcd "$E" put /paas/v1/routes/sticky.test "{\"deployment\":\"cart\",\"service\":\"web\",\"port\":null,\"sticky\":true}" >/dev/null &&
	announce 1 && announce 3 cart &&
	router_start --haproxy "$TEST_TMP/hap" &&
	expect_eq "$(answers shop.test)" s1 && expect_eq "$(answers sticky.test)" s3
'

test_expect_success 'a new server is served, and the router says so, while its configuration is still being checked' '
	r0=$(reloads) && : >HOLD &&
	announce 2 && held &&
	wait_for 10 sh -c "[ \"\$(curl -s -m 1 -H \"Host: shop.test\" http://127.0.0.1:$ROUTER_PORT/)\" = s2 ]" &&
	wait_for 10 served_rev /paas/v1/announce/shop/web/2/c00000000002 &&
	printf "s1\ns2\n" >want && answers shop.test >seen && test_cmp want seen &&
	expect_eq "$(reloads)" "$r0" && ! grep -q c00000000002 "$ROUTER_CFG" &&
	release && wait_for 10 grep -q c00000000002 "$ROUTER_CFG" &&
	answers shop.test >seen && test_cmp want seen
'

test_expect_success 'a gone server is in maintenance, and the router says so, before the reload; then it leaves the config' '
	r0=$(reloads) && : >HOLD && mark && ! after_mark &&
	"$PAAS_T" etcd "$E" del /paas/v1/announce/shop/web/1/c00000000001 >/dev/null && held &&
	state "$(backend_of shop.test)" >st && grep "c00000000001" st >line &&
	expect_eq "$(awk "{ print \$7 }" line)" 1 &&
	expect_eq "$(answers shop.test)" s2 && expect_eq "$(reloads)" "$r0" &&
	wait_for 10 after_mark &&
	release && wait_for 10 sh -c "! grep -q c00000000001 $ROUTER_CFG" &&
	expect_eq "$(answers shop.test)" s2
'

test_expect_success 'a sticky route new server waits for the reload (a dynamic server takes no cookie)' '
	: >HOLD && announce 4 cart && held &&
	! state "$(backend_of sticky.test)" | grep -q c00000000004 &&
	expect_eq "$(answers sticky.test)" s3 && ! served_rev /paas/v1/announce/cart/web/4/c00000000004 &&
	release && wait_for 10 grep -q c00000000004 "$ROUTER_CFG" &&
	wait_for 10 sh -c "[ \"\$(for i in 1 2 3 4 5 6; do curl -s -m 1 -H \"Host: sticky.test\" http://127.0.0.1:$ROUTER_PORT/; echo; done | sort -u | grep -c .)\" = 2 ]"
'

test_expect_success 'a new route waits for the reload; the router log has no error' '
	"$PAAS_T" etcd "$E" put /paas/v1/routes/new.test "{\"deployment\":\"shop\",\"service\":\"web\",\"port\":null}" >/dev/null &&
	wait_for 10 sh -c "[ \"\$(curl -s -m 1 -H \"Host: new.test\" http://127.0.0.1:$ROUTER_PORT/)\" = s2 ]" &&
	! grep -qi "error\|refused" "$TEST_TMP/router.log"
'

test_done
