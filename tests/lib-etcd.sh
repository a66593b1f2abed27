# Real etcd servers for tests: one member, or a cluster, on free loopback
# ports with data in $TEST_TMP, stopped at exit.
#
#   etcd_start                 one member; sets ETCD_ENDPOINT
#   etcd_cluster_start N       N members; sets ETCD_EP[i], ETCD_ENDPOINTS (all, comma-separated)
#   etcd_member_kill I         SIGKILL member I
#   etcd_member_restart I      start member I again on its data dir
#   etcd_own_ports NAME...     (before etcd_start) a client port of its own for each
#                              NAME, ETCD_OWN[NAME] its URL, so that one can be cut off
#   etcd_cut NAME              drop every packet to and from NAME's port (iptables on lo)
#   etcd_reconnect NAME        stop dropping them (also at exit)
# $ETCD_EXTRA_ARGS, when set, is added to every member's flags.
# $ETCD_ADDR (default 127.0.0.1) is the address members listen on.
# $ETCD_ALSO_LISTEN, when set, adds client URLs member 0 also listens on
# (comma-separated): a client given one of them can be cut off alone.

need etcd

ETCD_EP=()
_etcd_peer=()
_etcd_pid=()
_etcd_cluster=""

_etcd_run() {
	local i=$1 state=$2 dir="$TEST_TMP/etcd$1" also=""
	[ "$i" = 0 ] && [ -n "${ETCD_ALSO_LISTEN:-}" ] && also=",$ETCD_ALSO_LISTEN"
	mkdir -p "$dir"
	etcd --name "m$i" --data-dir "$dir/data" \
		--listen-client-urls "${ETCD_EP[i]}$also" \
		--advertise-client-urls "${ETCD_EP[i]}" \
		--listen-peer-urls "${_etcd_peer[i]}" --initial-advertise-peer-urls "${_etcd_peer[i]}" \
		--initial-cluster "$_etcd_cluster" --initial-cluster-state "$state" \
		--initial-cluster-token "paas-test-$$" \
		--heartbeat-interval 50 --election-timeout 500 ${ETCD_EXTRA_ARGS:-} \
		>>"$dir/log" 2>&1 &
	_etcd_pid[i]=$!
	at_exit "kill -9 ${_etcd_pid[i]} 2>/dev/null; wait ${_etcd_pid[i]} 2>/dev/null"
}

_etcd_wait() {
	local i=$1
	wait_for 20 sh -c "curl -fsS -m 1 '${ETCD_EP[i]}/health' | grep -q '\"true\"'" ||
		{ tail -n 20 "$TEST_TMP/etcd$i/log" >>"$TEST_LOG"; bail_out "etcd member $i did not come up at ${ETCD_EP[i]}"; }
}

etcd_cluster_start() {
	local n=$1 i
	_etcd_cluster=""
	for ((i = 0; i < n; i++)); do
		ETCD_EP[i]="http://${ETCD_ADDR:-127.0.0.1}:$(free_port)"
		_etcd_peer[i]="http://127.0.0.1:$(free_port)"
		_etcd_cluster="$_etcd_cluster${_etcd_cluster:+,}m$i=${_etcd_peer[i]}"
	done
	for ((i = 0; i < n; i++)); do _etcd_run "$i" new; done
	for ((i = 0; i < n; i++)); do _etcd_wait "$i"; done
	ETCD_ENDPOINTS=$(IFS=,; echo "${ETCD_EP[*]}")
	ETCD_ENDPOINT=${ETCD_EP[0]}
	export ETCD_ENDPOINTS ETCD_ENDPOINT
}

etcd_start() { etcd_cluster_start 1; }

etcd_member_kill() {
	kill -9 "${_etcd_pid[$1]}" 2>/dev/null
	wait "${_etcd_pid[$1]}" 2>/dev/null || :
}

etcd_member_restart() {
	_etcd_run "$1" existing
	_etcd_wait "$1"
}

declare -A ETCD_OWN _etcd_own_port
etcd_own_ports() {
	local n p
	need iptables
	for n in "$@"; do
		p=$(free_port)
		_etcd_own_port[$n]=$p
		ETCD_OWN[$n]="http://127.0.0.1:$p"
		ETCD_ALSO_LISTEN="${ETCD_ALSO_LISTEN:+$ETCD_ALSO_LISTEN,}${ETCD_OWN[$n]}"
		at_exit "etcd_reconnect $n"
	done
}

etcd_cut() {
	iptables -I INPUT -i lo -p tcp --dport "${_etcd_own_port[$1]}" -j DROP &&
	iptables -I OUTPUT -o lo -p tcp --sport "${_etcd_own_port[$1]}" -j DROP
}

etcd_reconnect() {
	iptables -D INPUT -i lo -p tcp --dport "${_etcd_own_port[$1]}" -j DROP 2>/dev/null
	iptables -D OUTPUT -o lo -p tcp --sport "${_etcd_own_port[$1]}" -j DROP 2>/dev/null
	return 0
}
