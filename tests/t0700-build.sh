#!/bin/bash
# Builds on deploy (issue 13, point 1 and its bad input), on the cluster
# `paas-cluster up` makes with its registry (TLS, htpasswd), real dockerd,
# etcd, agent and router:
#  - the image holds exactly the committed bytes of the build context:
#    every file's checksum and mode, symlinks as links, .dockerignore
#    honoured, nothing outside the context, an uncommitted change left out
#    and named in one event;
#  - the image is tagged REGISTRY/DEP/SVC:COMMIT12, pushed, and run by
#    digest; the same commit again builds nothing ("No changes."), and a
#    commit outside a service's context rebuilds nothing;
#  - a failed build exits 1 with its last lines and changes nothing;
#  - paths leaving the repository, not a repository, a missing ref and an
#    unreachable URL exit 3 or 2 naming them, before anything is sent.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-docker.sh"
need etcd haproxy jq git docker-registry sha1sum
docker_start_local
cluster_ports
dkl() { DOCKER_API_VERSION=1.41 /usr/bin/docker -H "$DOCKER_URL" "$@"; }
hello() { curl -sS -m 5 -H "Host: app.localhost" "http://127.0.0.1:$PORT/$1"; }
commit() { git_commit repo "$1"; }

# The repository: a service under app/, files outside it, a symlink, an
# executable, a .dockerignore.
mkdir -p repo/app/www/sub repo/other
git -C repo init -q -b main
cat >repo/Servicefile <<'EOF'
Domains:
  app.localhost: {http: "app:web"}
web:
  build: {git: ., context: app}
  cmd: [sh, -c, "exec httpd -f -p 8000 -h /src/www"]
  ports: [8000]
  instances: 2
  health: {http: /index.html, port: 8000, interval: 1s, timeout: 500ms, retries: 2}
  update: {parallel: 1, order: start-first}
EOF
cat >repo/app/Dockerfile <<'EOF'
FROM paas-test:1
COPY . /src/
EOF
printf 'v1\n' >repo/app/www/index.html
printf '#!/bin/sh\necho run\n' >repo/app/www/run.sh && chmod 755 repo/app/www/run.sh
printf 'secret\n' >repo/app/www/private.key
printf 'kept\n' >repo/app/www/sub/keep.key
printf 'log\n' >repo/app/www/debug.log
ln -s index.html repo/app/www/link.html
ln -s ../../other/outside.txt repo/app/www/out-link
printf 'outside\n' >repo/other/outside.txt
printf '**/*.log\n**/*.key\n!www/sub/keep.key\n' >repo/app/.dockerignore
commit one

# What the image should hold: every committed file under app/ that
# .dockerignore keeps, "sha1 mode path", and each link "link target".
expected() {
	(cd repo && git ls-tree -r HEAD app) | while read -r mode type sha path; do
		p=${path#app/}
		case $p in *.log|www/private.key) continue ;; esac
		if [ "$mode" = 120000 ]; then
			echo "link $(git -C repo cat-file blob "$sha") $p"
		else
			m=644; [ "$mode" = 100755 ] && m=755
			echo "$(git -C repo cat-file blob "$sha" | sha1sum | cut -d" " -f1) $m $p"
		fi
	done | sort
}
# inside IMAGE: the same list, from a container of the image
inside() {
	dkl run --rm "$1" sh -c 'cd /src && find . -type f | sed "s|^\./||" | while read -r f; do
		echo "$(sha1sum "$f" | cut -d" " -f1) $(stat -c %a "$f") $f"; done
		find . -type l | sed "s|^\./||" | while read -r f; do echo "link $(readlink "$f") $f"; done' | sort
}

test_expect_success 'up runs the registry with TLS and a password, and the hosts of this machine trust it' '
	cluster_up >up.out &&
	jq -e -s "any(.[]; .component == \"registry\" and .state == \"started\")" up.out &&
	expect_eq "$(stat -c %a "$PAAS_STATE_DIR/registry-auth")" 600 &&
	expect_eq "$(stat -c %a "$PAAS_STATE_DIR/ca/ca.key")" 600 &&
	cmp "$PAAS_STATE_DIR/ca/ca.crt" "/etc/docker/certs.d/$REG/ca.crt" &&
	expect_eq "$(curl -sS -o /dev/null -w "%{http_code}" --cacert "$PAAS_STATE_DIR/ca/ca.crt" \
		"https://$REG/v2/")" 401 &&
	expect_eq "$(curl -sS -o /dev/null -w "%{http_code}" --cacert "$PAAS_STATE_DIR/ca/ca.crt" \
		-u "$(cat "$PAAS_STATE_DIR/registry-auth")" "https://$REG/v2/")" 200 &&
	! curl -sS -o /dev/null "https://$REG/v2/" 2>/dev/null
