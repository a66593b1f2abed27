#!/bin/bash
# The tests' own lint: no test body throws an assertion away.  A body's
# status is its last command's, so within a body every command must chain
# into the next (&&, ||, |) at the top level: a line that ends a command
# before another line, a `;` that cuts a chain of assertions, or a
# `|| :` / `|| true` that ends a line before the body does, each discards
# whatever came before it.  (Inside { }, ( ), $( ), if, for, while and case
# a body may do as it likes.)  Each finding is named FILE:LINE.
. "$(dirname "$0")/lib-test.sh"

lint() {	# lint FILE...: the findings, one a line
	awk '
	function flag(why) { printf "%s:%d: %s: %s\n", FILENAME, FNR, why, raw; bad = 1 }
	function top() { return substr(st, length(st), 1) }
	function pop() { st = substr(st, 1, length(st) - 1) }
	# One line of a body.  st: what is open across lines (q a double quote,
	# s a $( ), p a ( ); depth: the blocks open ({ }, if, for, while, case).
	# semi: a ";" at the top level after a command of the chain.
	function scan(s,    i, c, n, w, j) {
		n = length(s); semi = 0
		for (i = 1; i <= n; i++) {
			c = substr(s, i, 1)
			if (top() == "q") {
				if (c == "\\") i++
				else if (c == "\"") pop()
				else if (c == "$" && substr(s, i + 1, 1) == "(") { st = st "s"; i++ }
				continue
			}
			if (c == "\\") { i++; continue }
			if (c == "\"") { st = st "q"; continue }
			if (c == "#" && (i == 1 || substr(s, i - 1, 1) ~ /[ \t]/)) break
			if (c == "$" && substr(s, i + 1, 1) == "(") { st = st "s"; i++; continue }
			if (c == "(") { st = st "p"; continue }
			if (c == ")") { if (st != "") pop(); continue }
			if (c == ";" && substr(s, i + 1, 1) == ";") { i++; continue }
			if (incase) {
				if (i > 1 && substr(s, i - 1, 1) !~ /[ \t;&|(]/) continue
				if (substr(s, i, 5) ~ /^case[ \t]/) { incase++; i += 3 }
				else if (substr(s, i, 4) == "esac" && --incase == 0) { depth--; i += 3 }
				continue
			}
			if (c == ";" && st == "" && depth == 0 && (chain || substr(s, 1, i) ~ /(&&|\|\|)/))
				semi = 1
			if (c ~ /[a-z{}]/ && (i == 1 || substr(s, i - 1, 1) ~ /[ \t;&|(]/)) {
				w = substr(s, i); sub(/[^a-z{}].*/, "", w)
				if (w == "case") {
					# Its patterns end in ")": skipped whole, to its esac.
					j = index(substr(s, i), "esac")
					if (j) { i += j + 2; continue }
					depth++; incase = 1; continue
				}
				if (w == "{" || w == "if" || w == "for" || w == "while" || w == "until") depth++
				else if (w == "}" || w == "fi" || w == "done") depth--
				i += length(w) - 1
			}
		}
	}
	/^test_expect_success .*'"'"'$/ && !/^test_expect_success .*'"'"' .*'"'"'.*'"'"'$/ {
		inbody = 1; depth = 0; chain = 0; pending = ""; st = ""; incase = 0; heredoc = ""
		next
	}
	inbody && /^'"'"'$/ { inbody = 0; pending = ""; next }
	inbody && heredoc != "" {
		t = $0; gsub(/^[ \t]+|[ \t]+$/, "", t)
		if (t == heredoc) heredoc = ""
		next
	}
	inbody {
		raw = $0; line = $0
		sub(/[ \t]+$/, "", line)
		if (match(line, /<<-?[\\'"'"']?[A-Z]+/)) {
			heredoc = substr(line, RSTART, RLENGTH); sub(/^<<-?[\\'"'"']?/, "", heredoc)
		}
		if (line ~ /^[ \t]*$/ || (st == "" && line ~ /^[ \t]*#/)) next
		if (pending != "") { print pending; bad = 1; pending = "" }
		scan(line)
		if (semi) flag("a ; cuts the chain of assertions before it")
		if (st != "" || depth > 0) { chain = 1; next }
		if (line ~ /\|\|[ \t]*(:|true)$/)
			pending = sprintf("%s:%d: a line ending in || : (or || true) throws away the assertions before it: %s", FILENAME, FNR, raw)
		else if (line !~ /(&&|\|\||\||\\|\{|\(|do|then|else|in)$/)
			pending = sprintf("%s:%d: a command ends with this line, and the assertions before it count for nothing: %s", FILENAME, FNR, raw)
		chain = line ~ /(&&|\|\||\|)$/
	}
	END { exit bad }
	' "$@"
}

test_expect_success 'the lint finds what it is for: a dropped chain, a cut chain, a || : mid-body' '
	cat >bad.sh <<-\EOF &&
	test_expect_success "x" '"'"'
		false &&
		true || :
		true
	'"'"'
	test_expect_success "y" '"'"'
		false &&
		true; true
	'"'"'
	test_expect_success "z" '"'"'
		false &&
		true
		true
	'"'"'
	test_expect_success "fine" '"'"'
		for x in a b; do
			echo $x; true
		done &&
		{ false || :; } &&
		x=$(echo a; echo b) &&
		true
	'"'"'
	EOF
	! lint bad.sh >found &&
	expect_grep "bad.sh:3: a line ending in || :" found &&
	expect_grep "bad.sh:8: a ; cuts" found &&
	expect_grep "bad.sh:12: a command ends" found &&
	expect_eq "$(wc -l <found)" 3
'

test_expect_success 'no test body of the suite throws an assertion away' '
	lint "$SRCDIR"/tests/t[0-9]*.sh
'

test_done
