#!/bin/sh
# The test runner: every unit test, then every tNNNN-*.sh, each a TAP stream.
# Prints each stream, then one line: "N passed, N failed" (", N skipped"
# after it when anything was: a point "ok N - ... # SKIP why", or a whole
# file "1..0 # SKIP why", each named with its reason).  A file that exits
# non-zero or bails out counts as a failure even if its points all passed.
#
#   tests/run.sh [PATTERN...]    run only the files whose name contains a pattern
#   PAAS_TEST_TIMEOUT=SECONDS    per file (default 600)
#   PAAS_FLEET_SRC=DIR           fleet's source tarball's directory
#                                (default $SRCDIR/../shared/third_party/fleet;
#                                where there is none, the fleet tests skip)
#   PAAS_FLEET_FIXTURES=DIR      recorded fleet API exchanges other than the
#                                project's tests/fixtures/fleet

: "${BUILDDIR:=$(pwd)}"
: "${SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
export BUILDDIR SRCDIR
# What the project may not contain, found beside it unless given: fleet's
# source (tests build a real fleetd from it).
: "${PAAS_FLEET_SRC:=$SRCDIR/../shared/third_party/fleet}"
export PAAS_FLEET_SRC
timeout_s=${PAAS_TEST_TIMEOUT:-600}

files=""
for f in "$BUILDDIR"/tests/unit/t-*; do
	case "$f" in *.c|*.o|*.log|*.trs) continue ;; esac
	[ -x "$f" ] && files="$files $f"
done
for f in "$SRCDIR"/tests/t[0-9]*.sh; do
	[ -f "$f" ] && files="$files $f"
done

if [ $# -gt 0 ]; then
	sel=""
	for f in $files; do
		for p in "$@"; do
			case "$(basename "$f")" in *"$p"*) sel="$sel $f"; break ;; esac
		done
	done
	files=$sel
fi

passed=0 failed=0 skipped=0 skips=""
for f in $files; do
	name=$(basename "$f")
	echo "# --- $name"
	start=$(date +%s)
	out=$(mktemp)
	case "$f" in
	*.sh) timeout -k 10 "$timeout_s" bash "$f" >"$out" 2>&1 ;;
	*) timeout -k 10 "$timeout_s" "$f" >"$out" 2>&1 ;;
	esac
	rc=$?
	cat "$out"
	p=$(grep '^ok ' "$out" | grep -vc '# SKIP')
	s=$(grep -c '^ok .*# SKIP\|^1\.\.0 # SKIP' "$out")
	n=$(grep -c '^not ok ' "$out")
	passed=$((passed + p))
	failed=$((failed + n))
	skipped=$((skipped + s))
	[ "$s" -eq 0 ] || skips="$skips
# skipped in $name: $(sed -n 's/^.*# SKIP *//p' "$out" | sort -u | tr '\n' ' ')"
	if [ $rc -ne 0 ] && [ "$n" -eq 0 ]; then
		# It died, timed out or bailed out without a failing point: count it.
		echo "not ok - $name exited with status $rc"
		failed=$((failed + 1))
	fi
	sk=""
	[ "$s" -eq 0 ] || sk=", $s skipped"
	echo "# $name: $p passed, $n failed$sk, $(($(date +%s) - start)) s"
	rm -f "$out"
done
[ -z "$skips" ] || printf '%s\n' "$skips"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
