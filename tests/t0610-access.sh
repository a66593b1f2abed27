#!/bin/bash
# Who may do what (issue 14, points 4 and 8; paas(7) SECURITY), on the
# cluster `paas-cluster up` makes, with its real etcd, Docker, agent and
# router:
#  - the private etcd asks for a user; each role's password is in a file
#    open to its owner alone; a local user who is not root can read none;
#  - deployer, agent, router and check can each write only their keys, and
#    none but the deployer reads the secrets store;
#  - instance ports answer on loopback only;
#  - the ${VAR} values of a release are kept sealed with the cluster's key,
#    so check --repair, scale and rollback run without the deployer's
#    environment; with another key they refuse, naming the record.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-docker.sh"
. "$SRCDIR/tests/lib-etcd.sh"
need etcd haproxy jq openssl runuser
docker_start_local
STATE=$TEST_TMP/state
PORT=$(free_port)
EPORT=$(free_port)
export PAAS_STATE_DIR=$STATE
export PAAS_ETCD=http://127.0.0.1:$EPORT
E=$PAAS_ETCD
cluster_down_at_exit
dkl() { DOCKER_API_VERSION=1.41 /usr/bin/docker -H "$DOCKER_URL" "$@"; }
# as ROLE CMD...: CMD with that role's credentials
as() { local r=$1; shift; PAAS_ETCD_AUTH="$STATE/etcd-auth/$r" "$@"; }
get() { curl -sS -m 5 -H "Host: sec.localhost" "$@" "http://127.0.0.1:$PORT/version"; }
code() { curl -sS -m 5 -o /dev/null -w "%{http_code}" -H "Host: sec.localhost" "$@" "http://127.0.0.1:$PORT/version"; }
APP_SECRET="s3cr3t-$RANDOM-value"
WEB_HASH=$(openssl passwd -6 -salt paastest hunter2)
export APP_SECRET WEB_HASH

cat >sec.yml <<'EOF'
Domains:
  sec.localhost: {http: "sec:web", auth: {ops: "${WEB_HASH}"}}
web:
  image: paas-test:1
  cmd: [sh, -c, "echo \"$VERSION:$APP_SECRET\" >/www/version; exec httpd -f -p 8000 -h /www"]
  env: {APP_SECRET: "${APP_SECRET}", VERSION: v1}
  ports: [8000]
  instances: 1
  health: {http: /version, port: 8000, interval: 1s, timeout: 500ms, retries: 2}
EOF
sed "s/VERSION: v1/VERSION: v2/" sec.yml >sec2.yml

