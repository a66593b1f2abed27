#!/bin/bash
# `git push` deploys (issue 13, point 3), end to end with the real git
# client over the machine's OpenSSH server (a real sshd on a loopback
# port), on the cluster `paas-cluster up` makes with its registry:
#  - git add prints the remote; a push shows the build and the rollout as
#    they happen and moves the branch once the release is served;
#  - a push whose deploy fails (a failing health check, a held lock, an
#    invalid Servicefile) is rejected with the reason, the branch stays,
#    the old release is still served;
#  - a key that is not allowed gets nothing; an allowed key gets git
#    receive-pack on its deployment's repository and nothing else.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-docker.sh"
. "$SRCDIR/tests/lib-ssh.sh"
need etcd haproxy jq git docker-registry
docker_start_local
cluster_ports
get() { curl -sS -m 5 -H "Host: app.localhost" "http://127.0.0.1:$PORT/index.html"; }
commit() { git_commit work "$1"; }
ssh_key alice
ssh_key mallory
ssh_key bob

mkdir -p work/www
git -C work init -q -b main
cat >work/Servicefile <<'EOF'
Domains:
  app.localhost: {http: "app:web"}
web:
  build: .
  cmd: [sh, -c, "exec httpd -f -p 8000 -h /src"]
  ports: [8000]
  instances: 2
  health: {http: /index.html, port: 8000, interval: 1s, timeout: 500ms, retries: 2, start_period: 0s}
  update: {parallel: 1, order: start-first}
EOF
printf 'FROM paas-test:1\nCOPY www/ /src/\n' >work/Dockerfile
printf 'Servicefile\nREADME\n' >work/.dockerignore
printf 'v1\n' >work/www/index.html
commit v1

# push [KEY] ARGS...: git push over ssh with KEY (default alice); the
# output, each line stamped with its arrival time in ms, in push.out
push() {
	local key=alice
	case $1 in alice|bob|mallory) key=$1; shift ;; esac
	GIT_SSH_COMMAND=$(git_ssh $key) git -C work push --progress "$@" 2>&1 |
		while IFS= read -r l; do echo "$(date +%s%3N) $l"; done >push.out
	return "${PIPESTATUS[0]}"
}
# full stacks under scripts/asan for what fetches over ssh://, so that
# tests/lsan.supp can tell libgit2's own leaks there (they have no frame
# pointers) from ours; nothing otherwise
full_stacks() { ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}fast_unwind_on_malloc=0" "$@"; }
remote_head() { git -C "$PAAS_STATE_DIR/git/app.git" rev-parse --verify -q refs/heads/main; }

test_expect_success 'git add: a bare repository, a forced command for the key, the remote printed' '
	env -u PAAS_ETCD paas-cluster --json up --port "$PORT" --etcd-port "$EPORT" \
		--etcd-peer-port "$(free_port)" --registry-port "$RPORT" --docker "$DOCKER_URL" >up.out &&
	paas-cluster --table git add app --key "$TEST_TMP/alice.pub" --host 127.0.0.1 --port 1 >add.out &&
	cat add.out &&
	expect_grep "git remote add paas ssh://root@127.0.0.1:1/app.git" add.out &&
	paas-cluster --json git add other --key "$TEST_TMP/bob.pub" --host 127.0.0.1 >add2.out &&
	jq -e ".remote == \"ssh://root@127.0.0.1:22/other.git\"" add2.out &&
	expect_status 3 paas-cluster git add third --key "$TEST_TMP/alice.pub" 2>err &&
	expect_grep "this key already pushes to app" err &&
	test -x "$PAAS_STATE_DIR/git/app.git/hooks/pre-receive" &&
	expect_eq "$(stat -c %a "$PAAS_STATE_DIR/git/authorized_keys")" 600 &&
	grep -q "^restrict,command=\".* git-serve .app.\" ssh-ed25519 " "$PAAS_STATE_DIR/git/authorized_keys" &&
	paas-cluster --json git ls | jq -s -e "map(.deployment) == [\"app\", \"other\"]" &&
	sshd_start "$PAAS_STATE_DIR/git/authorized_keys" &&
	git -C work remote add paas "ssh://root@127.0.0.1:$SSH_PORT/app.git"
'

