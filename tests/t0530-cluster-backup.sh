#!/bin/bash
# backup -> wipe -> restore: three deployments and 1,000 extra keys come
# back byte for byte, and the deployments are "unchanged" afterwards.  A
# truncated, corrupted or foreign file is refused with nothing written;
# restoring over a non-empty prefix is refused unless --force.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
etcd_start
docker_host_start a
export PAAS_ETCD=$ETCD_ENDPOINT
E=$ETCD_ENDPOINT
SF=$SRCDIR/tests/servicefiles/cluster/small.yml
dump() { "$PAAS_T" etcd "$E" range /paas/v1/; }
empty() { expect_eq "$("$PAAS_T" etcd "$E" range /paas/v1/ | wc -l)" 0; }

test_expect_success 'setup: three deployments, 1,000 extra keys with awkward values' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS &&
	for d in d1 d2 d3; do paas-deploy -D $d "$SF" >/dev/null || return 1; done &&
	jq -n "[range(1000) | \"value \\(.) with \\\"quotes\\\", tabs\\t, unicode é and = signs\"]" >vals &&
	"$PAAS_T" etcd "$E" putmany /paas/v1/extra/k vals &&
	dump >before && test "$(wc -l <before)" -ge 1010
'

test_expect_success 'backup writes every key at one revision, mode 0600, atomically' '
	paas-cluster --json backup b.ndjson >out &&
	jq -e ".kind == \"backed_up\" and .keys == $(wc -l <before) and .revision > 0" out &&
	expect_eq "$(stat -c %a b.ndjson)" 600 &&
	expect_eq "$(head -n 1 b.ndjson | jq -r .prefix)" /paas/v1/ &&
	tail -n 1 b.ndjson | jq -e ".end and .keys == $(wc -l <before)" &&
	! ls b.ndjson.paas-* 2>/dev/null
'

test_expect_success 'wipe, restore: every key and value identical; deployments unchanged' '
	"$PAAS_T" etcd "$E" del /paas/v1/ --prefix >/dev/null && empty &&
	paas-cluster --json restore b.ndjson >out &&
	jq -e ".kind == \"restored\" and .keys == $(wc -l <before)" out &&
	dump >after && test_cmp before after &&
	for d in d1 d2 d3; do paas-deploy -D $d "$SF" | jq -e "select(.kind == \"unchanged\")" >/dev/null || return 1; done
'

test_expect_success 'a truncated, corrupted or foreign file: refused, exit 3, nothing written' '
	"$PAAS_T" etcd "$E" del /paas/v1/ --prefix >/dev/null &&
	head -c $(($(stat -c %s b.ndjson) / 2)) b.ndjson >cut.ndjson &&
	expect_status 3 paas-cluster restore cut.ndjson 2>err && cat err &&
	grep -q "^paas-cluster: cut.ndjson: line [0-9]*: cut short (no end of line): the file is truncated" err &&
	head -n 500 b.ndjson >lines.ndjson &&
	expect_status 3 paas-cluster restore lines.ndjson 2>err &&
	grep -q "no end line after line 500: the file is truncated" err && empty &&
	sed "300s/\"v\":\"./\"v\":\"A/" b.ndjson >bad.ndjson && ! cmp -s b.ndjson bad.ndjson &&
	expect_status 3 paas-cluster restore bad.ndjson 2>err &&
	grep -q "checksum mismatch .*: the file is damaged" err && empty &&
	expect_status 3 paas-cluster restore /etc/passwd 2>err &&
	grep -q "/etc/passwd: line 1: not a backup record" err && empty &&
	expect_status 3 paas-cluster restore nonexistent 2>err && grep -q "nonexistent: No such file" err &&
	: >zero && expect_status 3 paas-cluster restore zero 2>err && grep -q "empty; not a backup" err &&
	empty
'

