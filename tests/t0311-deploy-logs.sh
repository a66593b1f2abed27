#!/bin/bash
# paas-deploy logs (issue 18, point 1): the output of every instance of a
# deployment across two hosts, in time order with a prefix per instance
# (text) or one record per line (JSON); one service or one instance;
# --tail and --since; --follow streams new lines from both hosts as they
# come and stops on SIGINT; errors for a name never deployed and a service
# the deployment lacks; a host that cannot be read is named, exit 2.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
docker_host_start a
docker_host_start b

cat >Servicefile <<'EOF'
ticker:
  image: paas-test:1
  cmd: [sh, -c, 'echo "hello from $PAAS_INSTANCE"; echo "to stderr $PAAS_INSTANCE" >&2; i=0; while :; do echo "tick $PAAS_INSTANCE $i"; i=$((i + 1)); sleep 0.3; done']
  instances: 2
web:
  image: paas-test:1
  cmd: [sh, -c, 'echo "web up $PAAS_INSTANCE"; exec httpd -f -p 8000 -h /www']
  ports: [8000]
  instances: 1
EOF

test_expect_success 'a deployment of two services over two hosts' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS >/dev/null &&
	paas-cluster hosts add b --docker "${HOST_URL[b]}" $TLS_OPTS >/dev/null &&
	paas-deploy -D app Servicefile >/dev/null &&
	expect_eq "$(paas-deploy -D app --json ps | jq -r .host | sort -u | tr "\n" " ")" "a b "
'

test_expect_success 'logs: every instance, both streams, prefixed, in time order' '
	wait_for 20 sh -c "paas-deploy -D app --table logs | grep -q \"tick 2 3\"" &&
	paas-deploy -D app --table logs >l &&
	expect_grep "^ticker.1@[ab] | hello from 1$" l &&
	expect_grep "^ticker.2@[ab] | hello from 2$" l &&
	expect_grep "^ticker.1@[ab] | to stderr 1$" l &&
	expect_grep "^web.1@[ab] | web up 1$" l &&
	paas-deploy -D app --json logs >j &&
	jq -e -s "all(.kind == \"log\" and (.time | test(\"^20[0-9-]+T[0-9:.]+Z$\")))" j >/dev/null &&
	jq -e -s "map(select(.line == \"to stderr 2\"))[0].stream == \"stderr\"" j &&
	jq -r .time j >t && sort -c t
'

test_expect_success 'one service, one instance, --tail' '
	paas-deploy -D app --table logs web >w && expect_eq "$(cut -d" " -f1 w | sort -u)" web.1@$(paas-deploy -D app --json ps | jq -r "select(.service == \"web\") | .host") &&
	paas-deploy -D app --table logs ticker.2 >t2 && expect_eq "$(cut -d"@" -f1 t2 | sort -u)" ticker.2 &&
	paas-deploy -D app --json --tail 2 logs ticker >tl &&
	expect_eq "$(jq -r .instance tl | sort | uniq -c | awk "{ print \$1 }" | sort -u)" 2
'

test_expect_success '--since: only what came after' '
	n_all=$(paas-deploy -D app --json logs ticker.1 | wc -l) &&
	n_since=$(paas-deploy -D app --json --since 1s logs ticker.1 | wc -l) &&
	say "ticker.1: $n_all lines, $n_since in the last second" &&
	[ "$n_since" -ge 1 ] && [ "$n_since" -lt "$n_all" ] &&
	! paas-deploy -D app --json --since 1s logs ticker.1 | grep -q "hello from"
'

test_expect_success '--follow: new lines from both hosts as they come; SIGINT stops it' '
	{ paas-deploy -D app --json --follow --tail 1 logs ticker >f 2>ferr & pid=$!; } &&
	last1=$(paas-deploy -D app --json logs ticker.1 | tail -n 1 | jq -r .line | awk "{ print \$3 }") &&
	last2=$(paas-deploy -D app --json logs ticker.2 | tail -n 1 | jq -r .line | awk "{ print \$3 }") &&
	wait_for 15 sh -c "grep -q \"\\\"tick 1 $((last1 + 3))\\\"\" f && grep -q \"\\\"tick 2 $((last2 + 3))\\\"\" f" &&
	kill -INT $pid && { wait $pid; rc=$?; } &&
	expect_eq "$rc" 0 && test ! -s ferr &&
	jq -e -s "length >= 6" f >/dev/null
'

test_expect_success 'errors: a name never deployed, a service it lacks, bad flags' '
	expect_status 1 paas-deploy -D nope logs >out 2>err && test ! -s out &&
	expect_grep "deployment nope has no release" err &&
	expect_status 3 paas-deploy -D app logs db 2>err && expect_grep "deployment app has no service db" err &&
	expect_status 3 paas-deploy -D app --tail x logs 2>err && expect_grep "tail" err &&
	expect_status 3 paas-deploy -D app --since yesterday logs 2>err && expect_grep "since" err &&
	expect_status 3 paas-deploy -D app --follow history 2>err && expect_grep "are for logs" err &&
	expect_status 3 paas-deploy --tail 3 list 2>err && expect_grep "are for logs" err
'

test_expect_success 'a host that cannot be read: named, exit 2, the other host still read' '
	docker_host_kill b &&
	expect_status 2 paas-deploy -D app --table logs >l2 2>err &&
	expect_grep "^paas-deploy: host b: " err &&
	grep -q "@a | " l2
'

test_done
