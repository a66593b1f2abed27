#!/bin/bash
# Benchmark (issue 5, point 5; issue 15, point 2): how fast routing follows
# the containers, both ways.
#
#  healthy -> served   a container starts answering its health check (polled
#                      directly every 2 ms) until HAProxy, through the router,
#                      answers from it: the agent's probe, its announcement,
#                      the watch, render, haproxy -c, rename, reload.
#  killed -> no longer sent requests
#                      with no traffic: the killed container stops answering
#                      (polled directly every 2 ms) until HAProxy's current
#                      worker has its server in maintenance, down or gone
#                      (master CLI, `show servers state`): Docker's die event,
#                      the agent's withdrawal, the watch, and the router's
#                      `set server ... state maint` ahead of its reload.
#  killed -> gone from the config
#                      the same until the server is no longer listed: the
#                      render, check and reload that follow.
#  killed -> no longer sent requests
#                      the same under traffic (wrk through the router, one
#                      connection, a request every 10 ms): until HAProxy has
#                      the server down or gone.  HAProxy marks a server down
#                      at its first refused connection (observe layer4) and
#                      sends the request to another server.
#                      An anchor instance serves all along, so that traffic
#                      always has a server; the phase's counts are asserted
#                      (no non-2xx, at least one request per 20 ms).
#  floors              in the same run, the least any router can do: a watcher
#                      of one etcd key that tells the running worker through
#                      the runtime API (add server / set server state maint),
#                      then copies a ready config and reloads a second HAProxy
#                      through its master CLI, measured the same way as ours,
#                      with the same global settings.  Served: put -> served.
#                      No longer sent: Docker's die event (how late dockerd
#                      tells anyone, measured in our trials) plus del -> in
#                      maintenance, trial by trial.  Gone from the config: the
#                      die event plus del -> removed.
#
# TRIALS (default 30) of each; p50 and p99.  Targets: p99 <= 1.5x the
# floor's, both ways.  Then render time and memory for 10,000 announced
# instances, next to `haproxy -c` on the same configuration.
. "$SRCDIR/tests/bench/lib-bench.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
. "$SRCDIR/tests/lib-haproxy.sh"
TRIALS=${TRIALS:-30}
etcd_start
docker_start_local
export PAAS_ETCD=$ETCD_ENDPOINT
E=$ETCD_ENDPOINT
export DOCKER_API_VERSION=1.41
DK="/usr/bin/docker -H $DOCKER_URL"
. "$SRCDIR/tests/lib-route.sh"
fail() { echo "bench: $*" >&2; tail -n 15 "$TEST_TMP"/agent-*.log "$TEST_TMP/router.log" >&2; exit 1; }

paas-cluster hosts add local --docker "$DOCKER_URL" >/dev/null || fail "hosts add"
"$PAAS_T" etcd "$E" put /paas/v1/deployments/bench/releases/1 '{"release":1,"spec":{"services":
	{"web":{"ports":[8000],"health":{"http":"/version","tcp":false,"port":8000,"interval_ms":1000,
	"timeout_ms":500,"retries":2,"start_period_ms":0}}}}}' >/dev/null || fail "release"
"$PAAS_T" etcd "$E" put /paas/v1/routes/bench.test \
	'{"deployment":"bench","service":"web","port":8000,"health":null}' >/dev/null || fail "route"
agent_start local
router_start
FRONT="http://127.0.0.1:$ROUTER_PORT/version"

# served_trial TAG OUT: one container (id, port) that answers TAG after
# 0.3 s, and the ms from its first answer to HAProxy's, appended to OUT.
served_trial() {
	port=$(free_port)
	id=$($DK run -d --init --label paas.deployment=bench --label paas.service=web \
		--label paas.instance=1 --label paas.version=v1 --label paas.release=1 \
		-p "$port:8000" \
		paas-test:1 sh -c "sleep 0.3; echo $1 >/www/version; exec httpd -f -p 8000 -h /www") ||
		fail "docker run"
	"$PAAS_T" until 0 15000 "$FRONT" bench.test 200 "$1" "http://127.0.0.1:$port/version" \
		>>"$2" || fail "trial $1: never served"
}
# kill_trial: SIGKILL to it, through the Engine API.
kill_trial() {
	curl -sf --unix-socket "$TEST_TMP/docker/docker.sock" -X POST \
		"http://d/v1.41/containers/$id/kill" || fail "kill"
}

