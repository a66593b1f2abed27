#!/bin/bash
# A router whose watch has stopped (issue 29): HAProxy keeps serving its
# last configuration, and deploys no longer wait for that router.  Alpha is
# rolled (its instance's host port freed) and beta then scaled up on the
# same host: beta's new instance must not take the port alpha's old one
# had, for HAProxy would send alpha's domain to it.  Host ports of removed
# containers rest for an hour (/paas/v1/freed/HOST/PORT, leased), so
# alpha's domain answers from alpha or not at all, never from beta, after
# a kill -9 of the watch and after a SIGTERM.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
etcd_start
docker_host_start a
export PAAS_ETCD=$ETCD_ENDPOINT
. "$SRCDIR/tests/lib-route.sh"
SF=$SRCDIR/tests/servicefiles/deploy/web.yml

# app NAME VERSION INSTANCES: a Servicefile of web serving "NAME VERSION" on NAME.test
app() {
	{
		printf 'Domains:\n  %s.test: {http: "%s:web"}\n' "$1" "$1"
		sed -e "s/VERSION: v1/VERSION: $1-$2/" -e "s/instances: 3/instances: $3/" "$SF"
	} >"$1-$2.yml"
	echo "$1-$2.yml"
}
# answers DOMAIN: what 20 requests through HAProxy got (bodies, or the code)
answers() {
	local i
	for i in $(seq 20); do
		curl -sS -m 2 -H "Host: $1" -w " %{http_code}\n" "http://127.0.0.1:$ROUTER_PORT/version" 2>/dev/null
	done | sort | uniq -c
}
unregistered() { ! "$PAAS_T" etcd "$PAAS_ETCD" get /paas/v1/routers/test >/dev/null 2>&1; }
port_of() { paas-deploy -D "$1" --json ps | jq -r "select(.kind == \"instance\") | .ports[]" | sort -n; }

test_expect_success 'a host, its agent, a router; alpha and beta deployed, one instance each' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS &&
	agent_start a && router_start --ttl 3 &&
	paas-deploy -D alpha "$(app alpha v1 1)" >/dev/null && paas-deploy -D beta "$(app beta v1 1)" >/dev/null &&
	wait_for 10 sh -c "curl -sS -m 2 -H \"Host: alpha.test\" http://127.0.0.1:$ROUTER_PORT/version | grep -q alpha-v1" &&
	expect_eq "$(curl -sS -m 2 -H "Host: beta.test" "http://127.0.0.1:$ROUTER_PORT/version")" beta-v1
'

# stale HOW: the watch stopped (HOW: kill -9 or SIGTERM), alpha rolled,
# beta grown by one; alpha.test never answered by beta.
stale() {
	local was n
	was=$(port_of alpha) && n=$(($(port_of beta | wc -l) + 1)) &&
	kill "$1" "$ROUTER_PID" && wait_for 20 unregistered &&
	paas-deploy -D alpha "$(app alpha "$2" 1)" >/dev/null &&
	paas-deploy -D beta "$(app beta "$2" "$n")" >/dev/null &&
	port_of beta >beta.ports && say "alpha had $was; beta now on $(tr "\n" " " <beta.ports)" &&
	answers alpha.test >answers && say "alpha.test through the stale HAProxy: $(tr -s " \n" " " <answers)" &&
	! grep -q beta answers && ! grep -qx "$was" beta.ports &&
	"$PAAS_T" etcd "$PAAS_ETCD" get "/paas/v1/freed/a/$was" >/dev/null
}

test_expect_success 'the watch killed (-9): alpha rolled, beta grown: alpha.test never answered by beta' '
	stale -9 v2
'

test_expect_success 'a new watch serves again; stopped with SIGTERM: the same' '
	router_start --ttl 3 &&
	wait_for 10 sh -c "curl -sS -m 2 -H \"Host: alpha.test\" http://127.0.0.1:$ROUTER_PORT/version | grep -q alpha-v2" &&
	stale -TERM v3
'
test_done
