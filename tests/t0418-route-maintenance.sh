#!/bin/bash
# Maintenance mode (issue 34): paas-deploy maintenance on makes every
# router answer the deployment's domains 503 with a page (the routers' own,
# or the deployment's), before any auth, within a second and with no
# instance restarted; other deployments are served as before; off serves
# it again.  A page that is not UTF-8 text of at most 64 KiB is refused.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
etcd_start
docker_host_start a
export PAAS_ETCD=$ETCD_ENDPOINT
E=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"

# code PORT DOMAIN: the status of GET /version through the router on PORT
code() { curl -sS -m 2 -o /dev/null -w "%{http_code}" -H "Host: $2" "http://127.0.0.1:$1/version"; }
both() { echo "$(code "$ROUTER_PORT" "$1") $(code "$R2_PORT" "$1")"; }
started() { for c in $(dk a ps -q -f label=paas.deployment=$1); do dk a inspect -f "{{.Id}} {{.State.StartedAt}}" "$c"; done | sort; }

test_expect_success 'a host with an agent, two routers; hw (auth on one domain) and other deployed' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS &&
	agent_start a && router_start && router2_start &&
	web v1 start-first 2 >/dev/null &&
	sed "s|web.test: {http: \"hw:web\"}|web.test: {http: \"hw:web\"}\n  admin.web.test: {http: \"hw:web\", auth: {alice: \"\$6\$x\$y\"}}|" web-v1.yml >hw.yml &&
	paas-deploy -D hw hw.yml >/dev/null &&
	sed "s/hw:web/other:web/; s/web.test:/other.test:/" web-v1.yml >other.yml &&
	paas-deploy -D other other.yml >/dev/null &&
	wait_for 10 sh -c "[ \"\$(curl -s -o /dev/null -w %{http_code} -H \"Host: web.test\" http://127.0.0.1:$R2_PORT/version)\" = 200 ]" &&
	expect_eq "$(both web.test)" "200 200" && expect_eq "$(both other.test)" "200 200"
'

test_expect_success 'on: 503 with the routers'"'"' page on every router when the command returns, auth or not; other served; no instance restarted' '
	started hw >s0 &&
	t0=$(now_ms) && paas-deploy -D hw --json maintenance on >out && ms=$(($(now_ms) - t0)) &&
	expect_eq "$(both web.test)" "503 503" && expect_eq "$(both admin.web.test)" "503 503" &&
	say "maintenance on -> 503 from both routers: $ms ms" && [ "$ms" -le 1000 ] &&
	jq -e "select(.kind == \"maintenance\") | .on and .routers == 2" out &&
	curl -sS -H "Host: web.test" "http://127.0.0.1:$ROUTER_PORT/" -D h >body &&
	expect_grep "Down for maintenance" body && grep -qi "^retry-after: 60" h &&
	expect_eq "$(both other.test)" "200 200" &&
	started hw >s1 && cmp s0 s1 &&
	paas-deploy --json list | jq -e -s "map({(.deployment): .maintenance}) | add == {\"hw\": true, \"other\": false}"
'

test_expect_success 'the deployment'"'"'s own page, on every router' '
	printf "<h1>Back at noon</h1>\n" >page.html &&
	paas-deploy -D hw maintenance on page.html >/dev/null &&
	for p in $ROUTER_PORT $R2_PORT; do
		expect_eq "$(curl -sS -H "Host: web.test" http://127.0.0.1:$p/)" "<h1>Back at noon</h1>" || return 1
	done
'

test_expect_success 'a page that is no text, or too big: exit 3, the page served stays' '
	printf "a\0b" >bin.html && head -c 70000 /dev/zero | tr "\0" a >big.html &&
	expect_status 3 paas-deploy -D hw maintenance on bin.html 2>err && expect_grep "UTF-8 text of at most 65536 bytes" err &&
	expect_status 3 paas-deploy -D hw maintenance on big.html 2>err &&
	expect_status 3 paas-deploy -D hw maintenance maybe 2>err &&
	expect_eq "$(curl -sS -H "Host: web.test" http://127.0.0.1:$ROUTER_PORT/)" "<h1>Back at noon</h1>"
'

test_expect_success 'off: served again by every router when the command returns; no instance restarted' '
	started hw >s0 &&
	paas-deploy -D hw maintenance off >out && cat out &&
	expect_eq "$(both web.test)" "200 200" && expect_eq "$(both admin.web.test)" "401 401" &&
	started hw >s1 && cmp s0 s1 &&
	! ls "$ROUTER_DIR"/maintenance-*.html 2>/dev/null
'

test_done
