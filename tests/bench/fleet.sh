#!/bin/bash
# Benchmark (issue 16, point 5): a rolling update of 10 instances on a fleet
# cluster (three web machines and one that serves fleet's API, as in
# t0802), one at a time, start-first, under wrk through the router, by
#   - paas-deploy (host "fl" registered with hosts add --fleet): start the
#     new unit, health from outside, announced, served, then the old
#     withdrawn, drained (2 s) and destroyed;
#   - a fleetctl script doing what an operator's loop does: for each
#     instance, the running unit's file (fleetctl cat) with the new VERSION,
#     a new name and a new host port submitted and started (fleetctl start),
#     waited for until systemd says active, then the old unit destroyed.
# Both roll a deployment paas-deploy put there first (shop for ours, shop2
# for the script), so that the same agent announces their instances and
# the same router serves them: wrk counts what each roll costs the
# clients.  Prints the times, wrk's counts and the ratio.
. "$SRCDIR/tests/bench/lib-bench.sh"
. "$SRCDIR/tests/lib-docker.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-fleet.sh"
need wrk etcd haproxy
RUNS=${RUNS:-1}
N=10
docker_start_local
ETCD_ADDR=$DOCKER_BRIDGE_IP etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"
fleet_deploy_cluster
router_start
paas-cluster hosts add fl --fleet "$F" --agent-etcd "$PAAS_ETCD" \
	--agent-docker unix:///run/docker-host/docker.sock >/dev/null || { echo "bench: hosts add failed" >&2; exit 1; }

spec() {
	cat <<-EOF
	Domains:
	  $1.test: {http: "$1:web"}
	web:
	  image: paas-test:1
	  cmd: [sh, -c, "echo \$VERSION >/www/version; exec httpd -f -p 8000 -h /www"]
	  env: {VERSION: $2}
	  ports: [8000]
	  instances: $N
	  constraints: {role: web}
	  health: {http: /version, port: 8000, interval: 1s, timeout: 500ms, retries: 3, start_period: 30s}
	  update: {parallel: 1, order: start-first}
	EOF
}
spec shop v0 >shop.yml
spec shop2 v0 >shop2.yml
paas-deploy -D shop shop.yml >/dev/null 2>deploy.err &&
	paas-deploy -D shop2 shop2.yml >/dev/null 2>>deploy.err ||
	{ cat deploy.err >&2; echo "bench: first deploys failed" >&2; exit 1; }

# active UNIT: systemd on its machine runs UNIT, as fleet reports it
active() { [ "$("$PAAS_T" fleet "$F" states - "$1" | jq -r '.[0].systemdActiveState // ""')" = active ]; }
# script VERSION: shop2's units rolled with fleetctl, one at a time
script() {
	local v=$1 u new tag port i=0
	tag=$(printf '%08x' "$((RANDOM * 32768 + RANDOM))")
	for u in $("$PAAS_T" fleet "$F" units | jq -r '.[].name | select(startswith("shop2-web@"))'); do
		i=$((i + 1))
		port=$((40000 + (RANDOM % 20000)))
		new="shop2-web@$tag-$i.service"
		fleetctl cat "$u" >cur.service || return 1
		old=${u#*@}; old=${old%%-*}
		sed -e "s/VERSION=[^\"]*\"/VERSION=$v\"/" -e "s/$old/$tag/g" \
			-e "s/-p [0-9]*:8000/-p $port:8000/" cur.service >"$new"
		fleetctl start "$new" >/dev/null 2>&1 || return 1
		wait_for 60 active "$new" || { echo "bench: $new not active" >&2; return 1; }
		fleetctl destroy "$u" >/dev/null 2>&1 || return 1
		rm -f "$new"
	done
}
# wrk through the router at DOMAIN, into FILE, in the background
wrk_start() {
	WRK_DELAY_MS=10 wrk -t 1 -c 4 -d 600s -s "$SRCDIR/tests/lua/count.lua" -H "Host: $1" \
		"http://127.0.0.1:$ROUTER_PORT/version" >"$2" 2>&1 &
	W=$!
}
# wrk_stop FILE: WRK gets its "paas:" line (not in a subshell: wrk is
# this shell's child)
wrk_stop() { kill -INT "$W"; wait "$W"; WRK=$(grep "^paas:" "$1") || { cat "$1"; return 1; }; }

for r in $(seq "$RUNS"); do
	spec shop "v$r" >shop-$r.yml
	wrk_start shop.test wrk-ours-$r.out
	ours=$(secs paas-deploy -D shop shop-$r.yml) || { kill -9 "$W"; exit 1; }
	wrk_stop wrk-ours-$r.out || exit 1
	lo=$WRK
	wrk_start shop2.test wrk-script-$r.out
	sc=$(secs script "v$r") || { kill -9 "$W"; exit 1; }
	wrk_stop wrk-script-$r.out || exit 1
	ls=$WRK
	[ "$(curl -s -m 5 -H "Host: shop2.test" "http://127.0.0.1:$ROUTER_PORT/version")" = "v$r" ] ||
		{ echo "bench: the script's roll does not serve v$r" >&2; exit 1; }
	echo "# fleet: run $r: paas-deploy ${ours} s (${lo#paas: })"
	echo "# fleet: run $r: fleetctl script ${sc} s (${ls#paas: })"
	echo "$ours" >>ours; echo "$sc" >>scripted
	echo "$lo" | sed 's/.*non2xx=\([0-9]*\) errors=\([0-9]*\).*/\1 \2/' >>bad-ours
	echo "$ls" | sed 's/.*non2xx=\([0-9]*\) errors=\([0-9]*\).*/\1 \2/' >>bad-script
done
o=$(median <ours); s=$(median <scripted)
bo=$(awk '{ n += $1; e += $2 } END { printf "%d non-2xx, %d errors", n, e }' bad-ours)
bs=$(awk '{ n += $1; e += $2 } END { printf "%d non-2xx, %d errors", n, e }' bad-script)
echo "# fleet: $N instances on 3 machines, one at a time, start-first, HTTP check every 1 s; median of $RUNS"
echo "# fleet: paas-deploy $o s, wrk $bo; fleetctl script $s s, wrk $bs"
echo "fleet ratio $(ratio "$o" "$s") (paas-deploy / fleetctl script; wrk ours $bo, script $bs)"