# Ours: one container at a time, so that "served" means "answers from it".
# Docker's die events, as dockerd stamps them, to see how much of the
# removal is Docker's own delay.
$DK events --filter event=die --filter label=paas.deployment=bench \
	--format '{{.TimeNano}}' >die.events 2>/dev/null &
at_exit "kill $!"
for i in $(seq "$TRIALS"); do
	served_trial "c$i" served
	# From the moment the container stops answering (polled directly):
	# until HAProxy sends it nothing, and until it is out of its config.
	PAAS_T_DOWN=1 "$PAAS_T" gone 0 15000 "$ROUTER_DIR/stats.sock" "$(backend_of bench.test)" "${id:0:12}" \
		"http://127.0.0.1:$port/version" >>unsent-quiet &
	g1=$!
	"$PAAS_T" gone 0 15000 "$ROUTER_DIR/stats.sock" "$(backend_of bench.test)" "${id:0:12}" \
		"http://127.0.0.1:$port/version" >>removed &
	g=$!
	sleep 0.05
	kill_trial
	wait $g1 || fail "trial $i: still sent requests"
	wait $g || fail "trial $i: never removed"
	$DK rm -f "$id" >/dev/null
done

# Under traffic: HAProxy stops sending to it by itself.  An anchor instance
# serves all along, so that every request has a server to go to: a request
# sent to the killed instance is sent again to the anchor (retries,
# redispatch), and the traffic is never 503s to an empty backend.
aport=$(free_port)
anchor=$($DK run -d --init --label paas.deployment=bench --label paas.service=web \
	--label paas.instance=0 --label paas.version=v1 --label paas.release=1 -p "$aport:8000" \
	paas-test:1 sh -c "echo anchor >/www/version; exec httpd -f -p 8000 -h /www") ||
	fail "docker run (anchor)"
at_exit "$DK rm -f $anchor >/dev/null 2>&1"
"$PAAS_T" until 0 15000 "$FRONT" bench.test 200 anchor >/dev/null || fail "anchor never served"
traffic_t0=$(date +%s%N)
WRK_DELAY_MS=10 wrk -t 1 -c 1 -d 3600s -s "$SRCDIR/tests/lua/count.lua" -H "Host: bench.test" \
	"$FRONT" >wrk.out 2>&1 &
wrk=$!
at_exit "kill $wrk 2>/dev/null"
for i in $(seq "$TRIALS"); do
	served_trial "t$i" /dev/null
	PAAS_T_DOWN=1 "$PAAS_T" gone 0 15000 "$ROUTER_DIR/stats.sock" "$(backend_of bench.test)" "${id:0:12}" \
		"http://127.0.0.1:$port/version" >>unsent &
	g=$!
	sleep 0.05
	kill_trial
	wait $g || fail "traffic trial $i: still sent requests"
	$DK rm -f "$id" >/dev/null
	# Its withdrawal served before the next one starts.
	"$PAAS_T" gone 0 15000 "$ROUTER_DIR/stats.sock" "$(backend_of bench.test)" "${id:0:12}" >/dev/null ||
		fail "traffic trial $i: never removed"
done
kill -INT $wrk; wait $wrk
traffic_ms=$((($(date +%s%N) - traffic_t0) / 1000000))
awk '{ print $1 }' unsent >unsent.ms && mv unsent.ms unsent

