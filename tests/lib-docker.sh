# Real dockerd servers for tests, each with its own data in $TEST_TMP:
#
#   docker_start_local     a dockerd in this machine's network namespace, on a
#                          unix socket and a bridge of its own, without iptables
#                          (so beside any other dockerd); sets DOCKER_URL, and
#                          DOCKER_BRIDGE_IP (this machine on that bridge).
#   docker_host_start NAME a "host": a network namespace on a test bridge with
#                          its own dockerd on TCP+TLS (a test CA) and a unix
#                          socket; sets HOST_URL[NAME], HOST_IP[NAME],
#                          HOST_SOCK[NAME] (the socket's path).  TLS_OPTS holds the
#                          client flags (--tls-ca, --tls-cert, --tls-key).
#   docker_host_kill NAME  SIGKILL that host's dockerd and everything in it.
#   dk NAME ARGS...        the docker CLI against that host.
#   dep_ids DEP            the IDs of every container of deployment DEP, running
#                          or not, on every host started, sorted.
#
# Every dockerd gets the test image paas-test:1 (busybox-static: sh, httpd,
# nc), imported through libpaas because no image can be pulled here.

need dockerd busybox openssl ip nsenter flock curl

declare -A HOST_URL HOST_IP HOST_SOCK _host_pid _host_ns
TEST_IMAGE=paas-test:1
_net_bridge=""
_net_prefix=""
_host_n=0

