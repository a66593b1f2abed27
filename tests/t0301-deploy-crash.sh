#!/bin/bash
# Crash safety: paas-deploy SIGKILLed at 20 random moments of 6-instance
# rollouts on two hosts, each run starting from the wreck the last one left.
# In the end: exactly 6 instances of the newest release, no orphan container
# (found by label), the lock free.  The seed is printed; PAAS_TEST_SEED
# replays a run.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"

etcd_start
docker_host_start a
docker_host_start b
export PAAS_ETCD=$ETCD_ENDPOINT
E=$ETCD_ENDPOINT
SF=$SRCDIR/tests/servicefiles/deploy
seed=${PAAS_TEST_SEED:-$$}
RANDOM=$seed
say "seed $seed"

version() { sed -e "s/VERSION: v1/VERSION: $1/" -e "s/instances: 3/instances: 6/" "$SF/web.yml" >"web-$1.yml"; echo "web-$1.yml"; }
# deploy FILE: run to the end, waiting out the lock a killed run left (TTL 2 s).
deploy() {
	local rc i
	for i in $(seq 50); do
		paas-deploy --lock-ttl 2 --stop-timeout 2 -D crash "$1" >>deploy.out 2>deploy.err; rc=$?
		[ $rc -eq 2 ] && grep -q "is locked by" deploy.err || return $rc
		sleep 0.2
	done
	return 2
}

test_expect_success 'hosts registered, release of 6 instances running' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS &&
	paas-cluster hosts add b --docker "${HOST_URL[b]}" $TLS_OPTS &&
	deploy "$(version k0)" && expect_eq "$(dep_ids crash | wc -l)" 6
'

test_expect_success 'SIGKILL at 20 random moments, each run starting from the last one'"'"'s wreck;
	each time the lock is free again within its TTL (2 s) plus a second' '
	worst=0
	for i in $(seq 20); do
		f=$(version k$i)
		paas-deploy --lock-ttl 2 --stop-timeout 2 -D crash "$f" >>kill.out 2>>kill.err &
		pid=$!
		at=$((RANDOM % 5000))
		sleep "$(printf "%d.%03d" $((at / 1000)) $((at % 1000)))"
		kill -9 $pid 2>/dev/null
		wait $pid 2>/dev/null
		start=$(now_ms)
		wait_for 4 sh -c "! \"$PAAS_T\" etcd $E get /paas/v1/deployments/crash/lock >/dev/null 2>&1" ||
			{ echo "run $i: lock still held"; return 1; }
		freed=$(($(now_ms) - start)); [ $freed -gt $worst ] && worst=$freed
		echo "run $i killed at $at ms after $(grep -c . kill.out) events; $(dep_ids crash | wc -l) containers; lock free after $freed ms"
		: >kill.out
	done
	echo "lock free at worst $worst ms after a kill" && [ $worst -le 3000 ] &&
	! grep -v "is locked by" kill.err
'

test_expect_success 'one more run converges: exactly 6 instances of the newest release, 0 orphans' '
	deploy "web-k20.yml" &&
	rel=$("$PAAS_T" etcd "$E" get /paas/v1/deployments/crash/release) &&
	dep_ids crash >all && expect_eq "$(wc -l <all)" 6 &&
	for h in a b; do dk $h ps -q --no-trunc -f label=paas.deployment=crash -f status=running; done | sort >running &&
	cmp all running &&
	"$PAAS_T" etcd "$E" range /paas/v1/instances/crash/ | cut -d= -f2- >inst &&
	expect_eq "$(wc -l <inst)" 6 &&
	jq -r .id inst | sort >recorded && cmp all recorded &&
	for x in $(jq -r "\"\(.address):\(.ports.\"8000\")\"" inst); do
		expect_eq "$(curl -fsS -m 2 http://$x/version)" k20 || return 1
	done &&
	expect_eq "$(jq -r .version inst | sort -u | wc -l)" 1 &&
	paas-deploy -D crash history | jq -e -s "map(select(.current)) | length == 1 and .[0].release == $rel" &&
	expect_status 1 "$PAAS_T" etcd "$E" get /paas/v1/deployments/crash/lock
'

test_expect_success 'and the same file once more changes nothing' '
	paas-deploy -D crash web-k20.yml >out && jq -e -s "map(.kind) == [\"lock\", \"unchanged\"]" out
'

test_done