test_expect_success 'git push: the build and the rollout shown as they happen; the branch moves; served' '
	push paas main && cat push.out &&
	grep -q "remote: web  building $REG/app/web:$(git -C work rev-parse --short=12 HEAD) on local" push.out &&
	grep -q "remote: web  | Step 2/2 : COPY www/ /src/" push.out &&
	grep -q "remote: release 1 done in" push.out &&
	t1=$(grep -m1 "remote: web  building" push.out | cut -d" " -f1) &&
	t2=$(grep -m1 "remote: release 1 done" push.out | cut -d" " -f1) &&
	echo "building seen $((t2 - t1)) ms before done" && test $((t2 - t1)) -ge 300 &&
	expect_eq "$(remote_head)" "$(git -C work rev-parse HEAD)" &&
	expect_eq "$(get)" v1
'

test_expect_success 'the same commit again: up to date; a commit of an ignored file: No changes.' '
	push paas main && cat push.out && grep -q "Everything up-to-date" push.out &&
	printf "docs\n" >work/README && commit docs && push paas main && cat push.out &&
	grep -q "remote: web  unchanged since its last build" push.out &&
	grep -q "remote: No changes." push.out &&
	expect_eq "$(remote_head)" "$(git -C work rev-parse HEAD)"
'

test_expect_success 'a failing health check: the push is rejected, the old release still served' '
	was=$(remote_head) &&
	sed -i "s|http: /index.html|http: /missing.html|" work/Servicefile && printf "v2\n" >work/www/index.html &&
	commit broken && ! push paas main && cat push.out &&
	grep -q "remote: web.1  NOT healthy" push.out &&
	grep -q "remote: paas: .* was not deployed (exit 1): the push is refused" push.out &&
	grep -q "\[remote rejected\] main -> main (pre-receive hook declined)" push.out &&
	expect_eq "$(remote_head)" "$was" && expect_eq "$(get)" v1
'
git -C work reset -q --hard HEAD~1

test_expect_success 'a locked deployment: the push is rejected naming the holder' '
	was=$(remote_head) &&
	printf "v3\n" >work/www/index.html && commit v3 &&
	{ PAAS_ETCD_AUTH="$PAAS_STATE_DIR/etcd-auth/deployer" "$PAAS_T" etcd "$PAAS_ETCD" lock app "carol@c pid 7" 5 60 >lk.out 2>&1 & lk=$!; } &&
	wait_for 10 grep -q locked lk.out &&
	! push paas main && { kill $lk; wait $lk || :; } && cat push.out &&
	grep -q "remote: paas-deploy: deployment app is locked by carol@c pid 7" push.out &&
	expect_eq "$(remote_head)" "$was" && expect_eq "$(get)" v1 &&
	wait_for 20 sh -c "! PAAS_ETCD_AUTH=$PAAS_STATE_DIR/etcd-auth/deployer $PAAS_T etcd $PAAS_ETCD get /paas/v1/deployments/app/lock >/dev/null 2>&1"
'

test_expect_success 'an invalid Servicefile: the push is rejected with FILE:LINE:COLUMN' '
	was=$(remote_head) &&
	sed -i "s|instances: 2|instances: lots|" work/Servicefile && commit invalid &&
	! push paas main && cat push.out &&
	grep -q "remote: paas-deploy: Servicefile:7:14: instances: expected a whole number" push.out &&
	expect_eq "$(remote_head)" "$was"
'
git -C work reset -q --hard HEAD~1

test_expect_success 'then a good push goes through: v3 served' '
	push paas main && expect_eq "$(remote_head)" "$(git -C work rev-parse HEAD)" &&
	wait_for 10 sh -c "test \"\$(curl -sS -m 2 -H \"Host: app.localhost\" http://127.0.0.1:$PORT/index.html)\" = v3"
'

