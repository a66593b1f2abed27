#!/bin/bash
# Benchmark (issue 6, point 6): paas-cluster status over 8 hosts (network
# namespaces, each its own dockerd on TCP+TLS) against a shell loop doing
# the same reads with etcdctl and the docker CLI, one host after another:
# the member list and each member's status, the hosts, instances,
# announcements, agents, routes and routers prefixes, and per host the
# Docker version and the paas containers.  RUNS (default 10) of each,
# medians; aim: ratio below 0.25.  Then check --timeout 5 with 4 of the 8
# hosts dropping packets: it must return within the timeout plus 10%.
. "$SRCDIR/tests/bench/lib-bench.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
need etcdctl iptables
RUNS=${RUNS:-10}
HOSTS="h1 h2 h3 h4 h5 h6 h7 h8"
etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
E=$ETCD_ENDPOINT
export DOCKER_API_VERSION=1.41
fail() { echo "bench: $*" >&2; exit 1; }

for h in $HOSTS; do docker_host_start "$h"; done
for h in $HOSTS; do
	paas-cluster hosts add "$h" --docker "${HOST_URL[$h]}" $TLS_OPTS >/dev/null || fail "hosts add $h"
done
cat >"$TEST_TMP/sf.yml" <<'SF'
web:
  image: paas-test:1
  cmd: [sh, -c, "echo ok >/www/version; exec httpd -f -p 8000 -h /www"]
  ports: [8000]
  instances: 8
  health: {http: /version, port: 8000, interval: 1s, timeout: 500ms, retries: 2}
  update: {parallel: 8}
SF
paas-deploy -D bench "$TEST_TMP/sf.yml" >/dev/null || fail "deploy"

peer() {
	local h p
	ETCDCTL_API=3 etcdctl --endpoints "$E" member list -w json >/dev/null || return 1
	ETCDCTL_API=3 etcdctl --endpoints "$E" endpoint status -w json >/dev/null || return 1
	for p in hosts instances announce agents routes routers; do
		ETCDCTL_API=3 etcdctl --endpoints "$E" get --prefix "/paas/v1/$p/" -w json >/dev/null || return 1
	done
	for h in $HOSTS; do
		dk "$h" version --format '{{.Server.Version}}' >/dev/null || return 1
		dk "$h" ps -a --filter label=paas.deployment --format '{{json .}}' >/dev/null || return 1
	done
}
ours() { paas-cluster status --json >"$TEST_TMP/status.json"; }

ours && test "$(jq -s 'map(select(.kind == "host" and .reachable)) | length' "$TEST_TMP/status.json")" = 8 ||
	fail "status does not see 8 reachable hosts"
for i in $(seq "$RUNS"); do secs ours; done >"$TEST_TMP/ours"
for i in $(seq "$RUNS"); do secs peer; done >"$TEST_TMP/peer"
a=$(median <"$TEST_TMP/ours")
b=$(median <"$TEST_TMP/peer")
echo "# status --json over 8 hosts: median ${a}s (min $(min <"$TEST_TMP/ours")s) over $RUNS runs"
echo "# etcdctl + docker CLI loop:   median ${b}s (min $(min <"$TEST_TMP/peer")s)"
echo "cluster-status ratio $(ratio "$a" "$b") (status / shell loop, aim < 0.25)"

for h in h1 h2 h3 h4; do
	nsenter --net="/run/netns/${_host_ns[$h]}" iptables -A INPUT -p tcp --dport 2376 -j DROP || fail "iptables $h"
done
worst=0
for i in 1 2 3; do
	t=$(date +%s%N)
	paas-cluster check --timeout 5 >"$TEST_TMP/check" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - t) / 1000000))
	[ "$ms" -gt "$worst" ] && worst=$ms
	echo "# check --timeout 5, 4 of 8 hosts dropping packets: ${ms} ms, exit $rc: $(cut -c1-80 "$TEST_TMP/check")"
done
echo "cluster-check-hanging worst ${worst} ms of a 5000 ms timeout (limit 5500: $([ "$worst" -le 5500 ] && echo within || echo OVER))"
