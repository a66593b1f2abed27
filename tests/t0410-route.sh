#!/bin/bash
# Service discovery end to end: a host agent per Docker host (network
# namespaces, TLS), a router (paas-route watch and its own HAProxy) and
# paas-deploy writing the routes.  Host routing and basic auth through
# HAProxy; a killed container leaves the config; a lost host (agent and
# dockerd killed) leaves within the lease TTL plus a second; the agent
# withdraws on SIGTERM and re-announces after etcd comes back.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
need openssl
etcd_start
docker_host_start a
docker_host_start b
export PAAS_ETCD=$ETCD_ENDPOINT
E=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"
SF=$SRCDIR/tests/servicefiles/route/shop.yml
ADMIN_HASH=$(openssl passwd -6 -salt paasroute s3cret)
export ADMIN_HASH

# servers: the server lines of the live HAProxy config
servers() { grep -E '^\s+server ' "$ROUTER_CFG" || :; }
announced() { "$PAAS_T" etcd "$E" range /paas/v1/announce/ | cut -d= -f2- ; }

test_expect_success 'hosts, an agent on each, a router' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS &&
	paas-cluster hosts add b --docker "${HOST_URL[b]}" $TLS_OPTS &&
	agent_start a --ttl 10 && agent_start b --ttl 10 &&
	router_start &&
	expect_status 0 "$PAAS_T" etcd "$E" get /paas/v1/agents/b &&
	grep -q "default_backend no-route" "$ROUTER_CFG" &&
	expect_eq "$(via nothing.test / -o /dev/null -w "%{http_code}")" 404
'

test_expect_success 'deploy: each new instance is announced and served before the next step' '
	paas-deploy -D shop "$SF" >out &&
	jq -e -s "[.[] | select(.kind == \"announced\")] | length == 4" out &&
	jq -e -s "[.[] | select(.kind == \"served\" and .what == \"start\")] | length == 4" out &&
	jq -e -s "[.[] | select(.kind == \"routes\")][0].set == [\"admin.shop.test\", \"shop.test\"]" out &&
	! grep -q -F "$ADMIN_HASH" out &&
	expect_eq "$(announced | jq -s "map(select(.healthy)) | length")" 4 &&
	expect_eq "$(servers | grep -c " shop.web.")" 3 &&
	expect_eq "$(servers | grep -c " shop.admin.")" 1
'

test_expect_success 'Host routing: each domain reaches its own service, across both hosts' '
	for i in 1 2 3 4 5 6; do via shop.test /version; done >seen &&
	expect_eq "$(sort -u seen)" web-v1 &&
	expect_eq "$(servers | grep " shop.web." | grep -c "${HOST_IP[a]}\|${HOST_IP[b]}")" 3 &&
	servers | grep " shop.web." | grep -q "${HOST_IP[a]}" &&
	servers | grep " shop.web." | grep -q "${HOST_IP[b]}"
'

test_expect_success 'basic auth: 401 without or with wrong credentials, 200 with them' '
	expect_eq "$(via admin.shop.test /version -o /dev/null -w "%{http_code}")" 401 &&
	expect_eq "$(via admin.shop.test /version -u alice:wrong -o /dev/null -w "%{http_code}")" 401 &&
	expect_eq "$(via admin.shop.test /version -u alice:s3cret)" admin &&
	expect_eq "$(via ADMIN.shop.test:80 /version -u alice:s3cret)" admin &&
	! grep -q -F "$ADMIN_HASH" "$TEST_TMP/router.log" "$TEST_TMP"/agent-*.log
'

test_expect_success 'routes in etcd: port resolved, health path, the hash only there' '
	"$PAAS_T" etcd "$E" get /paas/v1/routes/admin.shop.test >r &&
	jq -e ".deployment == \"shop\" and .service == \"admin\" and .port == 8000 and
		.health == \"/version\" and .auth.alice == env.ADMIN_HASH" r
'

test_expect_success 'a killed container leaves the HAProxy config' '
	cid=$(dk a ps -q --no-trunc -f label=paas.service=web | head -n 1) &&
	[ -n "$cid" ] && servers | grep -q "${cid:0:12}" &&
	t0=$(now_ms) && dk a rm -f "$cid" >/dev/null &&
	wait_for 5 sh -c "! grep -q ${cid:0:12} $ROUTER_CFG" &&
	say "container removed -> out of the HAProxy config: $(($(now_ms) - t0)) ms" &&
	! announced | grep -q "${cid}" &&
	for i in 1 2 3 4; do via shop.test /version; done >seen && expect_eq "$(sort -u seen)" web-v1
