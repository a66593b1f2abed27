#!/bin/bash
# The shape of the tree: the README's map of the library is true (every
# file of lib/ is on it, nothing else), no file of lib/ includes a header of
# a layer above its own, no file of lib/ is over 900 lines, and cmd/ is
# glue: its mains call into the library and cli.c, a subcommand family
# exports only its cmd_* entry points, which only paas-cluster.c calls, so
# that no two files of cmd/ call each other in a circle.
. "$(dirname "$0")/lib-test.sh"

# The map, as "layer-index module" lines.
awk '
	/The files, from the bottom up/ { on = 1; next }
	on && /^[^ ]/ && seen { exit }
	on && /^    [a-z]/ { n++ }
	on && /^(    [a-z][a-z]*  *|                )[a-z]/ {
		split(substr($0, 17), w, " "); print n, w[1]; seen = 1
	}
' "$SRCDIR/README" >map

test_expect_success 'the README has a map of the library, layer by layer' '
	test "$(wc -l <map)" -gt 40 && test "$(cut -d" " -f1 map | sort -u | wc -l)" -ge 6
'

test_expect_success 'every file of lib/ is on the map, and every module on it exists' '
	ls "$SRCDIR"/lib/ | sed -n "s/\.[ch]$//p" | sort -u >files &&
	cut -d" " -f2 map | sort -u >mapped &&
	comm -3 files mapped >diff && { test ! -s diff || { echo "lib/ against the map:"; cat diff; false; }; }
'

test_expect_success 'no file of lib/ includes a header of a layer above its own' '
	: >bad &&
	for f in "$SRCDIR"/lib/*.[ch]; do
		m=$(basename "${f%.[ch]}")
		l=$(awk -v m="$m" "\$2 == m { print \$1 }" map)
		sed -n "s/^#include \"\(.*\)\.h\"/\1/p" "$f" | while read -r inc; do
			il=$(awk -v m="$inc" "\$2 == m { print \$1 }" map)
			test -n "$il" || { echo "$m includes $inc.h, not on the map" >>bad; continue; }
			test "$il" -le "$l" || echo "$m (layer $l) includes $inc.h (layer $il)" >>bad
		done
	done &&
	{ test ! -s bad || { cat bad; false; }; }
'

test_expect_success 'every file of lib/ and cmd/ is in Makefile.am: the release tarball carries it' '
	for f in "$SRCDIR"/lib/*.[ch] "$SRCDIR"/cmd/*.[ch]; do
		case $f in */commit.h) continue ;; esac
		grep -q "${f#"$SRCDIR"/}" "$SRCDIR/Makefile.am" || echo "not in Makefile.am: ${f#"$SRCDIR"/}"
	done >missing &&
	{ test ! -s missing || { cat missing; false; }; }
'

test_expect_success 'no file of lib/ is over 900 lines' '
	wc -l "$SRCDIR"/lib/*.[ch] | awk "\$2 != \"total\" && \$1 > 900 { print; bad = 1 } END { exit bad }"
'

test_expect_success 'cmd/ is under 3,400 lines, and none of its functions over 100' '
	n=$(cat "$SRCDIR"/cmd/*.[ch] | wc -l) && echo "cmd/: $n lines" && test "$n" -lt 3400 &&
	awk "/^[a-z_]+\\(/ { name = \$0; start = FNR }
	    /^}/ && start { if (FNR - start > 100) { print FILENAME \": \" name \" \" FNR - start; bad = 1 } start = 0 }
	    END { exit bad }" "$SRCDIR"/cmd/*.c
'

test_expect_success 'a file of cmd/ exports only main or its cmd_* entry points, called from paas-cluster.c alone' '
	: >bad &&
	for f in "$SRCDIR"/cmd/*.c; do
		case $f in */cli.c) continue ;; esac
		awk "/^[a-z_]+\\(/ && prev !~ /^static/ { sub(/\\(.*/, \"\"); print } { prev = \$0 }" "$f" |
		while read -r fn; do
			case $fn in
			main) ;;
			cmd_*)
				for g in "$SRCDIR"/cmd/*.c; do
					case $g in "$f"|*/paas-cluster.c) continue ;; esac
					! grep -q "\\b$fn(" "$g" || echo "$(basename "$g") calls $fn of $(basename "$f")" >>bad
				done ;;
			*) echo "$(basename "$f") exports $fn" >>bad ;;
			esac
		done
	done &&
	{ test ! -s bad || { cat bad; false; }; }
'

test_expect_success 'cmd/ includes no private header but cli.h and paas-cluster.h' '
	! grep -n "^#include \"" "$SRCDIR"/cmd/*.[ch] | grep -v "\"\(cli\|paas-cluster\|commit\)\.h\"" |
	    while IFS=: read -r f _ inc; do
		h=${inc#*\"}; h=${h%.h\"}
		test -f "$SRCDIR/lib/$h.h" || echo "$f: $inc"
	done | grep .
'

test_done
