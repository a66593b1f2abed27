#!/bin/bash
# The Docker client against a real dockerd on a unix socket: the container
# life cycle, labels, logs, wait, events and images.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-docker.sh"

docker_start_local
d() { "$PAAS_T" docker "$DOCKER_URL" "$@"; }

test_expect_success 'ping and version' '
	expect_eq "$(d ping)" OK &&
	d version >v && grep -q "^[0-9][0-9]*\." v
'

test_expect_success 'the imported test image is there' '
	d image-inspect paas-test:1 >id && grep -q "^sha256:" id &&
	d images >imgs && grep -qx "$(cat id)" imgs
'

test_expect_success 'an unknown image is reported as missing, exit 1' '
	expect_status 1 d image-inspect nope:0
'

test_expect_success 'create, start, inspect: the container runs' '
	id=$(d create t3-web paas-test:1 paas.test=yes /bin/httpd -f -p 8080 -h /www) &&
	d start $id &&
	d inspect $id >st && expect_eq "$(cat st)" "running /t3-web"
'

test_expect_success 'starting it again is not an error' '
	d start $id
'

test_expect_success 'listed by its label, and not by another' '
	d ps paas.test=yes >ps && expect_grep "$id running" ps &&
	d ps paas.test=no >ps2 && [ ! -s ps2 ]
'

test_expect_success 'a name already taken is refused with docker'"'"'s reason' '
	expect_status 1 d create t3-web paas-test:1 paas.test=yes /bin/true 2>err &&
	expect_grep "create container: Conflict" err
'

test_expect_success 'stop, then it is exited' '
	d stop $id &&
	d inspect $id >st && expect_eq "$(cat st)" "exited /t3-web" &&
	d stop $id
'

test_expect_success 'remove, then it is gone; removing again is fine' '
	d rm $id &&
	expect_status 1 d inspect $id &&
	d rm $id
'

test_expect_success 'logs of both streams, demultiplexed' '
	id=$(d create t3-log paas-test:1 paas.test=log sh -c "for i in 1 2 3; do echo out\$i; echo err\$i >&2; done") &&
	d start $id &&
	expect_eq "$(d wait $id)" 0 &&
	d logs $id 0 >logs &&
	expect_eq "$(sort logs | tr "\n" " ")" "err1 err2 err3 out1 out2 out3 "
'

test_expect_success 'logs: the last lines only' '
	id=$(d create t3-tail paas-test:1 paas.test=log sh -c "seq 1 100") &&
	d start $id && d wait $id >/dev/null &&
	d logs $id 2 >logs &&
	expect_eq "$(tr "\n" " " <logs)" "99 100 "
'

test_expect_success 'wait gives the exit status' '
	id=$(d create t3-exit paas-test:1 paas.test=exit sh -c "exit 7") &&
	d start $id && expect_eq "$(d wait $id)" 7 && d rm $id
'

test_expect_success 'the events stream shows a labelled container start and die' '
	{ d events paas.test=ev 3 >events & ev=$!; } &&
	sleep 0.3 &&
	id=$(d create t3-ev paas-test:1 paas.test=ev /bin/true) &&
	d start $id &&
	wait_for 10 sh -c "[ \$(wc -l <events) -ge 3 ]" &&
	wait $ev &&
	jq -r .status events >st && printf "create\nstart\ndie\n" >want &&
	test_cmp want st
'

test_expect_success 'nothing of the test is left running' '
	for c in $(d ps paas.test | cut -d" " -f1); do d rm $c; done &&
	d ps paas.test >left && [ ! -s left ]
'

test_done
