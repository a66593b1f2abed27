#!/bin/bash
# One command-line contract (issue 18, point 3): every command and
# subcommand answers --help and -h (usage on stdout, exit 0), --version and
# -V (name, version, commit; exit 0) and refuses an unknown flag (exit 3,
# stdout empty, the message on stderr), before it reads or changes
# anything: etcd's revision and the working and state directories are the
# same afterwards.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
rev() { "$PAAS_T" etcd "$PAAS_ETCD" status | sed -n "s/.* revision=\([0-9]*\).*/\1/p"; }
"$PAAS_T" etcd "$PAAS_ETCD" put /paas/v1/hosts/h1 '{"name":"h1","docker":"unix:///nonexistent"}' >/dev/null
mkdir -p work "$PAAS_STATE_DIR" && cd work || exit 1

CMDS=(
	"paas-deploy" "paas-deploy history" "paas-deploy rollback" "paas-deploy promote"
	"paas-deploy ps" "paas-deploy list" "paas-deploy logs" "paas-deploy exec"
	"paas-deploy destroy"
	"paas-scale"
	"paas-route render" "paas-route apply" "paas-route watch"
	"paas-unitgen"
	"paas-cluster" "paas-cluster up" "paas-cluster down" "paas-cluster status"
	"paas-cluster check" "paas-cluster hosts ls" "paas-cluster hosts add"
	"paas-cluster hosts rm" "paas-cluster members" "paas-cluster backup"
	"paas-cluster restore" "paas-cluster registry gc" "paas-cluster git add"
	"paas-cluster git ls" "paas-cluster agent"
)

test_expect_success 'a baseline: etcd revision, files' '
	r0=$(rev) && [ -n "$r0" ] &&
	find . "$PAAS_STATE_DIR" | sort >"$TEST_TMP/files0"
'

for c in "${CMDS[@]}"; do
	name=${c%% *}
	test_expect_success "$c: --help and -h print the usage on stdout, exit 0" '
		for f in --help -h; do
			$c $f >"$TEST_TMP/out" 2>"$TEST_TMP/err" &&
			grep -q "^usage: $name" "$TEST_TMP/out" && test ! -s "$TEST_TMP/err" || return 1
		done
	'
	test_expect_success "$c: --version and -V, exit 0" '
		for f in --version -V; do
			$c $f >"$TEST_TMP/out" 2>"$TEST_TMP/err" &&
			grep -q "^$name (paas-tools) " "$TEST_TMP/out" && test ! -s "$TEST_TMP/err" || return 1
		done
	'
	test_expect_success "$c: an unknown flag: exit 3, nothing on stdout, one message on stderr" '
		expect_status 3 $c --no-such-flag >"$TEST_TMP/out" 2>"$TEST_TMP/err" &&
		test ! -s "$TEST_TMP/out" && grep -q "no-such-flag" "$TEST_TMP/err"
	'
done

test_expect_success 'nothing was read into being or changed: etcd revision and files the same' '
	expect_eq "$(rev)" "$r0" &&
	find . "$PAAS_STATE_DIR" | sort >"$TEST_TMP/files1" &&
	test_cmp "$TEST_TMP/files0" "$TEST_TMP/files1" &&
	expect_eq "$("$PAAS_T" etcd "$PAAS_ETCD" get /paas/v1/hosts/h1 | jq -r .name)" h1
'

test_done
