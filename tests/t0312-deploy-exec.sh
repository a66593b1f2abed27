#!/bin/bash
# paas-deploy exec (issue 18, point 1): a one-off container of a service's
# image and environment, secrets included (the release's kept values, not
# the caller's environment), on a host that can run it or the one named;
# its output streamed to stdout and stderr, its exit status passed
# through, the container removed; never counted as an instance.  With -i,
# standard input goes to it; with -t (issue 34) it has a terminal, driven
# here through script(1)'s pseudo-terminal: its size, an interactive shell
# reading input, Ctrl-C reaching the process, the exit status.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
docker_host_start a
docker_host_start b
mkdir -p "$PAAS_STATE_DIR" && head -c 32 /dev/urandom >"$PAAS_STATE_DIR/secrets.key" &&
	chmod 600 "$PAAS_STATE_DIR/secrets.key"

cat >Servicefile <<'EOF'
web:
  image: paas-test:1
  cmd: [sh, -c, 'echo "$GREETING" >/www/version; exec httpd -f -p 8000 -h /www']
  env: {GREETING: hello, TOKEN: '${TOKEN}'}
  ports: [8000]
  instances: 2
EOF

test_expect_success 'a deployment whose service has a secret, kept by the release' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS >/dev/null &&
	paas-cluster hosts add b --docker "${HOST_URL[b]}" $TLS_OPTS >/dev/null &&
	TOKEN=s3cret paas-deploy -D app Servicefile >/dev/null
'

test_expect_success 'exec: the service environment and secret, output on stdout and stderr, exit status passed' '
	expect_status 7 paas-deploy -D app exec web -- sh -c "echo \"\$GREETING \$TOKEN \$PAAS_SERVICE\"; echo oops >&2; exit 7" >out 2>err &&
	expect_eq "$(cat out)" "hello s3cret web" &&
	expect_eq "$(cat err)" oops &&
	paas-deploy -D app exec web -- true
'

test_expect_success 'the secret comes from the release, not from the caller environment' '
	TOKEN=other paas-deploy -D app exec web -- sh -c "echo \$TOKEN" >out &&
	expect_eq "$(cat out)" s3cret
'

test_expect_success '--host picks the host; the container is gone afterwards and never an instance' '
	paas-deploy -D app exec --host b web -- sh -c "echo \$PAAS_HOST" >out &&
	expect_eq "$(cat out)" b &&
	expect_eq "$(dk a ps -aq -f label=paas.run | wc -l)$(dk b ps -aq -f label=paas.run | wc -l)" 00 &&
	expect_eq "$(paas-deploy -D app --json ps | wc -l)" 2
'

test_expect_success 'output streams as it comes: a line is seen before the command ends' '
	{ paas-deploy -D app exec web -- sh -c "echo first; sleep 8; echo last" >stream & pid=$!; } &&
	wait_for 6 grep -q first stream &&
	! grep -q last stream &&
	wait $pid && expect_eq "$(cat stream | tr "\n" " ")" "first last "
'

test_expect_success 'SIGINT stops the command and removes its container' '
	{ paas-deploy -D app exec --host a web -- sleep 60 >/dev/null 2>&1 & pid=$!; } &&
	wait_for 10 sh -c "[ \"\$(docker -H ${HOST_URL[a]} --tlsverify --tlscacert $TLS_CA --tlscert $TLS_CERT --tlskey $TLS_KEY ps -q -f label=paas.run | wc -l)\" = 1 ]" &&
	kill -INT $pid && { wait $pid; :; } &&
	wait_for 10 sh -c "[ \"\$(docker -H ${HOST_URL[a]} --tlsverify --tlscacert $TLS_CA --tlscert $TLS_CERT --tlskey $TLS_KEY ps -aq -f label=paas.run | wc -l)\" = 0 ]"
'

test_expect_success 'errors: a service it lacks, a host not registered, a name never deployed' '
	expect_status 3 paas-deploy -D app exec db -- true 2>err && expect_grep "deployment app has no service db" err &&
	expect_status 3 paas-deploy -D app exec --host zz web -- true 2>err && expect_grep "no host zz is registered" err &&
	expect_status 1 paas-deploy -D nope exec web -- true 2>err && expect_grep "deployment nope has no release" err &&
	expect_status 3 paas-deploy -D app exec 2>err && expect_grep "exec takes a service" err &&
	expect_status 3 paas-deploy -D app --host a ps 2>err && expect_grep "host, -i and -t are for exec" err &&
	expect_status 3 paas-deploy -D app -it ps 2>err
'

test_expect_success 'exec -i: standard input goes to the command, and its end ends the command'"'"'s' '
	printf "hello\nworld\n" | expect_status 5 paas-deploy -D app exec -i web -- sh -c "read x; echo got \$x; cat; echo err >&2; exit 5" >out 2>err &&
	expect_eq "$(cat out | tr "\n" " ")" "got hello world " && expect_eq "$(cat err)" err &&
	expect_eq "$(dk a ps -aq -f label=paas.run | wc -l)$(dk b ps -aq -f label=paas.run | wc -l)" 00
'

# feed: an interactive session's input, each line once the one before has
# had its effect on the terminal's output (tty.out)
feed() {
	printf "echo marker-\$((6 * 7))\n" && wait_for 20 grep -q marker-42 tty.out >&2 &&
	printf "echo st\$((1 + 1))rted; sleep 30; echo not-reached\n" &&
	wait_for 10 grep -q st2rted tty.out >&2 &&
	printf "\003" && printf "echo rc=\$?\n" && wait_for 10 grep -q rc=130 tty.out >&2 &&
	printf "busybox stty size\n" && wait_for 10 grep -q "^41 101" tty.out >&2 &&
	printf "exit 9\n"
}

test_expect_success 'exec -it: a shell with the terminal'"'"'s size reads its input, Ctrl-C reaches its process, its exit status returns' '
	: >tty.out &&
	{ feed | script -qfec "stty rows 41 cols 101; paas-deploy -D app exec -it web -- sh" /dev/null >tty.out 2>&1; echo "${PIPESTATUS[1]}" >tty.rc; } &&
	cat -v tty.out && expect_eq "$(cat tty.rc)" 9 &&
	grep -q "^rc=130" tty.out && ! grep -q "^not-reached" tty.out &&
	expect_eq "$(dk a ps -aq -f label=paas.run | wc -l)$(dk b ps -aq -f label=paas.run | wc -l)" 00
'

test_done