test_expect_success 'up makes the users, their files open to root alone, and the secrets key' '
	env -u PAAS_ETCD paas-cluster --json up --port "$PORT" --etcd-port "$EPORT" --etcd-peer-port "$(free_port)" \
		--no-registry --docker "$DOCKER_URL" >up.out &&
	jq -e -s "any(.[]; .component == \"etcd\" and .state == \"secured\")" up.out &&
	expect_eq "$(stat -c %a "$STATE/etcd-auth")" 700 &&
	for r in root deployer agent router check; do
		expect_eq "$(stat -c "%a %U" "$STATE/etcd-auth/$r")" "600 root" &&
		grep -q "^$r:[0-9a-f]\{48\}$" "$STATE/etcd-auth/$r" || return 1
	done &&
	expect_eq "$(stat -c "%a %s" "$STATE/secrets.key")" "600 32" &&
	! runuser -u nobody -- cat "$STATE/etcd-auth/deployer" 2>/dev/null &&
	! runuser -u nobody -- cat "$STATE/secrets.key" 2>/dev/null &&
	! grep -rq "$(cut -d: -f2 "$STATE/etcd-auth/agent")" "$STATE"/*.log "$STATE/cluster.json" &&
	for p in $(cat "$STATE/agent.pid" "$STATE/router.pid"); do
		! tr "\0" " " </proc/$p/cmdline | grep -q "[0-9a-f]\{48\}" || return 1
	done
'

test_expect_success 'without credentials nobody routes: the gateway and our client are refused' '
	k=$(printf /paas/v1/announce/x/web/1/abc | base64 -w0) &&
	curl -sS -m 5 -X POST "$E/v3/kv/put" -d "{\"key\":\"$k\",\"value\":\"e30=\"}" >anon.out &&
	expect_grep "user name is empty" anon.out &&
	expect_status 2 env PAAS_ETCD_AUTH= "$PAAS_T" etcd "$E" put /paas/v1/routes/evil.localhost "{}" 2>err &&
	expect_grep "wants a user: give the file of its credentials in PAAS_ETCD_AUTH" err &&
	expect_status 2 env PAAS_ETCD_AUTH= paas-cluster check >out && expect_grep "wants a user" out &&
	printf "deployer:wrong\n" >bad && chmod 600 bad &&
	expect_status 2 env PAAS_ETCD_AUTH=$PWD/bad paas-cluster hosts ls 2>err &&
	expect_grep "user deployer: etcdserver: authentication failed" err && ! grep -q wrong err &&
	chmod 644 bad && expect_status 3 env PAAS_ETCD_AUTH=$PWD/bad paas-cluster hosts ls 2>err &&
	expect_grep "open to group or others (mode 0644): chmod 600 it" err
'

test_expect_success 'credentials found by default do not stop a command against an etcd without users' '
	etcd_start &&
	PAAS_ETCD=$ETCD_ENDPOINT paas-cluster --json hosts ls >ls.out &&
	jq -e -s "length == 1 and .[0].name == \"local\"" ls.out
'

test_expect_success 'deployer deploys with ${VAR} secrets; the instance answers behind auth only' '
	paas-deploy -D sec sec.yml >dep.out &&
	jq -e "select(.kind == \"done\")" dep.out &&
	! grep -q "$APP_SECRET\|hunter2" dep.out &&
	wait_for 15 sh -c "curl -fsS -m 2 -u ops:hunter2 -H \"Host: sec.localhost\" http://127.0.0.1:$PORT/version | grep -q v1:" &&
	expect_eq "$(code)" 401 &&
	expect_eq "$(get -u ops:hunter2)" "v1:$APP_SECRET"
'

test_expect_success 'instance ports are published on loopback only, never on every interface' '
	cid=$(dkl ps -q -f label=paas.deployment=sec) &&
	dkl inspect -f "{{json .HostConfig.PortBindings}}" "$cid" >pb && cat pb &&
	expect_eq "$(jq -r ".[\"8000/tcp\"][0].HostIp" pb)" 127.0.0.1 &&
	hp=$(jq -r ".[\"8000/tcp\"][0].HostPort" pb) &&
	curl -fsS -m 2 "http://127.0.0.1:$hp/version" >/dev/null &&
	ss -Hltn "sport = :$hp" >ls && cat ls &&
	! grep -v "127.0.0.1:$hp" ls | grep -q .
'

test_expect_success 'each role writes only its keys; only the deployer reads the secrets' '
	as agent "$PAAS_T" etcd "$E" put /paas/v1/announce/x/web/1/abc "{}" &&
	as agent "$PAAS_T" etcd "$E" del /paas/v1/announce/x/web/1/abc &&
	for r in agent router check; do
		expect_status 1 as $r "$PAAS_T" etcd "$E" put /paas/v1/routes/evil.localhost "{}" 2>err &&
		expect_grep "permission denied to user $r" err &&
		expect_status 1 as $r "$PAAS_T" etcd "$E" range /paas/v1/secrets/ 2>err &&
		expect_grep "permission denied" err &&
		as $r "$PAAS_T" etcd "$E" get /paas/v1/deployments/sec/release >/dev/null || return 1
	done &&
	expect_status 1 as router "$PAAS_T" etcd "$E" put /paas/v1/announce/x/web/1/abc "{}" 2>err &&
	expect_status 1 as check "$PAAS_T" etcd "$E" put /paas/v1/routers/x "{}" 2>err &&
	expect_status 1 as agent "$PAAS_T" etcd "$E" put /paas/v1/hosts/evil "{}" 2>err &&
	as router "$PAAS_T" etcd "$E" put /paas/v1/routers/t0610 "{}" &&
	as router "$PAAS_T" etcd "$E" del /paas/v1/routers/t0610 &&
	as deployer "$PAAS_T" etcd "$E" range /paas/v1/secrets/ >/dev/null &&
	as check paas-cluster check >chk.out && cat chk.out &&
	expect_status 1 as check paas-cluster hosts rm local 2>err &&
	expect_grep "permission denied to user check" err
'

# The routers get the auth hash itself (a crypt hash, what they check
# passwords against), never the password.
test_expect_success 'the values are sealed at rest: no etcd key holds them in clear' '
	as root "$PAAS_T" etcd "$E" range /paas/ >all &&
	grep -q "^/paas/v1/secrets/sec/1={\"cipher\":\"aes-256-gcm\"" all &&
	! grep -q "$APP_SECRET" all && ! grep -q hunter2 all &&
	paas-cluster backup bk.json && ! grep -q "$APP_SECRET" bk.json
'

test_expect_success 'check --repair re-places a lost instance without the environment' '
	dkl rm -f "$(dkl ps -q -f label=paas.deployment=sec)" >/dev/null &&
	{ env -u APP_SECRET -u WEB_HASH paas-cluster check --repair >rep.out; echo $? >rep.rc; } &&
	cat rep.out && ! grep -q "$APP_SECRET" rep.out &&
	wait_for 15 sh -c "curl -fsS -m 2 -u ops:hunter2 -H \"Host: sec.localhost\" http://127.0.0.1:$PORT/version | grep -q v1:" &&
	expect_eq "$(get -u ops:hunter2)" "v1:$APP_SECRET"
'

test_expect_success 'scale and rollback run without the environment, with each release its own values' '
	OLD=$APP_SECRET &&
	APP_SECRET=rotated-$RANDOM paas-deploy -D sec sec2.yml >dep2.out &&
	wait_for 15 sh -c "curl -fsS -m 2 -u ops:hunter2 -H \"Host: sec.localhost\" http://127.0.0.1:$PORT/version | grep -q v2:rotated" &&
	env -u APP_SECRET -u WEB_HASH paas-scale -D sec web=2 >scale.out &&
	expect_eq "$(dkl ps -q -f label=paas.deployment=sec | wc -l)" 2 &&
	env -u APP_SECRET -u WEB_HASH paas-deploy -D sec rollback 1 >rb.out &&
	wait_for 15 sh -c "curl -fsS -m 2 -u ops:hunter2 -H \"Host: sec.localhost\" http://127.0.0.1:$PORT/version | grep -q \"v1:$OLD\"" &&
	expect_eq "$(get -u ops:hunter2)" "v1:$OLD" && ! grep -q "$OLD\|rotated" rb.out scale.out
'

test_expect_success 'another key: repair refuses naming the record, and nothing changes' '
	head -c 32 /dev/urandom >other.key && chmod 600 other.key &&
	dkl rm -f $(dkl ps -q -f label=paas.deployment=sec | head -n1) >/dev/null &&
	ids=$(dkl ps -q -f label=paas.deployment=sec | sort) &&
	{ env -u APP_SECRET -u WEB_HASH PAAS_SECRETS_KEY=$PWD/other.key paas-cluster check --repair \
		>rep2.out 2>rep2.err; echo $? >rep2.rc; } && cat rep2.out rep2.err &&
	test "$(cat rep2.rc)" -ne 0 &&
	grep -q "/paas/v1/secrets/sec/[0-9]*: sealed with another secrets key" rep2.out rep2.err &&
	expect_eq "$(dkl ps -q -f label=paas.deployment=sec | sort)" "$ids" &&
	{ env -u APP_SECRET -u WEB_HASH paas-cluster check --repair >/dev/null || :; } &&
	expect_eq "$(dkl ps -q -f label=paas.deployment=sec | wc -l)" 1
'

test_expect_success 'without a key the deploy says the values are not kept' '
	APP_SECRET=x PAAS_SECRETS_KEY= paas-deploy -D sec sec2.yml >dep3.out &&
	jq -e -s "any(.[]; .kind == \"warning\" and (.message | test(\"^no secrets key\")))" dep3.out
'

# etcd forgets its tokens when it restarts: the agent's keepalive and the
# router's watch must authenticate again, not give up.
test_expect_success 'etcd restarted: the agent and the router authenticate again and keep up' '
	kill "$(cat "$STATE/etcd.pid")" &&
	wait_for 15 sh -c "! curl -fsS -m 1 $E/health" &&
	env -u PAAS_ETCD paas-cluster --json up >up2.out &&
	jq -e -s "map(select(.state == \"started\")) | map(.component) == [\"etcd\"]" up2.out &&
	paas-deploy -D sec sec.yml >dep4.out &&
	wait_for 20 sh -c "curl -fsS -m 2 -u ops:hunter2 -H \"Host: sec.localhost\" http://127.0.0.1:$PORT/version | grep -qx \"v1:$APP_SECRET\"" &&
	as root "$PAAS_T" etcd "$E" get /paas/v1/agents/local >/dev/null &&
	as root "$PAAS_T" etcd "$E" get /paas/v1/routers/local >/dev/null &&
	{ ! grep -q "watch: .*resuming" "$STATE/router.log" ||
	grep -A1000 "watch: .*resuming" "$STATE/router.log" | grep -q "applied etcd revision"; }
'

test_expect_success 'the daemons logged no sanitizer report (under scripts/asan)' '
	paas-cluster down >/dev/null &&
	! grep -l "Sanitizer\|runtime error" "$STATE"/*.log
'
test_done
