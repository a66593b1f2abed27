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
# hyperfine runs each command RUNS times without a shell in between, after
# a warm-up, so that only the processes themselves are timed.
need hyperfine
hyperfine -N -w 10 -r "$RUNS" --export-json hf.json \
	"$PAAS_T etcd $E get /paas/bench/key" \
	"etcdctl --endpoints $E get /paas/bench/key" >/dev/null 2>&1 || { echo "bench: hyperfine failed" >&2; exit 1; }
o=$(jq ".results[0].median" hf.json); p=$(jq ".results[1].median" hf.json)
echo "# etcd-oneshot: $RUNS one-shot reads each, median (hyperfine -N)"
echo "# etcd-oneshot: libpaas $(awk -v t="$o" 'BEGIN{printf "%.2f", t*1000}') ms/read  etcdctl $(awk -v t="$p" 'BEGIN{printf "%.2f", t*1000}') ms/read"
echo "etcd-oneshot ratio $(ratio "$o" "$p") (libpaas / etcdctl; target <= 0.50)"
