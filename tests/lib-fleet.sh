# A real fleet cluster for tests: fleetd built from fleet's source (found
# through PAAS_FLEET_SRC, never part of this project; scripts/fleet-build,
# cached), its own etcd with the v2 API, and "machines": containers on the
# local test dockerd whose init is systemd (scripts/fleet-machine-image,
# cached), each with its own machine ID and fleetd socket-activated on
# /run/fleet.sock, a socket the test can reach and TCP port 49153.  Needs lib-docker.sh's
# docker_start_local first.  Everything is stopped at exit.
#
#   fleet_start                 the binaries, the image, the etcd; sets
#                               FLEET_BIN (fleetd, fleetctl), FLEET_ETCD
#   fleet_machine_start N [METADATA] [--docker]
#                               machine N (fleetN), metadata "k=v,..."
#                               (default host=fleetN); with --docker, its
#                               own Docker engine: lib-docker.sh's host
#                               "fleetN" (a dockerd in a network namespace,
#                               with the test image), whose unix socket the
#                               machine's docker CLI and a stand-in
#                               docker.service use; sets FLEET_IP[N],
#                               FLEET_URL[N] (its API over TCP), FLEET_SOCK[N]
#                               (over a unix socket fleetd also listens on);
#                               with --netns, the machine is a container of
#                               that host's own dockerd in its network
#                               namespace (fleet's primary IP is where the
#                               instances' ports answer), with this
#                               machine's /usr read-only and the build's
#                               paas-cluster at /opt/paas-tools/bin
#   fleet_two_machines [--docker]
#                               fleet_start and machines 1 and 2 with metadata
#                               host=fleetN,role=web (t0800, t0801, and the
#                               exchanges of tests/record-fleet.sh); sets F,
#                               machine 1's API
#   fleet_deploy_cluster        what deployments run on (t0802, the fleet
#                               benchmark): fleet_start, machine 1
#                               (role=ctl) serving the API to the test and
#                               running no web instance, machines 2-4
#                               (role=web), all --netns; sets F, machine 1's
#                               API
#   fleet_machine_stop N        a clean stop (systemd shuts down, fleetd leaves)
#   fleet_machine_kill N        SIGKILL to the whole machine
#   fleetctl ARGS...            fleet's own CLI against machine 1's API
#   fm N ARGS...                a command inside machine N

: "${PAAS_FLEET_SRC:=$SRCDIR/../shared/third_party/fleet}"
# fleet's source is not this project's to ship: where it is absent (a
# clone with nothing beside it), the fleet tests are skipped, and say how
# to run them.
ls "$PAAS_FLEET_SRC"/fleet-*.tar.gz >/dev/null 2>&1 ||
	skip_all "fleet's source (coreos/fleet's fleet-*.tar.gz) is not in $PAAS_FLEET_SRC: set PAAS_FLEET_SRC to its directory to run the tests against a real fleetd"
need docker curl jq
. "$SRCDIR/tests/lib-machine.sh"

declare -A FLEET_IP FLEET_URL FLEET_SOCK
FLEET_AGENT_TTL=${FLEET_AGENT_TTL:-10s}

fleet_start() {
	local tar port peer dir="$TEST_TMP/fleet-etcd"
	[ -n "${DOCKER_BRIDGE_IP:-}" ] || bail_out "fleet_start needs docker_start_local first"
	FLEET_BIN=$(sh "$SRCDIR/scripts/fleet-build" "$PAAS_FLEET_SRC" 2>>"$TEST_LOG") ||
		bail_out "cannot build fleet from $PAAS_FLEET_SRC (see the log)"
	machine_image
	# fleet speaks etcd's v2 API; the machines reach it on the bridge.
	port=$(free_port)
	peer="http://127.0.0.1:$(free_port)"
	FLEET_ETCD="http://$DOCKER_BRIDGE_IP:$port"
	mkdir -p "$dir"
	etcd --name fleet --data-dir "$dir/data" --enable-v2=true \
		--listen-client-urls "$FLEET_ETCD" --advertise-client-urls "$FLEET_ETCD" \
		--listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
		--initial-cluster "fleet=$peer" >>"$dir/log" 2>&1 &
	at_exit "kill -9 $! 2>/dev/null; wait $! 2>/dev/null"
	wait_for 20 sh -c "curl -fsS -m 1 '$FLEET_ETCD/health' | grep -q true" ||
		{ tail -n 20 "$dir/log" >>"$TEST_LOG"; bail_out "fleet's etcd did not come up at $FLEET_ETCD"; }
	export FLEET_BIN FLEET_ETCD
}

