#!/bin/bash
# Benchmark (issue 4, point 7): rolling a new release out over 10 instances
# of the test image on the local dockerd, one at a time, start-first, with
# an HTTP health check every second: paas-deploy against Docker Swarm
# (`docker service update` on a one-node swarm, same image, command, health
# check and parallelism), in one run.  Also the floor: creating and starting
# the same 10 containers straight through the Engine API, nothing else.
# Target: ratio <= 1.0.
. "$SRCDIR/tests/bench/lib-bench.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
RUNS=${RUNS:-3}
N=10
etcd_start
docker_start_local --iptables
export PAAS_ETCD=$ETCD_ENDPOINT
export DOCKER_API_VERSION=1.41
DK="/usr/bin/docker -H $DOCKER_URL"
paas-cluster hosts add local --docker "$DOCKER_URL" >/dev/null || exit 1

CMD='echo web $VERSION starting; echo $VERSION >/www/version; exec httpd -f -p 8000 -h /www'
cat >web.yml <<EOF2
web:
  image: paas-test:1
  cmd: [sh, -c, "$CMD"]
  env: {VERSION: v0}
  ports: [8000]
  instances: $N
  health: {http: /version, port: 8000, interval: 1s, timeout: 500ms, retries: 3}
  update: {parallel: 1, order: start-first}
EOF2
paas-deploy -D bench web.yml >/dev/null || { echo "bench: first deploy failed" >&2; exit 1; }

# Swarm: the same service; its health check runs inside the container.
$DK swarm init --advertise-addr 127.0.0.1 >/dev/null 2>&1 || { echo "bench: swarm init failed" >&2; exit 1; }
$DK service create --detach=false --quiet --name web --replicas $N --env VERSION=v0 \
	--update-parallelism 1 --update-order start-first --update-delay 0s \
	--health-cmd 'wget -q -O /dev/null http://127.0.0.1:8000/version' \
	--health-interval 1s --health-timeout 500ms --health-retries 3 \
	paas-test:1 sh -c "$CMD" >/dev/null 2>&1 || { echo "bench: service create failed" >&2; exit 1; }

floor() {
	local i id
	for i in $(seq $N); do
		id=$("$PAAS_T" docker "$DOCKER_URL" create "floor$1-$i" paas-test:1 bench=floor \
			sh -c "$CMD") || return 1
		"$PAAS_T" docker "$DOCKER_URL" start "$id" || return 1
	done
}
floor_clean() { $DK ps -aq -f label=bench=floor | xargs -r $DK rm -f >/dev/null; }

for r in $(seq "$RUNS"); do
	sed "s/VERSION: v0/VERSION: v$r/" web.yml >web-$r.yml
	ours=$(secs paas-deploy -D bench web-$r.yml) || exit 1
	expect_eq "$($DK ps -q -f label=paas.deployment=bench | wc -l)" $N >/dev/null || exit 1
	swarm=$(secs $DK service update --detach=false --env-add VERSION=v$r web) || exit 1
	fl=$(secs floor $r) || exit 1
	floor_clean
	echo "# deploy: run $r: paas-deploy ${ours} s  swarm ${swarm} s  floor ${fl} s"
	echo "$ours" >>ours; echo "$swarm" >>swarm; echo "$fl" >>floor
done
o=$(median <ours); s=$(median <swarm); f=$(median <floor)
$DK swarm leave --force >/dev/null 2>&1
echo "# deploy: $N instances, one at a time, start-first, HTTP check every 1 s; median of $RUNS"
echo "# deploy: paas-deploy $o s  swarm service update $s s  floor (create+start through the API) $f s"
echo "deploy ratio $(ratio "$o" "$s") (paas-deploy / swarm; target <= 1.0; floor / swarm $(ratio "$f" "$s"))"
