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
	bash "$b"
done