'

test_expect_success 'deploy builds the commit: the image holds the committed context, and it is served' '
	printf "dirty\n" >>repo/app/www/index.html && printf "new\n" >repo/app/www/untracked.txt &&
	paas-deploy --json -D app repo/Servicefile >dep.out &&
	jq -e -s "map(select(.kind == \"uncommitted\")) | length == 1 and
		(.[0].paths | sort == [\"app/www/index.html\", \"app/www/untracked.txt\"])" dep.out &&
	jq -e -s "any(.[]; .kind == \"build\" and (.line | test(\"Step 2/2 : COPY\")))" dep.out &&
	img=$(jq -r "select(.kind == \"built\") | .image" dep.out) &&
	c12=$(git -C repo rev-parse HEAD | cut -c1-12) &&
	case $img in "$REG/app/web@sha256:"*) ;; *) echo "image $img"; false ;; esac &&
	dkl image inspect "$REG/app/web:$c12" >/dev/null &&
	expected >want && inside "$img" >got && test_cmp want got &&
	! grep -q "private.key\|debug.log\|untracked\|outside.txt$" got &&
	grep -q "^link ../../other/outside.txt www/out-link$" got &&
	expect_eq "$(hello index.html)" v1 &&
	dkl inspect --format "{{.Config.Image}}" $(dkl ps -q -f label=paas.deployment=app) | sort -u >run.img &&
	expect_eq "$(cat run.img)" "$img"
'
git -C repo checkout -q -- app && rm -f repo/app/www/untracked.txt

test_expect_success 'the same commit again builds nothing: No changes.' '
	paas-deploy --table -D app repo/Servicefile >again.out &&
	expect_eq "$(tail -n 1 again.out)" "No changes." &&
	! grep -q "^web.*Step" again.out
'

test_expect_success 'a commit that changes nothing sent (outside the context, or ignored) rebuilds nothing' '
	printf "docs\n" >repo/other/README && printf "more log\n" >>repo/app/www/debug.log && commit docs &&
	paas-deploy --json -D app repo/Servicefile >docs.out &&
	jq -e -s "any(.[]; .kind == \"built\" and .cached == true)" docs.out &&
	jq -e -s "any(.[]; .kind == \"unchanged\")" docs.out &&
	! jq -e -s "any(.[]; .kind == \"build\")" docs.out >/dev/null
'

test_expect_success 'a change in the context: built again and rolled out' '
	printf "v2\n" >repo/app/www/index.html && commit two &&
	paas-deploy --json -D app repo/Servicefile >two.out &&
	jq -e -s "any(.[]; .kind == \"done\")" two.out &&
	wait_for 10 sh -c "test \"\$(curl -sS -m 2 -H \"Host: app.localhost\" http://127.0.0.1:$PORT/index.html)\" = v2"
'

test_expect_success 'a failed build exits 1 with its last lines; nothing changed' '
	paas-deploy --json -D app history >h1 &&
	dkl ps -q -f label=paas.deployment=app | sort >c1 &&
	printf "FROM paas-test:1\nRUN echo about to fail && exit 7\n" >repo/app/Dockerfile && commit broken &&
	expect_status 1 paas-deploy -D app repo/Servicefile >fail.out 2>fail.err &&
	expect_grep "service web: docker at .*: build failed: The command .* returned a non-zero code: 7" fail.err &&
	expect_grep "about to fail" fail.err &&
	paas-deploy --json -D app history >h2 && test_cmp h1 h2 &&
	dkl ps -q -f label=paas.deployment=app | sort >c2 && test_cmp c1 c2 &&
	expect_eq "$(hello index.html)" v2
'
git -C repo -c user.name=t -c user.email=t@t revert --no-edit HEAD >/dev/null

test_expect_success 'wrong registry credentials: exit 2 naming the registry, never the secret; nothing changed' '
	printf "paas:not-the-password-%s\n" "$RANDOM" >bad-auth && chmod 600 bad-auth &&
	printf "v3\n" >repo/app/www/index.html && commit three &&
	paas-deploy --json -D app history >hb &&
	expect_status 2 env PAAS_REGISTRY_AUTH=$PWD/bad-auth paas-deploy -D app repo/Servicefile >/dev/null 2>err &&
	cat err && expect_grep "push $REG/app/web:.*\(unauthorized\|authentication required\)" err &&
	! grep -q "not-the-password" err &&
	paas-deploy --json -D app history >ha && test_cmp hb ha &&
	expect_eq "$(hello index.html)" v2 &&
	chmod 644 bad-auth && expect_status 3 env PAAS_REGISTRY_AUTH=$PWD/bad-auth paas-deploy -D app repo/Servicefile 2>err &&
	expect_grep "registry credentials .*bad-auth: open to group or others" err
