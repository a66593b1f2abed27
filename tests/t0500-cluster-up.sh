#!/bin/bash
# The main job: scripts/quickstart (paas-cluster up: a private etcd, the
# local Docker, agent and router as daemons; examples/hello deployed and
# answering through the router).  up again changes nothing; down stops
# every daemon and keeps the data; up brings the same deployment back.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-docker.sh"
need etcd haproxy jq
docker_start_local
STATE=$TEST_TMP/state
PORT=$(free_port)
EPORT=$(free_port)
PPORT=$(free_port)
RPORT=$(free_port)
export PAAS_STATE_DIR=$STATE
cluster_down_at_exit
at_exit "rm -rf /etc/docker/certs.d/127.0.0.1:$RPORT"
hello() { curl -sS -m 5 -H "Host: hello.localhost" "http://127.0.0.1:$PORT/"; }
# alive PID...: every one runs; gone PID...: none does (names the first not so)
alive() { local p; for p; do kill -0 "$p" 2>/dev/null || { echo "pid $p is not running"; return 1; }; done; }
# (a zombie counts as gone: whoever inherited it may never reap it)
gone() {
	local p
	for p; do
		case $(ps -o stat= -p "$p" 2>/dev/null) in
		""|Z*) ;;
		*) echo "pid $p still runs: $(tr "\0" " " </proc/$p/cmdline)"; return 1 ;;
		esac
	done
}
pids() { cat "$STATE"/etcd.pid "$STATE"/registry.pid "$STATE"/agent.pid "$STATE"/router.pid "$STATE"/route/haproxy.pid; }

test_expect_success 'quickstart: up, deploy examples/hello, it answers through the router' '
	DOCKER_HOST=$DOCKER_URL QUICKSTART_NO_INSTALL=1 QUICKSTART_NO_BUILD=1 \
		"$SRCDIR/scripts/quickstart" --port "$PORT" --etcd-port "$EPORT" \
		--etcd-peer-port "$PPORT" --registry-port "$RPORT" >qs.out 2>&1 &&
	grep -q "Hello from paas-tools, instance" qs.out &&
	grep -q "^web  built 127.0.0.1:$RPORT/hello/web@sha256:" qs.out &&
	expect_eq "$(jq -r .etcd "$STATE/cluster.json")" "http://127.0.0.1:$EPORT" &&
	test -S "$STATE/route/master.sock" && test -s "$STATE/etcd.log" &&
	alive $(cat "$STATE"/etcd.pid "$STATE"/agent.pid "$STATE"/router.pid) &&
	tr "\0" " " <"/proc/$(cat "$STATE/etcd.pid")/cmdline" >etcd.args &&
	expect_grep "--auto-compaction-mode revision --auto-compaction-retention 1000 --quota-backend-bytes 2147483648" etcd.args
'
export PAAS_ETCD=http://127.0.0.1:$EPORT

test_expect_success 'both instances answer; the host is registered as local' '
	for i in 1 2 3 4 5 6; do hello; done | sort -u >seen &&
	expect_eq "$(wc -l <seen)" 2 &&
	paas-cluster --json hosts ls | jq -e "select(.name == \"local\") | .docker == \"$DOCKER_URL\""
'

test_expect_success 'PAAS_ETCD unset: the commands find the etcd of the state directory'"'"'s cluster' '
	env -u PAAS_ETCD paas-cluster --json status >st &&
	jq -e -s "map(select(.kind == \"host\" and .name == \"local\")) | length == 1" st &&
	env -u PAAS_ETCD paas-deploy --json list >l &&
	jq -e -s "map(select(.deployment == \"hello\")) | length == 1" l
'

test_expect_success 'up again changes nothing: same processes, same answers; the state directory 0700 again' '
	pids >before &&
	chmod 0755 "$STATE" &&
	paas-cluster --json up >out &&
	expect_eq "$(stat -c %a "$STATE")" 700 &&
	jq -e -s "map(select(.state == \"started\" or .state == \"added\")) | length == 0" out &&
	jq -e -s "map(select(.state == \"running\")) | length == 4" out &&
	pids >after && test_cmp before after &&
	expect_eq "$(hello | cut -c1-32)" "Hello from paas-tools, instance "
'

