#!/bin/bash
# The Docker client against a dockerd in a network namespace over TCP with
# TLS (a test CA): the life cycle of a container, a published port answered
# across the namespace, refusal of plain TCP, and fan-out over curl multi.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-docker.sh"

docker_host_start h1
U=${HOST_URL[h1]}
# shellcheck disable=SC2086
d() { "$PAAS_T" $TLS_OPTS docker "$U" "$@"; }

test_expect_success 'ping over TLS with a client certificate' '
	expect_eq "$(d ping)" OK
'

test_expect_success 'create, start, inspect, stop, remove on the remote host' '
	id=$(d create t4-web paas-test:1 paas.test=yes /bin/httpd -f -p 8080 -h /www) &&
	d start $id &&
	d inspect $id >st && expect_eq "$(cat st)" "running /t4-web" &&
	d stop $id &&
	d inspect $id >st && expect_eq "$(cat st)" "exited /t4-web" &&
	d rm $id &&
	expect_status 1 d inspect $id
'

test_expect_success 'a container in the namespace answers HTTP from outside' '
	ip=$(nsenter --net=/run/netns/paas$$-h1 true && echo "${HOST_IP[h1]}") &&
	cip=$(curl -fsS --cacert "$TLS_CA" --cert "$TLS_CERT" --key "$TLS_KEY" \
		-H "Content-Type: application/json" \
		-d "{\"Image\":\"paas-test:1\",\"Cmd\":[\"/bin/httpd\",\"-f\",\"-p\",\"8080\",\"-h\",\"/www\"],\"ExposedPorts\":{\"8080/tcp\":{}},\"HostConfig\":{\"PortBindings\":{\"8080/tcp\":[{\"HostIp\":\"$ip\",\"HostPort\":\"18080\"}]}}}" \
		"https://$ip:2376/v1.41/containers/create?name=t4-pub" | jq -r .Id) &&
	d start $cip &&
	wait_for 10 curl -fsS -m 1 "http://$ip:18080/" &&
	expect_eq "$(curl -fsS "http://$ip:18080/")" paas-test &&
	d rm $cip
'

test_expect_success 'plain TCP without --insecure is refused, exit 3, nothing sent' '
	expect_status 3 "$PAAS_T" docker "tcp://${HOST_IP[h1]}:2376" ping 2>err &&
	expect_grep "refusing plain TCP to docker at tcp://${HOST_IP[h1]}:2376" err
'

test_expect_success 'plain TCP with --insecure reaches the port (and TLS says no)' '
	expect_status 1 "$PAAS_T" --insecure docker "tcp://${HOST_IP[h1]}:2376" ping 2>err &&
	expect_grep "docker at tcp://${HOST_IP[h1]}:2376" err
'

test_expect_success 'a client without a certificate is turned away' '
	expect_status 2 "$PAAS_T" --tls-ca "$TLS_CA" --tls-cert /dev/null --tls-key /dev/null \
		docker "$U" ping 2>err &&
	expect_grep "cannot reach docker at $U" err
'

test_expect_success 'a server certificate from another CA is not trusted' '
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout other-key.pem -out other.pem -days 1 -subj /CN=other 2>/dev/null &&
	expect_status 2 "$PAAS_T" --tls-ca other.pem --tls-cert "$TLS_CERT" --tls-key "$TLS_KEY" \
		docker "$U" ping 2>err &&
	expect_grep "certificate" err
'

docker_host_start h2

test_expect_success 'fan-out: both hosts asked at once over curl multi' '
	"$PAAS_T" $TLS_OPTS multi "${HOST_URL[h1]}" "${HOST_URL[h2]}" >m &&
	expect_eq "$(grep -c " 200 OK$" m)" 2
'

test_expect_success 'fan-out: a dead host is an error of its own, the others answer' '
	docker_host_kill h2 &&
	start=$(now_ms) &&
	expect_status 1 "$PAAS_T" -c 1000 $TLS_OPTS multi "${HOST_URL[h1]}" "${HOST_URL[h2]}" >m &&
	echo "took $(($(now_ms) - start)) ms" &&
	expect_grep "${HOST_URL[h1]} 200 OK" m &&
	expect_grep "${HOST_URL[h2]} ERROR cannot reach server at ${HOST_URL[h2]}" m
'

test_done
