# Host agents and a router (paas-route watch, which starts its own HAProxy)
# for tests; everything stopped at exit.  Needs lib-etcd.sh and
# lib-docker.sh first, and PAAS_ETCD set.
#
#   agent_start HOST [args]     paas-cluster agent --host HOST; AGENT_PID[HOST]
#   router_start [args]         paas-route watch on ROUTER_PORT, config in ROUTER_CFG
#   router_stop                 SIGTERM the watch (HAProxy keeps serving)
#   router2_start               a second router, "second", on R2_PORT, config in R2_DIR
#   via DOMAIN [PATH] [curl args...]   a request through the router
#   router_rev                  the etcd revision the router says it serves
#   backend_of DOMAIN           the HAProxy backend DOMAIN is sent to
#   web_server N                a busybox httpd answering "sN" on loopback, standing
#                               in for an instance; its port in WEB_PORT[N]
#   web V [ORDER] [N]           web-V.yml: deployment hw's service web, N instances
#                               (default 1) answering V on /version at web.test,
#                               rolled one at a time, ORDER start-first by default

need haproxy curl jq

declare -A AGENT_PID
ROUTER_DIR="$TEST_TMP/router"
ROUTER_CFG="$ROUTER_DIR/haproxy.cfg"
ROUTER_SOCK="$ROUTER_DIR/master.sock"
ROUTER_PORT=$(free_port)
ROUTER_PID=""
_router_trap=""

agent_start() {
	local h=$1
	shift
	paas-cluster agent --host "$h" "$@" >>"$TEST_TMP/agent-$h.log" 2>&1 &
	AGENT_PID[$h]=$!
	at_exit "kill_wait ${AGENT_PID[$h]}"
	wait_for 10 "$PAAS_T" etcd "$PAAS_ETCD" get "/paas/v1/agents/$h" ||
		{ tail -n 20 "$TEST_TMP/agent-$h.log" >>"$TEST_LOG"; bail_out "the agent of host $h did not register"; }
}

_haproxy_stop() {
	local pid
	pid=$(cat "$ROUTER_DIR/haproxy.pid" 2>/dev/null) || return 0
	[ -n "$pid" ] && kill_wait "$pid"
}

router_start() {
	mkdir -p "$ROUTER_DIR"
	[ -z "$_router_trap" ] && at_exit _haproxy_stop && _router_trap=1
	paas-route watch --config "$ROUTER_CFG" --port "$ROUTER_PORT" --name test "$@" \
		>>"$TEST_TMP/router.log" 2>&1 &
	ROUTER_PID=$!
	at_exit "kill_wait $ROUTER_PID"
	wait_for 10 "$PAAS_T" etcd "$PAAS_ETCD" get /paas/v1/routers/test ||
		{ tail -n 20 "$TEST_TMP/router.log" >>"$TEST_LOG"; bail_out "the router did not come up"; }
}

router_stop() {
	kill_wait "$ROUTER_PID"
}

R2_DIR="$TEST_TMP/router2"
R2_PORT=$(free_port)
router2_start() {
	mkdir -p "$R2_DIR"
	at_exit "kill_wait \$(cat $R2_DIR/haproxy.pid 2>/dev/null) 2>/dev/null"
	paas-route watch --config "$R2_DIR/haproxy.cfg" --port "$R2_PORT" --name second "$@" \
		>>"$TEST_TMP/router2.log" 2>&1 &
	at_exit "kill_wait $!"
	wait_for 10 "$PAAS_T" etcd "$PAAS_ETCD" get /paas/v1/routers/second ||
		{ tail -n 20 "$TEST_TMP/router2.log" >>"$TEST_LOG"; bail_out "the second router did not come up"; }
}

via() {
	local d=$1 p=${2:-/}
	shift 2 2>/dev/null || shift
	curl -sS -m 5 -H "Host: $d" "$@" "http://127.0.0.1:$ROUTER_PORT$p"
}

# backend_of DOMAIN [CONFIG]: the backend the router's configuration sends DOMAIN to
backend_of() {
	sed -n "s/^.use_backend \([^ ]*\) if { var(txn.host) -m str $1 }\$/\1/p" "${2:-$ROUTER_CFG}"
}

router_rev() {
	"$PAAS_T" etcd "$PAAS_ETCD" get /paas/v1/routers/test | jq -r .revision
}

declare -A WEB_PORT
web_server() {
	local p
	p=$(free_port)
	mkdir -p "www$1" && echo "s$1" >"www$1/index.html"
	busybox httpd -f -p "127.0.0.1:$p" -h "www$1" >/dev/null 2>&1 &
	at_exit "kill_wait $!"
	WEB_PORT[$1]=$p
}

web() {
	cat >"web-$1.yml" <<EOF
Domains:
  web.test: {http: "hw:web"}
web:
  image: paas-test:1
  cmd: [sh, -c, "echo $1 >/www/version; exec httpd -f -p 8000 -h /www"]
  ports: [8000]
  instances: ${3:-1}
  health: {http: /version, port: 8000, interval: 1s, timeout: 500ms, retries: 2}
  update: {parallel: 1, order: ${2:-start-first}}
EOF
	echo "web-$1.yml"
}
