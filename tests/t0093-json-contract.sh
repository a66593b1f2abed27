#!/bin/bash
# One output contract (issue 18): every NDJSON record any command prints
# has a string "kind" and a "time" (RFC 3339, UTC, milliseconds), and a key
# has one type in every record of every command (null aside): a state word
# (healthy, running, leader...) is a boolean, a count of things in a state
# is THINGS_STATE (instances_healthy), a name is never a boolean.  The
# records come from a real cluster: etcd, a Docker host with its agent, a
# router, a deployment rolled, scaled, rolled back and destroyed.  (logs'
# records come from t0311: this service's httpd writes none.)
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
etcd_start
docker_host_start a
export PAAS_ETCD=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"
SF=$SRCDIR/tests/servicefiles/route/shop.yml
ADMIN_HASH=$(openssl passwd -6 -salt paasjson s3cret)
export ADMIN_HASH
ALL=$TEST_TMP/all.ndjson
# rec NAME CMD...: CMD's standard output, kept as NAME and added to ALL
rec() { local n=$1; shift; "$@" >"$TEST_TMP/rec.$n" && cat "$TEST_TMP/rec.$n" >>"$ALL"; }

test_expect_success 'records of every command that prints them' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS &&
	agent_start a && router_start &&
	rec hosts-ls paas-cluster --json hosts ls &&
	rec deploy paas-deploy --json -D shop "$SF" &&
	rec unchanged paas-deploy --json -D shop "$SF" &&
	sed "s/web-v1/web-v2/" "$SF" >v2.yml &&
	rec roll paas-deploy --json -D shop v2.yml &&
	rec scale paas-scale --json -D shop web=2 &&
	rec rollback paas-deploy --json -D shop rollback &&
	rec dry paas-deploy --json -D shop --dry-run "$SF" &&
	rec history paas-deploy --json -D shop history &&
	rec list paas-deploy --json list &&
	rec ps paas-deploy --json -D shop ps &&
	rec config paas-deploy --json -D shop config &&
	rec maintenance paas-deploy --json -D shop maintenance on &&
	paas-deploy -D shop maintenance off >/dev/null &&
	rec logs paas-deploy --json -D shop logs --tail 1 &&
	rec members paas-cluster --json members ls &&
	wait_for 20 sh -c "paas-cluster --json status | jq -e -s \"map(select(.kind == \\\"service\\\") | .instances_healthy) | add >= 3\" >/dev/null" &&
	rec status paas-cluster --json status &&
	{ paas-cluster --json check >"$TEST_TMP/rec.check"; cat "$TEST_TMP/rec.check" >>"$ALL"; } &&
	rec backup paas-cluster --json backup b.json &&
	rec restore paas-cluster --json restore --force b.json &&
	rec unitgen paas-unitgen -D shop "$SF" &&
	rec destroy paas-deploy --json -D shop destroy --yes &&
	printf "tick:\n  image: paas-test:1\n  cmd: [echo, tick]\n  schedule: \"* * * * * *\"\n" >jobs.yml &&
	paas-deploy -D cron jobs.yml >/dev/null &&
	wait_for 20 sh -c "paas-deploy -D cron --json jobs tick | grep -q succeeded" &&
	rec jobs paas-deploy --json -D cron jobs &&
	rec runs paas-deploy --json -D cron jobs tick &&
	paas-deploy -D cron destroy --yes >/dev/null &&
	for n in hosts-ls deploy unchanged roll scale rollback dry history list ps config maintenance members \
		status check backup restore unitgen destroy jobs runs; do
		test -s "$TEST_TMP/rec.$n" || { echo "no record from $n"; return 1; }
	done &&
	wc -l <"$ALL"
'

test_expect_success 'every record: an object with a string kind and an RFC 3339 UTC time' '
	jq -e -s "all(type == \"object\" and (.kind | type) == \"string\" and
		(.time | type == \"string\" and test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\\\.[0-9]+)?Z$\")))" "$ALL" >/dev/null ||
	{ jq -c "select((.kind | type) != \"string\" or (.time | type) != \"string\")" "$ALL" | head -n 5; false; }
'

# Maps keyed by the user's names (services, images, labels, ports) are
# values, not keys of the contract: not looked into.
test_expect_success 'a key has one type in every record (null aside), top level and nested' '
	jq -s -c "[.[] | walk(if type == \"object\" then with_entries(if (.key |
		IN(\"services\", \"images\", \"labels\", \"ports\")) and (.value | type == \"object\")
		then .value = {} else . end) else . end) | .. | objects | to_entries[] | select(.value != null) |
		{k: .key, t: (.value | type)}] | group_by(.k) |
		map(select((map(.t) | unique | length) > 1) | {key: .[0].k, types: (map(.t) | unique)})" \
		"$ALL" >clash &&
	cat clash &&
	expect_eq "$(cat clash)" "[]"
'

test_expect_success 'the kinds: events of a deploy, records of status, one per command' '
	expect_eq "$(jq -r .kind "$TEST_TMP/rec.history" | sort -u)" release &&
	jq -e -s "all(.release_kind | type == \"string\")" "$TEST_TMP/rec.history" >/dev/null &&
	expect_eq "$(jq -r .kind "$TEST_TMP/rec.check")" check &&
	expect_eq "$(jq -r .kind "$TEST_TMP/rec.unitgen" | sort -u)" unit &&
	expect_eq "$(jq -r .kind "$TEST_TMP/rec.hosts-ls" | sort -u)" host &&
	expect_eq "$(jq -r .kind "$TEST_TMP/rec.status" | sort -u | tr "\n" " ")" \
		"etcd host member route router service " &&
	jq -e -s "map(.kind) | .[0] == \"lock\" and .[-1] == \"done\" and index(\"release\")" \
		"$TEST_TMP/rec.deploy" >/dev/null &&
	jq -e -s "map(select(.kind == \"release\"))[0].release_kind == \"deploy\"" \
		"$TEST_TMP/rec.deploy" >/dev/null
'

test_done
