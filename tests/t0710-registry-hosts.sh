#!/bin/bash
# The cluster's registry seen from other hosts (issue 13, point 2): two
# hosts in network namespaces, each with its own dockerd, pull the digest
# a build pushed, over TLS checked against the cluster's CA and with the
# deployer's credentials; a host without those credentials cannot pull, and
# one that does not trust the CA cannot either.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-docker.sh"
need etcd haproxy jq git docker-registry base64
docker_start_local
docker_host_start a
docker_host_start b
cluster_ports "$_net_prefix.1"

mkdir -p repo/app
git -C repo init -q -b main
cat >repo/Servicefile <<'EOF'
web:
  build: {git: ., context: app}
  cmd: [sh, -c, "exec httpd -f -p 8000 -h /src"]
  ports: [8000]
  global: true
  health: {http: /index.html, port: 8000, interval: 1s, timeout: 500ms, retries: 2}
EOF
printf 'FROM paas-test:1\nCOPY index.html /src/index.html\n' >repo/app/Dockerfile
printf 'from the registry\n' >repo/app/index.html
git_commit repo one

# pull_api HOST REF [AUTH]: POST /images/create on that host's Docker API,
# as the deploy does, with AUTH as X-Registry-Auth; prints the stream.
pull_api() {
	curl -sS -m 60 --cacert "$TLS_CA" --cert "$TLS_CERT" --key "$TLS_KEY" -X POST \
		${3:+-H "X-Registry-Auth: $3"} \
		"https://${HOST_IP[$1]}:2376/v1.41/images/create?fromImage=$(jq -rn --arg r "$2" '$r|@uri')"
}
auth() {
	jq -cn --arg u "${1%%:*}" --arg p "${1#*:}" --arg s "$REG" \
		'{username: $u, password: $p, serveraddress: $s}' | base64 -w0 | tr '+/' '-_'
}

test_expect_success 'up with the registry on the hosts network; a and b added' '
	cluster_up >up.out &&
	jq -e -s "any(.[]; .component == \"registry\" and .state == \"started\" and .detail == \"$REG\")" up.out &&
	paas-cluster hosts add a --docker "${HOST_URL[a]}" $TLS_OPTS >/dev/null &&
	paas-cluster hosts add b --docker "${HOST_URL[b]}" $TLS_OPTS >/dev/null
'

test_expect_success 'built on a, pushed over TLS; a, b and local run the same digest' '
	paas-deploy --json -D app repo/Servicefile >dep.out &&
	jq -e -s "any(.[]; .kind == \"build\" and .host == \"a\")" dep.out &&
	img=$(jq -r "select(.kind == \"built\") | .image" dep.out) && echo "$img" >img &&
	case $img in "$REG/app/web@sha256:"*) ;; *) false ;; esac &&
	for h in a b; do
		expect_eq "$(dk $h ps -q -f label=paas.deployment=app | wc -l)" 1 &&
		expect_eq "$(dk $h inspect --format "{{.Config.Image}}" $(dk $h ps -q -f label=paas.deployment=app))" "$img" &&
		dk $h image inspect --format "{{json .RepoDigests}}" "$img" | grep -qF "\"$img\"" || return 1
	done &&
	expect_eq "$(curl -sS -m 5 "http://${HOST_IP[b]}:$(dk b port $(dk b ps -q -f label=paas.deployment=app) 8000 | sed "s/.*://")/index.html")" "from the registry"
'

test_expect_success 'a host without the credentials cannot pull it' '
	img=$(cat img) &&
	dk b rm -f $(dk b ps -aq -f label=paas.deployment=app) >/dev/null && dk b rmi "$img" >/dev/null &&
	pull_api b "$img" >anon.out && cat anon.out &&
	expect_grep "no basic auth credentials" anon.out &&
	pull_api b "$img" "$(auth "paas:wrong")" >wrong.out &&
	grep -q "unauthorized\|authentication required" wrong.out &&
	! dk b image inspect "$img" >/dev/null 2>&1 &&
	pull_api b "$img" "$(auth "$(cat "$PAAS_STATE_DIR/registry-auth")")" >ok.out &&
	! grep -q "\"error\"" ok.out && dk b image inspect "$img" >/dev/null
'

test_expect_success 'a host that does not trust the cluster CA cannot pull it: TLS is checked' '
	img=$(cat img) && dk b rmi "$img" >/dev/null &&
	mv "/etc/docker/certs.d/$REG/ca.crt" ca.away &&
	{ pull_api b "$img" "$(auth "$(cat "$PAAS_STATE_DIR/registry-auth")")" >notrust.out || :; } &&
	mv ca.away "/etc/docker/certs.d/$REG/ca.crt" &&
	expect_grep "x509: certificate signed by unknown authority" notrust.out
'

test_expect_success 'check --repair puts the instance back on b, pulling with the credentials' '
	paas-cluster check --repair >rep.out; cat rep.out &&
	expect_grep "repaired app: web instance b started on b" rep.out &&
	expect_eq "$(dk b ps -q -f label=paas.deployment=app | wc -l)" 1 &&
	dk b image inspect "$(cat img)" >/dev/null
'

test_done
