#!/bin/bash
# Hardening (issue 14), each class of failure with real servers: an etcd
# that stops answering mid-rollout never gets an instance stopped before it
# is withdrawn; one route or announcement HAProxy would refuse never holds
# back the others; a malformed auth fails closed; damaged records give an
# error naming their key, never a crash; restore respects the deploy locks.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
need openssl iptables
etcd_start
docker_host_start a
docker_host_start b
export PAAS_ETCD=$ETCD_ENDPOINT
E=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"
ETCD_PID=${_etcd_pid[0]}
at_exit "kill -CONT $ETCD_PID 2>/dev/null"

servers() { grep -E '^\s+server ' "$ROUTER_CFG" || :; }
announced() { "$PAAS_T" etcd "$E" range /paas/v1/announce/ | cut -d= -f2- ; }
etcd_put() { "$PAAS_T" etcd "$E" put "$1" "$2" >/dev/null; }

test_expect_success 'a host with an agent, a router, deployment hw serving v1' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS &&
	agent_start a --ttl 10 &&
	router_start &&
	paas-deploy -D hw "$(web v1)" >out &&
	wait_for 10 sh -c "[ \"\$(curl -sS -m 2 -H \"Host: web.test\" http://127.0.0.1:$ROUTER_PORT/version)\" = v1 ]"
'

test_expect_success 'etcd frozen mid-rollout: no instance is stopped unwithdrawn; exit 2; a re-run converges' '
	old=$(dep_ids hw) && [ -n "$old" ] &&
	sf=$(web v2 stop-first) &&
	# The router held, so that the withdrawal cannot be confirmed before
	# etcd freezes: without it a slow machine could confirm it (and rightly
	# stop the old instance) before the freeze lands.
	kill -STOP $ROUTER_PID && at_exit "kill -CONT $ROUTER_PID 2>/dev/null" &&
	{ (paas-deploy -D hw "$sf" >frozen.out 2>frozen.err; echo $? >frozen.rc) & deploy=$!; } &&
	wait_for 30 grep -q "\"kind\":\"release\"" frozen.out &&
	kill -STOP $ETCD_PID &&
	{ wait $deploy; kill -CONT $ETCD_PID; kill -CONT $ROUTER_PID; } &&
	cat frozen.err &&
	expect_eq "$(cat frozen.rc)" 2 &&
	! grep -q "\"kind\":\"stop\"" frozen.out &&
	expect_eq "$(dk a inspect -f "{{.State.Running}}" $old)" true &&
	wait_for 30 sh -c "[ \"\$(curl -sS -m 2 -H \"Host: web.test\" http://127.0.0.1:$ROUTER_PORT/version)\" = v1 ]" &&
	wait_for 40 paas-deploy -D hw "$(web v2 stop-first)" &&
	wait_for 15 sh -c "[ \"\$(curl -sS -m 2 -H \"Host: web.test\" http://127.0.0.1:$ROUTER_PORT/version)\" = v2 ]"
'

check() { paas-cluster check --timeout 5 >check.out; echo $? >check.rc; cat check.out; }
served() { curl -sS -m 2 -o /dev/null -w "%{http_code}" -H "Host: $1" "http://127.0.0.1:$ROUTER_PORT/version"; }
rev_now() { "$PAAS_T" etcd "$E" status | sed "s/.*revision=//"; }
# router_past REV: until the router serves a revision after REV (taken
# with rev_now before a change)
router_past() { wait_for 10 sh -c "[ \$(\"$PAAS_T\" etcd \"$E\" get /paas/v1/routers/test | jq .revision) -gt $1 ]"; }

test_expect_success 'fail closed: a route whose auth is not a mapping is not served at all; the router and check name it' '
	mark=$(rev_now) &&
	etcd_put /paas/v1/routes/open.test "{\"deployment\":\"hw\",\"service\":\"web\",\"auth\":\"\$6\$x\$y\",\"port\":null,\"sticky\":false,\"health\":null,\"tls\":null}" &&
	router_past $mark &&
	expect_eq "$(served open.test)" 404 &&
	expect_eq "$(served web.test)" 200 &&
	expect_grep "left out: route open.test: auth is not a mapping" "$TEST_TMP/router.log" &&
	check && expect_eq "$(cat check.rc)" 1 && expect_grep "leaves out route open.test: auth is not a mapping" check.out &&
	"$PAAS_T" etcd "$E" del /paas/v1/routes/open.test >/dev/null
'

