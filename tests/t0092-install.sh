#!/bin/bash
# make install (issue 18, point 4): the commands, man pages, systemd units
# for the agent, the router, etcd and the registry (which systemd-analyze
# verify accepts, naming the installed binaries), and bash completion for
# every command, which completes subcommands, flags, and deployment,
# service and host names read from etcd; make uninstall leaves nothing.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
need make systemd-analyze
etcd_start
export PAAS_ETCD=$ETCD_ENDPOINT
P=$TEST_TMP/prefix
E=$ETCD_ENDPOINT

test_expect_success 'make install puts commands, pages, units and completion under the prefix' '
	make -s -C "$BUILDDIR" install prefix="$P" >install.log 2>&1 &&
	for c in paas-deploy paas-scale paas-route paas-cluster paas-unitgen; do
		test -x "$P/bin/$c" && test -f "$P/share/man/man1/$c.1" &&
		test -f "$P/share/bash-completion/completions/$c" || return 1
	done &&
	ls "$P/lib/systemd/system" >units &&
	printf "paas-agent.service\npaas-etcd.service\npaas-registry.service\npaas-router.service\n" >want &&
	test_cmp want units
'

test_expect_success 'the units pass systemd-analyze verify and run the installed binaries' '
	systemd-analyze verify --man=no "$P"/lib/systemd/system/*.service >verify 2>&1 || { cat verify; false; } &&
	! grep -i "ignoring\|unknown\|bad" verify &&
	expect_grep "^ExecStart=$P/bin/paas-cluster agent" "$P/lib/systemd/system/paas-agent.service" &&
	expect_grep "^ExecStart=$P/bin/paas-route watch" "$P/lib/systemd/system/paas-router.service" &&
	expect_grep "^KillMode=process" "$P/lib/systemd/system/paas-router.service" &&
	expect_grep "ETCD_LISTEN_CLIENT_URLS=http://127.0.0.1:2379" "$P/lib/systemd/system/paas-etcd.service"
'

# A deployment "shop" with services web and worker, and a host, straight
# into etcd (what paas-deploy and hosts add would write); "shopfront"'s
# release record is damaged (no status).
"$PAAS_T" etcd "$E" put /paas/v1/deployments/shop/releases/1 \
	'{"release":1,"kind":"deploy","time":"2026-12-01T00:00:00Z","user":"t","status":"ok","spec":{"services":{"web":{"instances":2},"worker":{"instances":1}}}}' >/dev/null
"$PAAS_T" etcd "$E" put /paas/v1/deployments/shop/release 1 >/dev/null
"$PAAS_T" etcd "$E" put /paas/v1/deployments/shopfront/releases/1 \
	'{"release":1,"kind":"deploy","spec":{"services":{"www":{"instances":1}}}}' >/dev/null
"$PAAS_T" etcd "$E" put /paas/v1/deployments/shopfront/release 1 >/dev/null
"$PAAS_T" etcd "$E" put /paas/v1/hosts/web1 '{"name":"web1","docker":"unix:///nonexistent"}' >/dev/null

# complete WORDS...: what bash completes for the line WORDS (the last word
# the one being completed), one a line.
complete_line() {
	PATH="$P/bin:$PATH" bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		f=$(complete -p "$1" | sed "s/.*-F \([^ ]*\) .*/\1/")
		"$f" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' _ "$P/share/bash-completion/completions/paas-deploy" "$@"
}

test_expect_success 'completion: deployment names from etcd' '
	complete_line paas-deploy -D sh >c && printf "shop\nshopfront\n" >want && test_cmp want c &&
	complete_line paas-deploy -D shopf >c && expect_eq "$(cat c)" shopfront &&
	complete_line paas-deploy --etcd "$E" promote sh >c && test_cmp want c &&
	expect_status 1 paas-deploy --json list >l 2>err &&
	jq -e -s "map(select(.deployment == \"shopfront\"))[0].error | test(\"damaged release record\")" l &&
	expect_grep "^paas-deploy: deployment shopfront: .*damaged" err &&
	jq -e -s "map(select(.deployment == \"shop\"))[0].instances == 3" l
'

test_expect_success 'completion: service=count for paas-scale, host names, subcommands, flags' '
	complete_line paas-scale -D shop w >c && printf "web=\nworker=\n" >want && test_cmp want c &&
	complete_line paas-cluster hosts rm w >c && expect_eq "$(cat c)" web1 &&
	complete_line paas-cluster ho >c && expect_eq "$(cat c)" hosts &&
	complete_line paas-deploy hist >c && expect_eq "$(cat c)" history &&
	complete_line paas-deploy -D shop exec wo >c && expect_eq "$(cat c)" worker &&
	complete_line paas-route wa >c && expect_eq "$(cat c)" watch &&
	complete_line paas-cluster check --re >c && expect_eq "$(cat c)" --repair &&
	complete_line paas-deploy --dr | sort >c && printf "%s\n" --drain --dry-run >want && test_cmp want c
'

test_expect_success 'completion with etcd unreachable: nothing, at once' '
	t0=$(now_ms) &&
	PAAS_ETCD=http://127.0.0.1:1 complete_line paas-deploy -D sh >c && test ! -s c &&
	[ $(($(now_ms) - t0)) -lt 5000 ]
'

test_expect_success 'make uninstall leaves no file behind' '
	make -s -C "$BUILDDIR" uninstall prefix="$P" >>install.log 2>&1 &&
	expect_eq "$(find "$P" -type f | wc -l)" 0
'

test_done
