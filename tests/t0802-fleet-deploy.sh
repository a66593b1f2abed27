#!/bin/bash
# Deployments that fleet runs (issue 16): a fleet cluster of three machines
# (systemd containers each in the network namespace of its own Docker
# engine, fleetd built from fleet's source) registered as host "fl"; its
# Global agent unit on every machine; shop deployed, rolled under a request
# loop through the router, scaled, rolled back, a failing version rolled
# back by itself, a machine stopped and one killed, and destroyed.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-docker.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-fleet.sh"
need etcd haproxy
docker_start_local
ETCD_ADDR=$DOCKER_BRIDGE_IP etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"
fleet_deploy_cluster
router_start
SF=$SRCDIR/tests/servicefiles/fleet/shop.yml
sed 's/VERSION: v1/VERSION: v2/' "$SF" >v2.yml
# units: the names of shop's units in fleet, sorted
units() { "$PAAS_T" fleet "$F" units | jq -r '.[] | .name | select(startswith("shop-"))' | sort; }
# active: how many of shop's units systemd runs
active() { "$PAAS_T" fleet "$F" states | jq '[.[] | select(.name | startswith("shop-")) | select(.systemdActiveState == "active")] | length'; }
# ctrs: shop's containers on the three engines
ctrs() { for n in 1 2 3 4; do dk "fleet$n" ps -q --filter label=paas.deployment=shop; done | wc -l; }
serves() { [ "$(via shop.test /version)" = "$1" ]; }
loop_start() {
	( while :; do
		c=$(curl -s -o /dev/null -w "%{http_code}" -m 5 -H "Host: shop.test" "http://127.0.0.1:$ROUTER_PORT/version")
		echo "$c"
	done >"$1" ) &
	LOOP=$!
	at_exit "kill $LOOP 2>/dev/null"
}
loop_stop() { kill "$LOOP"; wait "$LOOP" 2>/dev/null; true; }
# on UNIT: the number of the machine fleet runs UNIT on
on() { local id; id=$("$PAAS_T" fleet "$F" states - "$1" | jq -r '.[0].machineID // empty') && [ -n "$id" ] && echo $((16#$id)); }
# announced N: how many of shop's web instances are announced healthy
announced() { "$PAAS_T" etcd "$PAAS_ETCD" range /paas/v1/announce/shop/web/ 2>/dev/null | grep -c '"healthy":true'; }

# moved UNIT N: UNIT runs on a machine other than N, and shop's two
# instances are active and announced healthy
moved() { local n; n=$(on "$1") && [ "$n" != "$2" ] && [ "$(active)" = 2 ] && [ "$(announced)" = 2 ]; }
# gone_from KEY IP: the announcement KEY is gone or no longer at IP
gone_from() { ! "$PAAS_T" etcd "$PAAS_ETCD" get "$1" 2>/dev/null | grep -qF "\"$2\""; }
# back_elsewhere KEY IP: the announcement KEY is there, at another address
back_elsewhere() {
	local v
	v=$("$PAAS_T" etcd "$PAAS_ETCD" get "$1" 2>/dev/null) && [ -n "$v" ] &&
	! printf '%s' "$v" | grep -qF "\"$2\""
}
# check's summary lines, every 0.2 s, into ./checks, until checks_stop
checks_start() {
	( while :; do paas-cluster check --timeout 5 2>&1 | head -n 1; sleep 0.2; done >checks ) &
	CK=$!
	at_exit "kill $CK 2>/dev/null"
}
checks_stop() { kill "$CK"; wait "$CK" 2>/dev/null; true; }


test_expect_success 'hosts add --fleet: an unreachable fleet is exit 2, nothing recorded' '
	expect_status 2 paas-cluster hosts add fl --fleet http://127.0.0.1:1 \
		--agent-etcd "$PAAS_ETCD" 2>err &&
	expect_grep "host fl not added" err &&
	! paas-cluster hosts ls --json | grep -q "\"fl\""
'

test_expect_success 'hosts add fl --fleet: the Global agent unit registers on all four machines' '
	paas-cluster --json hosts add fl --fleet "$F" --agent-etcd "$PAAS_ETCD" \
		--agent-docker unix:///run/docker-host/docker.sock >add.json &&
	cat add.json &&
	expect_eq "$(jq -r "select(.kind == \"agent\") | .agents" add.json)" 4 &&
	for n in 1 2 3 4; do
		expect_eq "$(fm $n systemctl is-active paas-agent-fl.service)" active || return 1
	done &&
	"$PAAS_T" etcd "$PAAS_ETCD" get "/paas/v1/agents/fl-$(printf %032x 2)" &&
	paas-cluster hosts ls --json >hosts.json &&
	expect_eq "$(jq -r "select(.name == \"fl\") | .fleet" hosts.json)" "$F"
'

test_expect_success 'deploy: two versioned units on two machines, served through the router' '
	paas-deploy -D shop "$SF" >d1.json 2>err || { cat err; false; } &&
	units >u1 && cat u1 &&
	expect_eq "$(wc -l <u1)" 2 &&
	grep -q "^shop-web@[0-9a-f]\{8\}-1-[0-9]*.service$" u1 &&
	grep -q "^shop-web@[0-9a-f]\{8\}-2-[0-9]*.service$" u1 &&
	expect_eq "$(jq -s "map(select(.kind == \"announced\")) | length" d1.json)" 2 &&
	wait_for 20 eval "[ \$(active) = 2 ]" &&
	wait_for 10 serves v1 &&
	paas-deploy -D shop ps --json >ps.json &&
	expect_eq "$(jq -s "map(select(.kind == \"instance\" and .host == \"fl\" and .running == true)) | length" ps.json)" 2
'

test_expect_success 'a service with 300 variables goes through fleet'"'"'s API and runs with every one exact' '
	{ printf "many:\n  image: paas-test:1\n  cmd: [sleep, \"3600\"]\n  constraints: {role: web}\n  env:\n"
	  for i in $(seq 300); do printf "    VARIABLE_NUMBER_%03d: \"value %d 100%% sure\"\n" "$i" "$i"; done; } >many.yml &&
	paas-deploy -D many many.yml >m.json 2>err || { cat err; false; } &&
	u=$("$PAAS_T" fleet "$F" units | jq -r ".[].name | select(startswith(\"many-\"))") &&
	wait_for 20 eval "n=\$(on \"\$u\") && c=\$(dk \"fleet\$n\" ps -q --filter label=paas.deployment=many) && [ -n \"\$c\" ] && dk \"fleet\$n\" exec \"\$c\" env >env" ||
		{ say "unit $u, machine ${n:-?}, container ${c:-none}"; false; } &&
	expect_eq "$(grep -c "^VARIABLE_NUMBER_" env)" 300 &&
	expect_grep "^VARIABLE_NUMBER_300=value 300 100% sure$" env &&
	paas-deploy -D many destroy --yes >/dev/null
'

test_expect_success 'logs of a fleet instance: fleet does not serve them; the unit to read is named' '
	! paas-deploy -D shop logs web.1 2>err &&
	expect_grep "journalctl -u shop-web@" err
'

test_expect_success 'the same Servicefile again: No changes., the units untouched' '
	paas-deploy -D shop "$SF" >d2.json 2>&1 &&
	expect_eq "$(jq -r "select(.kind == \"unchanged\") | .release" d2.json)" 1 &&
	script -qec "paas-deploy -D shop $SF" /dev/null >tty.out 2>&1 &&
	expect_grep "No changes" tty.out &&
	units >u2 && test_cmp u1 u2
'

test_expect_success 'a rolling update under a request loop: 0 failed requests, old units gone' '
	loop_start codes &&
	paas-deploy -D shop v2.yml >d3.json 2>err || { cat err; false; } &&
	wait_for 10 serves v2 &&
	loop_stop &&
	say "$(wc -l <codes) requests during the roll, $(grep -vc "^200$" codes) failed" &&
	expect_eq "$(grep -vc "^200$" codes)" 0 &&
	[ "$(wc -l <codes)" -gt 20 ] &&
	units >u3 && expect_eq "$(wc -l <u3)" 2 &&
	! grep -qxFf u1 u3 &&
	wait_for 20 eval "[ \$(ctrs) = 2 ]"
'

test_expect_success 'scale up to 3 (a new instance number) and down to 1' '
	paas-scale -D shop web=3 >s1.json 2>err || { cat err; false; } &&
	units >u4 && expect_eq "$(wc -l <u4)" 3 &&
	grep -q "^shop-web@[0-9a-f]\{8\}-3-[0-9]*.service$" u4 &&
	wait_for 20 eval "[ \$(active) = 3 ]" &&
	paas-scale -D shop web=1 >s2.json 2>err || { cat err; false; } &&
	units >u5 && expect_eq "$(wc -l <u5)" 1 &&
	wait_for 20 eval "[ \$(ctrs) = 1 ]" &&
	serves v2
'

test_expect_success 'rollback: release 1 again (v1, two instances)' '
	paas-deploy -D shop rollback 1 >r.json 2>err || { cat err; false; } &&
	wait_for 10 serves v1 &&
	units >u6 && expect_eq "$(wc -l <u6)" 2 &&
	paas-deploy -D shop history --json >h.json &&
	cat h.json
'

test_expect_success 'a version that never becomes healthy is rolled back; the old one serves on' '
	sed -e "s/VERSION: v1/VERSION: v3/" -e "s|exec httpd|exit 3; exec httpd|" "$SF" >bad.yml &&
	expect_status 1 paas-deploy -D shop bad.yml >b.json 2>err &&
	cat err &&
	units >u7 && test_cmp u6 u7 &&
	serves v1
'

test_expect_success 'status and check: the machines with their agents, the units and their states' '
	paas-cluster status --json >st.json &&
	jq -c "select(.kind == \"host\")" st.json &&
	expect_eq "$(jq -r "select(.kind == \"host\" and .name == \"fl\") | .machines | length" st.json)" 4 &&
	expect_eq "$(jq -r "select(.kind == \"host\" and .name == \"fl\") | .agent" st.json)" true &&
	expect_eq "$(jq -r "select(.kind == \"host\" and .name == \"fl\") | [.units[] | select(.state == \"active\" and (.name | startswith(\"shop-\")))] | length" st.json)" 2 &&
	script -qec "paas-cluster status" /dev/null >st.txt && cat st.txt &&
	expect_grep "MACHINE" st.txt && expect_grep "shop-web@" st.txt &&
	paas-cluster check >chk && cat chk && expect_grep "^PAAS OK" chk
'

test_expect_success 'a machine stopped: its instance comes back on another machine and is served' '
	u=$(units | head -n 1) && m=$(on "$u") && say "stopping machine $m, which runs $u" &&
	loop_start codes2 &&
	t0=$(now_ms) && fleet_machine_stop "$m" &&
	wait_for 90 moved "$u" "$m" && t1=$(now_ms) &&
	loop_stop &&
	n2=$(on "$u") && [ -n "$n2" ] && [ "$n2" != "$m" ] &&
	say "$u back on machine $n2, announced $((t1 - t0)) ms after the stop; $(grep -vc "^200$" codes2) of $(wc -l <codes2) requests failed" &&
	serves v1 &&
	wait_for 20 eval "paas-cluster check >chk2" && cat chk2
'

test_expect_success 'a machine killed: the router drops its instance within the lease TTL, fleet moves it, check says so' '
	u=$(for x in $(units); do n=$(on "$x") && [ "$n" != 1 ] && echo "$x" && break; done) &&
	m=$(on "$u") && say "killing machine $m, which runs $u" &&
	frag=${u#*@} && frag=${frag%.service} &&
	key=$("$PAAS_T" etcd "$PAAS_ETCD" range /paas/v1/announce/shop/web/ | cut -d= -f1 | grep "/$frag\$") &&
	[ -n "$key" ] &&
	ip=${FLEET_IP[$m]} &&
	checks_start &&
	t0=$(now_ms) && fleet_machine_kill "$m" &&
	for c in $(dk "fleet$m" ps -q --filter label=paas.deployment=shop); do dk "fleet$m" rm -f "$c" >/dev/null || return 1; done &&
	wait_for 30 gone_from "$key" "$ip" &&
	t1=$(now_ms) &&
	say "the lost instance withdrawn $((t1 - t0)) ms after the kill (agent lease TTL 10 s)" &&
	[ $((t1 - t0)) -lt 16000 ] &&
	wait_for 90 back_elsewhere "$key" "$ip" && tb=$(now_ms) &&
	wait_for 90 moved "$u" "$m" && t2=$(now_ms) &&
	n2=$(on "$u") && [ "$n2" != "$m" ] &&
	say "$u running again on machine $n2 and announced $((t2 - t0)) ms after the kill" &&
	serves v1 &&
	wait_for 20 eval "paas-cluster check >chk4" && cat chk4 &&
	checks_stop && sed "s/ time=.*//" checks | sort | uniq -c | sort -rn | head -n 5 >seen &&
	say "what check said meanwhile:" && while read -r l; do say "  $l"; done <seen &&
	if [ $((tb - t1)) -ge 1000 ]; then
		# Nothing announced it for a second or more: check said so.
		grep -q "WARNING.*\(shop/web\|unit shop-web@\|runs no agent\)" checks
	else
		say "announced again on machine $n2 $((tb - t1)) ms after the withdrawal: nothing for check to see"
	fi
'

test_expect_success 'destroy: no unit, no container' '
	paas-deploy -D shop destroy --yes >x.json 2>err || { cat err; false; } &&
	expect_eq "$(units | wc -l)" 0 &&
	wait_for 20 eval "[ \$(ctrs) = 0 ]" &&
	expect_eq "$(announced)" 0
'

test_expect_success 'hosts rm fl: the agent unit leaves every machine' '
	paas-cluster hosts rm fl &&
	! "$PAAS_T" fleet "$F" units | jq -r ".[].name" | grep -q paas-agent &&
	wait_for 20 eval "! fm 1 systemctl is-active -q paas-agent-fl.service"
'

test_done
