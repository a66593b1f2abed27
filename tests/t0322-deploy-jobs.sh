#!/bin/bash
# Jobs (issue 34): a service with a schedule runs as one-off containers,
# exactly once per due time across the cluster, decided through etcd by
# whichever agents are alive.  Three hosts' agents, a job every 6 s over 20
# due times; the agent running a job is killed mid-run (and restarted, as
# systemd would), and later the host running one has its packets to etcd
# dropped for 20 s (longer than the lease): every due time has one record,
# no two runs overlap, each run's output is kept.  Then the missed-run
# policy: every agent down across a due time, `check` says the job missed
# it, and a job with missed: run runs it once, late, when they are back.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
. "$SRCDIR/tests/lib-route.sh"
need jq

# Each agent reaches etcd at a port of its own, so that one can be cut off.
etcd_own_ports a b c
etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
for h in a b c; do docker_host_start "$h"; done

agent() { PAAS_ETCD="${ETCD_OWN[$1]}" agent_start "$1" --ttl 5; }
runs() { paas-deploy -D tj --json jobs tick; }
# jq: t turns Docker's RFC 3339 time (its fraction of any length) into seconds.
JQ_T='def t: capture("(?<s>[^.Z]+)(\\.(?<f>[0-9]+))?Z") | ((.s + "Z") | fromdate) + ("0." + (.f // "0") | tonumber);'