test_expect_success 'fail closed at deploy: an auth ${VAR} that is not a crypt hash exits 3 with nothing changed' '
	before=$(paas-deploy -D hw history --json | wc -l) &&
	sed -e "s/{http: \"hw:web\"}/{http: \"hw:web\", auth: {alice: \"\${PW}\"}}/" "$(web v2 stop-first)" >auth.yml &&
	PW="s3cret" expect_status 3 paas-deploy -D hw auth.yml >out 2>err &&
	expect_grep "domain web.test: auth alice: the value is not a crypt(3) hash" err &&
	! grep -q s3cret err out &&
	PW="$(printf "a\nb")" expect_status 3 paas-deploy -D hw auth.yml >out 2>err &&
	expect_eq "$(paas-deploy -D hw history --json | wc -l)" "$before" &&
	expect_eq "$("$PAAS_T" etcd "$E" get /paas/v1/routes/web.test | jq -c .auth)" "{}"
'

test_expect_success 'one bad route never blocks the others: a missing certificate, a file that is no certificate, an unresolvable address' '
	mark=$(rev_now) &&
	etcd_put /paas/v1/routes/nocert.test "{\"deployment\":\"zz\",\"service\":\"web\",\"auth\":{},\"port\":null,\"sticky\":false,\"health\":null,\"tls\":\"$TEST_TMP/missing.pem\"}" &&
	etcd_put /paas/v1/routes/badcert.test "{\"deployment\":\"zz\",\"service\":\"web\",\"auth\":{},\"port\":null,\"sticky\":false,\"health\":null,\"tls\":\"/etc/hostname\"}" &&
	etcd_put /paas/v1/announce/hw/web/9/ffffffffffff "{\"deployment\":\"hw\",\"service\":\"web\",\"instance\":\"9\",\"container\":\"ffffffffffff\",\"host\":\"zz\",\"address\":\"nowhere.invalid\",\"port\":30999,\"ports\":{},\"version\":\"v\",\"release\":1,\"healthy\":true}" &&
	paas-deploy -D hw "$(web v3)" >out &&
	wait_for 15 sh -c "[ \"\$(curl -sS -m 2 -H \"Host: web.test\" http://127.0.0.1:$ROUTER_PORT/version)\" = v3 ]" &&
	! grep -q "\"kind\":\"warning\"" out &&
	router_past $mark &&
	expect_grep "left out: route nocert.test: certificate $TEST_TMP/missing.pem: No such file" "$TEST_TMP/router.log" &&
	expect_grep "left out: route badcert.test: haproxy refuses it" "$TEST_TMP/router.log" &&
	expect_grep "address nowhere.invalid does not resolve" "$TEST_TMP/router.log" &&
	check && expect_grep "leaves out route nocert.test" check.out &&
	expect_grep "leaves out route badcert.test" check.out &&
	expect_grep "nowhere.invalid" check.out &&
	"$PAAS_T" etcd "$E" del /paas/v1/routes/nocert.test >/dev/null &&
	"$PAAS_T" etcd "$E" del /paas/v1/routes/badcert.test >/dev/null &&
	"$PAAS_T" etcd "$E" del /paas/v1/announce/hw/web/9/ffffffffffff >/dev/null
'

test_expect_success 'damaged records: an announcement with "healthy":"no" is not served; a release record {} and a host with a non-string docker URL give errors naming their keys' '
	mark=$(rev_now) &&
	etcd_put /paas/v1/announce/hw/web/8/eeeeeeeeeeee "{\"deployment\":\"hw\",\"service\":\"web\",\"instance\":\"8\",\"container\":\"eeeeeeeeeeee\",\"host\":\"zz\",\"address\":\"127.0.0.1\",\"port\":30998,\"ports\":{},\"version\":\"v\",\"release\":1,\"healthy\":\"no\"}" &&
	router_past $mark &&
	! servers | grep -q eeeeeeeeeeee &&
	check && expect_grep "announce/hw/web/8/eeeeeeeeeeee: damaged announcement record: healthy is not true or false" check.out &&
	"$PAAS_T" etcd "$E" del /paas/v1/announce/hw/web/8/eeeeeeeeeeee >/dev/null &&
	cur=$("$PAAS_T" etcd "$E" get /paas/v1/deployments/hw/release | tr -d "\"") &&
	saved=$("$PAAS_T" etcd "$E" get /paas/v1/deployments/hw/releases/$cur) &&
	etcd_put /paas/v1/deployments/hw/releases/$cur "{}" &&
	expect_status 1 paas-deploy -D hw "$(web v4)" >out 2>err && cat err &&
	expect_grep "etcd key /paas/v1/deployments/hw/releases/$cur: damaged release record" err &&
	check && expect_eq "$(cat check.rc)" 2 && expect_grep "releases/$cur: damaged release record" check.out &&
	etcd_put /paas/v1/deployments/hw/releases/$cur "$saved" &&
	host=$("$PAAS_T" etcd "$E" get /paas/v1/hosts/a) &&
	etcd_put /paas/v1/hosts/a "$(echo "$host" | jq -c ".docker = 42")" &&
	expect_status 1 paas-deploy -D hw "$(web v4)" >out 2>err && cat err &&
	expect_grep "etcd key /paas/v1/hosts/a: damaged host record: docker is not a URL string" err &&
	check && expect_eq "$(cat check.rc)" 2 && expect_grep "hosts/a: damaged host record" check.out &&
	etcd_put /paas/v1/hosts/a "$host" &&
	paas-deploy -D hw "$(web v4)" >out
