#!/bin/bash
# Benchmark (issue 17, point 4): Docker hosts reached over SSH against the
# same hosts over TCP+TLS, in one run.  8 hosts (network namespaces, each
# its own dockerd and OpenSSH server); the same 10-instance deployment.
#   status: paas-cluster status --json over the 8 hosts, RUNS (default 10)
#     times each way, medians.  Each run is a new process, so it pays the
#     connections: TLS handshakes against SSH handshakes, key exchange and
#     public-key authentication, per host, all hosts at once.
#   roll: a rolling update of the 10 instances (a new VERSION), ROLLS
#     (default 3) each way, medians; the SSH session is opened once per
#     process and carries every request.
#   connected: what a roll costs once the sessions are open.  Every roll is
#     a new paas-deploy process, which opens 8 sessions (sshd's side of a
#     session, its fork, re-exec and key exchange, is most of it) where TLS
#     makes 8 handshakes; status pays the same, so status_ssh - status_tls
#     is the connection cost of a process, measured in the same run, and
#     (roll_ssh - that) / roll_tls the roll's ratio once connected.
#   request: the mean of 200 Engine API pings over one open connection,
#     each way (paas-t docker URL ping 200): the bridge's own cost.
# Aim: ssh / tls <= 1.2 for the roll once connected.
. "$SRCDIR/tests/bench/lib-bench.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
. "$SRCDIR/tests/lib-ssh.sh"
RUNS=${RUNS:-10}
ROLLS=${ROLLS:-3}
HOSTS="h1 h2 h3 h4 h5 h6 h7 h8"
etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
fail() { echo "bench: $*" >&2; exit 1; }

ssh_key op
cp "$TEST_TMP/op.pub" "$TEST_TMP/authorized_keys"
export PAAS_SSH_KEY=$TEST_TMP/op PAAS_SSH_KNOWN_HOSTS=$TEST_TMP/known_hosts
unset SSH_AUTH_SOCK
for h in $HOSTS; do docker_host_start "$h"; sshd_host_start "$h" "$TEST_TMP/authorized_keys"; done

# register tls|ssh: the 8 hosts, reached that way
register() {
	local h
	for h in $HOSTS; do paas-cluster hosts rm "$h" >/dev/null 2>&1; done
	for h in $HOSTS; do
		if [ "$1" = tls ]; then
			paas-cluster hosts add "$h" --docker "${HOST_URL[$h]}" $TLS_OPTS
		else
			paas-cluster hosts add "$h" --docker "ssh://root@${HOST_IP[$h]}" --accept-new-host-key
		fi || fail "hosts add $h ($1)"
	done
}
sf() {
	cat <<-SF
	web:
	  image: paas-test:1
	  cmd: [sh, -c, "echo \$VERSION >/www/version; exec httpd -f -p 8000 -h /www"]
	  env: {VERSION: "$1"}
	  ports: [8000]
	  instances: 10
	  health: {http: /version, port: 8000, interval: 1s, timeout: 500ms, retries: 2}
	  update: {parallel: 1, order: start-first}
	SF
}
V=0
roll() { V=$((V + 1)); sf "v$V" >"$TEST_TMP/sf.yml"; paas-deploy -D bench "$TEST_TMP/sf.yml" >/dev/null; }
status() { paas-cluster status --json >"$TEST_TMP/status.json"; }

register tls >/dev/null
roll || fail "first deploy"
for way in tls ssh; do
	register "$way" >/dev/null
	status && test "$(jq -s 'map(select(.kind == "host" and .reachable)) | length' \
		"$TEST_TMP/status.json")" = 8 || fail "status does not see 8 reachable hosts ($way)"
	for i in $(seq "$RUNS"); do secs status; done >"$TEST_TMP/status.$way" || fail "status ($way)"
	for i in $(seq "$ROLLS"); do secs roll; done >"$TEST_TMP/roll.$way" || fail "roll ($way)"
done
pt=$("$PAAS_T" $TLS_OPTS docker "${HOST_URL[h1]}" ping 200) || fail "ping tls"
ps=$("$PAAS_T" docker "ssh://root@${HOST_IP[h1]}" ping 200) || fail "ping ssh"
st=$(median <"$TEST_TMP/status.tls"); ss=$(median <"$TEST_TMP/status.ssh")
rt=$(median <"$TEST_TMP/roll.tls"); rs=$(median <"$TEST_TMP/roll.ssh")
echo "# status --json over 8 hosts: tls median ${st}s (min $(min <"$TEST_TMP/status.tls")s), ssh median ${ss}s (min $(min <"$TEST_TMP/status.ssh")s), $RUNS runs each"
echo "# rolling update of 10 instances: tls median ${rt}s ($(tr '\n' ' ' <"$TEST_TMP/roll.tls")), ssh median ${rs}s ($(tr '\n' ' ' <"$TEST_TMP/roll.ssh"))"
echo "ssh-status ratio $(ratio "$ss" "$st") (ssh / tls, new connections every run)"
conn=$(awk -v a="$ss" -v b="$st" "BEGIN { printf \"%.3f\", a - b }")
echo "# connection cost of a process (status ssh - tls): ${conn}s; a request over an open connection: ssh ${ps} ms, tls ${pt} ms"
echo "ssh-roll ratio $(ratio "$rs" "$rt") (ssh / tls, with 8 sessions opened by each roll)"
echo "ssh-roll-connected ratio $(ratio "$(awk -v a="$rs" -v b="$conn" "BEGIN { print a - b }")" "$rt") (ssh less its connection cost / tls, aim <= 1.2)"
echo "ssh-request ratio $(ratio "$ps" "$pt") (ssh / tls, one open connection)"