# The host whose agent runs the job now (its running key), and the due time.
running() { "$PAAS_T" etcd "$PAAS_ETCD" get /paas/v1/jobs/tj/tick/running; }
runner() { running | jq -r .host; }
running_since() { [ "$(running | jq -r ".due // 0")" -ge "$1" ]; }

cat >bad-cron.yml <<'EOF'
tick:
  image: paas-test:1
  schedule: "*/5 * * 13 *"
EOF
cat >bad-zone.yml <<'EOF'
tick:
  image: paas-test:1
  schedule: {cron: "0 3 * * *", timezone: Mars/Olympus}
EOF
cat >bad-ports.yml <<'EOF'
tick:
  image: paas-test:1
  ports: [8000]
  schedule: "@hourly"
EOF
cat >bad-domain.yml <<'EOF'
Domains:
  tick.test: {http: "tj:tick"}
tick:
  image: paas-test:1
  schedule: "@hourly"
EOF

test_expect_success 'a schedule that is wrong is refused where it is, and nothing is deployed' '
	for h in a b c; do paas-cluster hosts add "$h" --docker "${HOST_URL[$h]}" $TLS_OPTS || return 1; done &&
	expect_status 3 paas-deploy -D tj bad-cron.yml 2>err && expect_grep "bad-cron.yml:3:13: schedule: .*the month field .13." err &&
	expect_status 3 paas-deploy -D tj bad-zone.yml 2>err && expect_grep "bad-zone.yml:3:.*no time zone Mars/Olympus" err &&
	expect_status 3 paas-deploy -D tj bad-ports.yml 2>err && expect_grep "has a schedule: it is a job, run at its times; drop ports" err &&
	expect_status 3 paas-deploy -D tj bad-domain.yml 2>err && expect_grep "routes to tick, a job" err &&
	expect_status 1 paas-deploy -D tj history 2>err
'

cat >tj.yml <<'EOF'
tick:
  image: paas-test:1
  cmd: [sh, -c, 'echo "run $PAAS_JOB_DUE on $PAAS_HOST"; sleep 4; echo "end $PAAS_JOB_DUE"']
  schedule: "*/6 * * * * *"
EOF

test_expect_success 'deployed: a template on every host, no instance, the job listed with its next time' '
	paas-deploy -D tj tj.yml &&
	for h in a b c; do
		expect_eq "$(dk "$h" ps -aq -f label=paas.job=tj -f status=created | wc -l)" 1 || return 1
		expect_eq "$(dk "$h" ps -q -f label=paas.job=tj | wc -l)" 0 || return 1
	done &&
	paas-deploy -D tj --json jobs >out && cat out &&
	jq -e "select(.service == \"tick\") | .schedule == \"*/6 * * * * *\" and .timezone == \"UTC\" and .overlap == \"skip\" and (.next | test(\"Z$\"))" out &&
	paas-deploy -D tj --table jobs | grep -q "^tick "
'

test_expect_success '20 due times on three agents, one killed mid-run, one cut off from etcd: one run each, none overlapping' '
	for h in a b c; do agent "$h"; done &&
	wait_for 30 sh -c "paas-deploy -D tj --json jobs tick | grep -q succeeded" &&
	first=$(runs | jq -s "map(.due) | min") && say "first due $first" &&
	wait_for 30 running_since $((first + 18)) &&
	victim=$(runner) && say "killing the agent of host $victim mid-run" &&
	kill -9 "${AGENT_PID[$victim]}" && sleep 1 && agent "$victim" &&
	wait_for 60 running_since $((first + 54)) &&
	cut=$(runner) && say "dropping the packets of host $cut to etcd for 20 s" &&
	etcd_cut "$cut" && sleep 20 && etcd_reconnect "$cut" &&
	wait_for 120 sh -c "paas-deploy -D tj --json jobs tick | jq -s -e \"map(select(.due >= $((first + 19 * 6)) and .state != \\\"running\\\")) | length > 0\"" &&
	runs | jq -s "map(select(.due >= $first and .due < $((first + 20 * 6))))" >window && jq -c ".[] | [.due, .host, .state, .start_time, .end_time, .reason]" window &&
	expect_eq "$(jq "map(.due) | unique | length" window)" 20 &&
	jq -e "map(.due) | sort == [range($first; $((first + 120)); 6)]" window &&
	jq -e "all(.[]; .state == \"succeeded\" or .state == \"killed\" or .state == \"skipped\")" window &&
	say "$(jq -r "group_by(.state) | map(\"\(.[0].state): \(length)\") | join(\", \")" window)" &&
	jq -e "$JQ_T map(select(.state != \"skipped\")) | sort_by(.start_time | t) | [range(1; length) as \$i | (.[\$i].start_time | t) >= (.[\$i - 1].end_time | t)] | all" window &&
	jq -e "map(select(.state == \"killed\" and .host == \"$cut\")) | length == 1" window &&
	for d in $(jq -r ".[] | select(.state == \"succeeded\") | .due" window); do
		paas-deploy -D tj jobs tick "$d" >log && expect_grep "^run $d on" log && expect_grep "^end $d" log || return 1
	done &&
	victim_run=$(jq -r "map(select(.host == \"$victim\" and .state == \"succeeded\")) | length" window) && say "host $victim ran $victim_run"
'

test_expect_success 'no run container is left behind, and the run records say where they ran' '
	wait_for 20 sh -c "! paas-deploy -D tj --json jobs tick | jq -s -e \"any(.[]; .state == \\\"running\\\" and .due < $(date +%s) - 10)\"" &&
	for h in a b c; do
		n=$(dk "$h" ps -aq -f label=paas.job=tj -f label=paas.job.due -f status=exited | wc -l) &&
		expect_eq "$n" 0 || return 1
	done
'

cat >mj.yml <<'EOF'
skips:
  image: paas-test:1
  cmd: [echo, skips]
  schedule: "*/6 * * * * *"
late:
  image: paas-test:1
  cmd: [echo, late]
  schedule: {cron: "*/6 * * * * *", missed: run, timeout: 1m}
fails:
  image: paas-test:1
  cmd: [sh, -c, 'echo no database >&2; exit 3']
  schedule: "*/6 * * * * *"
EOF

test_expect_success 'every agent down across due times: check says so; missed: run runs the latest once, late' '
	paas-deploy -D tj destroy --yes &&
	for h in a b c; do expect_eq "$(dk "$h" ps -aq -f label=paas.job=tj | wc -l)" 0 || return 1; done &&
	paas-deploy -D mj mj.yml &&
	wait_for 30 sh -c "paas-deploy -D mj --json jobs late | grep -q succeeded" &&
	wait_for 30 sh -c "paas-deploy -D mj --json jobs fails | grep -q failed" &&
	for h in a b c; do kill_wait "${AGENT_PID[$h]}" || return 1; done &&
	down=$(date +%s) && sleep 14 &&
	expect_status 1 paas-cluster check >check && cat check &&
	expect_grep "job mj/skips missed its run due at" check &&
	expect_grep "job mj/fails: its last run (due .*) failed" check &&
	for h in a b c; do agent "$h"; done &&
	{ wait_for 30 sh -c "paas-deploy -D mj --json jobs late | jq -s -e \"any(.[]; .late)\"" ||
		{ paas-deploy -D mj --json jobs late; false; }; } &&
	paas-deploy -D mj --json jobs late | jq -s "map(select(.due > $down))" >late && jq -c ".[] | [.due, .state, .late]" late &&
	expect_eq "$(jq "map(select(.late)) | length" late)" 1 &&
	paas-deploy -D mj --json jobs skips | jq -s "map(select(.due > $down))" >skips &&
	l=$(jq "map(select(.late)) | .[0].due" late) &&
	jq -e "map(.due) | index($l) == null" skips &&
	expect_status 0 paas-deploy -D mj jobs fails "$(paas-deploy -D mj --json jobs fails | jq -s "map(select(.state == \"failed\"))[0].due")" >log && expect_grep "no database" log
'

test_expect_success 'a run that is not there, and bad arguments, are said so' '
	expect_status 3 paas-deploy -D mj jobs late 12 2>err && expect_grep "has no finished run due at" err &&
	expect_status 3 paas-deploy -D mj jobs late soon 2>err && expect_grep "due time" err &&
	expect_status 3 paas-deploy -D mj jobs "a b" 2>err
'

test_done
