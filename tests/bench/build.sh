#!/bin/bash
# Benchmark (issue 13, point 5): from a commit to served, for a one-file
# change of a 10-instance service, in one run:
#   ours   paas-deploy of the commit: build from the git tree on the local
#          dockerd, push to the cluster's registry (TLS, auth), roll 10
#          instances one at a time, start-first, HTTP check every second,
#          the routers serving each new instance before the next;
#   peer   the script a team writes without us: docker build of the work
#          tree, docker push to the same registry, docker service update
#          --image on a one-node swarm with the same parallelism and check;
#   floor  the build and the push alone (docker build + docker push), plus
#          creating and starting 10 containers through the Engine API.
# Also the same commit deployed again, which builds and changes nothing.
# Targets: ratio <= 1.0; the same commit again < 0.5 s.
. "$SRCDIR/tests/bench/lib-bench.sh"
. "$SRCDIR/tests/lib-docker.sh"
RUNS=${RUNS:-3}
N=10
docker_start_local --iptables
cluster_ports
export DOCKER_API_VERSION=1.41
export DOCKER_CONFIG=$TEST_TMP/docker-cli
DK="/usr/bin/docker -H $DOCKER_URL"
cluster_up >up.out || { echo "bench: up failed" >&2; exit 1; }
cut -d: -f2 "$PAAS_STATE_DIR/registry-auth" | $DK login -u paas --password-stdin "$REG" >/dev/null 2>&1 ||
	{ echo "bench: docker login failed" >&2; exit 1; }

mkdir -p src/www
git -C src init -q -b main
cat >src/Servicefile <<EOF
Domains:
  bench.localhost: {http: "bench:web"}
web:
  build: .
  cmd: [sh, -c, "exec httpd -f -p 8000 -h /www"]
  ports: [8000]
  instances: $N
  health: {http: /index.html, port: 8000, interval: 1s, timeout: 500ms, retries: 3}
  update: {parallel: 1, order: start-first}
EOF
printf 'FROM paas-test:1\nCOPY www/ /www/\n' >src/Dockerfile
printf 'Servicefile\n' >src/.dockerignore
commit() { printf '%s\n' "$1" >src/www/index.html && git_commit src "$1"; }
commit v0
paas-deploy -D bench src/Servicefile >/dev/null || { echo "bench: first deploy failed" >&2; exit 1; }

# The peer: the same service on swarm, from an image it built and pushed.
$DK build -q -t "$REG/peer/web:v0" src >/dev/null && $DK push -q "$REG/peer/web:v0" >/dev/null &&
	$DK swarm init --advertise-addr 127.0.0.1 >/dev/null 2>&1 &&
	$DK service create --detach=false --quiet --with-registry-auth --name web --replicas $N \
	--update-parallelism 1 --update-order start-first --update-delay 0s \
	--health-cmd 'wget -q -O /dev/null http://127.0.0.1:8000/index.html' \
	--health-interval 1s --health-timeout 500ms --health-retries 3 \
	"$REG/peer/web:v0" sh -c "exec httpd -f -p 8000 -h /www" >/dev/null 2>&1 ||
	{ echo "bench: the swarm service did not start" >&2; $DK swarm leave --force >/dev/null 2>&1; exit 1; }
at_exit "$DK swarm leave --force >/dev/null 2>&1"

peer() { $DK build -q -t "$REG/peer/web:$1" src && $DK push -q "$REG/peer/web:$1" &&
	$DK service update --detach=false --with-registry-auth --image "$REG/peer/web:$1" web; }
build_push() { $DK build -q -t "$REG/floor/web:$1" src && $DK push -q "$REG/floor/web:$1"; }
served() { curl -sS -m 2 -H "Host: bench.localhost" "http://127.0.0.1:$PORT/index.html"; }

for r in $(seq "$RUNS"); do
	commit "v$r.ours"
	ours=$(secs paas-deploy -D bench src/Servicefile) || exit 1
	[ "$(served)" = "v$r.ours" ] || { echo "bench: v$r not served" >&2; exit 1; }
	again=$(secs paas-deploy -D bench src/Servicefile) || exit 1
	commit "v$r.peer"
	sw=$(secs peer "v$r") || exit 1
	commit "v$r.floor"
	bp=$(secs build_push "v$r") || exit 1
	st=$(secs starts "$r" $N "exec httpd -f -p 8000 -h /www") || exit 1
	starts_clean
	fl=$(awk -v a="$bp" -v b="$st" 'BEGIN { printf "%.3f\n", a + b }')
	echo "# build: run $r: paas-deploy ${ours} s  peer ${sw} s  floor ${fl} s (build+push ${bp} s, starts ${st} s)  again ${again} s"
	echo "$ours" >>ours; echo "$sw" >>peer; echo "$fl" >>floor; echo "$again" >>again; echo "$bp" >>bp
done
o=$(median <ours); s=$(median <peer); f=$(median <floor); a=$(median <again); b=$(median <bp)
echo "# build: commit -> served, a one-file change, $N instances one at a time, start-first, HTTP check every 1 s; median of $RUNS"
echo "# build: paas-deploy $o s  docker build+push+service update $s s  floor $f s (build+push $b s)  same commit again $a s"
echo "# build: overhead over the floor $(awk -v a="$o" -v b="$f" 'BEGIN { printf "%.3f s (%.0f%%)", a - b, (a - b) * 100 / b }')"
echo "build ratio $(ratio "$o" "$s") (paas-deploy / build+push+swarm update; target <= 1.0; same commit again $a s, target < 0.5 s)"
