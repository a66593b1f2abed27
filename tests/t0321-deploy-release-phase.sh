#!/bin/bash
# The release phase (issue 34): a service's release command runs once per
# new release, in a one-off container of the new image with the new
# release's environment, under the deployment's lock, before any instance
# is replaced and before the release is recorded; its output comes as
# events.  One that fails, or outlives its timeout, replaces nothing,
# leaves history as it was and exits 1 with its last lines.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
etcd_start
docker_host_start a
export PAAS_ETCD=$ETCD_ENDPOINT

# app V RELEASE-CMD: web answering V, with that release command
app() {
	cat >"app-$1.yml" <<EOF
Domains:
  app.test: {http: "app:web"}
web:
  image: paas-test:1
  cmd: [sh, -c, "echo $1 >/www/version; exec httpd -f -p 8000 -h /www"]
  env: {VERSION: "$1"}
  ports: [8000]
  instances: 2
  release: $2
EOF
	echo "app-$1.yml"
}
ids() { dk a ps -q --no-trunc -f "label=paas.deployment=app" -f "label=paas.service=web" | sort; }
runs() { dk a ps -aq -f "label=paas.deployment=app" -f "label=paas.run" | wc -l; }
releases() { paas-deploy -D app history | wc -l; }
# ev KIND: the events of that kind in out
ev() { jq -c "select(.kind == \"$1\")" out; }

test_expect_success 'release 1: the release command ran once, with the new environment, before any instance started' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS &&
	paas-deploy -D app --json "$(app v1 "[sh, -c, \"echo migrating to \$VERSION; echo to stderr >&2\"]")" >out &&
	expect_eq "$(ev release_phase | wc -l)" 1 &&
	ev release_output | jq -e -s "(map(.line) | sort) == [\"migrating to v1\", \"to stderr\"] and (map(.stream) | sort) == [\"stderr\", \"stdout\"]" &&
	ev release_done | jq -e ".exit_code == 0" &&
	done_t=$(ev release_done | jq -r .time) && start_t=$(ev start | jq -r .time | sort | head -n 1) &&
	say "release_done $done_t, first start $start_t" && [[ "$done_t" < "$start_t" ]] &&
	[[ "$(ev release | jq -r .time)" > "$done_t" ]] &&
	expect_eq "$(runs)" 0
'

test_expect_success 'the same file again: unchanged, no release command' '
	paas-deploy -D app --json app-v1.yml >out &&
	jq -e -s "map(.kind) == [\"lock\", \"unchanged\"]" out
'

test_expect_success 'a release command that fails: exit 1 with its last lines, nothing replaced, history unchanged' '
	ids >before && n=$(releases) &&
	expect_status 1 paas-deploy -D app --json "$(app v2 "[sh, -c, \"echo step one; echo no such table >&2; exit 4\"]")" >out 2>err &&
	cat err && expect_grep "release command of service web exited 4; nothing was replaced" err &&
	expect_grep "no such table" err &&
	ev release_output | jq -e -s "map(.line) | index(\"step one\")" &&
	! ev start | grep -q . && ! ev release | grep -q . &&
	ids >after && cmp before after && expect_eq "$(releases)" "$n" && expect_eq "$(runs)" 0
'

test_expect_success 'one that outlives its timeout: stopped, exit 1, nothing replaced, no container left' '
	ids >before && n=$(releases) &&
	t0=$(now_ms) &&
	expect_status 1 paas-deploy -D app "$(app v3 "{cmd: [sleep, \"60\"], timeout: 2s}")" >out 2>err &&
	ms=$(($(now_ms) - t0)) && cat err && say "timed out after $ms ms" && [ "$ms" -lt 20000 ] &&
	expect_grep "stopped after its 2 s" err &&
	ids >after && cmp before after && expect_eq "$(releases)" "$n" && expect_eq "$(runs)" 0
'

test_expect_success 'never beside another deploy of the deployment: one during the release command exits 2' '
	f=$(app v4 "[sh, -c, \"echo start; sleep 3; echo end\"]") &&
	{ (paas-deploy -D app --json "$f" >o1 2>e1; echo $? >rc1) & p1=$!; } &&
	wait_for 20 grep -q "\"kind\":\"release_phase\"" o1 &&
	expect_status 2 paas-deploy -D app "$f" 2>e2 && expect_grep "is locked by" e2 &&
	wait $p1 && expect_eq "$(cat rc1)" 0 &&
	expect_eq "$(jq -c "select(.kind == \"release_phase\")" o1 | wc -l)" 1
'

test_expect_success 'on a terminal'"'"'s table, the command'"'"'s lines and its end' '
	paas-deploy -D app --table "$(app v8 "[sh, -c, \"echo hello from \$VERSION\"]")" >out &&
	expect_grep "^web  release command of release" out && expect_grep "^web  | hello from v8" out &&
	expect_grep "^web  release command exited 0 after" out
'

test_expect_success 'a bad release entry in the Servicefile: exit 3 naming where' '
	expect_status 3 paas-deploy -D app "$(app v5 "{timeout: 2s}")" 2>err &&
	expect_grep "release: needs a cmd" err &&
	expect_status 3 paas-deploy -D app "$(app v6 "{cmd: [true], timeout: 500ms}")" 2>err &&
	expect_grep "release timeout: expected 1s to 24h" err &&
	expect_status 3 paas-deploy -D app "$(app v7 "[]")" 2>err &&
	expect_grep "release: the command is empty" err
'

test_done
