#!/bin/bash
# paas-cluster hosts: the host registry in etcd, checked against a real
# dockerd in a network namespace over TLS.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"

etcd_start
docker_host_start h1
export PAAS_ETCD=$ETCD_ENDPOINT

test_expect_success 'with no host registered, the local Docker socket is the one host' '
	paas-cluster hosts ls >ls &&
	expect_eq "$(wc -l <ls)" 1 &&
	jq -e ".name == \"local\" and .implicit == true and .docker == \"unix:///var/run/docker.sock\"" ls
'

test_expect_success 'hosts add checks the Docker endpoint over TLS and records it' '
	paas-cluster hosts add h1 --docker "${HOST_URL[h1]}" $TLS_OPTS --label role=web --label disk=ssd \
		--cpu 2 --memory 1g &&
	paas-cluster hosts ls >ls &&
	expect_eq "$(wc -l <ls)" 1 &&
	jq -e ".name == \"h1\" and .labels.role == \"web\" and .labels.disk == \"ssd\" and .cpu_milli == 2000
		and .memory_bytes == 1073741824 and .tls.ca == \"$TLS_CA\" and (has(\"implicit\") | not)" ls &&
	"$PAAS_T" etcd "$ETCD_ENDPOINT" get /paas/v1/hosts/h1 | jq -e ".docker == \"${HOST_URL[h1]}\""
'

test_expect_success 'adding it again is refused, exit 1, the record unchanged' '
	before=$("$PAAS_T" etcd "$ETCD_ENDPOINT" modrev /paas/v1/hosts/h1) &&
	expect_status 1 paas-cluster hosts add h1 --docker "${HOST_URL[h1]}" $TLS_OPTS 2>err &&
	expect_eq "$(cat err)" "paas-cluster: host h1 exists (remove it first)" &&
	expect_eq "$("$PAAS_T" etcd "$ETCD_ENDPOINT" modrev /paas/v1/hosts/h1)" "$before"
'

test_expect_success 'plain TCP without --insecure is refused, exit 3, nothing recorded' '
	expect_status 3 paas-cluster hosts add h2 --docker "tcp://${HOST_IP[h1]}:2375" 2>err &&
	expect_grep "refusing plain TCP to docker at tcp://${HOST_IP[h1]}:2375" err &&
	expect_status 1 "$PAAS_T" etcd "$ETCD_ENDPOINT" get /paas/v1/hosts/h2
'

test_expect_success 'an unreachable Docker is refused, exit 2, naming it, nothing recorded' '
	dead="tcp://127.0.0.1:$(free_port)" &&
	expect_status 2 paas-cluster hosts add h3 --docker "$dead" $TLS_OPTS 2>err &&
	expect_grep "host h3 not added: cannot reach docker at $dead (connection refused)" err &&
	expect_status 1 "$PAAS_T" etcd "$ETCD_ENDPOINT" get /paas/v1/hosts/h3
'

test_expect_success 'bad input is refused, exit 3: a name, a label, a size, half of TLS' '
	expect_status 3 paas-cluster hosts add "H/1" --docker unix:///x 2>err && expect_grep "invalid host name" err &&
	expect_status 3 paas-cluster hosts add h4 --docker unix:///x --label "role=w b" 2>err && expect_grep "letters, digits" err &&
	expect_status 3 paas-cluster hosts add h4 --docker unix:///x --memory lots 2>err && expect_grep "expected a size" err &&
	expect_status 3 paas-cluster hosts add h4 --docker "${HOST_URL[h1]}" --tls-ca "$TLS_CA" 2>err && expect_grep "TLS needs all" err &&
	expect_status 3 paas-cluster hosts add h4 2>err &&
	expect_eq "$(paas-cluster hosts ls | wc -l)" 1
'

test_expect_success '--table prints a header and a row' '
	paas-cluster --table hosts ls >t &&
	expect_grep "^NAME" t && expect_grep "^h1 .* yes .*disk=ssd,role=web" t
'

test_expect_success 'hosts rm removes it; again is exit 1' '
	paas-cluster hosts rm h1 &&
	paas-cluster hosts ls | jq -e ".name == \"local\"" &&
	expect_status 1 paas-cluster hosts rm h1 2>err &&
	expect_eq "$(cat err)" "paas-cluster: no host h1"
'

test_expect_success 'etcd unreachable: exit 2, naming it' '
	dead="http://127.0.0.1:$(free_port)" &&
	expect_status 2 paas-cluster --etcd "$dead" hosts ls 2>err &&
	expect_grep "cannot reach etcd at $dead (connection refused)" err
'

test_expect_success '--address is recorded; a malformed one is refused, exit 3' '
	paas-cluster hosts add h9 --docker "${HOST_URL[h1]}" $TLS_OPTS --address 192.0.2.7 &&
	"$PAAS_T" etcd "$ETCD_ENDPOINT" get /paas/v1/hosts/h9 | jq -e ".address == \"192.0.2.7\"" &&
	expect_status 3 paas-cluster hosts add h8 --docker "${HOST_URL[h1]}" $TLS_OPTS --address "1.2.3.4 bad" 2>err &&
	expect_grep "expected an IP address or a host name" err &&
	paas-cluster hosts rm h9
'

test_done
