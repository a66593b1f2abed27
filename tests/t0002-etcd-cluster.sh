#!/bin/bash
# A three-member etcd: a watcher sees every one of 1,000 puts, in order and
# exactly once, while the member it is connected to is killed and restarted.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"

etcd_cluster_start 3

test_expect_success 'three members, one leader' '
	"$PAAS_T" etcd "$ETCD_ENDPOINTS" members >m && expect_eq "$(wc -l <m)" 3
'

test_expect_success 'watch survives the kill and restart of its member mid-stream' '
	# The watcher talks to member 0 first; the writer to members 1 and 2.
	w_eps="${ETCD_EP[0]},${ETCD_EP[1]},${ETCD_EP[2]}" &&
	p_eps="${ETCD_EP[1]},${ETCD_EP[2]}" &&
	start_rev=$("$PAAS_T" etcd "$p_eps" put /paas/start x) &&
	{ "$PAAS_T" etcd "$w_eps" watch /paas/seq/ --prefix 1000 $((start_rev + 1)) >events 2>watch.err & watcher=$!; } &&
	failed= &&
	for i in $(seq 0 999); do
		"$PAAS_T" etcd "$p_eps" put "/paas/seq/k" "$i" >/dev/null || { failed="put $i"; break; }
		if [ $i -eq 300 ]; then etcd_member_kill 0; fi
		if [ $i -eq 600 ]; then etcd_member_restart 0; fi
	done &&
	expect_eq "$failed" "" &&
	wait_for 30 sh -c "[ \$(wc -l <events) -ge 1000 ]" &&
	wait $watcher &&
	awk "{print \$3}" events >got &&
	seq 0 999 >want &&
	test_cmp want got &&
	awk "NR > 1 && \$4 <= prev { print \"revision went back at line \" NR; bad = 1 } { prev = \$4 } END { exit bad }" events
'

test_expect_success 'the restarted member serves reads again' '
	wait_for 10 "$PAAS_T" etcd "${ETCD_EP[0]}" health &&
	expect_eq "$("$PAAS_T" etcd "${ETCD_EP[0]}" get /paas/seq/k)" 999
'

test_done
