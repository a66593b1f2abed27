#!/bin/bash
# Benchmark (issue 2, 7b): a one-shot process reading one key through libpaas
# (tests/helpers/paas-t), against `etcdctl get` of the same key.
# Target: ratio <= 0.50.
. "$SRCDIR/tests/bench/lib-bench.sh"
. "$SRCDIR/tests/lib-etcd.sh"
need etcdctl
RUNS=${RUNS:-100}
etcd_start
E=$ETCD_ENDPOINT
"$PAAS_T" etcd "$E" put /paas/bench/key value >/dev/null
export ETCDCTL_API=3
expect_eq "$(etcdctl --endpoints "$E" get --print-value-only /paas/bench/key)" value || exit 1
expect_eq "$("$PAAS_T" etcd "$E" get /paas/bench/key)" value || exit 1
ours_loop() { local i; for i in $(seq "$RUNS"); do "$PAAS_T" etcd "$E" get /paas/bench/key; done; }
peer_loop() { local i; for i in $(seq "$RUNS"); do etcdctl --endpoints "$E" get /paas/bench/key; done; }
: >ours; : >peer
for r in 1 2 3; do
	secs ours_loop >>ours
	secs peer_loop >>peer
done
o=$(median <ours); p=$(median <peer)
echo "# etcd-oneshot: $RUNS one-shot reads, median of 3 rounds"
echo "# etcd-oneshot: libpaas $(awk -v t="$o" -v n="$RUNS" 'BEGIN{printf "%.2f", t/n*1000}') ms/read  etcdctl $(awk -v t="$p" -v n="$RUNS" 'BEGIN{printf "%.2f", t/n*1000}') ms/read"
echo "etcd-oneshot ratio $(ratio "$o" "$p") (libpaas / etcdctl; target <= 0.50)"