'

test_expect_success 'the next deploy puts the instance back; "No changes." otherwise' '
	paas-deploy -D shop "$SF" >out &&
	wait_for 10 sh -c "test \$(grep -c \" shop.web.\" $ROUTER_CFG) = 3" &&
	paas-deploy -D shop "$SF" >out && jq -e -s "map(.kind) == [\"lock\", \"unchanged\"]" out
'

test_expect_success 'a domain another deployment routes is refused before anything starts' '
	sed "s/shop:web/other:web/" "$SF" >other.yml &&
	"$PAAS_T" etcd "$E" get /paas/v1/routes/shop.test >route.before &&
	expect_status 1 paas-deploy -D other other.yml >out 2>err &&
	expect_grep "domain shop.test is routed to deployment shop" err &&
	expect_eq "$(dep_ids other | wc -l)" 0 &&
	expect_status 1 "$PAAS_T" etcd "$E" get /paas/v1/deployments/other/release &&
	"$PAAS_T" etcd "$E" get /paas/v1/routes/shop.test >route.after && cmp route.before route.after
'

test_expect_success 'SIGTERM: the agent withdraws its host at once' '
	n=$(servers | grep -c "${HOST_IP[a]}") && [ "$n" -ge 1 ] &&
	kill -TERM "${AGENT_PID[a]}" && wait_for 5 sh -c "! kill -0 ${AGENT_PID[a]} 2>/dev/null" &&
	wait_for 3 sh -c "! grep -q ${HOST_IP[a]} $ROUTER_CFG" &&
	expect_status 1 "$PAAS_T" etcd "$E" get /paas/v1/agents/a &&
	agent_start a --ttl 10 &&
	wait_for 5 sh -c "[ \$(grep -c ${HOST_IP[a]} $ROUTER_CFG) -eq $n ]"
'

test_expect_success 'a lost host (agent and dockerd killed) leaves within the TTL plus 1 s' '
	n=$(servers | grep -c "${HOST_IP[b]}") && [ "$n" -ge 1 ] &&
	t0=$(now_ms) &&
	kill -9 "${AGENT_PID[b]}" && docker_host_kill b &&
	wait_for 15 sh -c "! grep -q ${HOST_IP[b]} $ROUTER_CFG" &&
	ms=$(($(now_ms) - t0)) && say "host lost -> out of the HAProxy config: $ms ms (TTL 10 s)" &&
	[ "$ms" -le 11000 ] &&
	for i in 1 2 3 4; do via shop.test /version; done >seen && expect_eq "$(sort -u seen)" web-v1
'

test_expect_success 'agent and router come back after etcd restarts, announcing again' '
	before=$(servers | wc -l) &&
	etcd_member_kill 0 && sleep 2 && etcd_member_restart 0 &&
	wait_for 20 sh -c "\"$PAAS_T\" etcd \"$E\" range /paas/v1/announce/ | grep -q ${HOST_IP[a]}" &&
	wait_for 10 "$PAAS_T" etcd "$E" get /paas/v1/routers/test &&
	expect_eq "$(servers | wc -l)" "$before" &&
	expect_eq "$(via shop.test /version)" web-v1
'

test_expect_success 'paas-route render prints what the router serves' '
	paas-route render --config "$ROUTER_CFG" --port "$ROUTER_PORT" --stats-socket "$ROUTER_DIR/stats.sock" >r.cfg &&
	cmp r.cfg "$ROUTER_CFG"
'

test_expect_success 'destroy removes the routes: the domains answer 404' '
	paas-cluster hosts rm b &&
	paas-deploy -D shop destroy --yes >out &&
	expect_status 1 "$PAAS_T" etcd "$E" get /paas/v1/routes/shop.test &&
	wait_for 5 sh -c "[ \$(curl -s -o /dev/null -w %{http_code} -H \"Host: shop.test\" http://127.0.0.1:$ROUTER_PORT/) = 404 ]"
'

test_done
