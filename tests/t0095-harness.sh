#!/bin/bash
# The test harness itself tells the truth: a bail-out inside a test body
# shows its reason in the TAP stream; a test file that bails out, times
# out or trips set -u keeps its logs and says where; a file whose part is
# absent (fleet's source) is a skip with its reason, counted as one by
# tests/run.sh, never a pass or a failure.
. "$(dirname "$0")/lib-test.sh"

# A test file of its own, run as tests/run.sh runs one.
mkdir -p t/tests
cp "$SRCDIR/tests/lib-test.sh" t/tests/
case_file() {	# case_file NAME BODY: t/tests/NAME.sh, one point whose body is BODY
	printf '%s\n' '#!/bin/bash' '. "$(dirname "$0")/lib-test.sh"' \
		"test_expect_success 'the point' '$2'" 'test_done' >"t/tests/$1.sh"
}
run_case() {	# run_case NAME [TIMEOUT]: its TAP stream in NAME.tap, its status
	PAAS_TEST_KEEP= timeout -k 5 "${2:-60}" bash "t/tests/$1.sh" >"$1.tap" 2>&1
}
kept_dir() { sed -n 's/^# logs kept in \([^ ]*\).*/\1/p' "$1.tap"; }

test_expect_success 'bail_out inside a test body: its reason and what the body said, in the TAP stream' '
	case_file bail "echo the body was here; bail_out \"the server did not start: port 1 taken\"" &&
	! run_case bail &&
	expect_grep "^Bail out! the server did not start: port 1 taken" bail.tap &&
	expect_grep "^#   the body was here" bail.tap &&
	d=$(kept_dir bail) && test -d "$d" && expect_grep "the body was here" "$d/out.1" &&
	rm -rf "$d"
'

test_expect_success 'a test file that times out keeps its logs and says where' '
	case_file slow "echo started; sleep 30" &&
	! run_case slow 2 &&
	d=$(kept_dir slow) && test -n "$d" && test -d "$d" &&
	expect_grep "exit status" slow.tap &&
	expect_grep started "$d/out.1" && rm -rf "$d"
'

test_expect_success 'a test file that trips set -u keeps its logs and says where' '
	printf "%s\n" "#!/bin/bash" ". \"\$(dirname \"\$0\")/lib-test.sh\"" "echo \"\$undefined_variable\"" \
		"test_done" >t/tests/unset.sh &&
	! run_case unset &&
	d=$(kept_dir unset) && test -n "$d" && test -d "$d" && rm -rf "$d"
'

test_expect_success 'under scripts/asan, a daemon that logged a sanitizer report fails the file, named' '
	case_file asan "echo \"==123==ERROR: LeakSanitizer: detected memory leaks\" >>\"\$TEST_TMP/agent-a.log\"" &&
	! ASAN_OPTIONS=detect_leaks=1 run_case asan &&
	expect_grep "^ok 1 - the point" asan.tap &&
	expect_grep "^# a sanitizer report in .*/agent-a.log" asan.tap &&
	expect_grep "LeakSanitizer: detected memory leaks" asan.tap &&
	d=$(kept_dir asan) && test -d "$d" && rm -rf "$d" &&
	case_file clean "echo all well >>\"\$TEST_TMP/agent-a.log\"" &&
	ASAN_OPTIONS=detect_leaks=1 run_case clean
'

test_expect_success 'a passing file leaves nothing behind' '
	case_file good "true" && run_case good &&
	expect_grep "^ok 1 - the point" good.tap && test -z "$(kept_dir good)"
'

test_expect_success 'fleet tests without fleet source: a skip with the reason and how to give it' '
	PAAS_FLEET_SRC=$TEST_TMP/nothing timeout 60 bash "$SRCDIR/tests/t0800-fleet.sh" >fleet.tap 2>&1 &&
	expect_grep "^1\.\.0 # SKIP .*fleet.*PAAS_FLEET_SRC" fleet.tap &&
	! grep -q "^ok\|^not ok" fleet.tap
'

test_expect_success 'tests/run.sh counts skips apart and names each, with its reason' '
	mkdir -p r/tests && cp "$SRCDIR/tests/lib-test.sh" r/tests/ &&
	printf "%s\n" "#!/bin/bash" ". \"\$(dirname \"\$0\")/lib-test.sh\"" \
		"skip_all \"no frobnicator here: install it\"" >r/tests/t0001-skip.sh &&
	printf "%s\n" "#!/bin/bash" ". \"\$(dirname \"\$0\")/lib-test.sh\"" \
		"test_expect_success one true" "test_done" >r/tests/t0002-pass.sh &&
	BUILDDIR=$TEST_TMP/r SRCDIR=$TEST_TMP/r sh "$SRCDIR/tests/run.sh" >run.out 2>&1 &&
	expect_eq "$(tail -n 1 run.out)" "1 passed, 0 failed, 1 skipped" &&
	expect_grep "^# skipped in t0001-skip.sh: no frobnicator here: install it" run.out
'

test_done
