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

# starts TAG N CMD: the floor of a roll, N containers of the test image
# running sh -c CMD created and started in turn through the Engine API of
# $DOCKER_URL, labelled bench=floor; starts_clean removes them.
starts() {
	local tag=$1 n=$2 cmd=$3 i id
	for i in $(seq "$n"); do
		id=$("$PAAS_T" docker "$DOCKER_URL" create "floor$tag-$i" paas-test:1 bench=floor \
			sh -c "$cmd") || return 1
		"$PAAS_T" docker "$DOCKER_URL" start "$id" || return 1
	done
}
starts_clean() {
	DOCKER_API_VERSION=1.41 /usr/bin/docker -H "$DOCKER_URL" ps -aq -f label=bench=floor |
		xargs -r /usr/bin/docker -H "$DOCKER_URL" rm -f >/dev/null
}

# The machine's load, before and after every benchmark: figures taken on a
# busy machine say so.  quiet waits (up to QUIET_S, default 120 s) for the
# 1-minute load to fall to LOAD_HIGH (default 3) or less; high says whether
# it is above.  Every benchmark waits for it before it starts; one that
# begins with the load still high is taken again, once (run.sh).
LOAD_HIGH=${LOAD_HIGH:-3}
loadavg() { cut -d" " -f1 /proc/loadavg; }
high() { awk -v l="$(loadavg)" -v h="$LOAD_HIGH" 'BEGIN { exit !(l > h) }'; }
quiet() {
	local i=0
	while high && [ $i -lt "${QUIET_S:-120}" ]; do sleep 1; i=$((i + 1)); done
	[ $i -eq 0 ] || echo "# waited ${i} s for the load to fall to $(loadavg)"
}
quiet
echo "# $(basename "$0" .sh): load before $(cut -d" " -f1-3 /proc/loadavg)"
at_exit 'echo "# $(basename "$0" .sh): load after $(cut -d" " -f1-3 /proc/loadavg)"'
