# A real HAProxy for tests, master-worker mode with a master socket, on a
# free loopback port, config and logs in $TEST_TMP, stopped at exit.
#
#   haproxy_start CONFIG   sets HAPROXY_PID (the master), HAPROXY_MASTER_SOCK
#   haproxy_reload         seamless reload of the current config (SIGUSR2)

need haproxy

haproxy_start() {
	local cfg=$1 dir="$TEST_TMP/haproxy"
	mkdir -p "$dir"
	haproxy -c -f "$cfg" >>"$TEST_LOG" 2>&1 || bail_out "haproxy refuses $cfg"
	HAPROXY_MASTER_SOCK="$dir/master.sock"
	haproxy -W -S "$HAPROXY_MASTER_SOCK" -f "$cfg" -p "$dir/haproxy.pid" >>"$dir/log" 2>&1 &
	HAPROXY_PID=$!
	at_exit "kill_wait $HAPROXY_PID"
	wait_for 10 test -S "$HAPROXY_MASTER_SOCK" ||
		{ tail -n 20 "$dir/log" >>"$TEST_LOG"; bail_out "haproxy did not come up with $cfg"; }
	export HAPROXY_PID HAPROXY_MASTER_SOCK
}

haproxy_reload() {
	kill -USR2 "$HAPROXY_PID"
}