test_expect_success 'a key that is not allowed gets nothing; an allowed one gets only its repository, to push or to clone' '
	was=$(remote_head) &&
	printf "evil\n" >work/www/index.html && commit evil &&
	! push mallory paas main && grep -q "Permission denied (publickey)" push.out &&
	! push bob paas main && cat push.out && grep -q "paas: this key only pushes to other.git" push.out &&
	! GIT_SSH_COMMAND=$(git_ssh alice) git -C work push "ssh://root@127.0.0.1:$SSH_PORT/other.git" main 2>err &&
	expect_grep "paas: this key only pushes to app.git" err &&
	! ssh -i "$TEST_TMP/alice" -p "$SSH_PORT" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1 "id; cat /etc/shadow" >sh.out 2>&1 &&
	! grep -q "uid=\|root:" sh.out && expect_grep "paas: this key only pushes to app.git" sh.out &&
	expect_eq "$(remote_head)" "$was" && expect_eq "$(get)" v3 &&
	GIT_SSH_COMMAND=$(git_ssh alice) git clone -q "ssh://root@127.0.0.1:$SSH_PORT/app.git" back &&
	expect_eq "$(git -C back rev-parse HEAD)" "$was" &&
	! GIT_SSH_COMMAND=$(git_ssh bob) git clone -q "ssh://root@127.0.0.1:$SSH_PORT/app.git" back2 2>err &&
	expect_grep "paas: this key only pushes to other.git" err && ! test -e back2/.git
'

# The builds that hang: a RUN step that sleeps an hour.
sleeping() { DOCKER_API_VERSION=1.41 docker -H "$DOCKER_URL" ps --no-trunc --format "{{.Command}}" | grep -c "sleep 3600"; }
unlocked() { ! PAAS_ETCD_AUTH=$PAAS_STATE_DIR/etcd-auth/deployer "$PAAS_T" etcd "$PAAS_ETCD" get /paas/v1/deployments/app/lock >/dev/null 2>&1; }
gone() { ! pgrep -f "paas-deploy --table -D app" >/dev/null && ! pgrep -f "receive-pack .*/app.git" >/dev/null && unlocked && expect_eq "$(sleeping)" 0; }

test_expect_success 'a build past its timeout: stopped, the push rejected naming the deadline, nothing left' '
	was=$(remote_head) && cp work/Dockerfile Dockerfile.good && cp work/Servicefile Servicefile.good &&
	printf "FROM paas-test:1\nRUN sleep 3600\nCOPY www/ /src/\n" >work/Dockerfile &&
	sed -i "s|^  build: .\$|  build: {git: ., timeout: 4s}|" work/Servicefile && grep -q "timeout: 4s" work/Servicefile &&
	commit hang-timeout && t0=$(now_ms) && ! push paas main && cat push.out &&
	say "a build past its 4 s timeout: push refused after $(($(now_ms) - t0)) ms" &&
	expect_grep "service web: its build did not end within 4 s (build timeout; stopped)" push.out &&
	wait_for 10 gone && expect_eq "$(remote_head)" "$was" && expect_eq "$(get)" v3
'

test_expect_success 'a push whose client dies during a hanging build: within 10 s no build, no deploy, no lock' '
	was=$(remote_head) && cp Servicefile.good work/Servicefile && commit hang &&
	{ setsid sh -c "GIT_SSH_COMMAND=\"$(git_ssh alice)\" exec git -C work push paas main" >dies.out 2>&1 & p=$!; } &&
	wait_for 60 sh -c "test \"\$(DOCKER_API_VERSION=1.41 docker -H $DOCKER_URL ps --no-trunc --format {{.Command}} | grep -c \"sleep 3600\")\" = 1" &&
	kill -9 -- -$p && t0=$(now_ms) && { wait $p || :; } &&
	wait_for 10 gone && say "the client killed during a hanging build: all gone after $(($(now_ms) - t0)) ms" &&
	expect_eq "$(remote_head)" "$was" && expect_eq "$(get)" v3 &&
	cp Dockerfile.good work/Dockerfile && commit good-again
'

test_expect_success 'a push whose build reads another repository: refused naming it, nothing fetched or served' '
	was=$(remote_head) && ls "$PAAS_STATE_DIR/git-cache" >cache.before 2>/dev/null || : &&
	for src in "file://$PAAS_STATE_DIR/git/other.git" "$PAAS_STATE_DIR/git/other.git" ../other.git \
		"ssh://root@127.0.0.1:$SSH_PORT/other.git" "https://127.0.0.1:1/x.git" "git@127.0.0.1:x.git"; do
		sed "s|^  build: .\$|  build: \"$src\"|" Servicefile.good >work/Servicefile &&
		grep -q "build: \"$src\"" work/Servicefile && commit "foreign $src" &&
		{ ! push paas main || return 1; } &&
		expect_grep "service web: build git .$src. is not the pushed repository: .*allowed for app (nothing was fetched)" push.out &&
		expect_eq "$(remote_head)" "$was" || return 1
	done &&
	{ ls "$PAAS_STATE_DIR/git-cache" 2>/dev/null || :; } >cache.after && test_cmp cache.before cache.after &&
	expect_eq "$(get)" v3
