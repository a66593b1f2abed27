#!/bin/bash
# ${VAR} values as part of a release, and as config (issue 34): the same
# Servicefile with
# another value of a ${VAR} is a new release that rolls only the services
# whose env takes it; the same values again change nothing; scale and
# rollback run with the values their release kept; an auth value that is
# not a crypt hash exits 3 with nothing changed.  Values never reach the
# output, and the digest that tells them apart is keyed with the cluster's
# secrets key.  paas-deploy config lists names only, config set makes one
# release that rolls only the services that take the name, a deploy takes a
# kept value when the environment has none, and unset refuses a name the
# Servicefile takes.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-etcd.sh"
. "$SRCDIR/tests/lib-docker.sh"
need openssl
etcd_start
docker_host_start a
export PAAS_ETCD=$ETCD_ENDPOINT
E=$ETCD_ENDPOINT
head -c 32 /dev/urandom >secrets.key && chmod 600 secrets.key
export PAAS_SECRETS_KEY=$PWD/secrets.key

cat >app.yml <<'EOF'
Domains:
  app.test: {http: "app:web"}
  admin.app.test: {http: "app:web", auth: {alice: "${ADMIN_HASH}"}}
web:
  image: paas-test:1
  cmd: [sh, -c, "exec httpd -f -p 8000 -h /www"]
  env: {TOKEN: "${APP_TOKEN}"}
  ports: [8000]
  instances: 2
worker:
  image: paas-test:1
  cmd: [sh, -c, "exec httpd -f -p 8000 -h /www"]
  ports: [8000]
  instances: 1
EOF
ids() { dk a ps -q --no-trunc -f "label=paas.deployment=app" -f "label=paas.service=$1" | sort; }
# token: the TOKEN each web container runs with
token() { for c in $(ids web); do dk a inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$c" | sed -n "s/^TOKEN=//p"; done | sort -u; }
releases() { paas-deploy -D app history | wc -l; }
H1=$(openssl passwd -6 -salt aaaa one)
export ADMIN_HASH=$H1

test_expect_success 'host a; app deployed with APP_TOKEN=first' '
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS &&
	APP_TOKEN=first paas-deploy -D app app.yml >out &&
	expect_eq "$(token)" first && expect_eq "$(releases)" 1 &&
	! grep -q first out
'

test_expect_success 'the same values again: unchanged, nothing touched' '
	ids web >w0 && ids worker >k0 &&
	APP_TOKEN=first paas-deploy -D app app.yml >out &&
	jq -e -s "map(.kind) == [\"lock\", \"unchanged\"]" out &&
	ids web >w1 && cmp w0 w1 && expect_eq "$(releases)" 1
'

test_expect_success 'another value: a new release, web rolled with it, worker untouched' '
	ids worker >k0 &&
	APP_TOKEN=second paas-deploy -D app app.yml >out &&
	jq -e -s "[.[] | select(.kind == \"release\")] | length == 1" out &&
	expect_eq "$(releases)" 2 && expect_eq "$(token)" second &&
	ids worker >k1 && cmp k0 k1 &&
	! grep -q second out &&
	paas-deploy -D app history --json | jq -e -s ".[-1].vars_digest | test(\"^[0-9a-f]{16}\$\")" &&
	! "$PAAS_T" etcd "$E" range /paas/v1/deployments/app/ | grep -q second
'

test_expect_success 'scale, with no value in the environment: no roll, the kept value' '
	ids web >w0 &&
	paas-scale -D app worker=2 >out &&
	ids web >w1 && cmp w0 w1 && expect_eq "$(token)" second
'

test_expect_success 'rollback: the earlier value comes back' '
	paas-deploy -D app rollback 1 >out &&
	expect_eq "$(token)" first
'

test_expect_success 'an auth value that is not a crypt hash: exit 3, nothing changed' '
	ids web >w0 && n=$(releases) &&
	expect_status 3 env APP_TOKEN=first ADMIN_HASH=plain-password paas-deploy -D app app.yml >out 2>err &&
	cat err && expect_grep "admin.app.test" err && ! grep -q plain-password err out &&
	ids web >w1 && cmp w0 w1 && expect_eq "$(releases)" "$n"
'

test_expect_success 'config lists names, where they are used, never values' '
	paas-deploy -D app config --json >out && cat out &&
	jq -e -s "map(select(.name == \"APP_TOKEN\"))[0] | .kept and .env_of == [\"web\"]" out &&
	jq -e -s "map(select(.name == \"ADMIN_HASH\"))[0].auth_of == [\"admin.app.test\"]" out &&
	! grep -q first out && ! grep -q "[$]6[$]" out &&
	paas-deploy -D app config --table >t && expect_grep "^APP_TOKEN  *yes  *web" t
'

test_expect_success 'config set: one release of kind config, web rolled with the value, worker untouched' '
	ids worker >k0 && n=$(releases) &&
	unset APP_TOKEN && paas-deploy -D app config set APP_TOKEN=third >out &&
	expect_eq "$(releases)" $((n + 1)) &&
	paas-deploy -D app history --json | jq -e -s ".[-1].release_kind == \"config\"" &&
	expect_eq "$(token)" third && ids worker >k1 && cmp k0 k1 &&
	expect_eq "$(paas-deploy -D app config get APP_TOKEN)" third && ! grep -q third out
'

test_expect_success 'a deploy with no APP_TOKEN in its environment takes the kept value: unchanged' '
	ids web >w0 &&
	paas-deploy -D app app.yml >out && jq -e -s "map(.kind) == [\"lock\", \"unchanged\"]" out &&
	ids web >w1 && cmp w0 w1
'

test_expect_success 'a name no ${VAR} takes yet is kept, rolls nothing, and can be unset; one the file takes cannot' '
	ids web >w0 &&
	paas-deploy -D app config set LATER=x >/dev/null &&
	paas-deploy -D app config --json | jq -e -s "map(select(.name == \"LATER\"))[0] | .kept and .env_of == []" &&
	paas-deploy -D app config unset LATER >/dev/null &&
	expect_status 1 paas-deploy -D app config get LATER 2>err &&
	expect_status 3 paas-deploy -D app config unset APP_TOKEN 2>err &&
	expect_grep "APP_TOKEN} is taken by release" err &&
	expect_status 3 paas-deploy -D app config set "bad name=x" 2>err &&
	ids web >w1 && cmp w0 w1 && expect_eq "$(token)" third
'

test_expect_success 'config set without the cluster'"'"'s secrets key: exit 3, nothing changed' '
	n=$(releases) &&
	expect_status 3 env PAAS_SECRETS_KEY=$PWD/none paas-deploy -D app config set APP_TOKEN=x 2>err &&
	cat err && expect_eq "$(releases)" "$n"
'

test_done
