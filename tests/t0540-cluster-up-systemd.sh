#!/bin/bash
# paas-cluster up --systemd (issue 18): on a machine whose init is systemd
# (a container of scripts/fleet-machine-image with this machine's /usr and
# the tree of make install), up runs etcd, the registry, the agent and the
# router as the installed units, enabled, with their settings in
# /etc/default/paas-NAME; run again it changes nothing; systemd restarts a
# killed agent; down stops and disables them and keeps the data, and the
# next up serves the same cluster.  Where systemd does not run, --systemd
# is refused before anything is recorded.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
need make
docker_start_local
. "$SRCDIR/tests/lib-machine.sh"
docker_host_start sd
INST=$TEST_TMP/inst
UNITS="paas-etcd paas-registry paas-agent paas-router"
pids() { mx pm systemctl show --property=MainPID --value $UNITS | tr "\n" " "; }

test_expect_success 'where systemd does not run: refused, exit 1, nothing recorded' '
	if [ -d /run/systemd/system ]; then echo "# this machine runs systemd: skipped"; else
		expect_status 1 paas-cluster up --systemd --state-dir "$TEST_TMP/nosd" 2>err &&
		expect_grep "systemd does not run this machine" err &&
		test ! -e "$TEST_TMP/nosd/cluster.json"
	fi
'

test_expect_success 'setup: make install, a systemd machine with it and a Docker engine' '
	make -s -C "$BUILDDIR" install prefix=/usr/local DESTDIR="$INST" >install.log 2>&1 &&
	machine_run pm -v /usr:/usr:ro -v "$INST/usr/local:/usr/local:ro" \
		-v /etc/ld.so.cache:/etc/ld.so.cache:ro \
		-v "$(dirname "${HOST_SOCK[sd]}"):/run/docker-host" &&
	wait_for 60 sh -c "DOCKER_API_VERSION=1.41 docker -H $DOCKER_URL exec pm systemctl is-system-running 2>/dev/null | grep -q \"running\|degraded\"" &&
	mx pm systemctl cat paas-agent.service >/dev/null
'

test_expect_success 'up --systemd: the four units enabled and active, their settings written' '
	mx pm paas-cluster --json up --systemd --docker unix:///run/docker-host/docker.sock >up.out 2>up.err ||
		{ cat up.err; mx pm journalctl --no-pager -n 30; false; } &&
	cat up.out &&
	expect_eq "$(jq -r "select(.state == \"started\") | .component" up.out | sort | tr "\n" " ")" \
		"agent etcd registry router " &&
	expect_eq "$(mx pm systemctl is-active $UNITS | tr "\n" " ")" "active active active active " &&
	expect_eq "$(mx pm systemctl is-enabled $UNITS | tr "\n" " ")" "enabled enabled enabled enabled " &&
	mx pm cat /etc/default/paas-agent >agent.env && cat agent.env &&
	expect_grep "^AGENT_ARGS=\"--host local\"$" agent.env &&
	expect_grep "^PAAS_STATE_DIR=/var/lib/paas$" agent.env &&
	mx pm cat /etc/default/paas-etcd >etcd.env && expect_grep "^ETCD_DATA_DIR=/var/lib/paas/etcd$" etcd.env &&
	! mx pm test -e /var/lib/paas/agent.pid
'

test_expect_success 'the cluster answers: status from inside, the router on port 80' '
	wait_for 20 sh -c "DOCKER_API_VERSION=1.41 docker -H $DOCKER_URL exec pm paas-cluster --json status >st.json 2>/dev/null; jq -e -s \"map(select(.kind == \\\"router\\\" and .name == \\\"local\\\")) | length == 1\" st.json >/dev/null" &&
	jq -e -s "map(select(.kind == \"etcd\"))[0] | .quorum and .members_healthy == 1" st.json &&
	jq -e -s "map(select(.kind == \"host\"))[0] | .name == \"local\" and .reachable and .agent" st.json &&
	jq -e -s "map(select(.kind == \"registry\"))[0].reachable" st.json &&
	expect_eq "$(curl -sS -m 5 -o /dev/null -w "%{http_code}" -H "Host: none.test" "http://${MACHINE_IP[pm]}/")" 404
'

test_expect_success 'up again: every component running, no unit restarted' '
	before=$(pids) &&
	mx pm paas-cluster --json up --systemd >again.out &&
	expect_eq "$(jq -r "select(.pid) | .component + \" \" + .state" again.out | sort | tr "\n" ",")" \
		"agent running,etcd running,registry running,router running," &&
	! jq -e -s "any(.state == \"started\" or .state == \"stopped\")" again.out >/dev/null &&
	expect_eq "$(pids)" "$before"
'

test_expect_success 'a killed agent: systemd starts it again' '
	was=$(mx pm systemctl show --property=MainPID --value paas-agent) &&
	mx pm systemctl kill --signal=KILL paas-agent &&
	wait_for 15 sh -c "p=\$(DOCKER_API_VERSION=1.41 docker -H $DOCKER_URL exec pm systemctl show --property=MainPID --value paas-agent); [ \"\$p\" != 0 ] && [ \"\$p\" != $was ]" &&
	wait_for 15 sh -c "DOCKER_API_VERSION=1.41 docker -H $DOCKER_URL exec pm systemctl is-active --quiet paas-agent"
'

test_expect_success 'down: the units stopped and disabled, the data kept; up serves it again' '
	mx pm paas-cluster --json down >down.out &&
	expect_eq "$(mx pm systemctl is-active $UNITS | tr "\n" " ")" "inactive inactive inactive inactive " &&
	expect_eq "$(mx pm systemctl is-enabled $UNITS | tr "\n" " ")" "disabled disabled disabled disabled " &&
	mx pm test -s /var/lib/paas/cluster.json && mx pm test -d /var/lib/paas/etcd/member &&
	mx pm paas-cluster --json up >up2.out &&
	expect_eq "$(jq -r "select(.state == \"started\") | .component" up2.out | sort | tr "\n" " ")" \
		"agent etcd registry router " &&
	expect_eq "$(mx pm systemctl is-active $UNITS | tr "\n" " ")" "active active active active " &&
	mx pm paas-cluster hosts ls | jq -e "select(.name == \"local\")" >/dev/null
'

test_done
