#!/bin/bash
# Benchmark (issue 2, 7a): 1,000 sequential puts and 1,000 gets through
# libpaas over one kept-alive connection, against the same requests sent by
# one curl process with `next` (the cost of plain HTTP).  Target: ratio <= 1.20.
. "$SRCDIR/tests/bench/lib-bench.sh"
. "$SRCDIR/tests/lib-etcd.sh"
N=${N:-1000}
ROUNDS=${ROUNDS:-5}
etcd_start
E=$ETCD_ENDPOINT
"$BUILDDIR/tests/bench/bench-etcd-kv" --curl-config "$E" "$N" >curl.cfg
# Warm both up once.
"$BUILDDIR/tests/bench/bench-etcd-kv" "$E" "$N" >/dev/null
curl -sS -K curl.cfg >/dev/null
: >ours; : >peer
for r in $(seq "$ROUNDS"); do
	"$BUILDDIR/tests/bench/bench-etcd-kv" "$E" "$N" >>ours
	secs curl -sS -K curl.cfg >>peer
done
o=$(median <ours); p=$(median <peer)
echo "# etcd-kv: $N puts + $N gets, median of $ROUNDS rounds"
echo "# etcd-kv: libpaas ${o}s  curl --next ${p}s"
echo "etcd-kv ratio $(ratio "$o" "$p") (libpaas / curl; target <= 1.20)"