# The floor: a second HAProxy, a server that answers "floor", two ready
# configurations, and the minimal watcher.
fport=$(free_port)
sport=$(free_port)
mkdir -p floor-www && echo floor >floor-www/version
busybox httpd -f -p "127.0.0.1:$sport" -h floor-www &
at_exit "kill_wait $!"
floor_cfg() {
	cat <<EOF
global
	master-worker
	httpclient.ssl.verify none
	stats socket $TEST_TMP/floor-stats.sock mode 600 level admin expose-fd listeners
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
	option http-server-close
frontend http
	bind 127.0.0.1:$fport
	default_backend web
backend web
EOF
	[ "$1" = put ] && printf '\tserver s 127.0.0.1:%s check inter 1s fall 2 rise 1\n' "$sport"
	:
}
floor_cfg put >put.cfg
floor_cfg del >del.cfg
cp del.cfg live.cfg
haproxy_start "$TEST_TMP/live.cfg"
"$PAAS_T" floor "$E" /bench/floor/ "$HAPROXY_MASTER_SOCK" "$TEST_TMP/live.cfg" \
	"$TEST_TMP/put.cfg" "$TEST_TMP/del.cfg" 2>>floor.log &
at_exit "kill_wait $!"
sleep 0.5
FFRONT="http://127.0.0.1:$fport/version"
for i in $(seq "$TRIALS"); do
	t0=$("$PAAS_T" etcd "$E" put /bench/floor/k "$i" >/dev/null && date +%s%N) || fail "put"
	"$PAAS_T" until "$t0" 15000 "$FFRONT" "" 200 floor >>floor-served || fail "floor: never served"
	# As in our trials: the kill comes 50 ms after the pollers start.
	sleep 0.05
	t0=$("$PAAS_T" etcd "$E" del /bench/floor/k >/dev/null && date +%s%N) || fail "del"
	PAAS_T_DOWN=1 "$PAAS_T" gone "$t0" 15000 "$TEST_TMP/floor-stats.sock" web " s " \
		>>floor-unsent &
	g=$!
	"$PAAS_T" gone "$t0" 15000 "$TEST_TMP/floor-stats.sock" web " s " >>floor-removed ||
		fail "floor: never removed"
	wait $g || fail "floor: still sent requests"
done

awk '{ print $1 }' removed >removed.ms
paste <(awk '{ print $2 }' removed) <(head -n "$TRIALS" die.events) |
	awk '{ print ($2 - $1) / 1e6 }' >dockerdie
mv removed.ms removed
awk '{ print $1 }' unsent-quiet >unsent.ms && mv unsent.ms unsent-quiet
pct() { sort -g | awk -v p="$1" '{ a[NR] = $1 } END { i = int((NR - 1) * p / 100 + 0.999); if (i < 1) i = 1; print a[i] }'; }
awk '{ print $1 }' floor-removed >f.ms && mv f.ms floor-removed
awk '{ print $1 }' floor-unsent >f.ms && mv f.ms floor-unsent
# Removal's floors, trial by trial: Docker's delay plus the floor's watch and
# runtime command (no longer sent), or plus its reload (gone from the config).
paste dockerdie floor-unsent | awk '{ print $1 + $2 }' >floor-unsent-die
paste dockerdie floor-removed | awk '{ print $1 + $2 }' >floor-gone
for s in served removed unsent-quiet unsent dockerdie floor-served floor-removed floor-unsent \
	floor-unsent-die floor-gone; do
	eval "p50_${s//-/_}=$(pct 50 <$s)"
	eval "p99_${s//-/_}=$(pct 99 <$s)"
done
echo "# route: $TRIALS trials each, ms             p50      p99"
printf '# route: healthy -> served          %8s %8s\n' "$p50_served" "$p99_served"
printf '# route: killed -> no longer sent requests %8s %8s\n' "$p50_unsent_quiet" "$p99_unsent_quiet"
printf '# route: killed -> gone from the config %8s %8s\n' "$p50_removed" "$p99_removed"
printf '# route:   of which Docker: death -> die event %8s %8s\n' "$p50_dockerdie" "$p99_dockerdie"
printf '# route: killed -> no longer sent requests, under traffic %8s %8s\n' "$p50_unsent" "$p99_unsent"
printf '# route: floor, key put -> served   %8s %8s\n' "$p50_floor_served" "$p99_floor_served"
printf '# route: floor, key del -> no longer sent %8s %8s\n' "$p50_floor_unsent" "$p99_floor_unsent"
printf '# route: floor, key del -> removed  %8s %8s\n' "$p50_floor_removed" "$p99_floor_removed"
printf '# route: floor of no longer sent, die event + del -> maint %8s %8s\n' \
	"$p50_floor_unsent_die" "$p99_floor_unsent_die"
