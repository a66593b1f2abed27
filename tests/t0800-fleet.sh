#!/bin/bash
# libpaas's fleet client against a real fleetd (issue 16): two machines
# (systemd containers, fleetd built from fleet's source), machines with
# their metadata, units submitted, scheduled, started, stopped and
# destroyed, unit states by machine and unit, fleet's errors worded, and
# fleetctl seeing what the client did.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-docker.sh"
. "$SRCDIR/tests/lib-fleet.sh"
docker_start_local
fleet_two_machines
M1=$(printf '%032x' 1)
fl() { "$PAAS_T" fleet "$F" "$@"; }
opts() {
	jq -cn --arg v "$1" --arg m "${2:-}" '[{section: "Service", name: "ExecStart", value: $v}]
		+ (if $m == "" then [] else [{section: "X-Fleet", name: "MachineMetadata", value: $m}] end)'
}
# state UNIT: the unit's systemd active state, as fleet reports it
active() { fl states - "$1" | jq -r '.[0].systemdActiveState // "none"'; }

test_expect_success 'machines: both, with their metadata, over TCP and over the unix socket' '
	fl machines >m.json &&
	expect_eq "$(jq length m.json)" 2 &&
	expect_eq "$(jq -r ".[] | select(.id == \"$M1\") | .metadata.host" m.json)" fleet1 &&
	expect_eq "$(jq -r ".[0].metadata.role" m.json)" web &&
	"$PAAS_T" fleet "${FLEET_SOCK[2]}" machines >s.json && test_cmp m.json s.json
'

test_expect_success 'a unit submitted and launched runs on the machine its metadata names' '
	fl put hello@1.service launched "$(opts "/bin/sleep 3600" host=fleet2)" &&
	wait_for 30 sh -c "[ \"\$(\"$PAAS_T\" fleet $F states - hello@1.service | jq -r \".[0].systemdActiveState\")\" = active ]" &&
	fl unit hello@1.service >u.json &&
	expect_eq "$(jq -r .currentState u.json)" launched &&
	expect_eq "$(jq -r .machineID u.json)" "$(printf %032x 2)" &&
	expect_eq "$(jq -r ".options[0].value" u.json)" "/bin/sleep 3600" &&
	fm 2 systemctl is-active hello@1.service &&
	fleetctl list-units --no-legend | grep -q "hello@1.service"
'

test_expect_success 'states filtered by machine and by unit; units listed' '
	expect_eq "$(fl states "$(printf %032x 2)" | jq -r ".[].name")" hello@1.service &&
	expect_eq "$(fl states "$M1" | jq length)" 0 &&
	expect_eq "$(fl units | jq -r ".[].name")" hello@1.service
'

test_expect_success 'desired state inactive stops it; launched again starts it' '
	fl put hello@1.service inactive &&
	wait_for 30 sh -c "! \"$PAAS_T\" fleet $F states - hello@1.service | grep -q hello" &&
	! fm 2 systemctl is-active hello@1.service &&
	expect_eq "$(fl unit hello@1.service | jq -r .currentState)" inactive &&
	fl put hello@1.service launched &&
	wait_for 30 sh -c "[ \"\$(\"$PAAS_T\" fleet $F states - hello@1.service | jq -r \".[0].systemdActiveState\")\" = active ]"
'

test_expect_success 'fleet errors worded: a missing unit, a state change of one, a template launched' '
	expect_eq "$(fl unit nope.service)" null &&
	expect_status 1 fl put nope.service launched 2>err &&
	expect_grep "no such unit, and no options to create it with" err &&
	expect_grep "fleet at $F" err &&
	fl put tpl@.service inactive "$(opts /bin/true)" &&
	expect_status 1 fl put tpl@.service launched 2>err &&
	expect_grep "cannot activate template" err &&
	expect_status 3 fl put x.service running "$(opts /bin/true)" 2>err &&
	expect_grep "expected inactive, loaded or launched" err &&
	expect_eq "$(fl delete nope.service)" 0
'

test_expect_success 'a value with spaces, quotes and % arrives exact' '
	v="/bin/sh -c '\''echo \"a  b\" 100%% >/tmp/v; exec sleep 3600'\''" &&
	fl put quote.service launched "$(opts "$v" host=fleet1)" &&
	wait_for 30 fm 1 test -s /tmp/v &&
	expect_eq "$(fl unit quote.service | jq -r ".options[0].value")" "$v" &&
	expect_eq "$(fm 1 cat /tmp/v)" "a  b 100%"
'

test_expect_success 'more units than one page (fleet gives 100): every page read' '
	o=$(opts /bin/true) &&
	for i in $(seq 101 230); do fl put "many@$i.service" inactive "$o" || return 1; done &&
	fl units >all.json &&
	expect_eq "$(jq "[.[] | select(.name | startswith(\"many@\"))] | length" all.json)" 130 &&
	expect_eq "$(jq "[.[].name] | unique | length" all.json)" "$(jq length all.json)" &&
	for i in $(seq 101 230); do fl delete "many@$i.service" >/dev/null || return 1; done
'

test_expect_success 'destroy: gone from fleet, stopped on the machine; a second destroy finds none' '
	expect_eq "$(fl delete hello@1.service)" 1 &&
	wait_for 30 sh -c "! docker -H $DOCKER_URL exec fleet2 systemctl is-active hello@1.service" &&
	expect_eq "$(fl unit hello@1.service)" null &&
	expect_eq "$(fl delete hello@1.service)" 0 &&
	fl delete quote.service >/dev/null && fl delete tpl@.service >/dev/null &&
	expect_eq "$(fl units)" "[]"
'

test_expect_success 'over SSH, as fleetctl --tunnel: fleetctl fd-forward on exec channels' '
	. "$SRCDIR/tests/lib-ssh.sh" && ssh_key op &&
	SSHD_ROOT_LOGIN=prohibit-password sshd_start "$TEST_TMP/op.pub" "SetEnv PATH=$FLEET_BIN:/usr/bin:/bin" &&
	echo "[127.0.0.1]:$SSH_PORT $(cut -d" " -f1,2 "$TEST_TMP/sshd/host_key.pub")" >kh &&
	export PAAS_SSH_KEY=$TEST_TMP/op PAAS_SSH_KNOWN_HOSTS=$PWD/kh && unset SSH_AUTH_SOCK &&
	S="ssh://root@127.0.0.1:$SSH_PORT${FLEET_SOCK[1]#unix://}" &&
	"$PAAS_T" fleet "$S" machines >ssh.json && fl machines >m.json && test_cmp m.json ssh.json &&
	"$PAAS_T" fleet "$S" units | jq -S "map(.name)" >u1 && fl units | jq -S "map(.name)" >u2 && test_cmp u2 u1 &&
	expect_status 3 "$PAAS_T" fleet "ssh://root@127.0.0.1:$SSH_PORT/run/fleet;reboot" units 2>err &&
	expect_grep "the socket.s path holds letters" err &&
	expect_status 2 "$PAAS_T" fleet "ssh://root@127.0.0.1:$SSH_PORT/nonexistent/fleet.sock" units 2>err &&
	cat err && expect_grep "fleet at ssh://root@127.0.0.1:$SSH_PORT" err
'

test_expect_success 'an unreachable fleet: exit 2, naming it' '
	expect_status 2 "$PAAS_T" -c 500 fleet "http://$DOCKER_BRIDGE_IP:1" units 2>err &&
	expect_grep "cannot reach fleet at http://$DOCKER_BRIDGE_IP:1" err
'

test_done
