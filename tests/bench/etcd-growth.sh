#!/bin/bash
# Benchmark (issue 29): etcd's database through DEPLOYS deploys (default
# 1,000), each a new release of a deployment whose spec carries 4 KB of
# environment, with the etcd settings paas-cluster up gives every etcd
# (auto-compaction to the last 1,000 revisions, a 2 GiB quota; read from
# the paas-etcd unit the build writes), against the same deploys on an etcd
# with its defaults (no compaction): the peer, through the same DEPLOYS and
# DEPLOYS/2 more.  Ours is left, after DEPLOYS, until its
# compactor has run (etcd's revision compactor looks every 5 minutes), and
# `paas-cluster check --repair` runs (it defragments a database over 64 MiB
# and less than half in use); DEPLOYS/2 more deploys and the same again show
# whether the file stays flat (bbolt reuses the pages compaction freed).  Printed: each
# database's size and size in use (MiB) at each stage, the releases kept,
# and the ratio of ours after compaction to the peer's.
. "$SRCDIR/tests/bench/lib-bench.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
DEPLOYS=${DEPLOYS:-1000}
fail() { echo "bench: $*" >&2; exit 1; }
unit="$BUILDDIR/scripts/systemd/paas-etcd.service"
[ -r "$unit" ] || fail "no $unit: build first"
# --auto-compaction-mode revision ... from the unit's Environment= lines.
ours=$(sed -n 's/^Environment=ETCD_\(AUTO_COMPACTION_[A-Z]*\|QUOTA_BACKEND_BYTES\)=\(.*\)/\1 \2/p' "$unit" |
	while read -r k v; do printf -- "--%s %s " "$(echo "$k" | tr "A-Z_" "a-z-")" "$v"; done)
[ -n "$ours" ] || fail "no compaction settings in $unit"
echo "# etcd-growth: our settings: $ours"
docker_start_local
export DOCKER_API_VERSION=1.41

# One release: N in the environment, and 4 KB that every release repeats.
filler=$(head -c 4096 /dev/zero | tr "\0" f)
spec() {
	printf 'web:\n  image: paas-test:1\n  instances: 0\n  env: {N: "%s", FILLER: "%s"}\n' "$1" "$filler"
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
# size: "DB_SIZE DB_SIZE_IN_USE" of the one member, in bytes
size() {
	curl -sS -X POST "$ETCD_ENDPOINT/v3/maintenance/status" -d '{}' |
		jq -r '"\(.dbSize) \(.dbSizeInUse)"'
}
# deploys FROM TO: releases FROM..TO of deployment growth
deploys() {
	local i
	for i in $(seq "$1" "$2"); do
		spec "$i" >sf.yml
		paas-deploy -D growth sf.yml >/dev/null 2>deploy.err || fail "deploy $i: $(cat deploy.err)"
	done
}
run_on() {
	local what=$1
	shift
	rm -rf "$TEST_TMP/etcd0"
	ETCD_EXTRA_ARGS="$*" etcd_start
	export PAAS_ETCD=$ETCD_ENDPOINT
	paas-cluster hosts add local --docker "$DOCKER_URL" >/dev/null || fail "hosts add"
	t0=$(date +%s)
	deploys 1 "$DEPLOYS"
	read -r s u < <(size)
	echo "# etcd-growth: $what: $DEPLOYS deploys in $(($(date +%s) - t0)) s: database $(mib "$s") MiB, $(mib "$u") MiB in use"
	eval "${what}_size=$s"
}

run_on peer
deploys $((DEPLOYS + 1)) $((DEPLOYS + DEPLOYS / 2))
read -r ps2 pu2 < <(size)
echo "# etcd-growth: peer after $((DEPLOYS + DEPLOYS / 2)) deploys: database $(mib "$ps2") MiB, $(mib "$pu2") MiB in use"
etcd_member_kill 0
run_on ours $ours
rev=$(curl -sS -X POST "$ETCD_ENDPOINT/v3/kv/range" -d "{\"key\":\"AA==\"}" | jq -r .header.revision)
echo "# etcd-growth: ours: store revision $rev after $DEPLOYS deploys"
kept=$("$PAAS_T" etcd "$ETCD_ENDPOINT" range /paas/v1/deployments/growth/releases/ | grep -c "^/paas/v1/deployments/growth/releases/")
echo "# etcd-growth: ours: releases kept $kept (of $DEPLOYS)"
[ "$kept" -le 100 ] || fail "$kept releases kept: the history is not bounded"

# compact_wait: until the compactor has run (the oldest revision moved).
compact_wait() {
	local i=0
	while [ $i -lt 420 ]; do
		"$PAAS_T" etcd "$ETCD_ENDPOINT" put /paas/v1/bench-tick "$i" >/dev/null
		if grep -q "finished scheduled compaction" "$TEST_TMP/etcd0/log" &&
			[ "$(grep -c "finished scheduled compaction" "$TEST_TMP/etcd0/log")" -gt "${1:-0}" ]; then
			return 0
		fi
		sleep 1
		i=$((i + 1))
	done
	fail "no compaction within 7 minutes"
}
compact_wait 0
"$PAAS_T" etcd "$ETCD_ENDPOINT" put /paas/v1/bench-tick done >/dev/null
paas-cluster --json check --repair --timeout 30 >check.json 2>&1 || :
read -r s1 u1 < <(size)
echo "# etcd-growth: ours after compaction and check --repair: database $(mib "$s1") MiB, $(mib "$u1") MiB in use; $(jq -c .defragmented check.json)"
n=$(grep -c "finished scheduled compaction" "$TEST_TMP/etcd0/log")
deploys $((DEPLOYS + 1)) $((DEPLOYS + DEPLOYS / 2))
compact_wait "$n"
"$PAAS_T" etcd "$ETCD_ENDPOINT" put /paas/v1/bench-tick done >/dev/null
paas-cluster --json check --repair --timeout 30 >check2.json 2>&1 || :
read -r s2 u2 < <(size)
echo "# etcd-growth: ours after $((DEPLOYS / 2)) more deploys, compaction and check --repair: database $(mib "$s2") MiB, $(mib "$u2") MiB in use"
echo "etcd-growth ratio $(ratio "$s2" "$ps2") (our database file after $((DEPLOYS + DEPLOYS / 2)) deploys / the peer's with etcd's defaults: $(mib "$s2") / $(mib "$ps2") MiB; in use $(mib "$u2") / $(mib "$pu2") MiB, ratio $(ratio "$u2" "$pu2"); ours flat: $(mib "$s1") MiB after $DEPLOYS, $(mib "$s2") MiB after $((DEPLOYS + DEPLOYS / 2)))"
