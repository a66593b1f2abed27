#!/bin/bash
# The etcd client against one real etcd: keys, paging, transactions, leases,
# watches, compaction, cluster calls, and unreachable endpoints.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
need busybox ss

etcd_start
E=$ETCD_ENDPOINT
t() { "$PAAS_T" etcd "$E" "$@"; }

test_expect_success 'put then get gives the value back' '
	t put /paas/a "hello world" >/dev/null &&
	expect_eq "$(t get /paas/a)" "hello world"
'

test_expect_success 'a missing key is reported, exit 1' '
	expect_status 1 t get /paas/none 2>err &&
	expect_grep "no such key" err
'

test_expect_success 'range reads 2,500 keys in pages of 1,000, in order' '
	t putn /paas/many/ 2500 &&
	t range /paas/many/ 1000 >got &&
	expect_eq "$(wc -l <got)" 2500 &&
	seq 0 2499 | awk "{ printf \"/paas/many/%06d=%d\\n\", \$1, \$1 }" >want &&
	test_cmp want got
'

test_expect_success 'a prefix range does not reach past its prefix' '
	t put /paas/many0 outside >/dev/null &&
	expect_eq "$(t range /paas/many/ | wc -l)" 2500
'

test_expect_success 'delete with prefix removes them all' '
	expect_eq "$(t del /paas/many/ --prefix)" 2500 &&
	expect_eq "$(t range /paas/many/ | wc -l)" 0
'

test_expect_success 'compare-and-swap: create only if absent' '
	expect_eq "$(t cas /paas/lock me 0)" won &&
	expect_status 1 t cas /paas/lock you 0 &&
	expect_eq "$(t get /paas/lock)" me
'

test_expect_success 'compare-and-swap on mod_revision: a stale revision loses' '
	rev=$(t modrev /paas/lock) &&
	expect_eq "$(t cas /paas/lock v2 $rev)" won &&
	expect_status 1 t cas /paas/lock v3 $rev &&
	expect_eq "$(t get /paas/lock)" v2
'

test_expect_success 'CAS race: of two writers started together exactly one wins, 50 times' '
	bad= &&
	for i in $(seq 50); do
		rev=$(t modrev /paas/race)
		t cas /paas/race "a$i" $rev >a.out 2>&1 & pa=$!
		t cas /paas/race "b$i" $rev >b.out 2>&1 & pb=$!
		wait $pa $pb
		wins=$(cat a.out b.out | grep -c "^won$")
		[ "$wins" -eq 1 ] || { bad="round $i: $wins winners"; cat a.out b.out; break; }
	done &&
	expect_eq "$bad" ""
'

test_expect_success 'a lease keeps its key alive until revoked' '
	lease=$(t lease-grant 5) &&
	t put /paas/leased v $lease >/dev/null &&
	ttl=$(t lease-keepalive $lease) && [ "$ttl" -ge 4 ] &&
	t lease-revoke $lease &&
	expect_status 1 t get /paas/leased
'

test_expect_success 'a lease that is not kept alive expires with its key' '
	lease=$(t lease-grant 1) &&
	t put /paas/short v $lease >/dev/null &&
	wait_for 5 sh -c "! \"$PAAS_T\" etcd $E get /paas/short" &&
	expect_status 1 t lease-keepalive $lease 2>err &&
	expect_grep "expired" err
'

test_expect_success 'watch sees puts and deletes, in order' '
	(t watch /paas/w/ --prefix 3 >events &) &&
	sleep 0.5 &&
	t put /paas/w/1 a >/dev/null && t put /paas/w/2 b >/dev/null && t del /paas/w/1 >/dev/null &&
	wait_for 5 sh -c "[ \$(wc -l <events) -eq 3 ]" &&
	cut -d" " -f1-3 events >got &&
	printf "PUT /paas/w/1 a\nPUT /paas/w/2 b\nDELETE /paas/w/1 \n" >want &&
	test_cmp want got
'

test_expect_success 'watch from an old revision replays history' '
	rev=$(t put /paas/h x) && t put /paas/h y >/dev/null &&
	t watch /paas/h 2 $rev >got &&
	expect_eq "$(awk "{print \$3}" got | tr "\n" " ")" "x y "
'

test_expect_success 'watch from a compacted revision reports compaction' '
	rev=$(t put /paas/c 1) && t put /paas/c 2 >/dev/null && rev2=$(t put /paas/c 3) &&
	curl -fsS "$E/v3/kv/compaction" -d "{\"revision\":\"$rev2\"}" >/dev/null &&
	expect_status 1 t watch /paas/c 1 $rev >got 2>err &&
	expect_grep "COMPACTED $rev2" got &&
	expect_grep "compacted away" err
'

test_expect_success 'status, health and members of the member' '
	t status >st && expect_grep "version=3\." st &&
	t health >h && expect_grep healthy h &&
	expect_eq "$(t members | wc -l)" 1
'

dead="http://127.0.0.1:$(free_port)"

test_expect_success 'an unreachable endpoint fails fast with a message naming it, exit 2' '
	start=$(now_ms) &&
	expect_status 2 "$PAAS_T" -c 500 etcd "$dead" get /paas/a 2>err &&
	elapsed=$(($(now_ms) - start)) && echo "took $elapsed ms" &&
	[ $elapsed -lt 1500 ] &&
	expect_grep "cannot reach etcd at $dead (connection refused)" err
'

test_expect_success 'with a second endpoint listed, the call succeeds on that one' '
	expect_eq "$("$PAAS_T" -c 500 etcd "$dead,$E" get /paas/a)" "hello world"
'

test_expect_success 'a server that never answers fails within the timeout, naming it' '
	port=$(free_port) &&
	{ sleep 30 | busybox nc -l -p $port >/dev/null 2>&1 & nc_pid=$!; } &&
	at_exit "kill $nc_pid 2>/dev/null" &&
	wait_for 5 sh -c "ss -Htln \"( sport = :$port )\" | grep -q ." &&
	start=$(now_ms) &&
	expect_status 2 "$PAAS_T" -t 700 etcd "http://127.0.0.1:$port" get /paas/a 2>err &&
	elapsed=$(($(now_ms) - start)) && echo "took $elapsed ms" &&
	[ $elapsed -ge 650 ] && [ $elapsed -lt 1700 ] &&
	expect_grep "http://127.0.0.1:$port (timed out after 700 ms)" err
'

test_done
