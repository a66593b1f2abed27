# Shared by the benchmarks: the test library's server helpers, and timing.
. "$SRCDIR/tests/lib-test.sh"

# secs CMD...: wall time of CMD in seconds (3 decimals), its output discarded.
secs() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || { echo "bench: failed: $*" >&2; return 1; }
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
}

# min of numbers on stdin
min() { sort -g | head -n 1; }
# median of numbers on stdin
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a / b }'; }