'

test_expect_success 'restore refuses while a deployment is locked, exit 2, nothing written; then restores' '
	paas-cluster backup all.bak >/dev/null &&
	etcd_put /paas/v1/stray x &&
	{ "$PAAS_T" etcd "$E" lock hw "deployer@x pid 1" 5 30 >lock.out 2>&1 & holder=$!; } &&
	at_exit "kill $holder 2>/dev/null" &&
	wait_for 5 grep -q locked lock.out &&
	expect_status 2 paas-cluster restore --force all.bak 2>err && cat err &&
	expect_grep "deployment hw is locked by deployer@x pid 1" err &&
	expect_grep "nothing was written" err &&
	expect_eq "$("$PAAS_T" etcd "$E" get /paas/v1/stray)" x &&
	{ kill $holder; wait $holder || :; } &&
	wait_for 15 paas-cluster restore --force all.bak &&
	expect_status 1 "$PAAS_T" etcd "$E" get /paas/v1/stray
'

# The instance of lh on host h answers at h's address, and not on h's
# loopback (so not on every interface: issue 14, point 8).
published_on_address_only() {
	local h=$1 cid pb hp
	cid=$(dk "$h" ps -q -f label=paas.deployment=lh) &&
	pb=$(dk "$h" inspect -f "{{json .HostConfig.PortBindings}}" "$cid") &&
	expect_eq "$(echo "$pb" | jq -r ".[\"8000/tcp\"][0].HostIp")" "${HOST_IP[$h]}" &&
	hp=$(echo "$pb" | jq -r ".[\"8000/tcp\"][0].HostPort") &&
	expect_eq "$(curl -sS -m 2 "http://${HOST_IP[$h]}:$hp/version")" lh &&
	! nsenter --net="/run/netns/${_host_ns[$h]}" curl -sS -m 2 "http://127.0.0.1:$hp/version" 2>/dev/null
}
drop() { nsenter --net="/run/netns/${_host_ns[$1]}" iptables -"$2" INPUT -p tcp --dport 2376 -j DROP; }
test_expect_success 'a lost host returns after check --repair moved its instances: check names the surplus, its agent neither announces nor keeps it' '
	paas-cluster hosts add b --docker "${HOST_URL[b]}" $TLS_OPTS &&
	agent_start b --ttl 3 &&
	cat >lh.yml <<-EOF &&
	web:
	  image: paas-test:1
	  cmd: [sh, -c, "echo lh >/www/version; exec httpd -f -p 8000 -h /www"]
	  ports: [8000]
	  instances: 2
	  health: {http: /version, port: 8000, interval: 1s, timeout: 500ms, retries: 2}
	EOF
	paas-deploy -D lh lh.yml >out &&
	expect_eq "$(dk b ps -q -f label=paas.deployment=lh | wc -l)" 1 &&
	published_on_address_only b &&
	kill -9 ${AGENT_PID[b]} && drop b A &&
	wait_for 10 sh -c "! \"$PAAS_T\" etcd \"$E\" get /paas/v1/agents/b" &&
	{ paas-cluster check --repair --timeout 3 >repair.out; echo $? >repair.rc; } &&
	cat repair.out && expect_eq "$(cat repair.rc)" 2 &&
	expect_eq "$(dk a ps -q -f label=paas.deployment=lh | wc -l)" 2 &&
	drop b D &&
	check && expect_eq "$(cat check.rc)" 1 && expect_grep "lh/web: 3 running, 2 wanted" check.out &&
	agent_start b --ttl 3 &&
	wait_for 15 sh -c "[ \$(DOCKER_API_VERSION=1.41 /usr/bin/docker -H ${HOST_URL[b]} --tlsverify --tlscacert $TLS_CA --tlscert $TLS_CERT --tlskey $TLS_KEY ps -q -f label=paas.deployment=lh | wc -l) = 0 ]" &&
	expect_grep "lh.web.2 (container .*) is surplus" "$TEST_TMP/agent-b.log" &&
	expect_eq "$(announced | jq -s "map(select(.deployment == \"lh\")) | length")" 2 &&
	check && expect_eq "$(cat check.rc)" 0
'

test_expect_success 'HAProxy killed: the router starts it again within a second' '
	pid=$(cat "$ROUTER_DIR/haproxy.pid") && kill -9 $pid &&
	t0=$(now_ms) &&
	wait_for 5 sh -c "[ \"\$(curl -sS -m 1 -H \"Host: web.test\" http://127.0.0.1:$ROUTER_PORT/version)\" = v4 ]" &&
	t=$(($(now_ms) - t0)) && say "HAProxy back after $t ms" && [ $t -lt 2000 ]
'

test_done