'
git -C repo reset -q --hard HEAD~1

test_expect_success 'paths that leave the repository exit 3 before anything is sent' '
	sed "s|context: app|context: app/../..|" repo/Servicefile >up.yml &&
	expect_status 3 paas-deploy -D app up.yml 2>err && expect_grep "up.yml:4:28: build context: expected a relative path inside the repository" err &&
	mkdir -p repo/esc && ln -s /etc repo/esc/ctx && commit esc &&
	sed "s|context: app|context: esc/ctx|" repo/Servicefile >repo/esc.yml &&
	expect_status 3 paas-deploy -D app repo/esc.yml 2>err &&
	expect_grep "symbolic link esc/ctx points outside the repository" err &&
	ln -s ../../../Dockerfile repo/app/Dockerfile.out && commit dfout &&
	sed "s|context: app}|context: app, dockerfile: Dockerfile.out}|" repo/Servicefile >repo/df.yml &&
	expect_status 3 paas-deploy -D app repo/df.yml 2>err &&
	expect_grep "dockerfile .app/Dockerfile.out. leaves the repository" err &&
	paas-deploy --json -D app history >h3 && test_cmp h2 h3
'

test_expect_success 'not a repository, a missing ref, an unreachable URL: named, exit 3 or 2' '
	mkdir -p plain && cp repo/Servicefile plain/ &&
	expect_status 3 paas-deploy -D app plain/Servicefile 2>err &&
	expect_grep "build git .: not a git repository" err &&
	expect_status 3 paas-deploy -D app --ref no-such-branch repo/Servicefile 2>err &&
	expect_grep "ref .no-such-branch. names no commit" err &&
	sed "s|git: \.|git: \"file://$TEST_TMP/nowhere\"|" repo/Servicefile >url.yml &&
	expect_status 2 paas-deploy -D app url.yml 2>err &&
	expect_grep "cannot fetch file://$TEST_TMP/nowhere" err
'

test_expect_success 'git: a file:// URL is fetched into the cache and built from its HEAD' '
	sed "s|git: \.|git: \"file://$TEST_TMP/repo\"|" repo/Servicefile >url.yml &&
	paas-deploy --json -D app url.yml >url.out &&
	test -d "$PAAS_STATE_DIR/git-cache" &&
	jq -e -s "any(.[]; .kind == \"built\")" url.out &&
	expect_eq "$(hello index.html)" v2
'

test_expect_success 'rollback runs the earlier digest without building' '
	paas-deploy --json -D app rollback 1 >rb.out &&
	! jq -e -s "any(.[]; .kind == \"build\")" rb.out >/dev/null &&
	wait_for 10 sh -c "test \"\$(curl -sS -m 2 -H \"Host: app.localhost\" http://127.0.0.1:$PORT/index.html)\" = v1"
'

test_expect_success 'status and check report the registry; one that does not answer is a WARNING' '
	paas-cluster --json status >st.out &&
	jq -e "select(.kind == \"registry\") | .reachable == true and .address == \"$REG\"" st.out &&
	paas-cluster --table status | grep -q "^registry: $REG (the cluster.s), answering" &&
	rpid=$(cat "$PAAS_STATE_DIR/registry.pid") && kill "$rpid" &&
	wait_for 10 sh -c "! kill -0 $rpid 2>/dev/null" &&
	expect_status 1 paas-cluster check >chk.out &&
	expect_grep "registry $REG does not answer" chk.out &&
	env -u PAAS_ETCD paas-cluster --json up >up3.out &&
	jq -e -s "any(.[]; .component == \"registry\" and .state == \"started\")" up3.out &&
	paas-cluster check >chk2.out
'

test_expect_success 'the registry password is in no log, no etcd value, no argv' '
	pw=$(cut -d: -f2 "$PAAS_STATE_DIR/registry-auth") && test -n "$pw" &&
	! grep -rqF "$pw" "$PAAS_STATE_DIR"/*.log "$PAAS_STATE_DIR/cluster.json" ./*.out &&
	PAAS_ETCD_AUTH="$PAAS_STATE_DIR/etcd-auth/root" "$PAAS_T" etcd "$PAAS_ETCD" range /paas/ >vals &&
	grep -q "/paas/v1/registry" vals && ! grep -qF "$pw" vals &&
	for p in $(pgrep -f "docker-registry|paas-"); do
		! tr "\0" " " </proc/$p/cmdline | grep -qF "$pw" || return 1
	done
'

test_done
