#!/bin/bash
# etcd membership: a three-member etcd loses a member for good; members rm
# takes it out, a fresh member is added (members add prints its settings),
# and deploys keep working throughout.  members rm on two members is
# refused; check says WARNING with a member down and CRITICAL without
# quorum, within --timeout.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
etcd_cluster_start 3
docker_host_start a
export PAAS_ETCD=$ETCD_ENDPOINTS
SF=$TEST_TMP/small.yml
sed "s/VERSION: v1/VERSION: v\$N/" "$SRCDIR/tests/servicefiles/cluster/small.yml" >"$SF.in"
# deploy N: deploy version vN of d1 and check that it answers
deploy() {
	sed "s/\\\$N/$1/" "$SF.in" >"$SF" &&
	paas-deploy -D d1 "$SF" >"deploy.$1" &&
	addr=$(paas-deploy -D d1 history >/dev/null && "$PAAS_T" etcd "$ETCD_EP_LIVE" range /paas/v1/instances/d1/ |
		cut -d= -f2- | jq -r ".address + \":\" + (.ports[\"8000\"] | tostring)") &&
	expect_eq "$(curl -fsS -m 2 "http://$addr/version")" "v$1"
}
ETCD_EP_LIVE=${ETCD_EP[0]}

test_expect_success 'setup: a host; members ls shows three healthy members, one leader' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS &&
	paas-cluster members ls >m &&
	expect_eq "$(jq -s "map(select(.healthy)) | length" m)" 3 &&
	expect_eq "$(jq -s "map(select(.leader)) | length" m)" 1 &&
	deploy 1 &&
	expect_status 0 paas-cluster check >/dev/null
'

test_expect_success 'a member lost for good: check says WARNING; deploys go on' '
	etcd_member_kill 2 && rm -rf "$TEST_TMP/etcd2" &&
	{ wait_for 10 sh -c "paas-cluster check --timeout 5 >out; test \$? = 1" || { cat out; false; }; } &&
	grep -q "^PAAS WARNING - etcd member m2 ([0-9a-f]*) unhealthy: " out &&
	deploy 2
'

test_expect_success 'members rm takes it out; on two members another rm is refused' '
	paas-cluster --json members rm m2 >out &&
	jq -e ".kind == \"member_removed\" and .name == \"m2\" and .members == 2" out &&
	expect_eq "$(paas-cluster members ls | wc -l)" 2 &&
	expect_status 1 paas-cluster members rm m1 2>err &&
	grep -q "^paas-cluster: refusing to remove m1 from a 2-member cluster" err &&
	expect_eq "$(paas-cluster members ls | wc -l)" 2 &&
	expect_status 1 paas-cluster members rm nosuch 2>err && grep -q "no member nosuch" err &&
	expect_status 0 paas-cluster check >/dev/null &&
	deploy 3
'

test_expect_success 'a fresh member added with the settings members add prints; deploys go on' '
	cport=$(free_port) && pport=$(free_port) &&
	paas-cluster --json members add m3 "http://127.0.0.1:$pport" >add &&
	jq -e ".kind == \"member_added\" and .initial_cluster_state == \"existing\"" add &&
	init=$(jq -r .initial_cluster add) &&
	case "$init" in *m3=http://127.0.0.1:$pport*) ;; *) false ;; esac &&
	mkdir -p "$TEST_TMP/etcd3" &&
	{ etcd --name m3 --data-dir "$TEST_TMP/etcd3/data" \
		--listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
		--listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
		--initial-cluster "$init" --initial-cluster-state existing \
		--heartbeat-interval 50 --election-timeout 500 >>"$TEST_TMP/etcd3/log" 2>&1 & } &&
	echo $! >"$TEST_TMP/etcd3/pid" &&
	wait_for 20 sh -c "curl -fsS -m 1 http://127.0.0.1:$cport/health | grep -q true" &&
	{ wait_for 10 sh -c "paas-cluster members ls | jq -s -e \"map(select(.healthy)) | length == 3\"" ||
		{ echo "not three healthy members:"; paas-cluster members ls; false; }; } &&
	deploy 4 &&
	expect_status 0 env PAAS_ETCD="${ETCD_EP[0]},${ETCD_EP[1]},http://127.0.0.1:$cport" paas-cluster check >out
'
at_exit 'kill -9 $(cat "$TEST_TMP/etcd3/pid" 2>/dev/null) 2>/dev/null'

test_expect_success 'bad member arguments: exit 3, one message, membership unchanged' '
	paas-cluster members ls | jq -c "del(.time)" >before &&
	expect_status 3 paas-cluster members add "bad name" http://127.0.0.1:1 2>err &&
	grep -q "^paas-cluster: members add: invalid name .bad name." err &&
	expect_status 3 paas-cluster members add m9 ftp://127.0.0.1:1 2>err &&
	grep -q "^paas-cluster: members add: peer URL ftp://127.0.0.1:1: expected http" err &&
	expect_status 3 paas-cluster members 2>err && grep -q "members: expected ls, rm" err &&
	expect_status 3 paas-cluster members rm 2>/dev/null &&
	paas-cluster members ls | jq -c "del(.time)" >after && test_cmp before after
'

test_expect_success 'without quorum: CRITICAL within --timeout; members rm refused' '
	etcd_member_kill 1 && kill -9 "$(cat "$TEST_TMP/etcd3/pid")" &&
	t0=$(now_ms) &&
	{ paas-cluster check --timeout 3 >out; rc=$?; } &&
	ms=$(($(now_ms) - t0)) && say "check --timeout 3 without quorum: $ms ms, exit $rc" &&
	expect_eq $rc 2 && test "$ms" -lt 3300 &&
	grep -q "^PAAS CRITICAL - etcd: no quorum: [01] of 3 members healthy" out &&
	expect_status 1 paas-cluster members rm m1 2>err &&
	grep -q "^paas-cluster: refusing to remove m1: 0 of the 2 members left answer" err
'
test_done
