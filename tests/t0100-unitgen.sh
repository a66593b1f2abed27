#!/bin/bash
# paas-unitgen and the Servicefile: the canonical spec, units that systemd
# accepts, escaping that systemd undoes exactly, and hostile input refused
# with one message naming file:line:column, exit 3, nothing written.
. "$(dirname "$0")/lib-test.sh"
need systemd-analyze jq
EX="$SRCDIR/examples/Servicefile"
GOOD="$SRCDIR/tests/servicefiles/good"
BAD="$SRCDIR/tests/servicefiles/bad"

verify_units() {
	local f rc=0
	for f in "$1"/*.service; do
		systemd-analyze verify --man=no "$f" >"$f.verify" 2>&1 || { cat "$f.verify"; rc=1; }
		# verify exits 0 on some warnings: an ignored line is a failure here.
		if grep -E "ignoring|Unbalanced|Unknown|bad unit" "$f.verify"; then rc=1; fi
	done
	return $rc
}

test_expect_success 'the example of the design brief gives a canonical spec' '
	paas-unitgen --spec "$EX" >spec &&
	expect_eq "$(wc -l <spec)" 1 &&
	jq -e ".services.website.instances == 3 and .services.redis.volumes.data == \"/srv/redis\"
		and .domains[\"staging.example.org\"].deployment == \"example-staging\"" spec
'

test_expect_success 'and four units, one per instance, and a template per service' '
	paas-unitgen -D example "$EX" >units.ndjson &&
	jq -r .name units.ndjson >names &&
	printf "example-redis@.service\nexample-redis@1.service\nexample-website@.service\nexample-website@1.service\nexample-website@2.service\nexample-website@3.service\n" >want &&
	test_cmp want names &&
	expect_eq "$(jq -s "[.[] | select(.name | startswith(\"example-website@\")) | .content] | unique | length" units.ndjson)" 1
'

test_expect_success 'every generated unit passes systemd-analyze verify' '
	mkdir units && paas-unitgen -D example -o units "$EX" &&
	expect_eq "$(ls units | wc -l)" 6 &&
	verify_units units
'

test_expect_success 'the units carry labels, Docker init, fleet metadata and conflicts; no Docker health check' '
	u=units/example-website@1.service &&
	expect_grep "ExecStartPre=-/usr/bin/docker rm -f example-website-%i" $u &&
	expect_grep "run --rm --init --name example-website-%i" $u &&
	expect_grep "--label paas.deployment=example --label paas.service=website --label paas.instance=%i" $u &&
	! grep -q -- "--health" $u &&
	expect_grep "^SuccessExitStatus=143" $u &&
	expect_grep "^ExecStop=/usr/bin/docker stop example-website-%i" $u &&
	expect_grep "^Restart=always" $u &&
	expect_grep "^MachineMetadata=role=web" $u &&
	expect_grep "^Conflicts=example-website@\*.service" $u
'

test_expect_success 're-ordered keys, comments and flow style change no byte of the spec' '
	paas-unitgen --spec "$GOOD/example-reordered.yml" >spec2 &&
	test_cmp spec spec2
'

test_expect_success 'the spec is the same from standard input' '
	paas-unitgen --spec - <"$EX" >spec3 && test_cmp spec spec3
'

cat >nasty.yml <<'YML'
app:
  image: local/app:1
  cmd: [sh, -c, 'echo "$HOME" 100% \ done']
  env:
    NASTY: " spaces  \"double\" 'single' %n $HOME ${HOME} trailing\\"
  global: true
  resources: {cpu: 0.5, memory: 256m}
YML

test_expect_success 'nasty env and cmd values give units that systemd accepts' '
	mkdir nasty && paas-unitgen -D dep -o nasty nasty.yml &&
	ls nasty >n && expect_eq "$(cat n)" dep-app.service &&
	verify_units nasty &&
	expect_grep "^Global=true" nasty/dep-app.service &&
	expect_grep " --cpus 0.500 --memory 268435456 " nasty/dep-app.service
'

test_expect_success 'the ${HOME} value is a secret: not in the unit, read from a file the unit asserts' '
	! grep -q "NASTY=" nasty/dep-app.service &&
	expect_grep "^EnvironmentFile=/etc/paas/dep/app.env" nasty/dep-app.service &&
	expect_grep "^AssertPathExists=/etc/paas/dep/app.env" nasty/dep-app.service &&
	expect_grep " -e NASTY " nasty/dep-app.service
'

test_expect_success 'without ${...} the same value reaches Environment= escaped' '
	sed "s/\${HOME} //" nasty.yml >plain.yml &&
	mkdir plain && paas-unitgen -D dep -o plain plain.yml &&
	verify_units plain &&
	grep "^Environment=\"NASTY=" plain/dep-app.service >line &&
	cat >want <<-\EOF &&
	Environment="NASTY= spaces  \"double\" '"'"'single'"'"' %%n $HOME trailing\\"
	EOF
	test_cmp want line
'

test_expect_success 'a value with a newline is refused, exit 3, nothing written' '
	printf "web:\n  image: i\n  env:\n    A: \"one\\\\ntwo\"\n" >nl.yml &&
	mkdir out &&
	expect_status 3 paas-unitgen -o out nl.yml 2>err &&
	expect_eq "$(cat err)" "paas-unitgen: nl.yml:4:8: env A: a newline is not allowed in a value" &&
	expect_eq "$(ls -A out | wc -l)" 0
'

# 300 variables: every line of the unit within fleet's 2048 bytes (go-systemd
# refuses longer ones, systemd does not); t0801 gives such a unit to fleet.
{
	printf "web:\n  image: local/web:1\n  env:\n"
	for i in $(seq 300); do printf "    VARIABLE_NUMBER_%03d: value-%d\n" "$i" "$i"; done
} >many.yml

test_expect_success '300 variables: the Exec line is continued, no line over 2047 bytes, systemd reads it' '
	mkdir many && paas-unitgen -D dep -o many many.yml &&
	expect_eq "$(awk "length > 2047" many/dep-web@1.service | wc -l)" 0 &&
	expect_eq "$(grep -c "^Environment=\"VARIABLE_NUMBER_" many/dep-web@1.service)" 300 &&
	grep -q " \\\\$" many/dep-web@1.service &&
	verify_units many &&
	{ systemd-analyze verify --man=no many/dep-web@1.service >v 2>&1 || :; } &&
	! grep -v "docker.service" v | grep -qi "too long\|ignoring"
'

test_expect_success 'a value over fleet line limit is refused, naming the service, exit 3' '
	{ printf "web:\n  image: i\n  env:\n    BIG: "; head -c 3000 /dev/zero | tr "\\0" x; echo; } >big.yml &&
	mkdir bigout &&
	expect_status 3 paas-unitgen -o bigout big.yml 2>err &&
	expect_grep "service web: a line of its unit is 30[0-9][0-9] bytes" err &&
	expect_grep "secrets file" err &&
	expect_eq "$(ls -A bigout | wc -l)" 0
'

# Hostile files made here rather than kept in the tree.
{
	echo "a: &a [x, x, x, x, x, x, x, x, x]"
	prev=a
	for l in b c d e f g h i; do
		printf "%s: &%s [" $l $l
		for i in 1 2 3 4 5 6 7 8; do printf "*%s, " $prev; done
		printf "*%s]\n" $prev
		prev=$l
	done
} >"$TEST_TMP/gen-billion-laughs.yml"
{ printf "web: "; head -c 10000 /dev/zero | tr "\0" "["; echo; } >"$TEST_TMP/gen-deep-nesting.yml"
{ printf "web:\n  image: i\n  env: {A: \""; head -c 10485760 /dev/zero | tr "\0" x; printf "\"}\n"; } >"$TEST_TMP/gen-10mib-string.yml"
{ printf "web:\n  image: i\n  env: {A: \""; head -c 102400 /dev/zero | tr "\0" x; printf "\"}\n"; } >"$TEST_TMP/gen-100kib-string.yml"
{ printf "web:\n  image: i\n  cmd:\n"; head -c 300000 /dev/zero | tr "\0" "\n" | sed "s/^/  - x/"; } >"$TEST_TMP/gen-many-nodes.yml"
{
	printf "Domains:\n"
	for i in $(seq 501); do printf "  d%d.example.org: {http: \"dep:web\"}\n" "$i"; done
	printf "web:\n  image: i\n"
} >"$TEST_TMP/gen-501-domains.yml"
# Every value within the limits, the whole over what one etcd request takes.
{
	printf "web:\n  image: i\n  env:\n"
	for i in $(seq 40); do printf "    V%02d: %s\n" "$i" "$(head -c 30000 /dev/zero | tr "\0" a)"; done
} >"$TEST_TMP/gen-spec-over-etcd-request.yml"

test_expect_success 'at least 30 malformed or hostile Servicefiles' '
	n=$(ls "$BAD"/*.yml "$TEST_TMP"/gen-*.yml | wc -l) && echo "$n files" && [ "$n" -ge 30 ]
'

for f in "$BAD"/*.yml "$TEST_TMP"/gen-*.yml; do
	b=$(basename "$f")
	test_expect_success "refused: $b (exit 3, one line naming file:line:column, nothing written)" '
		rm -rf out && mkdir out &&
		start=$(now_ms) &&
		expect_status 3 paas-unitgen -o out "$f" 2>err &&
		elapsed=$(($(now_ms) - start)) &&
		expect_eq "$(wc -l <err)" 1 &&
		grep -E "^paas-unitgen: $(printf %s "$f" | sed "s/[.[\\*^$]/\\\\&/g"):[0-9]+:[0-9]+: " err &&
		expect_eq "$(ls -A out | wc -l)" 0 &&
		[ $elapsed -lt 2000 ] || { echo "took $elapsed ms"; false; }
	'
done

test_expect_success 'billion laughs is refused in well under a second and a few MiB' '
	/usr/bin/env time -f "%e s %M KiB" paas-unitgen "$TEST_TMP/gen-billion-laughs.yml" 2>err; cat err &&
	expect_grep "aliases expand to more nodes than the limit" err &&
	kib=$(tail -n 1 err | awk "{print \$3}") && [ "$kib" -lt 16384 ]
'

test_expect_success 'usage: --help is 0, a bad option or extra argument 3, a missing file 3' '
	paas-unitgen --help >help && expect_grep "usage: paas-unitgen" help &&
	expect_status 3 paas-unitgen --bogus 2>/dev/null &&
	expect_status 3 paas-unitgen a b 2>/dev/null &&
	expect_status 3 paas-unitgen /nonexistent/Servicefile 2>err &&
	expect_eq "$(cat err)" "paas-unitgen: /nonexistent/Servicefile: No such file or directory"
'

test_expect_success 'an invalid deployment name is refused, exit 3' '
	expect_status 3 paas-unitgen -D "../etc" "$EX" 2>err &&
	expect_grep "invalid deployment name" err
'

test_done
