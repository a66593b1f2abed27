#!/bin/bash
# Benchmark and soak (issue 34, point 2): a job every minute on three
# hosts' agents (default TTL), over DUES (default 20) due times.  Each run
# lasts 20 s.  At the 5th due time the agent running the job is killed
# 10 s into the run and started again 2 s later (as systemd would); at the
# 10th the host running it has its packets to etcd dropped for CUT_S
# (default 120) seconds, 10 s into the run.
#
# Asserted: every due time has exactly one record, no two runs overlap
# (start of each after the end of the one before), every run that was not
# killed kept its output.  Measured: how late a run starts after its due
# time (Docker's StartedAt less the due time), against the peer in the
# same run, a naive scheduler: a shell loop on this machine that sleeps
# until each due time and runs `docker run -d` on host a (what a crontab
# line does, on one host and with nothing to stop it running twice).
# Prints "jobs ratio R" (our p50 start latency over the peer's).
. "$SRCDIR/tests/bench/lib-bench.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
. "$SRCDIR/tests/lib-route.sh"
need jq

DUES=${DUES:-20}
CUT_S=${CUT_S:-120}
CRON=${CRON:-"* * * * *"}
PERIOD=${PERIOD:-60}
RUN_S=${RUN_S:-20}
INTO=${INTO:-10}

etcd_own_ports a b c
etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
for h in a b c; do docker_host_start "$h"; done
agent() { PAAS_ETCD="${ETCD_OWN[$1]}" agent_start "$1"; }
running() { "$PAAS_T" etcd "$PAAS_ETCD" get /paas/v1/jobs/soak/tick/running; }
runner() { running | jq -r '.host // empty'; }
running_since() { [ "$(running | jq -r '.due // 0')" -ge "$1" ]; }

for h in a b c; do paas-cluster hosts add "$h" --docker "${HOST_URL[$h]}" $TLS_OPTS >/dev/null || exit 1; done
cat >"$TEST_TMP/soak.yml" <<EOF
tick:
  image: paas-test:1
  cmd: [sh, -c, 'echo "run \$PAAS_JOB_DUE on \$PAAS_HOST"; sleep $RUN_S; echo "end \$PAAS_JOB_DUE"']
  schedule: "$CRON"
EOF
paas-deploy -D soak "$TEST_TMP/soak.yml" >/dev/null || exit 1
for h in a b c; do agent "$h"; done

# The first due time from now on, and the peer's loop over the same times.
now=$(date +%s)
first=$(( (now / PERIOD + 1) * PERIOD ))
echo "# soak: $DUES due times every $PERIOD s from $(date -u -d "@$first" +%FT%TZ)"
(
	for i in $(seq 0 $((DUES - 1))); do
		d=$((first + i * PERIOD))
		while [ "$(date +%s%N)" -lt "${d}000000000" ]; do sleep 0.01; done
		dk a run -d --name "peer-$d" --label bench=peer paas-test:1 sleep "$RUN_S" >/dev/null
	done
) &
peer=$!
at_exit "kill $peer 2>/dev/null"

# at N: waits for the run of the Nth due time to go on for INTO seconds.
at() {
	wait_for $((PERIOD * (DUES + 2))) running_since $((first + ($1 - 1) * PERIOD)) ||
		{ echo "bench: no run of due time $1"; exit 1; }
	sleep "$INTO"
}
at 5
victim=$(runner)
echo "# due $((first + 4 * PERIOD)): the agent of host $victim killed $INTO s into the run, started again 2 s later"
kill -9 "${AGENT_PID[$victim]}"
sleep 2
agent "$victim"
at 10
cut=$(runner)
echo "# due $((first + 9 * PERIOD)): host $cut's packets to etcd dropped for $CUT_S s, $INTO s into the run"
etcd_cut "$cut"
sleep "$CUT_S"
etcd_reconnect "$cut"

last=$((first + (DUES - 1) * PERIOD))
while [ "$(date +%s)" -lt $((last + RUN_S + 20)) ]; do sleep 1; done
wait_for 60 sh -c "! paas-deploy -D soak --json jobs tick | jq -e 'select(.state == \"running\")' >/dev/null"
paas-deploy -D soak --json jobs tick | jq -s "map(select(.due >= $first and .due <= $last))" >"$TEST_TMP/runs"
wait "$peer"

jq -r '.[] | "#   \(.due) \(.host) \(.state) \(.start_time) \(.end_time) \(.reason // "")"' "$TEST_TMP/runs"
n=$(jq 'map(.due) | unique | length' "$TEST_TMP/runs")
dup=$(jq 'length - (map(.due) | unique | length)' "$TEST_TMP/runs")
overlap=$(jq 'def t: capture("(?<s>[^.Z]+)(\\.(?<f>[0-9]+))?Z") | ((.s + "Z") | fromdate) + ("0." + (.f // "0") | tonumber);
	map(select(.state != "skipped")) | sort_by(.start_time | t) | [range(1; length) as $i | select((.[$i].start_time | t) < (.[$i - 1].end_time | t))] | length' "$TEST_TMP/runs")
states=$(jq -r 'group_by(.state) | map("\(.[0].state) \(length)") | join(", ")' "$TEST_TMP/runs")
lost=0
for d in $(jq -r '.[] | select(.state == "succeeded") | .due' "$TEST_TMP/runs"); do
	paas-deploy -D soak jobs tick "$d" | grep -q "^end $d" || lost=$((lost + 1))
done
# Start latency, ms after the due time.
lat() { jq -r '.[] | select(.start_time != null and .start_time != "0001-01-01T00:00:00Z") | "\(.due) \(.start_time)"' "$1" |
	while read -r d s; do echo $(( $(date -d "$s" +%s%3N) - d * 1000 )); done; }
lat "$TEST_TMP/runs" >"$TEST_TMP/ours"
for d in $(seq "$first" "$PERIOD" "$last"); do
	s=$(dk a inspect -f '{{.State.StartedAt}}' "peer-$d" 2>/dev/null) || continue
	echo $(( $(date -d "$s" +%s%3N) - d * 1000 ))
done >"$TEST_TMP/peer"
dk a ps -aq -f label=bench=peer | xargs -r docker -H "${HOST_URL[a]}" --tlsverify --tlscacert "$TLS_CA" \
	--tlscert "$TLS_CERT" --tlskey "$TLS_KEY" rm -f >/dev/null
ours50=$(median <"$TEST_TMP/ours")
peer50=$(median <"$TEST_TMP/peer")
echo "# due times $DUES: recorded $n, twice $dup, overlapping $overlap; $states; output lost $lost"
echo "# start after the due time: ours p50 $ours50 ms max $(sort -g "$TEST_TMP/ours" | tail -n 1) ms; peer (a loop running docker run on host a) p50 $peer50 ms max $(sort -g "$TEST_TMP/peer" | tail -n 1) ms"
echo "jobs ratio $(ratio "$ours50" "$peer50") (start latency p50, ours over a naive loop's; exactly once: $([ "$n" = "$DUES" ] && [ "$dup" = 0 ] && [ "$overlap" = 0 ] && [ "$lost" = 0 ] && echo yes || echo NO))"
[ "$n" = "$DUES" ] && [ "$dup" = 0 ] && [ "$overlap" = 0 ] && [ "$lost" = 0 ]
