#!/bin/bash
# .dockerignore as docker build reads it (issue 29): for each case of a
# corpus of patterns ('..' in a pattern, '**' at depth 70, exceptions and
# the directories they reopen, a leading '/', './', a trailing '/', classes,
# escapes, whitespace, comments, a pattern that matches the Dockerfile or
# .dockerignore itself), an image built from paas-deploy's context (paas-t
# context: the tar it sends, from the commit) holds exactly the files of
# one `docker build` of the same tree makes (the docker CLI's context,
# classic builder); each copies its context whole (COPY . /ctx), and the
# work tree's .git, which no commit holds, is left out of docker's list.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-docker.sh"
need git tar
docker_start_local
export DOCKER_API_VERSION=1.41 DOCKER_BUILDKIT=0
DK="/usr/bin/docker -H $DOCKER_URL"

# The tree: files at several depths, one 70 directories down.
mkdir -p repo && git -C repo init -q -b main
(
	cd repo &&
	mkdir -p foo dir/sub a/x/y/b x/y/secret/z deep keep.d .hidden sp &&
	for f in secret.txt keep.txt notes.txt foo/inner.txt dir/keep dir/drop dir/sub/f \
		a/b a/x/y/b/f x/y/secret/z/f x/secret deep/app.log deep/keep.log app.log \
		1.md 12.md a.c b.c c.c "star*.txt" "sp/with space.txt" keep.d/f .hidden/h \
		abs.txt rel.txt Makefile secret.pem; do
		printf '%s\n' "$f" >"$f"
	done &&
	d=.; for i in $(seq 70); do d="$d/d$i"; done && mkdir -p "$d" &&
	printf 'deep secret\n' >"$d/secret.pem" && printf 'deep file\n' >"$d/ok.txt" &&
	printf 'FROM paas-test:1\nCOPY . /ctx\n' >Dockerfile
)

# listed IMAGE: the files and links the image's /ctx holds, sorted
listed() { $DK run --rm "$1" sh -c "cd /ctx && find . -type f -o -type l" | sed "s|^\./||" | sort; }
# check NAME LINES...: .dockerignore of LINES (printf escapes), committed;
# the two lists compared.
check() {
	local name=$1
	shift
	printf "$@" >repo/.dockerignore &&
	git_commit repo "$name" &&
	"$PAAS_T" context "$TEST_TMP/repo" . Dockerfile >ours.tar &&
	$DK build -q -t "ours:$name" - <ours.tar >/dev/null 2>build.err &&
	$DK build -q -t "ign:$name" repo >/dev/null 2>build.err &&
	listed "ours:$name" >ours.list && listed "ign:$name" | sed "/^\.git\//d" >docker.list &&
	$DK rmi -f "ign:$name" "ours:$name" >/dev/null &&
	{ cmp -s ours.list docker.list || { echo "case $name: ours | docker"; diff ours.list docker.list | head -20; return 1; }; }
}

test_expect_success 'the test image' '
	$DK image inspect paas-test:1 >/dev/null
'

n=0
while IFS='|' read -r name lines; do
	[ -n "$name" ] || continue
	n=$((n + 1))
	test_expect_success "case $name: the same files as docker build" "check '$name' '$lines'"
done <<'CASES'
none|# nothing but a comment\n
dotdot|foo/../secret.txt\n
dotdot-leading|../secret.txt\nsub/../../keep.txt\n
deep-double-star|**/secret.pem\n
double-star-dir|**/secret\n
star-and-exception|*.txt\n!keep.txt\n
dir-and-exception|dir\n!dir/keep\n
dir-and-star-exception|dir\n!*/keep\n
dir-trailing-slash|dir/\nkeep.d/\n
dir-star|dir/*\n!dir/sub\n
absolute|/abs.txt\n/dir/drop\n
dot-slash|./rel.txt\n.//notes.txt\n
middle-double-star|a/**/b\n
classes|?.md\n[ab].c\n[!c].c\n
escape|star\\*.txt\n
whitespace|  notes.txt  \n\t keep.txt\n
comment-first-byte-only|#keep.txt\n #notes.txt\n
logs|**/*.log\n!**/keep.log\n
subtree|deep/**\n
everything|**\n!Makefile\n
everything-star|*\n
hidden|.*\n
ignores-itself|.dockerignore\nDockerfile\n
exception-order|!keep.txt\n*.txt\n
parent-cut|x/y\n
space-in-name|sp/with space.txt\n
CASES

test_expect_success 'the corpus has every case' '
	say "$n cases" && test "$n" -ge 25
'
test_done