# The rootfs tarball of the test image, made once per test file.
test_image_tar() {
	local root="$TEST_TMP/rootfs" tar="$TEST_TMP/image.tar" a
	[ -f "$tar" ] && { echo "$tar"; return; }
	mkdir -p "$root/bin" "$root/www" "$root/tmp" "$root/etc" "$root/proc" "$root/sys" "$root/dev"
	cp "$(command -v busybox)" "$root/bin/busybox"
	for a in sh ash httpd nc sleep echo cat ls wget kill ps env printf test true false \
		hostname date grep sed head tail mkdir rm touch seq id sha1sum find stat readlink \
		xargs sort cut wc; do
		ln -sf busybox "$root/bin/$a"
	done
	echo "paas-test" >"$root/www/index.html"
	# /cgi-bin/slow answers /www/version after $SLOW seconds (default 0.1),
	# so that a stopped instance has requests in flight.
	mkdir -p "$root/www/cgi-bin"
	cat >"$root/www/cgi-bin/slow" <<-'EOF'
	#!/bin/sh
	sleep "${SLOW:-0.1}"
	v=$(cat /www/version)
	printf 'Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s\n' $((${#v} + 1)) "$v"
	EOF
	chmod 755 "$root/www/cgi-bin/slow"
	echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
	echo "root:x:0:" >"$root/etc/group"
	tar -C "$root" -cf "$tar" .
	echo "$tar"
}

# import_test_image URL [client flags...]
import_test_image() {
	local url=$1
	shift
	"$PAAS_T" "$@" docker "$url" import "$(test_image_tar)" paas-test 1 >>"$TEST_LOG" 2>&1 ||
		bail_out "cannot import the test image into $url"
}

_dockerd_stop() {
	local pid=$1 dir=$2 ns=${3:-}
	kill "$pid" 2>/dev/null
	local i
	for i in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -9 "$pid" 2>/dev/null
	if [ -n "$ns" ]; then
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
	fi
	# Shims of containers that outlived their daemon.
	pkill -9 -f "containerd-shim.*$dir" 2>/dev/null
	grep -o " $dir[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$dir" 2>/dev/null
	:
}

# docker_start_local [--iptables]
# The dockerd gets a bridge of its own (not docker0) and, unless --iptables,
# leaves iptables alone: published ports are served by docker-proxy.  So it
# never meets the machine's dockerd (a running quickstart cluster) nor
# another test's, and needs no lock.  Benchmarks that run a swarm give
# --iptables; those take a lock of their own, one benchmark at a time, which
# no test waits for.
docker_start_local() {
	local dir="$TEST_TMP/docker" pid br="pl$$" net ipt=--iptables=false
	net="10.$((250 + $$ % 5)).$((($$ / 5) % 250))"
	mkdir -p "$dir"
	if [ "${1:-}" = --iptables ]; then
		exec 8>/run/lock/paas-bench-dockerd.lock
		flock -w 900 8 || bail_out "another benchmark's dockerd holds the lock"
		ipt=--iptables=true
	fi
	ip link add "$br" type bridge &&
		ip addr add "$net.1/24" dev "$br" &&
		ip link set "$br" up || bail_out "cannot make the bridge of the local dockerd"
	at_exit "ip link del $br"
	_forward_accept "$br"
	dockerd --data-root "$dir/root" --exec-root "$dir/exec" \
		-H "unix://$dir/docker.sock" --pidfile "$dir/docker.pid" \
		--bridge "$br" $ipt >"$dir/log" 2>&1 &
	pid=$!
	at_exit "_dockerd_stop $pid '$dir'"
	DOCKER_URL="unix://$dir/docker.sock"
	# This machine's address on that bridge, which its containers reach.
	DOCKER_BRIDGE_IP="$net.1"
	export DOCKER_URL DOCKER_BRIDGE_IP
	wait_for 30 curl -fsS -m 1 --unix-socket "$dir/docker.sock" http://d/_ping ||
		{ tail -n 20 "$dir/log" >>"$TEST_LOG"; bail_out "dockerd did not come up on $DOCKER_URL"; }
	import_test_image "$DOCKER_URL"
}

# cluster_down_at_exit: at exit, `paas-cluster down` the cluster of
# $PAAS_STATE_DIR, and kill -9 whatever of it is still running.
_cluster_down() {
	paas-cluster down >/dev/null 2>&1
	local f
	for f in "$PAAS_STATE_DIR"/*.pid "$PAAS_STATE_DIR"/route/haproxy.pid; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	:
}
cluster_down_at_exit() { at_exit _cluster_down; }

# cluster_ports [REGISTRY-ADDRESS]: free ports for a cluster of this test:
# PORT (the router), EPORT (etcd), RPORT and REG (the registry, on
# REGISTRY-ADDRESS, default 127.0.0.1); PAAS_ETCD exported; at exit the
# cluster goes down and this machine's trust of the registry goes.
# cluster_up [FLAGS...]: `paas-cluster --json up` on them, with the local
# dockerd.
cluster_ports() {
	PORT=$(free_port)
	EPORT=$(free_port)
	RPORT=$(free_port)
	REG_ADDRESS=${1:-127.0.0.1}
	REG=$REG_ADDRESS:$RPORT
	export PAAS_ETCD=http://127.0.0.1:$EPORT
	cluster_down_at_exit
	at_exit "rm -rf /etc/docker/certs.d/$REG"
}
cluster_up() {
	env -u PAAS_ETCD paas-cluster --json up --port "$PORT" --etcd-port "$EPORT" \
		--etcd-peer-port "$(free_port)" --registry-port "$RPORT" \
		--registry-address "$REG_ADDRESS" --docker "$DOCKER_URL" "$@"
}

_tls_init() {
	local d="$TEST_TMP/tls"
	[ -f "$d/ca.pem" ] && return
	mkdir -p "$d"
	(
		cd "$d" &&
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout ca-key.pem -out ca.pem -days 2 -subj /CN=paas-test-ca &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout key.pem -out client.csr -subj /CN=paas-client &&
		printf 'extendedKeyUsage=clientAuth\n' >client.ext &&
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
			-out cert.pem -days 2 -extfile client.ext
	) >>"$TEST_LOG" 2>&1 || bail_out "cannot make the test CA"
	TLS_OPTS="--tls-ca $d/ca.pem --tls-cert $d/cert.pem --tls-key $d/key.pem"
	TLS_CA=$d/ca.pem TLS_CERT=$d/cert.pem TLS_KEY=$d/key.pem
	export TLS_OPTS TLS_CA TLS_CERT TLS_KEY
}

# Traffic between the ports of a test bridge is accepted whatever this
# machine's FORWARD policy says: a machine where Docker runs (a quickstart
# cluster) has it at DROP, with bridged frames passed through iptables
# (br_netfilter), which would cut the test hosts off from each other.
_forward_accept() {
	command -v iptables >/dev/null 2>&1 || return 0
	iptables -w -I FORWARD -i "$1" -o "$1" -j ACCEPT 2>>"$TEST_LOG" &&
		at_exit "iptables -w -D FORWARD -i $1 -o $1 -j ACCEPT"
}

_net_init() {
	[ -n "$_net_bridge" ] && return
	_net_bridge="pb$$"
	_net_prefix="10.$((200 + $$ % 50)).$((($$ / 50) % 250))"
	ip link add "$_net_bridge" type bridge &&
		ip addr add "$_net_prefix.1/24" dev "$_net_bridge" &&
		ip link set "$_net_bridge" up || bail_out "cannot make the test bridge"
	at_exit "ip link del $_net_bridge"
	_forward_accept "$_net_bridge"
}

# docker_host_start NAME
docker_host_start() {
	local name=$1 ns="paas$$-$1" dir="$TEST_TMP/host-$1" ip pid d="$TEST_TMP/tls"
	_tls_init
	_net_init
	_host_n=$((_host_n + 1))
	ip="$_net_prefix.$((10 + _host_n))"
	mkdir -p "$dir"
	ip netns add "$ns" || bail_out "cannot make network namespace $ns"
	at_exit "ip netns del $ns"
	ip link add "pv$$h$_host_n" type veth peer name eth0 netns "$ns" &&
		ip link set "pv$$h$_host_n" master "$_net_bridge" up &&
		ip -n "$ns" addr add "$ip/24" dev eth0 &&
		ip -n "$ns" link set eth0 up &&
		ip -n "$ns" link set lo up &&
		ip -n "$ns" route add default via "$_net_prefix.1" ||
		bail_out "cannot wire network namespace $ns"
	(
		cd "$d" &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$dir/server-key.pem" -out "$dir/server.csr" -subj "/CN=$name" &&
		printf 'subjectAltName=IP:%s,DNS:%s\nextendedKeyUsage=serverAuth\n' "$ip" "$name" >"$dir/server.ext" &&
		openssl x509 -req -in "$dir/server.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
			-out "$dir/server.pem" -days 2 -extfile "$dir/server.ext"
	) >>"$TEST_LOG" 2>&1 || bail_out "cannot make a certificate for $name"
	mkdir -p "$dir/sock"
	nsenter --net="/run/netns/$ns" dockerd --data-root "$dir/root" --exec-root "$dir/exec" \
		-H "tcp://$ip:2376" -H "unix://$dir/sock/docker.sock" --tlsverify --tlscacert "$d/ca.pem" \
		--tlscert "$dir/server.pem" --tlskey "$dir/server-key.pem" \
		--pidfile "$dir/docker.pid" --bip 172.31.$_host_n.1/24 \
		>"$dir/log" 2>&1 &
	pid=$!
	_host_pid[$name]=$pid
	_host_ns[$name]=$ns
	at_exit "_dockerd_stop $pid '$dir' $ns"
	HOST_URL[$name]="tcp://$ip:2376"
	HOST_IP[$name]=$ip
	HOST_SOCK[$name]="$dir/sock/docker.sock"
	wait_for 30 curl -fsS -m 1 --cacert "$d/ca.pem" --cert "$d/cert.pem" --key "$d/key.pem" \
		"https://$ip:2376/_ping" ||
		{ tail -n 20 "$dir/log" >>"$TEST_LOG"; bail_out "dockerd of host $name did not come up on $ip"; }
	# shellcheck disable=SC2086
	import_test_image "${HOST_URL[$name]}" $TLS_OPTS
}

dk() {
	local h=$1
	shift
	DOCKER_API_VERSION=1.41 /usr/bin/docker -H "${HOST_URL[$h]}" --tlsverify \
		--tlscacert "$TLS_CA" --tlscert "$TLS_CERT" --tlskey "$TLS_KEY" "$@"
}

dep_ids() {
	local h
	for h in "${!HOST_URL[@]}"; do
		dk "$h" ps -aq --no-trunc -f "label=paas.deployment=$1" || return 1
	done | sort
}

docker_host_kill() {
	local name=$1
	kill -9 "${_host_pid[$name]}" 2>/dev/null
	ip netns pids "${_host_ns[$name]}" 2>/dev/null | xargs -r kill -9 2>/dev/null
	:
}
