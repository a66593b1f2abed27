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
# The machine: a container of host b's own dockerd in b's network
# namespace, with this machine's /usr (sshd, docker, systemd) read-only.
DOCKER_URL=unix://${HOST_SOCK[b]}
. "$SRCDIR/tests/lib-machine.sh"
S=$TEST_TMP/sshd-conf
mkdir -p "$S"
ssh-keygen -q -t ed25519 -N "" -f "$S/host_key" >/dev/null || bail_out "no host key"
cp "$TEST_TMP/authorized_keys" "$S/authorized_keys"
cat >"$S/sshd_config" <<EOF
Port 22
ListenAddress $IP
HostKey /etc/paas-test/host_key
AuthorizedKeysFile /etc/paas-test/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
SetEnv DOCKER_HOST=unix:///run/docker-host/docker.sock DOCKER_API_VERSION=1.41
EOF
MACHINE_NET=host machine_run hostb -v /usr:/usr:ro -v /etc/ld.so.cache:/etc/ld.so.cache:ro \
	-v "$(dirname "${HOST_SOCK[b]}"):/run/docker-host" -v "$S:/etc/paas-test:ro"
wait_for 60 sh -c "DOCKER_API_VERSION=1.41 docker -H $DOCKER_URL exec hostb systemctl is-system-running 2>/dev/null | grep -q 'running\|degraded'" ||
	bail_out "the machine's systemd did not come up"
{ mx hostb useradd -r -M -d /run/sshd -s /usr/sbin/nologin sshd; mx hostb mkdir -p /run/sshd; } >>"$TEST_LOG" 2>&1
mx hostb /usr/sbin/sshd -f /etc/paas-test/sshd_config -E /var/log/sshd.log ||
	bail_out "cannot start sshd on the machine"
wait_for 10 bash -c "exec 3<>/dev/tcp/$IP/22" 2>/dev/null || bail_out "the machine's sshd does not answer"
ADD=(paas-cluster --json hosts add b --ssh "root@$IP" --agent-docker unix:///run/docker-host/docker.sock)
mpid() { mx hostb systemctl show --property=MainPID --value paas-agent; }
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
export -f agent_key agent_pid
export ETCD_ENDPOINT

test_expect_success 'an agent that would be given a loopback etcd: refused, exit 3, nothing done' '
	expect_status 3 "${ADD[@]}" --accept-new-host-key --agent-etcd http://127.0.0.1:2379 2>err &&
	cat err && expect_grep "cannot use etcd at http://127.0.0.1:2379" err &&
	! paas-cluster hosts ls | jq -e "select(.name == \"b\")" >/dev/null &&
	! mx hostb test -e /etc/systemd/system/paas-agent.service
'

test_expect_success 'hosts add --ssh: the agent copied, enabled and active under systemd, registered' '
	"${ADD[@]}" --accept-new-host-key >add.out 2>add.err || { cat add.err; false; } &&
	cat add.out &&
	jq -e "select(.kind == \"agent\") | .host == \"b\" and .state == \"installed\"" add.out &&
	expect_eq "$(mx hostb systemctl is-active paas-agent)" active &&
	expect_eq "$(mx hostb systemctl is-enabled paas-agent)" enabled &&
	expect_eq "$(mx hostb stat -c %a /etc/default/paas-agent)" 600 &&
	cmp <(mx hostb cat /opt/paas-tools/bin/paas-cluster) "$BUILDDIR/paas-cluster" &&
	expect_eq "$(agent_key)" 1 &&
	paas-cluster --json status >st.json &&
	jq -e -s "map(select(.kind == \"host\" and .name == \"b\"))[0] | .reachable and .agent" st.json
'

test_expect_success 'run again: nothing written, nothing restarted' '
	was=$(mpid) && t0=$(mx hostb stat -c %Y /etc/default/paas-agent) &&
	"${ADD[@]}" >again.out && cat again.out &&
	jq -e "select(.kind == \"agent\") | .state == \"unchanged\"" again.out &&
	expect_eq "$(mpid)" "$was" &&
	expect_eq "$(mx hostb stat -c %Y /etc/default/paas-agent)" "$t0"
'

test_expect_success 'a killed agent: systemd starts it again and it registers again (its pid)' '
	was=$(mpid) &&
	mx hostb systemctl kill --signal=KILL paas-agent &&
	wait_for 20 sh -c "p=\$(DOCKER_API_VERSION=1.41 docker -H $DOCKER_URL exec hostb systemctl show --property=MainPID --value paas-agent); [ \"\$p\" != 0 ] && [ \"\$p\" != $was ]" &&
	now=$(mpid) &&
	wait_for 20 bash -c "[ \"\$(agent_pid)\" = $now ]"
'

test_expect_success 'a deployment on the host: the agent there announces its instances' '
	sed "s/instances: 1/instances: 2/" "$SRCDIR/tests/servicefiles/cluster/small.yml" >two.yml &&
	paas-deploy -D app two.yml >dep.out 2>dep.err || { cat dep.err; false; } &&
	wait_for 30 sh -c "paas-cluster --json status 2>/dev/null | jq -e -s \"map(select(.kind == \\\"service\\\"))[0].instances_announced == 2\" >/dev/null" &&
	paas-deploy -D app destroy --yes >/dev/null
'

test_expect_success 'hosts rm: the agent stopped, its unit and files gone, the record removed' '
	paas-cluster hosts rm b &&
	expect_eq "$(mx hostb systemctl is-active paas-agent)" inactive &&
	! mx hostb test -e /etc/systemd/system/paas-agent.service &&
	! mx hostb test -e /opt/paas-tools/bin/paas-cluster &&
	! mx hostb test -e /etc/default/paas-agent &&
	! paas-cluster hosts ls | jq -e "select(.name == \"b\")" >/dev/null &&
	wait_for 15 bash -c "[ \$(agent_key) = 0 ]"
'

test_done