test_expect_success 'down stops every daemon and keeps the data' '
	pids >was &&
	paas-cluster --json down >out &&
	expect_eq "$(jq -s "map(select(.state == \"stopped\")) | length" out)" 5 &&
	gone $(cat was) &&
	! hello 2>/dev/null &&
	! curl -fsS -m 1 "$PAAS_ETCD/health" 2>/dev/null &&
	test -d "$STATE/etcd/member" &&
	paas-cluster --json down >out2 &&
	expect_eq "$(jq -s "map(select(.state == \"not-running\")) | length" out2)" 5
'

test_expect_success 'up brings the same deployment back, answering' '
	ids=$(DOCKER_API_VERSION=1.41 docker -H "$DOCKER_URL" ps -q -f label=paas.deployment=hello | sort) &&
	paas-cluster --json up >out &&
	expect_eq "$(jq -s "map(select(.state == \"started\")) | length" out)" 4 &&
	app=$SRCDIR/examples/hello &&
	{ git -C "$app" ls-files --error-unmatch Servicefile >/dev/null 2>&1 || app=$STATE/examples-hello; } &&
	paas-deploy -D hello "$app/Servicefile" >dep &&
	jq -e "select(.kind == \"unchanged\")" dep &&
	wait_for 15 sh -c "curl -fsS -m 2 -H \"Host: hello.localhost\" http://127.0.0.1:$PORT/ | grep -q Hello" &&
	expect_eq "$(DOCKER_API_VERSION=1.41 docker -H "$DOCKER_URL" ps -q -f label=paas.deployment=hello | sort)" "$ids"
'

test_expect_success 'bad flags: one line, exit 3, nothing started' '
	expect_status 3 paas-cluster up --port 0 2>err && grep -q "^paas-cluster: --port 0" err &&
	expect_status 3 paas-cluster up --docker tcp://1.2.3.4:2375 2>err &&
	grep -q "unix:///PATH" err &&
	expect_status 3 paas-cluster up --etcd-port "$EPORT" --etcd-peer-port "$EPORT" 2>err &&
	expect_status 3 paas-cluster up stray 2>err && grep -q "unexpected argument" err
'

test_expect_success 'a port taken by someone else: up fails naming the port and whose it is, before starting anything' '
	S2=$TEST_TMP/state2 &&
	expect_status 1 env -u PAAS_ETCD paas-cluster up --state-dir "$S2" --port "$(free_port)" \
		--etcd-port "$EPORT" --etcd-peer-port "$(free_port)" >/dev/null 2>err &&
	grep -q "^paas-cluster: an etcd that is not this cluster.s already answers at http://127.0.0.1:$EPORT" err &&
	expect_status 1 env -u PAAS_ETCD paas-cluster up --state-dir "$S2" --port "$(free_port)" \
		--etcd-port "$(free_port)" --etcd-peer-port "$PPORT" >/dev/null 2>err &&
	grep -q "^paas-cluster: port $PPORT is taken by another program on this machine (etcd.s peer port): give up another --etcd-peer-port" err &&
	expect_status 1 env -u PAAS_ETCD paas-cluster up --state-dir "$S2" --port "$(free_port)" \
		--etcd-port "$(free_port)" --etcd-peer-port "$(free_port)" --registry-port "$RPORT" \
		>/dev/null 2>err &&
	grep -q "^paas-cluster: port $RPORT is taken by another program on this machine (the registry.s port): give up another --registry-port" err &&
	expect_status 1 env -u PAAS_ETCD paas-cluster up --state-dir "$S2" --port "$PORT" \
		--etcd-port "$(free_port)" --etcd-peer-port "$(free_port)" --registry-port "$(free_port)" \
		>/dev/null 2>err &&
	grep -q "^paas-cluster: port $PORT is taken by another program on this machine (the routers. HTTP port): give up another --port" err &&
	test ! -e "$S2/etcd.pid" && test ! -e "$S2/registry.pid" &&
	test ! -e "$S2/agent.pid" && test ! -e "$S2/router.pid" &&
	expect_eq "$(hello | cut -c1-5)" Hello
'
test_expect_success 'host ports held by other processes are never picked: 20 listeners on 30000-30019, two new instances start past them' '
	for p in $(seq 30000 30019); do busybox nc -l -p $p >/dev/null 2>&1 & echo $! >>nc.pids; done &&
	at_exit "kill \$(cat $TEST_TMP/nc.pids) 2>/dev/null" &&
	paas-scale -D hello web=4 >scale.out &&
	jq -r "select(.kind == \"start\") | .ports[]" scale.out >picked && cat picked &&
	expect_eq "$(wc -l <picked)" 2 &&
	! awk "\$1 < 30020" picked | grep -q . &&
	! jq -s -e "any(.[]; .kind == \"warning\")" scale.out >/dev/null &&
	{ kill $(cat nc.pids) 2>/dev/null; true; } &&
	paas-scale -D hello web=2 >/dev/null
'

test_expect_success 'the daemons logged no sanitizer report (under scripts/asan)' '
	paas-cluster down >/dev/null &&
	! grep -l "Sanitizer\|runtime error" "$STATE"/*.log
'
test_done
