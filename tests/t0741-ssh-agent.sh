#!/bin/bash
# hosts add --ssh (issue 17): on a bare host (a systemd machine sharing the
# network namespace of a test host, with that host's dockerd, an OpenSSH
# server and nothing of paas-tools), hosts add NAME --ssh root@ADDR checks
# Docker there, copies the agent over the SSH session and runs it as a
# systemd service (restarted on failure); the agent registers in etcd and
# announces the host's instances; a second run changes nothing (no file
# written, no restart); hosts rm stops it and removes its files.  An agent
# that could not reach etcd (a loopback endpoint) is refused before
# anything is done.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
. "$SRCDIR/tests/lib-ssh.sh"
docker_host_start b
# etcd on the test bridge, where the host's agent reaches it too.
ETCD_ADDR=$_net_prefix.1 etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
ssh_key op
cp "$TEST_TMP/op.pub" "$TEST_TMP/authorized_keys"
export PAAS_SSH_KEY=$TEST_TMP/op PAAS_SSH_KNOWN_HOSTS=$TEST_TMP/known_hosts
unset SSH_AUTH_SOCK
IP=${HOST_IP[b]}
. "$SRCDIR/tests/lib-machine.sh"
ssh_machine_start b "$TEST_TMP/authorized_keys"
ADD=(paas-cluster --json hosts add b --ssh "root@$IP" --agent-docker unix:///run/docker-host/docker.sock)
mpid() { mx m-b systemctl show --property=MainPID --value paas-agent; }
restarted() { local p; p=$(mpid); [ "$p" != 0 ] && [ "$p" != "$1" ]; }
# the agent's registration (its leased key): 1 or 0
agent_key() {
	curl -fsS -m 3 "$ETCD_ENDPOINT/v3/kv/range" -d "{\"key\":\"$(printf /paas/v1/agents/b | base64)\"}" |
		jq -r ".count // 0"
}
# the pid it registered with
agent_pid() {
	curl -fsS -m 3 "$ETCD_ENDPOINT/v3/kv/range" -d "{\"key\":\"$(printf /paas/v1/agents/b | base64)\"}" |
		jq -r ".kvs[0].value // empty" | base64 -d | jq -r .pid
}
key_is() { [ "$(agent_key)" = "$1" ]; }
pid_is() { [ "$(agent_pid)" = "$1" ]; }

test_expect_success 'an agent that would be given a loopback etcd: refused, exit 3, nothing done' '
	expect_status 3 "${ADD[@]}" --accept-new-host-key --agent-etcd http://127.0.0.1:2379 2>err &&
	cat err && expect_grep "cannot use etcd at http://127.0.0.1:2379" err &&
	! paas-cluster hosts ls | jq -e "select(.name == \"b\")" >/dev/null &&
	! mx m-b test -e /etc/systemd/system/paas-agent.service
'

test_expect_success 'hosts add --ssh: the agent copied, enabled and active under systemd, registered' '
	"${ADD[@]}" --accept-new-host-key >add.out 2>add.err || { cat add.err; false; } &&
	cat add.out &&
	jq -e "select(.kind == \"agent\") | .host == \"b\" and .state == \"installed\"" add.out &&
	expect_eq "$(mx m-b systemctl is-active paas-agent)" active &&
	expect_eq "$(mx m-b systemctl is-enabled paas-agent)" enabled &&
	expect_eq "$(mx m-b stat -c %a /etc/default/paas-agent)" 600 &&
	cmp <(mx m-b cat /opt/paas-tools/bin/paas-cluster) "$BUILDDIR/paas-cluster" &&
	expect_eq "$(agent_key)" 1 &&
	paas-cluster --json status >st.json &&
	jq -e -s "map(select(.kind == \"host\" and .name == \"b\"))[0] | .reachable and .agent" st.json
'

test_expect_success 'run again: nothing written, nothing restarted' '
	was=$(mpid) && t0=$(mx m-b stat -c %Y /etc/default/paas-agent) &&
	"${ADD[@]}" >again.out && cat again.out &&
	jq -e "select(.kind == \"agent\") | .state == \"unchanged\"" again.out &&
	expect_eq "$(mpid)" "$was" &&
	expect_eq "$(mx m-b stat -c %Y /etc/default/paas-agent)" "$t0"
'

test_expect_success 'a killed agent: systemd starts it again and it registers again (its pid)' '
	was=$(mpid) &&
	mx m-b systemctl kill --signal=KILL paas-agent &&
	wait_for 20 restarted "$was" &&
	now=$(mpid) &&
	wait_for 20 pid_is "$now"
'

test_expect_success 'a deployment on the host: the agent there announces its instances' '
	sed "s/instances: 1/instances: 2/" "$SRCDIR/tests/servicefiles/cluster/small.yml" >two.yml &&
	paas-deploy -D app two.yml >dep.out 2>dep.err || { cat dep.err; false; } &&
	wait_for 30 sh -c "paas-cluster --json status 2>/dev/null | jq -e -s \"map(select(.kind == \\\"service\\\"))[0].instances_announced == 2\" >/dev/null" &&
	paas-deploy -D app destroy --yes >/dev/null
'

test_expect_success 'hosts rm: the agent stopped, its unit and files gone, the record removed' '
	paas-cluster hosts rm b &&
	expect_eq "$(mx m-b systemctl is-active paas-agent)" inactive &&
	! mx m-b test -e /etc/systemd/system/paas-agent.service &&
	! mx m-b test -e /opt/paas-tools/bin/paas-cluster &&
	! mx m-b test -e /etc/default/paas-agent &&
	! paas-cluster hosts ls | jq -e "select(.name == \"b\")" >/dev/null &&
	wait_for 15 key_is 0
'

test_expect_success 'hosts rm of a host whose agent cannot be reached: kept (exit 2), --force removes the record with a warning' '
	"$PAAS_T" etcd "$PAAS_ETCD" put /paas/v1/hosts/ghost \
		"{\"name\":\"ghost\",\"docker\":\"ssh://root@127.0.0.1:1\",\"tls\":null,\"insecure\":false,\"labels\":{},\"cpu_milli\":null,\"memory_bytes\":null,\"address\":null,\"managed_agent\":true}" &&
	expect_status 2 paas-cluster hosts rm ghost 2>err &&
	expect_grep "host ghost kept (--force removes its record anyway)" err &&
	paas-cluster hosts ls | jq -e "select(.name == \"ghost\")" >/dev/null &&
	paas-cluster hosts rm ghost --force 2>err &&
	expect_grep "^paas-cluster: warning: .*ssh.*127.0.0.1.*; its record is removed anyway" err &&
	! paas-cluster hosts ls | jq -e "select(.name == \"ghost\")" >/dev/null
'

test_done
