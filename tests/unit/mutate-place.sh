#!/bin/bash
# Each placement rule of lib/place.c taken out in turn: tests/unit/t-place
# must fail every time.  TAP, a point per rule: caught (t-place failed), NOT
# caught, or the mutant did not build (a failure too: a check that builds
# nothing proves nothing); then "N passed, N failed".  scripts/test runs it;
# by hand after changing place.c or t-place.c, in a built tree
# (BUILDDIR, default the tree).
cd "$(dirname "$0")/../.." || exit 1
: "${BUILDDIR:=$PWD}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 caught=0 failed=0
CF="-I lib -I $BUILDDIR -D_GNU_SOURCE $(pkg-config --cflags jansson yaml-0.1 libcurl libgit2 libssh2)"
# The mutant place.o first: the archive's own is then never pulled in.
LIBS="$BUILDDIR/libpaas.a $(pkg-config --libs jansson yaml-0.1 libcurl libgit2 libssh2 libcrypto) -lcrypt -lpthread"
[ -f "$BUILDDIR/libpaas.a" ] || { echo "Bail out! no $BUILDDIR/libpaas.a: build first (scripts/build)"; exit 1; }
mut() {
	name=$1; shift
	n=$((n + 1))
	python3 - "$@" "$tmp/place.c" <<'PY'
import sys
s=open('lib/place.c').read()
old,new=sys.argv[1],sys.argv[2]
assert old in s, old
open(sys.argv[3],'w').write(s.replace(old,new,1))
PY
	if ! gcc $CF -w -o $tmp/t-place tests/unit/t-place.c $tmp/place.c $LIBS 2>$tmp/err; then
		echo "not ok $n - $name: the mutant did not build"
		sed 's/^/#   /' $tmp/err | head -n 10
		failed=$((failed + 1))
	elif $tmp/t-place >$tmp/out 2>&1; then
		echo "not ok $n - $name: NOT caught (t-place passes without the rule)"
		failed=$((failed + 1))
	else
		echo "ok $n - $name: caught ($(grep -c '^not ok' $tmp/out) points of t-place fail)"
		caught=$((caught + 1))
	fi
}
mut constraints 'has = json_string_value(json_object_get(h->labels, k));' 'has = json_string_value(v); (void)h;'
mut conflicts-self 'if (paas_json_has(json_object_get(svc, "conflicts"), k))' 'if (0)'
mut conflicts-other 'else if (paas_json_has(json_object_get(o, "conflicts"), name))' 'else if (0)'
mut cpu 'if (h->cpu_cap && cpu && h->cpu_used + cpu > h->cpu_cap)' 'if (0)'
mut memory 'if (h->mem_cap && mem && h->mem_used + mem > h->mem_cap)' 'if (0)'
mut reserve-count 'h->cpu_used += json_integer_value(json_object_get(res, "cpu_milli"));
	h->mem_used += json_integer_value(json_object_get(res, "memory_bytes"));' ''
mut stickiness 'if ((x == prefer) != (best == prefer))' 'if (0)'
mut spread-service 'if (count_on(x, svc) != count_on(best, svc))' 'if (0)'
mut spread-deployment 'return count_all(x) < count_all(best);' 'return 0;'
mut keep 'c->fate = PAAS_KEEP;' ';'
mut global-hosts 'if (!json_equal(json_object_get(p->hosts[i]->labels, k), v))' 'if (0)'
mut port-taken 'if (h->ports[(p - PAAS_PORT_MIN) / 8] & (1u << ((p - PAAS_PORT_MIN) % 8)))' 'if (0)'
mut port-free 'if (h->port_free == NULL || h->port_free(h->port_arg, p))' 'if (1)'
mut health-port 'if (!json_object_get(ports, pp))
			json_object_set_new(ports, pp, json_integer(port_pick(h)));' ''
mut why-not 'why.data[n0 + 2 + strlen(x->name)] = '"':'"';' ';'
echo "1..$n"
echo "# $caught of $n rules caught"
echo "$caught passed, $failed failed"
[ "$failed" -eq 0 ]