test_expect_success 'over a non-empty prefix: refused unless --force, which gives exactly the backup' '
	paas-cluster restore b.ndjson >/dev/null &&
	"$PAAS_T" etcd "$E" put /paas/v1/extra/zzz stray >/dev/null &&
	dump >with-stray &&
	expect_status 1 paas-cluster restore b.ndjson 2>err &&
	grep -q "etcd already holds [0-9]* keys under /paas/v1/: .*--force.*nothing was written" err &&
	dump >still && test_cmp with-stray still &&
	paas-cluster restore --force b.ndjson >/dev/null &&
	dump >after && test_cmp before after &&
	expect_status 3 paas-cluster backup 2>/dev/null &&
	expect_status 3 paas-cluster backup --force x 2>/dev/null
'

test_expect_success 'a backup that cannot be written: exit 1 naming the file, nothing left' '
	expect_status 1 paas-cluster backup "$TEST_TMP/no/such/dir/b.ndjson" 2>err &&
	grep -q "^paas-cluster: cannot create a file beside $TEST_TMP/no/such/dir/b.ndjson: No such file" err &&
	chmod 444 b.ndjson &&
	paas-cluster backup b.ndjson >/dev/null && expect_eq "$(stat -c %a b.ndjson)" 600 &&
	expect_status 3 paas-cluster backup one two 2>/dev/null
'

test_expect_success 'backup - writes to standard output, restore - reads standard input: a pipe through gzip' '
	paas-cluster --json backup - 2>err | gzip >b.gz &&
	expect_grep "backed up $(wc -l <before) keys at revision" err &&
	gunzip <b.gz >b3.ndjson && tail -n 1 b3.ndjson | jq -e ".end and .keys == $(wc -l <before)" &&
	! test -e ./- &&
	"$PAAS_T" etcd "$E" del /paas/v1/ --prefix >/dev/null && empty &&
	gunzip <b.gz | paas-cluster restore - >out &&
	dump >after && test_cmp before after
'

test_expect_success 'backup /dev/stdout writes through it; a symbolic link is written where it leads, kept' '
	paas-cluster backup /dev/stdout >b4.ndjson 2>err &&
	test -L /dev/stdout && tail -n 1 b4.ndjson | jq -e ".end and .keys == $(wc -l <before)" &&
	expect_grep "backed up" err &&
	: >target.ndjson && ln -s target.ndjson link.ndjson &&
	paas-cluster backup link.ndjson >/dev/null &&
	test -L link.ndjson && expect_eq "$(readlink link.ndjson)" target.ndjson &&
	tail -n 1 target.ndjson | jq -e ".end" >/dev/null &&
	mkfifo fifo && { cat fifo >fromfifo & r=$!; } && paas-cluster backup fifo >/dev/null && wait $r &&
	test -p fifo && tail -n 1 fromfifo | jq -e ".end" >/dev/null &&
	mkdir adir && expect_status 3 paas-cluster backup adir 2>err && expect_grep "adir: is a directory" err
'

test_expect_success 'leased keys are left out of a backup' '
	lease=$("$PAAS_T" etcd "$E" lease-grant 60) &&
	"$PAAS_T" etcd "$E" put /paas/v1/agents/x "{}" "$lease" >/dev/null &&
	paas-cluster --json backup b2.ndjson >out &&
	jq -e ".leased == 1 and .keys == $(wc -l <before)" out &&
	! grep -q "$(printf /paas/v1/agents/x | base64)" b2.ndjson
'
# The keys of a backup file, without its header (revision, time) and end line.
keylines() { sed '1d;$d' "$1"; }
etcd_limit() {
	etcd_member_kill 0 && ETCD_EXTRA_ARGS="$*" etcd_member_restart 0
}

