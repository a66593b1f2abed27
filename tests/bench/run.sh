#!/bin/sh
# Run every benchmark (or those whose names contain an argument); each prints
# its numbers as comments and one "NAME ratio R (...)" line.
: "${BUILDDIR:=$(pwd)}"
: "${SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
export BUILDDIR SRCDIR
for b in "$SRCDIR"/tests/bench/*.sh; do
	case "$(basename "$b")" in lib-*|run.sh) continue ;; esac
	if [ $# -gt 0 ]; then
		m=0
		for p in "$@"; do case "$(basename "$b")" in *"$p"*) m=1 ;; esac; done
		[ $m -eq 1 ] || continue
	fi
	# A benchmark that began on a busy machine (its "load before" above
	# LOAD_HIGH, after it waited up to QUIET_S for a quiet one) is taken
	# again, once; both runs are printed.
	out=$(mktemp)
	bash "$b" | tee "$out"
	l=$(sed -n 's/^# .*: load before \([0-9.]*\).*/\1/p' "$out" | head -n 1)
	if awk -v l="${l:-0}" -v h="${LOAD_HIGH:-3}" 'BEGIN { exit !(l > h) }'; then
		echo "# $(basename "$b" .sh): began with the load at $l: taken again"
		bash "$b"
	fi
	rm -f "$out"
done
