#!/bin/bash
# The manual: every page is clean mdoc (at mandoc's style level too), and
# every command has a page whose SYNOPSIS names the flags its --help prints,
# no more and no fewer, and says --version; each paas-cluster subcommand's
# --help prints its own synopsis, whose flags are those of its SYNOPSIS
# lines in the page.
. "$(dirname "$0")/lib-test.sh"
need mandoc

test_expect_success 'every man page passes mandoc -Tlint without warnings' '
	mandoc -Tlint -Wwarning "$SRCDIR"/man/*.[1-8]
'

# Whether another package's page is installed is the machine's business:
# "referenced manual not found" is left out, and no mandoc.db is read.
test_expect_success 'mandoc -Tlint -Wstyle finds nothing on any page' '
	{ MANPATH=/nonexistent mandoc -Tlint -Wstyle "$SRCDIR"/man/*.[1-8] 2>&1 || :; } |
		{ grep -v "referenced manual not found" || :; } >lint &&
	{ test ! -s lint || { cat lint; false; }; }
'

# man_flags PAGE [SUB]: the long flags of PAGE's SYNOPSIS (SUB's lines only)
man_flags() {
	set -- "$1" "${2:-}"
	awk -v sub_="$2" '
	/^\.Sh SYNOPSIS/ { on = 1; next }
	/^\.Sh / { on = 0 }
	!on { next }
	/^\.Nm/ { cmd = ""; next }
	/^\.Cm / && cmd == "" { cmd = $2 }
	sub_ != "" && cmd != sub_ { next }
	{ sub(/^\./, ""); for (i = 1; i < NF; i++) if ($i == "Fl" && $(i + 1) ~ /^-./) print "-" $(i + 1) }
	' "$1" | grep -vxE -- "--(help|version|deployment)${2:+|--(etcd|json|table)}" | sort -u
}
# help_flags [global]: the long flags of a --help on stdin, without the
# line of aliases ("-D is --deployment, ...") and, for a subcommand, the
# global flags of its first line
help_flags() {
	set -- "${1:-}"
	grep -v "^-" | grep -o -- "--[a-z][a-z-]*" |
		grep -vxE -- "--(help|version|deployment)${1:+|--(etcd|json|table)}" | sort -u
}

test_expect_success 'the comparison catches a flag the page lost' '
	sed "/^\.Op Fl -force\$/d" "$SRCDIR/man/paas-cluster.1" >lost.1 &&
	man_flags lost.1 restore >m && "$BUILDDIR/paas-cluster" restore --help | help_flags sub >h &&
	! diff m h >/dev/null && expect_eq "$(diff m h | grep -c "^> --force")" 1
'

for c in "$BUILDDIR"/paas-*; do
	[ -x "$c" ] || continue
	name=$(basename "$c")
	test_expect_success "$name has a man page and --help, with the flags of its SYNOPSIS" '
		test -f "$SRCDIR/man/$name.1" &&
		"$c" --help >help && expect_grep "usage: $name" help &&
		man_flags "$SRCDIR/man/$name.1" >m && help_flags <help >h && test_cmp m h
	'
	test_expect_success "$name(1) has EXAMPLES, EXIT STATUS, ENVIRONMENT and FILES" '
		for sh in ENVIRONMENT FILES "EXIT STATUS" EXAMPLES; do
			grep -qx "\.Sh $sh" "$SRCDIR/man/$name.1" || { echo "no $sh"; return 1; }
		done
	'
	test_expect_success "$name --version and -V: name, version, commit on stdout, exit 0" '
		"$c" --version >v 2>err && "$c" -V >v2 && test_cmp v v2 &&
		grep -qx "$name (paas-tools) [0-9][0-9.]*, commit [0-9a-f]\{12\}" v &&
		test ! -s err && expect_grep "Fl -version" "$SRCDIR/man/$name.1"
	'
done

for sub in up down status check members backup restore registry git hosts agent; do
	test_expect_success "paas-cluster $sub --help: its own synopsis, with the flags of its SYNOPSIS lines" '
		"$BUILDDIR/paas-cluster" $sub --help >help &&
		sed 1d help | awk "/^  [a-z]/ { print \$1 }" | sort -u >cmds && expect_eq "$(cat cmds)" "$sub" &&
		man_flags "$SRCDIR/man/paas-cluster.1" $sub >m && help_flags sub <help >h && test_cmp m h
	'
done

for verb in history ps list logs exec rollback promote config maintenance destroy; do
	test_expect_success "paas-deploy $verb --help: its own synopsis, with the flags of its SYNOPSIS lines" '
		"$BUILDDIR/paas-deploy" $verb --help >help &&
		expect_eq "$(grep -c "^\(usage: \|       \)paas-deploy" help)" 1 &&
		grep "^\(usage: \|       \)paas-deploy" help | grep -qw "$verb" &&
		man_flags "$SRCDIR/man/paas-deploy.1" $verb >m && help_flags sub <help >h && test_cmp m h
	'
done

test_done
