#!/bin/bash
# paas-cluster status and check over two hosts (network namespaces, TLS)
# with agents and a router: OK on a healthy cluster; WARNING with one of
# three instances gone (and --repair starts it again); CRITICAL for a host
# whose packets are dropped, within --timeout; with host b killed, check
# --repair places b's instances on a and the router serves them all.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
need openssl iptables
etcd_start
docker_host_start a
docker_host_start b
export PAAS_ETCD=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"
SF=$SRCDIR/tests/servicefiles/route/shop.yml
ADMIN_HASH=$(openssl passwd -6 -salt paascheck s3cret)
export ADMIN_HASH
# holds FILTER FILE: FILTER gives at least one result over FILE's lines, all true
# (jq -e alone judges by the last line's result, which select may drop)
holds() { jq -e -s "[.[] | $1] | length > 0 and all" "$2" >/dev/null || { echo "not so in $2: $1"; return 1; }; }
drop() { nsenter --net="/run/netns/${_host_ns[$1]}" iptables -"$2" INPUT -p tcp --dport 2376 -j DROP; }

test_expect_success 'setup: two hosts with agents, a router, shop deployed' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS &&
	paas-cluster hosts add b --docker "${HOST_URL[b]}" $TLS_OPTS &&
	agent_start a && agent_start b && router_start &&
	paas-deploy -D shop "$SF" >/dev/null &&
	expect_eq "$(via shop.test /version)" web-v1
'