'

test_expect_success 'a source allowed for the deployment by git add --allow-source: the push builds from it' '
	git clone -q --bare work "$TEST_TMP/shared.git" &&
	paas-cluster git add app --key "$TEST_TMP/alice.pub" --allow-source "file://$TEST_TMP/shared.git" >/dev/null &&
	expect_eq "$(cat "$PAAS_STATE_DIR/git/app.git/paas-sources")" "file://$TEST_TMP/shared.git" &&
	sed "s|^  build: .\$|  build: \"file://$TEST_TMP/shared.git\"|" Servicefile.good >work/Servicefile &&
	commit allowed && push paas main && expect_eq "$(remote_head)" "$(git -C work rev-parse HEAD)" &&
	paas-cluster git add app --key "$TEST_TMP/alice.pub" >/dev/null &&
	expect_eq "$(wc -c <"$PAAS_STATE_DIR/git/app.git/paas-sources")" 0 &&
	cp Servicefile.good work/Servicefile && commit back-to-dot
'

test_expect_success 'a malformed pack: refused by receive-pack, nothing deployed, the branch where it was' '
	was=$(remote_head) &&
	line="$was 1111111111111111111111111111111111111111 refs/heads/main" &&
	{ printf "%04x%s\0report-status\n0000PACK\0\0\0\2\0\0\0\1garbage" "$((${#line} + 19))" "$line" |
		ssh -i "$TEST_TMP/alice" -p "$SSH_PORT" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1 \
		"git-receive-pack 'app.git'" >pack.out 2>&1 || :; } &&
	grep -a -q "unpack" pack.out && ! grep -a -q "unpack ok" pack.out &&
	expect_eq "$(remote_head)" "$was" && ! pgrep -f "paas-deploy --table -D app" &&
	git -C "$PAAS_STATE_DIR/git/app.git" fsck --no-dangling >/dev/null 2>&1
'

test_expect_success 'build git: an ssh:// URL is fetched with a key, its host key checked against known_hosts' '
	sed -e "s|build: .|build: \"ssh://root@127.0.0.1:$SSH_PORT/app.git\"|" -e "/^Domains:/,+1d" \
		work/Servicefile >ssh.yml && grep -q "ssh://" ssh.yml &&
	: >empty_known_hosts &&
	expect_status 2 env PAAS_GIT_SSH_KEY="$TEST_TMP/alice" PAAS_GIT_KNOWN_HOSTS=$PWD/empty_known_hosts \
		paas-deploy -D sshsrc ssh.yml >/dev/null 2>err &&
	expect_grep "cannot fetch ssh://root@127.0.0.1:$SSH_PORT/app.git: the host key of \[127.0.0.1\]:$SSH_PORT is not in" err &&
	ssh-keyscan -p "$SSH_PORT" 127.0.0.1 >known_hosts 2>/dev/null && test -s known_hosts &&
	expect_status 2 full_stacks env PAAS_GIT_SSH_KEY="$TEST_TMP/mallory" PAAS_GIT_KNOWN_HOSTS=$PWD/known_hosts \
		paas-deploy -D sshsrc ssh.yml >/dev/null 2>err &&
	expect_grep "cannot fetch ssh://root@127.0.0.1:$SSH_PORT/app.git: .*authentication" err &&
	full_stacks env PAAS_GIT_SSH_KEY="$TEST_TMP/alice" PAAS_GIT_KNOWN_HOSTS=$PWD/known_hosts \
		paas-deploy --json -D sshsrc ssh.yml >sshd.out &&
	jq -e -s "any(.[]; .kind == \"built\" and (.commit == \"$(remote_head)\"))" sshd.out &&
	ls "$PAAS_STATE_DIR/git-cache/" | grep -q "\.git$"
'

test_done
