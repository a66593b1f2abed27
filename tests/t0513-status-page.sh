#!/bin/bash
# paas-cluster status --html (issue 18, point 2): one self-contained page
# (no script, no external asset) with the cluster at a glance, opened in a
# real browser (Debian's headless Chromium): its numbers, as the browser
# reads them, match status --json; a screenshot is kept as an artefact in
# $BUILDDIR/tests/artefacts/.  Values are escaped; "-" is standard output.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
need chromium
etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"
docker_host_start a
SF=$SRCDIR/tests/servicefiles/cluster/small.yml
# chromium ARGS... URL: headless, as root, nothing of the user's profile
browser() { timeout 60 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$TEST_TMP/chromium" "$@" 2>>"$TEST_TMP/chromium.log"; }

test_expect_success 'a cluster: a host with an agent, a router, two deployments, a route' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS >/dev/null &&
	agent_start a && router_start &&
	sed "s/instances: 1/instances: 3/" "$SF" >three.yml &&
	printf "Domains:\n  shop.test: {http: \"shop:web\"}\n" | cat - three.yml >shop.yml &&
	paas-deploy -D shop shop.yml >/dev/null &&
	paas-deploy -D blog "$SF" >/dev/null &&
	wait_for 20 sh -c "paas-cluster --json status | jq -e -s \"map(select(.kind == \\\"service\\\") | .instances_healthy) | add == 4\" >/dev/null"
'

test_expect_success 'status --html writes one page with nothing outside it' '
	paas-cluster --json status >s.json &&
	paas-cluster status --html status.html &&
	expect_grep "<!DOCTYPE html>" status.html &&
	! grep -qi "<script\|<link\|src=\|@import\|url(" status.html &&
	paas-cluster status --html - >stdout.html && expect_grep "</html>" stdout.html
'

test_expect_success 'in Chromium: the numbers on the page are those of status --json' '
	browser --dump-dom "file://$TEST_TMP/status.html" >dom.html &&
	expect_grep "<h1>paas-tools cluster</h1>" dom.html &&
	want_d=$(jq -s "map(select(.kind == \"service\") | .instances_desired) | add" s.json) &&
	want_h=$(jq -s "map(select(.kind == \"service\") | .instances_healthy) | add" s.json) &&
	expect_eq "$(sed -n "s/.*<span id=\"desired\">\([0-9]*\)<.*/\1/p" dom.html)" "$want_d" &&
	expect_eq "$(sed -n "s/.*<span id=\"healthy\">\([0-9]*\)<.*/\1/p" dom.html)" "$want_h" &&
	expect_eq "$(sed -n "s/.*<span id=\"etcd-members\">\([0-9]*\)<.*/\1/p" dom.html)" \
		"$(jq -s "map(select(.kind == \"etcd\"))[0].members" s.json)" &&
	for svc in shop blog; do
		row=$(grep -o "<tr[^>]*><td>$svc</td><td>web</td>.*</tr>" dom.html | head -n 1) &&
		cells=$(printf "%s" "$row" | sed "s/<[^>]*>/ /g" | tr -s " ") &&
		want=$(jq -r -s "map(select(.kind == \"service\" and .deployment == \"$svc\"))[0] |
			\" $svc web \(.release) \(.instances_desired) \(.instances_running) \(.instances_announced) \(.instances_healthy) \"" s.json) &&
		expect_eq "$cells" "$want" || return 1
	done &&
	expect_grep "<td>shop.test</td><td>shop</td><td>web</td><td class=\"n\">3</td>" dom.html &&
	expect_grep "<td>a</td><td class=\"ok\">yes</td>" dom.html
'

test_expect_success 'a screenshot of the page, kept as an artefact' '
	mkdir -p "$BUILDDIR/tests/artefacts" &&
	browser --screenshot="$BUILDDIR/tests/artefacts/status-page.png" --window-size=1200,1000 \
		"file://$TEST_TMP/status.html" >/dev/null &&
	head -c 8 "$BUILDDIR/tests/artefacts/status-page.png" | od -An -c | grep -q "P   N   G" &&
	[ "$(wc -c <"$BUILDDIR/tests/artefacts/status-page.png")" -gt 20000 ]
'

test_expect_success 'a value that is not plain text is escaped' '
	"$PAAS_T" etcd "$PAAS_ETCD" put /paas/v1/deployments/evil/releases/1 \
		"{\"release\":1,\"kind\":\"deploy\",\"status\":\"ok\",\"user\":\"<b>x</b>&\",\"spec\":{\"services\":{}}}" >/dev/null &&
	"$PAAS_T" etcd "$PAAS_ETCD" put /paas/v1/deployments/evil/release 1 >/dev/null &&
	paas-cluster status --html esc.html 2>/dev/null &&
	! grep -q "<b>x</b>" esc.html && expect_grep "&lt;b&gt;x&lt;/b&gt;&amp;" esc.html
'

test_done
