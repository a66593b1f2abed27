#!/bin/bash
# paas-deploy list and ps (issue 18): the deployments of the cluster, and
# the instances of one across two hosts with host, release, state, health
# (as the host's agent announced it; none where no agent runs), ports and
# age; tables sized to their content; a name never deployed is an error; a
# host that cannot be asked is named, exit 2, the others still listed.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"
docker_host_start a
docker_host_start b
SF=$SRCDIR/tests/servicefiles/cluster/small.yml

test_expect_success 'two hosts, an agent on a only; two deployments' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS >/dev/null &&
	paas-cluster hosts add b --docker "${HOST_URL[b]}" $TLS_OPTS >/dev/null &&
	agent_start a &&
	sed "s/instances: 1/instances: 4/" "$SF" >four.yml &&
	paas-deploy -D shop four.yml >/dev/null &&
	paas-deploy -D blog "$SF" >/dev/null && paas-deploy -D blog "$SF" >/dev/null
'

test_expect_success 'list: each deployment, its release and instance counts' '
	paas-deploy --json list >l &&
	expect_eq "$(jq -r .deployment l | tr "\n" " ")" "blog shop " &&
	jq -e "select(.deployment == \"shop\") | .kind == \"deployment\" and .release == 1 and
		.instances == 4 and .services.web == 4 and .release_kind == \"deploy\" and (.time | test(\"Z$\"))" l &&
	paas-deploy --table list >lt && cat lt && head -n 1 lt | grep -q "^DEPLOYMENT  RELEASE  KIND" &&
	grep -q "^shop  " lt
'

test_expect_success 'ps: every instance with host, release, state, health, ports, age' '
	paas-deploy -D shop --json ps >p &&
	expect_eq "$(jq -s length p)" 4 &&
	jq -e -s "all(.kind == \"instance\" and .deployment == \"shop\" and .service == \"web\" and
		.release == 1 and .state == \"running\" and .running and (.ports[\"8000\"] > 0) and
		(.age_s >= 0) and (.created | test(\"Z$\")) and (.id | length) == 12)" p &&
	expect_eq "$(jq -r .host p | sort -u | tr "\n" " ")" "a b " &&
	wait_for 20 sh -c "paas-deploy -D shop --json ps | jq -e -s \"all(select(.host == \\\"a\\\") | .healthy == true)\" >/dev/null" &&
	paas-deploy -D shop --json ps | jq -e -s "all(select(.host == \"b\") | .healthy == null)" &&
	for x in $(jq -r "select(.host == \"a\") | .ports[\"8000\"]" p); do
		curl -fsS -m 2 "http://${HOST_IP[a]}:$x/version" >/dev/null || return 1
	done
'

test_expect_success 'ps as a table: columns as wide as their content' '
	paas-deploy -D shop --table ps >t &&
	head -n 1 t | grep -q "^SERVICE  INSTANCE  HOST  RELEASE  STATE    HEALTH   PORTS        AGE" &&
	expect_eq "$(sed 1d t | awk "{ print \$2 }" | tr "\n" " ")" "1 2 3 4 " &&
	expect_eq "$(sed 1d t | wc -l)" 4 &&
	grep -q " healthy " t && awk "NR > 1 && \$3 == \"b\"" t | grep -q "  -  " &&
	expect_eq "$(awk "{ print length(\$0) }" t | sort -n | tail -n 1 | xargs test 200 -gt && echo ok)" ok
'

test_expect_success 'a name never deployed: exit 1, one line, nothing on stdout' '
	expect_status 1 paas-deploy -D shpo ps >out 2>err && test ! -s out &&
	expect_eq "$(cat err)" "paas-deploy: deployment shpo has no release: nothing was deployed under that name" &&
	expect_status 3 paas-deploy -D shop ps extra 2>err && expect_grep "ps takes no arguments" err
'

test_expect_success 'a host that cannot be asked: named on stderr, exit 2, the other listed' '
	docker_host_kill b &&
	expect_status 2 paas-deploy -D shop --json ps >p2 2>err &&
	expect_grep "^paas-deploy: host b: " err &&
	expect_eq "$(jq -r .host p2 | sort -u)" a
'

test_done
