#!/bin/bash
# paas-cluster up --host (issue 17): three bare machines reached over SSH
# (systemd, their own dockerd, sshd; nothing of paas-tools) become one
# cluster: an etcd member on each (peers speak TLS with client
# certificates of the cluster's CA), an agent and a router on each, the
# hosts registered.  Run again, nothing restarts.  With host c's packets
# dropped (its member, Docker, agent and router at once): requests through
# routers a and b all succeed once the lease TTL has passed, etcd keeps its
# quorum, check says WARNING for the member and CRITICAL for the host,
# check --repair moves c's instances; when c comes back it rejoins and
# exactly the desired instances run.  down stops every unit; up after it
# serves the same cluster.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-docker.sh"
. "$SRCDIR/tests/lib-ssh.sh"
. "$SRCDIR/tests/lib-machine.sh"
need iptables etcd haproxy openssl
for h in a b c; do docker_host_start "$h"; done
ssh_key op
cp "$TEST_TMP/op.pub" "$TEST_TMP/authorized_keys"
export PAAS_SSH_KEY=$TEST_TMP/op PAAS_SSH_KNOWN_HOSTS=$TEST_TMP/known_hosts
unset SSH_AUTH_SOCK
for h in a b c; do ssh_machine_start "$h" "$TEST_TMP/authorized_keys"; done
export PAAS_STATE_DIR=$TEST_TMP/state
UP=(paas-cluster --json up --agent-docker unix:///run/docker-host/docker.sock
	--host "a=root@${HOST_IP[a]}" --host "b=root@${HOST_IP[b]}" --host "c=root@${HOST_IP[c]}")
SF=$SRCDIR/tests/servicefiles/route/shop.yml
ADMIN_HASH=$(openssl passwd -6 -salt paashosts s3cret)
export ADMIN_HASH
UNITS="paas-etcd paas-agent paas-router"
pids() { local h; for h in a b c; do mx "m-$h" systemctl show --property=MainPID --value $UNITS; done | tr "\n" " "; }
# drop HOST -A|-D: every packet of HOST's namespace but loopback's dropped (or no more)
drop() {
	nsenter --net="/run/netns/${_host_ns[$1]}" iptables "$2" INPUT ! -i lo -j DROP &&
	nsenter --net="/run/netns/${_host_ns[$1]}" iptables "$2" OUTPUT ! -o lo -j DROP
}
# the request loop: "MS ROUTER CODE" lines, through routers a and b in turn
loop_start() {
	(
		while :; do
			for r in a b; do
				c=$(curl -s -o /dev/null -m 3 -w "%{http_code}" -H "Host: shop.test" \
					"http://${HOST_IP[$r]}/version")
				echo "$(now_ms) $r $c"
			done
		done
	) >"$TEST_TMP/loop.log" 2>/dev/null &
	LOOP=$!
	at_exit "kill $LOOP 2>/dev/null"
}
# failures FROM_MS: requests that failed from then on
failures() { awk -v t="$1" '$1 >= t && $3 != 200' "$TEST_TMP/loop.log" | wc -l; }
requests() { awk -v t="$1" '$1 >= t' "$TEST_TMP/loop.log" | wc -l; }
web_running() { paas-deploy -D shop --json ps 2>/dev/null | jq -s "map(select(.service == \"web\" and .running)) | length"; }
web_is() { [ "$(web_running)" = "$1" ]; }
healthy_members() { paas-cluster --json status --timeout 3 2>/dev/null | jq -s "map(select(.kind == \"etcd\"))[0].members_healthy"; }
members_are() { [ "$(healthy_members)" = "$1" ]; }
agent_of() { paas-cluster --json status --timeout 3 2>/dev/null | jq -r -s "map(select(.kind == \"host\" and .name == \"$1\"))[0].agent"; }
agent_gone() { [ "$(agent_of "$1")" = false ]; }
agent_back() { [ "$(agent_of "$1")" = true ]; }
check_ok() { paas-cluster check --timeout 5 >chk2; }
enough() { [ "$(requests "$1")" -ge 40 ]; }

test_expect_success 'a bad --host: exit 3, nothing made' '
	expect_status 3 paas-cluster up --host "a=root@${HOST_IP[a]}" --host "A;x=root@h" 2>err &&
	cat err && expect_grep "expected NAME=USER@ADDRESS" err &&
	test ! -e "$PAAS_STATE_DIR/cluster.json"
'

test_expect_success 'a host that does not answer among good ones: exit 2 naming it, nothing started anywhere' '
	expect_status 2 paas-cluster up --accept-new-host-key --agent-docker unix:///run/docker-host/docker.sock \
		--host "a=root@${HOST_IP[a]}" --host "d=root@$_net_prefix.250" 2>err &&
	cat err && expect_grep "$_net_prefix.250" err &&
	test ! -e "$PAAS_STATE_DIR/cluster.json" &&
	! mx m-a test -e /etc/systemd/system/paas-etcd.service
'