fleet_machine_start() {
	local n=$1 meta=${2:-host=fleet$1} dir="$TEST_TMP/fleet$1" docker=() bin=/usr/local/bin
	local netns=${3:-}
	mkdir -p "$dir/wants" "$dir/api"
	if [ "$netns" = --netns ]; then
		bin=/opt/fleet
		docker=(-v /usr:/usr:ro -v /etc/ld.so.cache:/etc/ld.so.cache:ro
			-v "$BUILDDIR/paas-cluster:/opt/paas-tools/bin/paas-cluster:ro")
	fi
	if [ "${3:-}" = --docker ] || [ "$netns" = --netns ]; then
		docker_host_start "fleet$n"
		mkdir -p "$dir/conf.d"
		printf '[Manager]\nDefaultEnvironment=DOCKER_HOST=unix:///run/docker-host/docker.sock DOCKER_API_VERSION=1.41\n' \
			>"$dir/conf.d/docker.conf"
		# Units that Requires=docker.service need one: the engine runs
		# outside the machine.
		printf '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/bin/docker version\n' \
			>"$dir/docker.service"
		[ "$netns" = --netns ] || docker=(-v "$(command -v docker):/usr/bin/docker:ro")
		docker+=(-v "$(dirname "${HOST_SOCK[fleet$n]}"):/run/docker-host"
			-v "$dir/conf.d:/etc/systemd/system.conf.d:ro"
			-v "$dir/docker.service:/etc/systemd/system/docker.service:ro")
	fi
	printf '%032x\n' "$n" >"$dir/machine-id"
	cat >"$dir/fleet.conf" <<-EOF
	etcd_servers=["$FLEET_ETCD"]
	metadata="$meta"
	agent_ttl="$FLEET_AGENT_TTL"
	EOF
	cat >"$dir/fleet.socket" <<-EOF
	[Socket]
	ListenStream=/run/fleet.sock
	ListenStream=/fleet-api/fleet.sock
	ListenStream=0.0.0.0:49153
	Service=fleet.service
	[Install]
	WantedBy=sockets.target
	EOF
	cat >"$dir/fleet.service" <<-EOF
	[Unit]
	Requires=fleet.socket
	After=fleet.socket
	[Service]
	ExecStart=$bin/fleetd
	Restart=always
	RestartSec=1
	EOF
	ln -sf /etc/systemd/system/fleet.socket "$dir/wants/fleet.socket"
	if [ "$netns" = --netns ]; then
		MACHINE_DOCKER=unix://${HOST_SOCK[fleet$n]} MACHINE_NET=host _fleet_machine_run "$n" "$dir" "$bin" "${docker[@]}"
		FLEET_IP[$n]=${HOST_IP[fleet$n]}
	else
		_fleet_machine_run "$n" "$dir" "$bin" "${docker[@]}"
		FLEET_IP[$n]=${MACHINE_IP[fleet$n]}
	fi
	FLEET_URL[$n]="http://${FLEET_IP[$n]}:49153"
	FLEET_SOCK[$n]="unix://$dir/api/fleet.sock"
	wait_for 60 sh -c "curl -fsS -m 1 '${FLEET_URL[$n]}/fleet/v1/machines' | grep -q '$(printf '%032x' "$n")'" ||
		{ MACHINE_AT=fleet$n _machine_dk logs --tail 30 "fleet$n" >>"$TEST_LOG" 2>&1
		  fm "$n" journalctl -u fleet --no-pager -n 30 >>"$TEST_LOG" 2>&1
		  bail_out "fleetd on machine $n did not come up at ${FLEET_URL[$n]}"; }
}

_fleet_machine_run() {
	local n=$1 dir=$2 bin=$3
	shift 3
	machine_run "fleet$n" \
		-v "$FLEET_BIN/fleetd:$bin/fleetd:ro" \
		-v "$FLEET_BIN/fleetctl:$bin/fleetctl:ro" \
		-v "$dir/machine-id:/etc/machine-id:ro" \
		-v "$dir/fleet.conf:/etc/fleet/fleet.conf:ro" \
		-v "$dir/fleet.socket:/etc/systemd/system/fleet.socket:ro" \
		-v "$dir/fleet.service:/etc/systemd/system/fleet.service:ro" \
		-v "$dir/wants:/etc/systemd/system/sockets.target.wants:ro" \
		-v "$dir/api:/fleet-api" "$@"
}

fleet_two_machines() {
	fleet_start
	fleet_machine_start 1 host=fleet1,role=web "$@"
	fleet_machine_start 2 host=fleet2,role=web "$@"
	F=${FLEET_URL[1]}
}

fleet_deploy_cluster() {
	local n
	fleet_start
	fleet_machine_start 1 host=fleet1,role=ctl --netns
	for n in 2 3 4; do fleet_machine_start "$n" "host=fleet$n,role=web" --netns; done
	F=${FLEET_URL[1]}
}

fleet_machine_stop() { MACHINE_AT=fleet$1 _machine_dk stop -t 20 "fleet$1" >/dev/null; }
fleet_machine_kill() { MACHINE_AT=fleet$1 _machine_dk kill "fleet$1" >/dev/null; }
fm() {
	local n=$1
	shift
	mx "fleet$n" "$@"
}
fleetctl() { "$FLEET_BIN/fleetctl" --endpoint "${FLEET_URL[1]}" "$@"; }
