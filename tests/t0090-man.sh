#!/bin/bash
# The manual: every page is clean mdoc, and every command has a page whose
# SYNOPSIS names what its --help prints.
. "$(dirname "$0")/lib-test.sh"
need mandoc

test_expect_success 'every man page passes mandoc -Tlint without warnings' '
	mandoc -Tlint -Wwarning "$SRCDIR"/man/*.[1-8]
'

for c in "$BUILDDIR"/paas-*; do
	[ -x "$c" ] || continue
	name=$(basename "$c")
	test_expect_success "$name has a man page and --help" '
		test -f "$SRCDIR/man/$name.1" &&
		"$c" --help >help && expect_grep "usage: $name" help
	'
done

test_done