printf '# route: floor of removal, die event + del -> removed %8s %8s\n' "$p50_floor_gone" "$p99_floor_gone"
# The traffic phase's counts, asserted: the anchor answers whatever the trial
# instance does, so every answer is a 200; the load is there all along (at
# least one request per 50 ms: one connection paced at 10 ms, plus each
# request's time); a socket error can only be the keep-alive connection
# closed under wrk by a reload (the old worker closes its idle connections
# when it stops; a trial reloads twice, to add and to withdraw), so there are
# no more than two per trial, all of them read errors.
w=$(grep "^paas:" wrk.out) || fail "no counts from wrk: $(cat wrk.out)"
n() { echo "$w" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
echo "# route: wrk under the traffic trials, $traffic_ms ms: $w"
[ "$(n non2xx)" -eq 0 ] || fail "traffic: $(n non2xx) answers other than 2xx with the anchor serving"
[ "$(n requests)" -ge $((traffic_ms / 50)) ] ||
	fail "traffic: $(n requests) requests in $traffic_ms ms, fewer than one per 50 ms"
[ "$(n errors)" -eq "$(n read)" ] && [ "$(n errors)" -le $((2 * TRIALS)) ] ||
	fail "traffic: socket errors other than a reload's closed connection: $w"

# Render: 10,000 announced instances over 10 domains.
jq -n '[range(10) | {key: "d\(.).bench.test", value: {deployment: "big", service: "s\(.)",
	port: null, auth: {}, sticky: false, health: "/health"}}] | from_entries' >routes.json
jq -n '[range(10000) | {deployment: "big", service: "s\(. % 10)", instance: "\(.)",
	container: ("0123456789ab" + (. | tostring) + "cdef0123456789abcdef0123456789abcdef0123456789abcdef")[0:64],
	address: "10.1.\(. / 250 | floor).\(. % 250 + 1)", port: (30000 + . % 2000),
	ports: {"8000": (30000 + . % 2000)}, healthy: true}]' >servers.json
/usr/bin/time -f "%e %M" -o render.time "$PAAS_T" render routes.json servers.json 8080 \
	"$TEST_TMP/stats.sock" >big.cfg || fail "render"
/usr/bin/time -f "%e %M" -o check.time haproxy -c -f big.cfg >/dev/null 2>&1 || fail "haproxy -c"
read -r rs rm <render.time
read -r cs cm <check.time
"$PAAS_T" etcd "$E" putmany /paas/v1/announce/big/ servers.json || fail "putmany"
"$PAAS_T" etcd "$E" put /paas/v1/routes/d0.bench.test \
	'{"deployment":"big","service":"s0","port":null}' >/dev/null
/usr/bin/time -f "%e %M" -o etcd.time paas-route render --port 8080 >/dev/null 2>&1 ||
	fail "paas-route render"
read -r es em <etcd.time
echo "# route: render of 10,000 servers: ${rs} s, ${rm} KiB max RSS; haproxy -c of it: ${cs} s, ${cm} KiB"
echo "# route: paas-route render from etcd (10,000 announcements read + render): ${es} s, ${em} KiB"
echo "route ratio $(ratio "$p99_served" "$p99_floor_served") (p99 healthy->served / its floor; killed->no longer sent requests / its floor $(ratio "$p99_unsent_quiet" "$p99_floor_unsent_die"), under traffic $(ratio "$p99_unsent" "$p99_floor_unsent_die"); target <= 1.5 each; killed->gone from the config / its floor $(ratio "$p99_removed" "$p99_floor_gone"))"
