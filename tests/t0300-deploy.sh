#!/bin/bash
# paas-deploy against two Docker hosts (network namespaces, TCP+TLS) and a
# real etcd: placement, health-gated start-first rollouts with no gap,
# automatic rollback, the lock, history / rollback / destroy, paas-scale.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"

etcd_start
docker_host_start a
docker_host_start b
export PAAS_ETCD=$ETCD_ENDPOINT
E=$ETCD_ENDPOINT
SF=$SRCDIR/tests/servicefiles/deploy

count() { dep_ids "$1" | grep -c . ; }
# served DEP: "host:port" of every instance recorded in etcd.
served() { "$PAAS_T" etcd "$E" range "/paas/v1/instances/$1/" | cut -d= -f2- | jq -r '"\(.address):\(.ports."8000")"'; }
# web.yml with VERSION and the command changed to V.
version() { sed "s/VERSION: v1/VERSION: $1/" "$SF/web.yml" >"web-$1.yml"; echo "web-$1.yml"; }

test_expect_success 'hosts a and b registered' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS --label role=web &&
	paas-cluster hosts add b --docker "${HOST_URL[b]}" $TLS_OPTS --label role=web
'

test_expect_success 'three instances across the two hosts answer HTTP' '
	paas-deploy -D shop "$SF/web.yml" >out &&
	jq -e -s "map(.kind) | .[0] == \"lock\" and index(\"plan\") and index(\"release\") and .[-1] == \"done\"" out &&
	expect_eq "$(count shop)" 3 &&
	[ "$(dk a ps -q | wc -l)" -ge 1 ] && [ "$(dk b ps -q | wc -l)" -ge 1 ] &&
	served shop >addrs && expect_eq "$(wc -l <addrs)" 3 &&
	for x in $(cat addrs); do expect_eq "$(curl -fsS -m 2 http://$x/version)" v1 || return 1; done
'

test_expect_success 'the same file again: "No changes.", no container touched' '
	dep_ids shop >before &&
	paas-deploy -D shop "$SF/web.yml" >out &&
	jq -e -s "map(.kind) == [\"lock\", \"unchanged\"]" out &&
	paas-deploy -D shop --table "$SF/web.yml" >out && expect_grep "^No changes.$" out &&
	dep_ids shop >after && cmp before after
'