test_expect_success 'status: NDJSON of etcd, members, hosts, services, routes, routers' '
	paas-cluster status >st &&
	holds "select(.kind == \"etcd\") | .quorum and .members == 1 and .members_healthy == 1" st &&
	holds "select(.kind == \"member\") | .healthy and .leader and .db_size > 0" st &&
	expect_eq "$(jq -c "select(.kind == \"host\") | [.name, .reachable, .agent, .containers_running]" st | tr -d "\n")" \
		"[\"a\",true,true,2][\"b\",true,true,2]" &&
	holds "select(.kind == \"service\" and .service == \"web\") |
		.instances_desired == 3 and .instances_running == 3 and .instances_announced == 3 and .instances_healthy == 3 and .release == 1" st &&
	holds "select(.kind == \"route\" and .domain == \"admin.shop.test\") | .servers == 1" st &&
	holds "select(.kind == \"router\") | .name == \"test\" and (.behind | not)" st &&
	! grep -q -F "$ADMIN_HASH" st &&
	paas-cluster --table status >table &&
	grep -q "^shop/web  *1  *3  *3  *3  *3" table
'

test_expect_success 'check: OK, exit 0, one line' '
	paas-cluster check >out; expect_eq $? 0 &&
	expect_eq "$(wc -l <out)" 1 &&
	grep -q "^PAAS OK - etcd 1/1 members healthy, 2 hosts, 2 services, 4 of 4 instances healthy | hosts=2 hosts_down=0" out &&
	paas-cluster --json check | jq -e ".status == \"OK\" and .code == 0 and .problems == []"
'

test_expect_success 'one of three web instances gone: WARNING (1); --repair starts it again: OK' '
	id=$(dk a ps -q -f label=paas.service=web | head -n 1) &&
	dk a rm -f "$id" >/dev/null &&
	wait_for 5 sh -c "paas-cluster check >out; test \$? = 1" &&
	grep -q "^PAAS WARNING - shop/web: 2 of 3 healthy |" out &&
	expect_status 3 paas-cluster check --warn 50 --crit 30 2>err &&
	grep -q "above --crit" err &&
	expect_status 2 paas-cluster check --crit 30 >out && grep -q "^PAAS CRITICAL - shop/web: 2 of 3" out &&
	expect_status 0 paas-cluster check --warn 40 >/dev/null &&
	expect_status 0 paas-cluster check --repair >out &&
	grep -q "^repaired shop: web instance [0-9] started on [ab]" out &&
	expect_eq "$(paas-cluster status | jq -c "select(.kind == \"service\" and .service == \"web\") | [.instances_running, .instances_healthy]")" "[3,3]"
'

test_expect_success 'a host whose packets are dropped: CRITICAL (2) within --timeout' '
	drop a A &&
	t0=$(now_ms) &&
	{ paas-cluster check --timeout 3 >out; rc=$?; } &&
	ms=$(($(now_ms) - t0)) && drop a D &&
	say "check --timeout 3 with host a dropping packets: $ms ms, exit $rc" &&
	expect_eq $rc 2 && test "$ms" -lt 3300 &&
	grep -q "^PAAS CRITICAL - host a down: " out &&
	t0=$(now_ms) && paas-cluster status --timeout 2 >/dev/null && test $(($(now_ms) - t0)) -lt 2300 || { drop a D; false; }
'

test_expect_success 'host b killed: CRITICAL; check --repair moves its instances to a; the router serves them' '
	kill_wait "${AGENT_PID[b]}" && docker_host_kill b &&
	expect_status 2 paas-cluster check --timeout 5 >out &&
	grep -q "host b down" out && grep -q "instances on down host b" out &&
	{ paas-cluster --json check --repair --timeout 5 >rep; rc=$?; } &&
	cat rep && expect_eq $rc 2 &&
	jq -e ".repaired[] | select(.deployment == \"shop\") | .skipped == [\"b\"] and (.started | length) >= 1 and (.started | all(.host == \"a\"))" rep &&
	jq -e ".problems | map(.what) == [\"host\"]" rep &&
	paas-cluster status >st &&
	holds "select(.kind == \"service\" and .service == \"web\") | .instances_running == 3 and .instances_healthy == 3" st &&
	holds "select(.kind == \"service\" and .service == \"admin\") | .instances_running == 1 and .instances_healthy == 1" st &&
	wait_for 15 sh -c "! grep -q \"${HOST_IP[b]}\" \"$ROUTER_CFG\"" &&
	expect_eq "$(grep -c " shop.web." "$ROUTER_CFG")" 3 &&
	for i in 1 2 3 4 5 6; do via shop.test /version; done | sort -u >seen &&
	expect_eq "$(cat seen)" web-v1 &&
	expect_eq "$(via admin.shop.test /version -u alice:s3cret)" admin
'

test_expect_success 'check --repair defragments a member whose database is mostly freed space' '
	jq -n "[range(80) | \"\(.) \" + (\"j\" * 1000000)]" >junk.json &&
	"$PAAS_T" etcd "$ETCD_ENDPOINT" putmany /paas/v1/junk/ junk.json &&
	"$PAAS_T" etcd "$ETCD_ENDPOINT" del /paas/v1/junk/ --prefix >/dev/null &&
	rev=$(curl -sS -X POST "$ETCD_ENDPOINT/v3/kv/range" -d "{\"key\":\"AA==\"}" | jq -r .header.revision) &&
	curl -sS -X POST "$ETCD_ENDPOINT/v3/kv/compaction" -d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null &&
	"$PAAS_T" etcd "$ETCD_ENDPOINT" put /paas/v1/junk-after x >/dev/null &&
	wait_for 10 sh -c "paas-cluster --json status | jq -e -s \"map(select(.kind == \\\"member\\\"))[0] | .db_size > 67108864 and .db_size_in_use * 2 < .db_size\" >/dev/null" &&
	{ paas-cluster --json check --repair --timeout 5 >d.json || :; } &&
	jq -e ".defragmented | length == 1 and (.[0] | .after * 4 < .before)" d.json &&
	say "defragmented: $(jq -c ".defragmented[0]" d.json)" &&
	paas-cluster --json status | jq -e -s "map(select(.kind == \"member\"))[0] | .db_size < 67108864"
'

test_expect_success 'etcd unreachable: CRITICAL; status exits 2 with one line' '
	PAAS_ETCD=http://127.0.0.1:1 paas-cluster check --timeout 2 >out; expect_eq $? 2 &&
	grep -q "^PAAS CRITICAL - etcd: " out &&
	expect_status 2 env PAAS_ETCD=http://127.0.0.1:1 paas-cluster status --timeout 2 >/dev/null 2>err &&
	expect_eq "$(wc -l <err)" 1 &&
	expect_status 3 paas-cluster check --timeout 0 >/dev/null 2>&1 &&
	expect_status 3 paas-cluster check --bogus >/dev/null 2>&1
'
test_done
