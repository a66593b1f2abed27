#!/bin/bash
# Docker hosts over SSH (issue 17): a host added as ssh://root@ADDR (a real
# OpenSSH server in the host's network namespace, its sessions given the
# host's dockerd) is reached through one SSH session running `docker
# system dial-stdio` on exec channels (libssh2).  Host keys: an unknown key
# refuses (exit 2, the host and the key's SHA256 fingerprint named, nothing
# recorded) unless --accept-new-host-key records it; a changed key refuses
# even then.  A refused user key and an unreachable host are exit 2.
# Deploy, ps, logs, status, check and exec -i/-it work through it, and an agent's
# Docker events stream; a session cut during
# a rollout ends in exit 2 and a re-run converges.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
. "$SRCDIR/tests/lib-ssh.sh"
etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
docker_host_start s
ssh_key op && ssh_key eve
cp "$TEST_TMP/op.pub" "$TEST_TMP/authorized_keys"
sshd_host_start s "$TEST_TMP/authorized_keys"
export PAAS_SSH_KEY=$TEST_TMP/op PAAS_SSH_KNOWN_HOSTS=$TEST_TMP/known_hosts
unset SSH_AUTH_SOCK
URL="ssh://root@${HOST_IP[s]}"
FP=$(ssh-keygen -l -E sha256 -f "$TEST_TMP/sshd-s/host_key.pub" | cut -d" " -f2)
SF=$SRCDIR/tests/servicefiles/cluster/small.yml
# the hosts recorded (with none, "local" is listed: the default)
hosts() { paas-cluster hosts ls | jq -r .name | grep -v "^local$" | tr "\n" " "; }

test_expect_success 'an unknown host key: exit 2, host and fingerprint named, nothing recorded' '
	expect_status 2 paas-cluster hosts add s --docker "$URL" 2>err && cat err &&
	expect_grep "${HOST_IP[s]}" err && grep -qF "$FP" err && expect_grep "unknown host key" err &&
	expect_eq "$(hosts)" "" && test ! -s "$TEST_TMP/known_hosts"
'

test_expect_success '--accept-new-host-key records it (the lines already there kept); Docker answers' '
	printf "# kept\n@cert-authority *.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeptKeptKeptKeptKeptKeptKeptKeptKeptKeptKept\n" \
		>"$TEST_TMP/known_hosts" && cp "$TEST_TMP/known_hosts" kh.0 &&
	paas-cluster hosts add s --docker "$URL" --accept-new-host-key &&
	expect_eq "$(head -n 2 "$TEST_TMP/known_hosts")" "$(cat kh.0)" &&
	expect_eq "$(wc -l <"$TEST_TMP/known_hosts")" 3 &&
	expect_eq "$(hosts)" "s " &&
	expect_grep "^${HOST_IP[s]} ssh-ed25519 " "$TEST_TMP/known_hosts" &&
	ssh-keygen -F "${HOST_IP[s]}" -f "$TEST_TMP/known_hosts" >/dev/null
'

test_expect_success 'a user key the host refuses, an unreachable host: exit 2, nothing recorded' '
	PAAS_SSH_KEY=$TEST_TMP/eve expect_status 2 paas-cluster hosts add s2 --docker "$URL" 2>err &&
	cat err && expect_grep "refused for user root" err &&
	expect_status 2 paas-cluster hosts add s3 --docker "ssh://root@${HOST_IP[s]}:2" 2>err &&
	cat err && expect_grep "connection refused" err &&
	expect_status 3 paas-cluster hosts add s4 --docker "ssh://ro\;ot@${HOST_IP[s]}" 2>err &&
	expect_eq "$(hosts)" "s "
'

test_expect_success 'no Docker daemon there, a user the Docker socket refuses: exit 2, why named' '
	sshd_host_start s "$TEST_TMP/authorized_keys" 2222 unix:///nonexistent/docker.sock &&
	expect_status 2 paas-cluster hosts add s6 --docker "ssh://root@${HOST_IP[s]}:2222" \
		--accept-new-host-key 2>err && cat err &&
	expect_grep "host s6 not added: docker on ssh://root@${HOST_IP[s]}:2222: .*nonexistent/docker.sock" err &&
	chmod o+x "$TEST_TMP" && u=paas$$ && useradd -M -p "*" -s /bin/sh "$u" && at_exit "userdel $u 2>/dev/null" &&
	expect_status 2 paas-cluster hosts add s7 --docker "ssh://$u@${HOST_IP[s]}" 2>err && cat err &&
	expect_grep "host s7 not added: docker on ssh://$u@${HOST_IP[s]}: .*permission denied" err &&
	expect_eq "$(hosts)" "s "
'