test_expect_success '--dry-run prints the plan and changes nothing, without the lock' '
	dep_ids shop >before &&
	paas-deploy -D shop --dry-run "$(version v2)" >out &&
	jq -e -s "length == 1 and .[0].kind == \"plan\" and .[0].dry_run and .[0].release == 2
		and (.[0].start | length) == 3 and (.[0].stop | length) == 3
		and (.[0].start | map(.host) | sort | unique) == [\"a\", \"b\"]" out &&
	dep_ids shop >after && cmp before after &&
	expect_eq "$("$PAAS_T" etcd "$E" get /paas/v1/deployments/shop/release)" 1 &&
	paas-deploy -D shop --table --dry-run "$(version v2)" >t && expect_grep "^dry run: plan for release 2: start 3, stop 3" t
'

# probe_start MIN: count the instances answering, every 50 ms, on the ports
# the plan hands out first on both hosts, until probe_stop.
probe_start() {
	local urls="" h p
	rm -f stop
	for h in a b; do for p in $(seq 30000 30007); do urls="$urls http://${HOST_IP[$h]}:$p/version"; done; done
	"$PAAS_T" -c 1000 -t 1000 probe 50 "$1" stop $urls >probe.out &
	probe_pid=$!
	at_exit "kill $probe_pid"
	sleep 0.5
}
probe_stop() { touch stop; wait $probe_pid; cat probe.out; }

test_expect_success 'a changed command rolls out one by one, start-first, no gap in 50 ms probes' '
	probe_start 3 &&
	{ paas-deploy -D shop "$(version v2)" >out; rc=$?; } && probe_stop &&
	expect_eq $rc 0 &&
	jq -e "select(.kind == \"done\") | .started == 3 and .stopped == 3" out &&
	jq -e -s "all(.time | test(\"^20[0-9][0-9]-[0-9-]+T[0-9:]+[.][0-9]{3}Z$\"))" out &&
	jq -r .time out >times && sort -c times &&
	jq -r "select(.kind == \"start\" or .kind == \"healthy\" or .kind == \"stop\") | .kind" out | tr "\n" " " >order &&
	# Each old one stops after its replacement is healthy; the stops go
	# on while the next ones start.
	expect_eq "$(sed "s/stop //g" order)" "start healthy start healthy start healthy " &&
	awk "{ for (i = 1; i <= NF; i++) { if (\$i == \"healthy\") h++; if (\$i == \"stop\" && ++s > h) exit 1 } }" order &&
	grep -q "gaps=0 " probe.out && rounds=$(sed "s/rounds=\([0-9]*\).*/\1/" probe.out) &&
	[ "$rounds" -ge 5 ] &&
	served shop >addrs && expect_eq "$(wc -l <addrs)" 3 &&
	for x in $(cat addrs); do expect_eq "$(curl -fsS -m 2 http://$x/version)" v2 || return 1; done
'

# The control of the probe above: with its one-second round, an instance
# that stops is still seen as a gap.
test_expect_success 'control: an instance stopped for 2 s shows as gaps in the same probe' '
	x=$(served shop | head -n 1) &&
	h=$(for h in a b; do [ "${HOST_IP[$h]}" = "${x%:*}" ] && echo $h; done; true) && test -n "$h" &&
	cid=$(dk $h ps -q -f label=paas.deployment=shop -f "publish=${x##*:}") && test -n "$cid" &&
	probe_start 3 &&
	dk $h stop -t 0 "$cid" >/dev/null &&
	wait_for 5 sh -c "! curl -fsS -m 1 http://$x/version" && sleep 2 &&
	dk $h start "$cid" >/dev/null &&
	wait_for 15 curl -fsS -m 1 "http://$x/version" && probe_stop &&
	grep -Eq "gaps=[1-9][0-9]* " probe.out && say "control probe: $(cat probe.out)"
'

test_expect_success 'a release that never gets healthy is rolled back: exit 1, logs, old one serves' '
	sed "s|http: /version|http: /missing|" "$(version v3)" >bad.yml &&
	dep_ids shop >before &&
	probe_start 3 &&
	{ paas-deploy -D shop bad.yml >out 2>err; rc=$?; } && probe_stop &&
	expect_eq $rc 1 &&
	expect_grep "web instance 1 on host . did not become healthy within" err &&
	expect_grep "HTTP 404 from /missing" err &&
	expect_grep "rolled back to release 2" err &&
	expect_grep "web v3 starting" err &&
	jq -e "select(.kind == \"rollback\") | .from == 3 and .to == 2" out &&
	grep -q "gaps=0 " probe.out &&
	dep_ids shop >after && cmp before after &&
	for x in $(served shop); do expect_eq "$(curl -fsS -m 2 http://$x/version)" v2 || return 1; done &&
	paas-deploy -D shop history >h &&
	jq -e -s "map(.status) == [\"ok\", \"ok\", \"failed\"] and (map(.current) == [false, true, false])" h
'

test_expect_success 'an unset ${VAR} exits 3 before anything changes' '
	sed "s|VERSION: v1|VERSION: v1, TOKEN: \"\${NOT_SET_HERE}\"|" "$SF/web.yml" >secret.yml &&
	dep_ids shop >before &&
	expect_status 3 paas-deploy -D shop secret.yml 2>err &&
	expect_grep "service web: env TOKEN: \${NOT_SET_HERE} is not set in the environment" err &&
	dep_ids shop >after && cmp before after &&
	expect_eq "$(paas-deploy -D shop history | wc -l)" 3 &&
	NOT_SET_HERE=s3cr3t-value paas-deploy -D shop --dry-run secret.yml >out &&
	! grep -q s3cr3t out
'

test_expect_success 'a plan that cannot be placed fails before anything starts, saying why' '
	sed "s|instances: 3|instances: 3\n  constraints: {role: db}|" "$SF/web.yml" >db.yml &&
	dep_ids shop >before &&
	expect_status 1 paas-deploy -D shop db.yml 2>err &&
	expect_grep "cannot place web instance 1: a: wants role=db, has role=web; b: wants role=db, has role=web" err &&
	sed "s|instances: 3|instances: 3\n  conflicts: [web]|" "$SF/web.yml" >one.yml &&
	expect_status 1 paas-deploy -D shop one.yml 2>err &&
	expect_grep "cannot place web instance 3: a: runs web (conflicts); b: runs web (conflicts)" err &&
	dep_ids shop >after && cmp before after
'

test_expect_success 'an unreachable host: exit 2 naming it, nothing changed' '
	paas-cluster hosts add c --docker tcp://127.0.0.1:$(free_port) $TLS_OPTS --no-check &&
	dep_ids shop >before &&
	expect_status 2 paas-deploy -D shop "$(version v5)" 2>err &&
	expect_grep "host c: cannot reach docker at tcp://127.0.0.1:" err &&
	paas-cluster hosts rm c &&
	dep_ids shop >after && cmp before after
'

test_expect_success 'a Servicefile whose spec is over what one etcd request takes: exit 3 naming the limit, nothing changed' '
	{ sed "/^  env:/d" "$SF/web.yml" && echo "  env:" &&
	for i in $(seq 40); do printf "    V%02d: %s\n" "$i" "$(head -c 30000 /dev/zero | tr "\0" a)"; done; } >huge.yml &&
	dep_ids shop >before &&
	expect_status 3 paas-deploy -D shop huge.yml 2>err &&
	expect_grep "the spec is 12[0-9]* bytes as stored, over the 1048576 bytes a release may hold" err &&
	dep_ids shop >after && cmp before after
'

test_expect_success 'two deploys of one deployment at once: one runs, the other exits 2 naming the holder' '
	f=$(version v6) &&
	{ (paas-deploy -D shop "$f" >o1 2>e1; echo $? >rc1) & p1=$!; } &&
	{ (paas-deploy -D shop "$f" >o2 2>e2; echo $? >rc2) & p2=$!; } &&
	wait $p1 $p2 &&
	expect_eq "$(cat rc1 rc2 | sort | tr "\n" " ")" "0 2 " &&
	cat e1 e2 | expect_grep "deployment shop is locked by .*@.* pid [0-9]* since 20" /dev/stdin &&
	for x in $(served shop); do expect_eq "$(curl -fsS -m 2 http://$x/version)" v6 || return 1; done
'

test_expect_success 'two deployments deploy in parallel without interfering' '
	dep_ids shop >before &&
	f1=$(version b1) && f2=$(version n1) &&
	{ (paas-deploy -D blog "$f1" >o1 2>e1; echo $? >rc1) & p1=$!; } &&
	{ (paas-deploy -D news "$f2" >o2 2>e2; echo $? >rc2) & p2=$!; } &&
	wait $p1 $p2 &&
	expect_eq "$(cat rc1 rc2 | tr "\n" " ")" "0 0 " &&
	expect_eq "$(count blog)" 3 && expect_eq "$(count news)" 3 &&
	for x in $(served blog); do expect_eq "$(curl -fsS -m 2 http://$x/version)" b1 || return 1; done &&
	for x in $(served news); do expect_eq "$(curl -fsS -m 2 http://$x/version)" n1 || return 1; done &&
	dep_ids shop >after && cmp before after
'

test_expect_success 'history lists every release, the current one marked' '
	paas-deploy -D shop history >h &&
	jq -e -s "map(.release) == [1, 2, 3, 4] and map(.release_kind) == [\"deploy\", \"deploy\", \"deploy\", \"deploy\"]
		and map(.current) == [false, false, false, true] and (.[3].previous == 2)" h &&
	paas-deploy -D shop --table history >t && expect_grep "^\*4 *deploy" t &&
	expect_status 1 paas-deploy -D shpo history >out 2>err && test ! -s out &&
	expect_eq "$(cat err)" "paas-deploy: deployment shpo has no release: nothing was deployed under that name"
'

test_expect_success 'rollback puts the previous release back as a new release' '
	paas-deploy -D shop rollback >out &&
	paas-deploy -D shop history | tail -n 1 | jq -e ".release == 5 and .kind == \"release\" and .release_kind == \"rollback\" and .from == 2 and .current" &&
	for x in $(served shop); do expect_eq "$(curl -fsS -m 2 http://$x/version)" v2 || return 1; done &&
	expect_eq "$(count shop)" 3 &&
	paas-deploy -D shop rollback 4 >out &&
	for x in $(served shop); do expect_eq "$(curl -fsS -m 2 http://$x/version)" v6 || return 1; done &&
	expect_status 1 paas-deploy -D shop rollback 99 2>err && expect_grep "has no release 99" err &&
	expect_eq "$(count blog)" 3
'

test_expect_success 'paas-scale web=5, web=1, web=0: counts on the hosts and keys in etcd' '
	paas-scale -D shop web=5 >out && expect_eq "$(count shop)" 5 &&
	expect_eq "$(served shop | wc -l)" 5 &&
	for x in $(served shop); do expect_eq "$(curl -fsS -m 2 http://$x/version)" v6 || return 1; done &&
	paas-scale -D shop web=1 >out && expect_eq "$(count shop)" 1 && expect_eq "$(served shop | wc -l)" 1 &&
	paas-scale -D shop web=0 >out && expect_eq "$(count shop)" 0 && expect_eq "$(served shop | wc -l)" 0 &&
	paas-deploy -D shop history | tail -n 1 | jq -e ".release_kind == \"scale\"" &&
	n=$(paas-deploy -D shop history | tail -n 1 | jq .release) && expect_eq "$n" 9 &&
	"$PAAS_T" etcd "$E" get /paas/v1/deployments/shop/releases/$n | jq -e ".spec.services.web.instances == 0" &&
	expect_status 3 paas-scale -D shop nosuch=2 2>err && expect_grep "deployment shop has no service nosuch" err &&
	expect_status 3 paas-scale -D shop web=-1 2>err &&
	paas-scale -D shop web=2 >out && expect_eq "$(count shop)" 2 &&
	expect_eq "$(count blog)" 3
'

# stopper CMD TAG: web.yml running CMD (the version written first).
stopper() {
	sed -e "s|VERSION: v1|VERSION: $2|" \
	    -e "s|exec httpd -f -p 8000 -h /www|$1|" "$SF/web.yml" >"stop-$2.yml"
	echo "stop-$2.yml"
}
IGNORE_TERM="trap '' TERM; httpd -f -p 8000 -h /www; echo after"
# kills SINCE: the signals Docker sent to containers of deployment stops.
kills() {
	for h in a b; do
		dk $h events --since "$1" --until "$(date +%s.%N)" --filter event=kill \
			--filter label=paas.deployment=stops --format "{{.Actor.Attributes.signal}}"
	done | sort | tr "\n" " "
}

test_expect_success 'a shell that is not exec'"'"'d (PID 1 would ignore SIGTERM) stops at once, not after --stop-timeout; the roll does not wait for the stops' '
	paas-deploy -D stops "$(stopper "httpd -f -p 8000 -h /www; echo after" s1)" >/dev/null &&
	since=$(date +%s.%N) &&
	timeout 50 paas-deploy -D stops --stop-timeout 60 "$(stopper "httpd -f -p 8000 -h /www; echo after" s2)" >out &&
	jq -e "select(.kind == \"done\") | .stopped == 3" out &&
	expect_eq "$(kills "$since")" "15 15 15 " &&
	expect_eq "$(dep_ids stops | wc -l)" 3
'

test_expect_success 'control: a process that ignores SIGTERM is killed after --stop-timeout, and the roll still ends' '
	paas-deploy -D stops "$(stopper "$IGNORE_TERM" s3)" >/dev/null &&
	since=$(date +%s.%N) &&
	t0=$(now_ms) &&
	paas-deploy -D stops --stop-timeout 2 "$(stopper "httpd -f -p 8000 -h /www" s4)" >out &&
	[ $(($(now_ms) - t0)) -ge 2000 ] &&
	jq -e "select(.kind == \"done\") | .stopped == 3" out &&
	expect_eq "$(kills "$since")" "15 15 15 9 9 9 " &&
	expect_eq "$(dep_ids stops | wc -l)" 3 &&
	paas-deploy -D stops destroy --yes >/dev/null
'

test_expect_success 'destroy removes every container and key of the deployment, and only those' '
	expect_status 3 paas-deploy -D shop destroy </dev/null 2>err && expect_grep "say --yes" err &&
	paas-deploy -D shop destroy --yes >out &&
	expect_eq "$(count shop)" 0 &&
	expect_eq "$("$PAAS_T" etcd "$E" range /paas/v1/deployments/shop/ | wc -l)" 0 &&
	expect_eq "$("$PAAS_T" etcd "$E" range /paas/v1/instances/shop/ | wc -l)" 0 &&
	expect_eq "$(count blog)" 3 && expect_eq "$(count news)" 3 &&
	expect_eq "$(paas-deploy -D shop history | wc -l)" 0
'

test_done
