#!/bin/bash
# The manual: every page is clean mdoc, and every command has a page whose
# SYNOPSIS names what its --help prints, and says --version.
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
	test_expect_success "$name --version and -V: name, version, commit on stdout, exit 0" '
		"$c" --version >v 2>err && "$c" -V >v2 && test_cmp v v2 &&
		grep -qx "$name (paas-tools) [0-9][0-9.]*, commit [0-9a-f]\{12\}" v &&
		test ! -s err && expect_grep "Fl -version" "$SRCDIR/man/$name.1"
	'
done

test_done
