# Test library for tests/tNNNN-*.sh, in the manner of git's t/test-lib.sh.
#
#   . "$(dirname "$0")/lib-test.sh"
#   test_expect_success 'what it shows' '
#           command && command
#   '
#   test_done
#
# Each test body runs in the test script's shell (so it can set variables for
# later tests); its output goes to the log and is shown as TAP comments when
# it fails.  Servers started through the lib-*.sh helpers are stopped by an
# EXIT trap, whatever happens.  A helper that cannot start its server calls
# bail_out: the whole file fails, its reason shown even from inside a test
# body; it never skips.  What a test needs that is not part of the project
# and not on the machine (fleet's source) is a skip_all with the reason and
# how to provide it.  A file that fails, bails out, times out or trips
# set -u keeps its temporary directory and says where.

set -u
: "${BUILDDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
PAAS_T="$BUILDDIR/tests/helpers/paas-t"
PATH="$BUILDDIR:$BUILDDIR/cmd:$PATH"
export BUILDDIR SRCDIR PATH PAAS_T

test_count=0
test_failed=0
TEST_NAME=$(basename "$0" .sh)
TEST_TMP=$(mktemp -d "/tmp/paas-$TEST_NAME.XXXXXX")
TEST_LOG="$TEST_TMP/test.log"
export TEST_TMP
# The commands' defaults must not find a cluster of this machine (a running
# quickstart's credentials and secrets key in /var/lib/paas).
PAAS_STATE_DIR=$TEST_TMP/paas-state
export PAAS_STATE_DIR
unset PAAS_ETCD_AUTH PAAS_SECRETS_KEY
: >"$TEST_LOG"
cd "$TEST_TMP" || exit 1
# The TAP stream, for what must reach it from inside a test body (whose
# output is captured).
exec 3>&1
_cur_out=

# Cleanups run last-in first-out at exit.
_cleanups=()
at_exit() { _cleanups+=("$*"); }
# What a sanitizer writes when it finds something (AddressSanitizer,
# LeakSanitizer, UBSan's "FILE.c:LINE:COL: runtime error:").
_SANITIZER_RE='==[0-9]+==ERROR: [A-Za-z]+Sanitizer|\.c:[0-9]+:[0-9]+: runtime error:'
_run_cleanups() {
	local st=$? i f reports=
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_cleanups[i]}" >>"$TEST_LOG" 2>&1 || :
	done
	# Under scripts/asan, the daemons the file started (agents, routers,
	# a cluster's components) wrote their reports, leaks included, to
	# their logs as they stopped: any one fails the file.
	if [ -n "${ASAN_OPTIONS:-}" ]; then
		reports=$(find "$TEST_TMP" -maxdepth 4 -type f -name "*.log" -size -100M \
			-exec grep -lE "$_SANITIZER_RE" {} + 2>/dev/null)
		for f in $reports; do
			echo "# a sanitizer report in $f:" >&3
			grep -m 5 -E "$_SANITIZER_RE" "$f" | sed 's/^/#   /' >&3
		done
		if [ -n "$reports" ]; then
			test_failed=$((test_failed + 1))
			[ "$st" -ne 0 ] || st=1
		fi
	fi
	if [ "$st" -eq 0 ] && [ "$test_failed" -eq 0 ] && [ -z "${PAAS_TEST_KEEP:-}" ]; then
		rm -rf "$TEST_TMP" 2>/dev/null || :
	else
		if [ "$st" -ne 0 ]; then
			echo "# logs kept in $TEST_TMP (exit status $st)" >&3
		else
			echo "# logs kept in $TEST_TMP" >&3
		fi
	fi
	exit "$st"
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

say() { echo "# $*"; }

bail_out() {
	{
		echo "Bail out! $*"
		if [ -n "$_cur_out" ] && [ -s "$_cur_out" ]; then
			tail -n 30 "$_cur_out" | sed 's/^/#   /'
		elif [ -s "$TEST_LOG" ]; then
			tail -n 30 "$TEST_LOG" | sed 's/^/#   /'
		fi
	} >&3
	test_failed=$((test_failed + 1))
	exit 1
}

# skip_all REASON: the whole file is skipped, as TAP says it ("1..0 # SKIP
# REASON"); REASON says what is missing and how to provide it.
skip_all() {
	echo "1..0 # SKIP $*" >&3
	exit 0
}

# A body runs in a function of its own, so that a `return 1` in it fails
# the point instead of returning from test_expect_success unreported.
_test_body() { eval "$1"; }

test_expect_success() {
	local desc=$1 body=$2 out rc
	test_count=$((test_count + 1))
	out="$TEST_TMP/out.$test_count"
	echo "=== $test_count: $desc" >>"$TEST_LOG"
	_cur_out=$out
	_test_body "$body" >"$out" 2>&1
	rc=$?
	_cur_out=
	cat "$out" >>"$TEST_LOG"
	if [ $rc -eq 0 ]; then
		echo "ok $test_count - $desc"
		grep '^# ' "$out" || :	# what `say` measured
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $desc"
		sed 's/^/#   /' <"$out" | tail -n 40
		printf '#   body:%s\n' "$(printf '%s' "$body" | sed 's/^/#     /')"
	fi
}

test_done() {
	echo "1..$test_count"
	[ "$test_failed" -eq 0 ]
	exit $?
}

# Small assertions that say what they saw.
test_cmp() { diff -u "$1" "$2"; }
expect_eq() {
	[ "$1" = "$2" ] || { echo "expected '$2', got '$1'"; return 1; }
}
# expect_status N cmd...: cmd must exit with status N
expect_status() {
	local want=$1 rc=0
	shift
	"$@" || rc=$?
	[ "$rc" -eq "$want" ] || { echo "expected exit $want, got $rc from: $*"; return 1; }
}
expect_grep() { grep -q -- "$1" "$2" || { echo "no '$1' in $2:"; cat "$2"; return 1; }; }

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }

# git_commit DIR MESSAGE: everything in work tree DIR committed.
git_commit() { git -C "$1" add -A && git -C "$1" -c user.name=t -c user.email=t@t commit -qm "$2"; }

# wait_for SECONDS CMD...: poll CMD every 50 ms until it succeeds.
wait_for() {
	local limit=$(($(now_ms) + $1 * 1000))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$limit" ] || return 1
		sleep 0.05
	done
}

# A TCP port on loopback that nothing listens on now, never handed out twice
# in one test file.
_ports_used=" "
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		case "$_ports_used" in *" $p "*) continue ;; esac
		if ! ss -Htan "( sport = :$p )" | grep -q .; then
			_ports_used="$_ports_used$p "
			echo "$p"
			return
		fi
	done
}

# kill_wait PID: TERM, then KILL after 10 s; waits for it to go.
kill_wait() {
	local pid=$1 i
	kill "$pid" 2>/dev/null || return 0
	for i in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null
	sleep 0.1
}

# need CMD...: a missing tool fails the file, it is never a skip.
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || bail_out "$c is not installed (run scripts/install-deps)"
	done
}