test_expect_success '150 records of 20 KB (3 MB): restored into an empty etcd, and over it with --force' '
	"$PAAS_T" etcd "$E" del /paas/v1/agents/ --prefix >/dev/null &&
	jq -n "[range(150) | \"r\(.) \" + (\"x\" * 20480)]" >big.json &&
	"$PAAS_T" etcd "$E" putmany /paas/v1/big/k big.json &&
	dump >big-before && expect_eq "$(grep -c "^/paas/v1/big/" big-before)" 150 &&
	paas-cluster backup big.ndjson >/dev/null &&
	"$PAAS_T" etcd "$E" del /paas/v1/ --prefix >/dev/null && empty &&
	paas-cluster --json restore big.ndjson >out && jq -e ".keys == $(head -n 1 big.ndjson | jq .keys)" out &&
	dump >after && test_cmp big-before after &&
	paas-cluster restore --force big.ndjson >/dev/null &&
	dump >after && test_cmp big-before after &&
	"$PAAS_T" etcd "$E" del /paas/v1/big/ --prefix >/dev/null
'

test_expect_success 'a record no default etcd takes in one request: the backup is refused naming it, nothing written' '
	etcd_limit --max-request-bytes 4194304 &&
	jq -n "[\"x\" * 2000000]" >huge.json &&
	"$PAAS_T" etcd "$E" putmany /paas/v1/huge/k huge.json &&
	expect_status 1 paas-cluster backup h.ndjson 2>err && cat err &&
	expect_grep "key /paas/v1/huge/k00000 holds 20000[0-9]* bytes, over the 1568768 that one etcd request takes.*could not be restored; no backup was written" err &&
	! test -e h.ndjson && ! ls h.ndjson.* 2>/dev/null &&
	"$PAAS_T" etcd "$E" del /paas/v1/huge/ --prefix >/dev/null &&
	etcd_limit
'

test_expect_success 'a restore refused mid-way (a request over this etcd limit): every key as it was' '
	dump >before-mixed &&
	paas-cluster backup keep.ndjson >/dev/null &&
	jq -n "[range(250) | \"small \(.)\"]" >small.json &&
	jq -n "[\"y\" * 400000]" >large.json &&
	"$PAAS_T" etcd "$E" putmany /paas/v1/a/k small.json &&
	"$PAAS_T" etcd "$E" putmany /paas/v1/zz/k large.json &&
	paas-cluster backup mixed.ndjson >/dev/null &&
	paas-cluster restore --force keep.ndjson >/dev/null && dump >now && test_cmp before-mixed now &&
	etcd_limit --max-request-bytes 300000 &&
	expect_status 1 paas-cluster restore --force mixed.ndjson 2>err && cat err &&
	expect_grep "restore failed after [1-9][0-9]* of [0-9]* changes, and the keys under /paas/v1/ were put back as they were" err &&
	dump >now && test_cmp before-mixed now &&
	paas-cluster backup again.ndjson >/dev/null &&
	keylines keep.ndjson >k1 && keylines again.ndjson >k2 && test_cmp k1 k2 &&
	etcd_limit
'

test_expect_success 'etcd killed mid-way through a restore: once it is back, every key as it was' '
	paas-cluster backup keep.ndjson >/dev/null &&
	jq -n "[range(12000) | \"w\(.) \" + (\"z\" * 200)]" >w.json &&
	"$PAAS_T" etcd "$E" putmany /paas/v1/w/k w.json &&
	paas-cluster backup w.ndjson >/dev/null &&
	paas-cluster restore --force keep.ndjson >/dev/null && dump >before-kill &&
	{ paas-cluster restore --force w.ndjson >r.out 2>r.err & r=$!; } &&
	wait_for 30 sh -c "\"$PAAS_T\" etcd \"$E\" get /paas/v1/w/k00000 | grep -q z" &&
	kill -0 $r && etcd_member_kill 0 && say "etcd killed with the restore under way" &&
	etcd_member_restart 0 &&
	{ wait $r; rc=$?; } && cat r.err && expect_eq $rc 2 &&
	expect_grep "restore failed after [0-9]* of 12[0-9]* changes, and the keys under /paas/v1/ were put back as they were" r.err &&
	dump >now && test_cmp before-kill now &&
	paas-cluster backup again.ndjson >/dev/null &&
	keylines keep.ndjson >k1 && keylines again.ndjson >k2 && test_cmp k1 k2
'
test_done
