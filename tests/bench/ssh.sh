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
# Aim: ssh / tls <= 1.2 for the roll (connected once); status is printed
# with its connection cost.
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
st=$(median <"$TEST_TMP/status.tls"); ss=$(median <"$TEST_TMP/status.ssh")
rt=$(median <"$TEST_TMP/roll.tls"); rs=$(median <"$TEST_TMP/roll.ssh")
echo "# status --json over 8 hosts: tls median ${st}s (min $(min <"$TEST_TMP/status.tls")s), ssh median ${ss}s (min $(min <"$TEST_TMP/status.ssh")s), $RUNS runs each"
echo "# rolling update of 10 instances: tls median ${rt}s ($(tr '\n' ' ' <"$TEST_TMP/roll.tls")), ssh median ${rs}s ($(tr '\n' ' ' <"$TEST_TMP/roll.ssh"))"
echo "ssh-status ratio $(ratio "$ss" "$st") (ssh / tls, new connections every run)"
echo "ssh-roll ratio $(ratio "$rs" "$rt") (ssh / tls, aim <= 1.2)"
