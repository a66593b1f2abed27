#!/bin/bash
# Each placement rule of lib/place.c taken out in turn: tests/unit/t-place
# must fail every time (a rule no case catches is reported "NOT caught").
# Run by hand after changing place.c or t-place.c; exits 1 if one is missed.
cd "$(dirname "$0")/../.." || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
missed=0
CF="-I lib -D_GNU_SOURCE $(pkg-config --cflags jansson yaml-0.1)"
LIBS="$(pkg-config --libs jansson yaml-0.1 libcurl libgit2) -lpthread"
mut() {
	name=$1; shift
	python3 - "$@" "$tmp/place.c" <<'PY'
import sys
s=open('lib/place.c').read()
old,new=sys.argv[1],sys.argv[2]
assert old in s, old
open(sys.argv[3],'w').write(s.replace(old,new,1))
PY
	gcc $CF -w -o $tmp/t-place tests/unit/t-place.c $tmp/place.c $(ls lib/*.c | grep -v 'place.c') $LIBS 2>$tmp/err || { echo "$name: build failed"; cat $tmp/err | head -5; return; }
	if $tmp/t-place >$tmp/out 2>&1; then echo "$name: NOT caught"; missed=1; else echo "$name: caught ($(grep -c '^not ok' $tmp/out) failing)"; fi
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
exit $missed