test_expect_success 'hosts add --ssh where systemd does not run: exit 2, nothing recorded or written' '
	if [ -d /run/systemd/system ]; then echo "# this machine runs systemd: skipped"; else
		expect_status 2 paas-cluster hosts add s8 --ssh "root@${HOST_IP[s]}" \
			--agent-etcd "http://$_net_prefix.1:2379" 2>err && cat err &&
		expect_grep "host s8 not added: .*systemd does not run this host" err &&
		expect_eq "$(hosts)" "s " && test ! -e /etc/systemd/system/paas-agent.service &&
		test ! -e /opt/paas-tools/bin/paas-cluster
	fi
'

test_expect_success 'deploy, ps, logs, status and check through ssh://' '
	paas-deploy -D shop "$SF" >dep.out && jq -e -s "any(.kind == \"done\")" dep.out >/dev/null &&
	paas-deploy -D shop --json ps >ps.out && jq -e -s "length == 1 and .[0].host == \"s\" and .[0].running" ps.out &&
	expect_eq "$(dk s ps -q -f label=paas.deployment=shop | wc -l)" 1 &&
	paas-deploy -D shop --json logs --tail 5 >logs.out &&
	paas-cluster --json status >st.json &&
	jq -e -s "map(select(.kind == \"host\"))[0] | .name == \"s\" and .reachable and .containers_running == 1" st.json &&
	expect_status 0 paas-cluster check >chk
'

# sized: a session's input: the terminal's size asked for, then exit 4
sized() {
	printf "busybox stty size\n" && wait_for 20 grep -q "^33 77" tty.out >&2 && printf "exit 4\n"
}

test_expect_success 'exec -i and exec -it through ssh://: input, terminal size, exit status' '
	printf "hello\n" | expect_status 5 paas-deploy -D shop exec -i web -- sh -c "read x; echo got \$x; exit 5" >out &&
	expect_eq "$(cat out)" "got hello" &&
	: >tty.out &&
	{ sized | script -qfec "stty rows 33 cols 77; paas-deploy -D shop exec -it web -- sh" /dev/null >tty.out 2>&1; echo "${PIPESTATUS[1]}" >tty.rc; } &&
	expect_eq "$(cat tty.rc)" 4 && expect_eq "$(dk s ps -aq -f label=paas.run | wc -l)" 0
'

test_expect_success 'an agent here for the ssh:// host: Docker events stream through the session' '
	. "$SRCDIR/tests/lib-route.sh" &&
	agent_start s --interval 600000 &&
	wait_for 20 sh -c "paas-cluster --json status 2>/dev/null | jq -e -s \"map(select(.kind == \\\"service\\\"))[0].instances_announced == 1\" >/dev/null" &&
	c=$(dk s ps -q -f label=paas.deployment=shop) && t0=$(now_ms) &&
	dk s kill "$c" >/dev/null &&
	wait_for 10 sh -c "paas-cluster --json status 2>/dev/null | jq -e -s \"map(select(.kind == \\\"service\\\"))[0].instances_announced == 0\" >/dev/null" &&
	say "a container killed on the ssh:// host: withdrawn by the agent here after $(( $(now_ms) - t0 )) ms (its list interval: 600 s)" &&
	kill_wait "${AGENT_PID[s]}" && { paas-cluster check --repair >/dev/null || :; }
'

test_expect_success 'a rollout whose SSH sessions are cut: exit 2; the re-run converges' '
	sed "s/instances: 1/instances: 3/" "$SF" >three.yml &&
	{ paas-deploy -D shop three.yml >cut.out 2>cut.err & pid=$!; } &&
	wait_for 30 sh -c "grep -q \"\\\"kind\\\":\\\"start\\\"\" cut.out" &&
	t0=$(date +%s) && sshd_host_cut s &&
	{ wait $pid; st=$?; } && cat cut.err && expect_eq "$st" 2 &&
	echo "# exit 2 $(($(date +%s) - t0)) s after the cut" && test $(($(date +%s) - t0)) -lt 30 &&
	paas-deploy -D shop three.yml >again.out &&
	expect_eq "$(dk s ps -q -f label=paas.deployment=shop | wc -l)" 3 &&
	paas-deploy -D shop three.yml | jq -e -s "map(.kind) | index(\"unchanged\")" >/dev/null
'

test_expect_success 'a changed host key: exit 2 naming it, --accept-new-host-key does not record it' '
	sshd_host_stop s && rm -f "$TEST_TMP/sshd-s/host_key"* &&
	sshd_host_start s "$TEST_TMP/authorized_keys" &&
	cp "$TEST_TMP/known_hosts" kh.before &&
	paas-cluster --json status >st.json 2>err &&
	jq -e -s "map(select(.kind == \"host\" and .name == \"s\"))[0] | (.reachable | not) and (.error | test(\"host key CHANGED\"))" st.json &&
	expect_status 2 paas-deploy -D shop ps 2>err && cat err && expect_grep "host key CHANGED" err &&
	expect_status 2 paas-cluster hosts add s5 --docker "$URL" --accept-new-host-key 2>err &&
	expect_grep "host key CHANGED" err && test_cmp kh.before "$TEST_TMP/known_hosts" &&
	expect_eq "$(hosts)" "s "
'

test_done