test_expect_success 'up --host x3: etcd, agent and router on each host, the hosts registered' '
	"${UP[@]}" --accept-new-host-key >up.out 2>up.err || { cat up.err; false; } &&
	cat up.out &&
	for c in etcd agent router; do
		expect_eq "$(jq -r "select(.component == \"$c\" and .state == \"started\") | .host" up.out | sort | tr "\n" " ")" "a b c " || return 1
	done &&
	for h in a b c; do
		expect_eq "$(mx "m-$h" systemctl is-active $UNITS | tr "\n" " ")" "active active active " || return 1
	done &&
	export PAAS_ETCD=$(jq -r .etcd "$PAAS_STATE_DIR/cluster.json") &&
	echo "PAAS_ETCD=$PAAS_ETCD" &&
	paas-cluster --json status >st.json &&
	jq -e -s "map(select(.kind == \"etcd\"))[0] | .quorum and .members == 3 and .members_healthy == 3" st.json &&
	expect_eq "$(jq -r -s "map(select(.kind == \"host\" and .agent and .reachable) | .name) | join(\" \")" st.json)" "a b c" &&
	expect_eq "$(jq -r -s "map(select(.kind == \"router\") | .name) | sort | join(\" \")" st.json)" "a b c"
'

test_expect_success 'etcd peers: TLS, a client certificate of the cluster CA required' '
	! curl -sS -m 3 "http://${HOST_IP[a]}:2380/members" >/dev/null 2>&1 &&
	! curl -sS -m 3 --cacert "$PAAS_STATE_DIR/ca/ca.crt" "https://${HOST_IP[a]}:2380/members" >/dev/null 2>&1 &&
	curl -fsS -m 3 --cacert "$PAAS_STATE_DIR/ca/ca.crt" --cert "$PAAS_STATE_DIR/peers/b.crt" \
		--key "$PAAS_STATE_DIR/peers/b.key" "https://${HOST_IP[a]}:2380/members" | jq -e "length == 3" &&
	expect_eq "$(mx m-a stat -c %a /etc/paas-tools/etcd-peer.key /etc/default/paas-etcd | tr "\n" " ")" "600 600 "
'

test_expect_success 'up again: every unit running, none restarted' '
	before=$(pids) &&
	"${UP[@]}" >again.out && cat again.out &&
	! jq -e -s "any(.state == \"started\")" again.out >/dev/null &&
	expect_eq "$(pids)" "$before"
'

test_expect_success 'shop deployed over ssh://; served by the routers of a and b' '
	paas-deploy -D shop "$SF" >dep.out 2>dep.err || { cat dep.err; false; } &&
	expect_eq "$(web_running)" 3 &&
	for r in a b; do
		expect_eq "$(curl -sS -m 5 -H "Host: shop.test" "http://${HOST_IP[$r]}/version")" web-v1 || return 1
	done
'

test_expect_success 'host c dropped: after the lease TTL no request fails; quorum kept; check and repair' '
	loop_start && wait_for 10 test -s "$TEST_TMP/loop.log" &&
	t_drop=$(now_ms) && drop c -A &&
	wait_for 60 agent_gone c &&
	t_ttl=$(( $(now_ms) + 2000 )) &&
	say "host c dropped: its lease ran out after $(( $(now_ms) - t_drop )) ms" &&
	{ paas-cluster check --timeout 5 >chk; rc=$?; } && cat chk &&
	expect_eq $rc 2 &&
	expect_grep "etcd member c .* unhealthy" chk && expect_grep "host c down" chk &&
	{ paas-cluster --json check --repair --timeout 5 >rep || :; } && cat rep &&
	jq -e ".repaired[] | select(.deployment == \"shop\") | .skipped == [\"c\"]" rep &&
	wait_for 30 web_is 3 &&
	members_are 2 &&
	wait_for 60 enough "$t_ttl" &&
	n=$(requests "$t_ttl") && f=$(failures "$t_ttl") &&
	say "failed requests: $(failures "$t_drop") from the drop, $f of $n from 2 s after the lease ran out" &&
	expect_eq "$f" 0
'

test_expect_success 'host c back: its member rejoins; exactly the desired instances run' '
	drop c -D &&
	wait_for 60 members_are 3 &&
	wait_for 60 agent_back c &&
	wait_for 30 web_is 3 &&
	total=0 && for h in a b c; do
		n=$(DOCKER_API_VERSION=1.41 docker -H "unix://${HOST_SOCK[$h]}" ps -q --filter label=paas.deployment=shop --filter label=paas.service=web | wc -l) &&
		total=$((total + n)) || return 1
	done &&
	expect_eq "$total" 3 &&
	t0=$(now_ms) && wait_for 120 check_ok &&
	say "check OK $(( $(now_ms) - t0 )) ms after the instances were back"
'

test_expect_success 'down: every unit stopped on every host, the data kept' '
	{ kill $LOOP 2>/dev/null || :; } &&
	paas-cluster --json down >down.out && cat down.out &&
	for h in a b c; do
		expect_eq "$(mx "m-$h" systemctl is-active $UNITS | tr "\n" " ")" "inactive inactive inactive " &&
		mx "m-$h" test -d /var/lib/paas/etcd/member || return 1
	done
'

test_expect_success 'up after down: every unit started again, the same cluster serves shop' '
	"${UP[@]}" >up2.out 2>up2.err || { cat up2.err; false; } &&
	expect_eq "$(jq -r "select(.state == \"started\") | .component" up2.out | sort | uniq -c | tr -s " " | tr "\n" ",")" \
		" 3 agent, 3 etcd, 3 router," &&
	! jq -e -s "any(.component == \"host\" and .state == \"added\")" up2.out >/dev/null &&
	wait_for 30 web_is 3 &&
	for r in a b c; do
		expect_eq "$(curl -sS -m 5 -H "Host: shop.test" "http://${HOST_IP[$r]}/version")" web-v1 || return 1
	done
'

test_done
