#!/bin/bash
# Environments, promotion and garbage collection (issue 13, point 4), on
# the cluster `paas-cluster up` makes with its registry:
#  - one Servicefile deploys shop-staging and shop with the values that
#    differ kept in its Deployments section (instances, env, domains);
#  - promote runs in shop the digests shop-staging runs, with shop's own
#    values, building nothing; history says where the release came from;
#  - registry gc --keep N keeps the images of the last N releases of each
#    deployment (and every current one) and deletes the rest, layers too;
#    rollback to a kept release pulls its digest back; to a collected one
#    it fails naming it, changing nothing; gc waits for no deploy: a held
#    lock makes it exit 2 naming the holder, deleting nothing.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-docker.sh"
need etcd haproxy jq git docker-registry
docker_start_local
cluster_ports
dkl() { DOCKER_API_VERSION=1.41 /usr/bin/docker -H "$DOCKER_URL" "$@"; }
get() { curl -sS -m 5 -H "Host: $1" "http://127.0.0.1:$PORT/index.html"; }
commit() { git_commit repo "$1"; }
version() { printf '%s\n' "$1" >repo/www/index.html && commit "$1"; }
serves() { wait_for 15 sh -c "curl -sS -m 2 -H \"Host: $1\" http://127.0.0.1:$PORT/index.html | grep -qx \"$2\""; }
# reg PATH [curl args]: the registry's API with the deployer's credentials
reg() { local p=$1; shift; curl -sS -m 10 --cacert "$PAAS_STATE_DIR/ca/ca.crt" -u "$(cat "$PAAS_STATE_DIR/registry-auth")" "$@" "https://$REG$p"; }
v2() { local p=$1; shift; reg "$p" -H "Accept: application/vnd.docker.distribution.manifest.v2+json" "$@"; }

mkdir -p repo/www
git -C repo init -q -b main
cat >repo/Servicefile <<'EOF'
Env: {MODE: production}
Domains:
  shop.localhost: {http: "shop:web"}
web:
  build: .
  cmd: [sh, -c, "cp /src/index.html /www/; echo $MODE >/www/mode; exec httpd -f -p 8000 -h /www"]
  ports: [8000]
  instances: 2
  health: {http: /index.html, port: 8000, interval: 1s, timeout: 500ms, retries: 2}
  update: {parallel: 2, order: start-first}
Deployments:
  shop-staging:
    Env: {MODE: staging}
    Domains:
      staging.shop.localhost: {http: "shop-staging:web"}
    web: {instances: 1}
EOF
printf 'FROM paas-test:1\nCOPY www/index.html /src/index.html\n' >repo/Dockerfile
printf 'Servicefile\n' >repo/.dockerignore
version v1

test_expect_success 'one Servicefile, two deployments: staging gets its overlay' '
	env -u PAAS_ETCD paas-cluster --json up --port "$PORT" --etcd-port "$EPORT" \
		--etcd-peer-port "$(free_port)" --registry-port "$RPORT" --docker "$DOCKER_URL" >up.out &&
	paas-deploy --json -D shop-staging repo/Servicefile >st1.out &&
	jq -e -s "any(.[]; .kind == \"built\" and (.cached | not))" st1.out &&
	serves staging.shop.localhost v1 &&
	expect_eq "$(curl -sS -m 5 -H "Host: staging.shop.localhost" "http://127.0.0.1:$PORT/mode")" staging &&
	expect_eq "$(dkl ps -q -f label=paas.deployment=shop-staging | wc -l)" 1 &&
	! get shop.localhost | grep -q v1
'

test_expect_success 'promote: shop runs staging.s digest with its own values, building nothing' '
	paas-deploy --json -D shop promote shop-staging repo/Servicefile >pr1.out &&
	! jq -e -s "any(.[]; .kind == \"build\")" pr1.out >/dev/null &&
	serves shop.localhost v1 &&
	expect_eq "$(curl -sS -m 5 -H "Host: shop.localhost" "http://127.0.0.1:$PORT/mode")" production &&
	expect_eq "$(dkl ps -q -f label=paas.deployment=shop | wc -l)" 2 &&
	a=$(dkl inspect --format "{{.Config.Image}}" $(dkl ps -q -f label=paas.deployment=shop-staging)) &&
	dkl inspect --format "{{.Config.Image}}" $(dkl ps -q -f label=paas.deployment=shop) | sort -u >b &&
	expect_eq "$(cat b)" "$a" &&
	paas-deploy --json -D shop history >h.out &&
	jq -e "select(.release == 1) | .release_kind == \"promote\" and .origin.deployment == \"shop-staging\" and
		.origin.release == 1 and .git == \"$(git -C repo rev-parse HEAD)\"" h.out &&
	paas-deploy --table -D shop history | grep -q "^\*1 *promote .* shop-staging:1 " &&
	expect_eq "$(paas-deploy --table -D shop promote shop-staging repo/Servicefile | tail -n 1)" "No changes."
'

test_expect_success 'promote refuses what it cannot do, naming it' '
	expect_status 3 paas-deploy -D shop promote shop 2>err && expect_grep "cannot be promoted to itself" err &&
	expect_status 1 paas-deploy -D shop promote nothing-here 2>err &&
	expect_grep "deployment nothing-here has no release to promote" err &&
	expect_status 3 paas-deploy -D shop promote Bad_Name 2>err && expect_grep "invalid deployment name" err
'

test_expect_success 'more releases: staging v2..v5 built, shop promoted to v2' '
	version v2 && paas-deploy --json -D shop-staging repo/Servicefile >/dev/null &&
	paas-deploy --json -D shop promote shop-staging >/dev/null && serves shop.localhost v2 &&
	for v in v3 v4 v5; do
		version $v && paas-deploy --json -D shop-staging repo/Servicefile >/dev/null || return 1
	done &&
	serves staging.shop.localhost v5 &&
	for n in 1 2 3 4 5; do
		paas-deploy --json -D shop-staging history | jq -r "select(.release == $n) | .release" | grep -qx $n || return 1
	done
'

img_of() { paas-deploy --json -D "$1" history >/dev/null; PAAS_ETCD_AUTH="$PAAS_STATE_DIR/etcd-auth/deployer" \
	"$PAAS_T" etcd "$PAAS_ETCD" get "/paas/v1/deployments/$1/releases/$2" | jq -r .spec.services.web.image; }

test_expect_success 'gc waits for no deploy: a held lock exits 2 naming the holder, nothing deleted' '
	{ PAAS_ETCD_AUTH="$PAAS_STATE_DIR/etcd-auth/deployer" "$PAAS_T" etcd "$PAAS_ETCD" lock shop "alice@a pid 1" 5 30 >lk.out 2>&1 & lk=$!; } &&
	wait_for 10 grep -q locked lk.out &&
	expect_status 2 paas-cluster registry gc --keep 2 2>err &&
	{ kill $lk; wait $lk || :; } && expect_grep "alice@a pid 1" err &&
	wait_for 20 sh -c "! PAAS_ETCD_AUTH=$PAAS_STATE_DIR/etcd-auth/deployer $PAAS_T etcd $PAAS_ETCD get /paas/v1/deployments/shop/lock >/dev/null 2>&1" &&
	v3=$(img_of shop-staging 3) && reg "/v2/shop-staging/web/manifests/${v3#*@}" -o /dev/null -w "%{http_code}\n" \
		-H "Accept: application/vnd.docker.distribution.manifest.v2+json" | grep -qx 200
'

test_expect_success 'gc --keep 2: the last two releases of each deployment keep their images, the rest go' '
	v1=$(img_of shop 1) && v3=$(img_of shop-staging 3) && v4=$(img_of shop-staging 4) &&
	layer=$(v2 "/v2/shop-staging/web/manifests/${v3#*@}" | jq -r ".layers[-1].digest") &&
	case $layer in sha256:*) ;; *) false ;; esac &&
	paas-cluster --json registry gc --keep 2 --dry-run >dry.out &&
	jq -e -s "map(select(.image)) | map(.image) == [\"$v3\"]" dry.out &&
	paas-cluster --json registry gc --keep 2 >gc.out &&
	jq -e -s "map(select(.image)) | map(.image) == [\"$v3\"]" gc.out &&
	jq -e -s "any(.[]; .kept == 4)" gc.out &&
	expect_eq "$(v2 "/v2/shop-staging/web/manifests/${v3#*@}" -o /dev/null -w "%{http_code}")" 404 &&
	expect_eq "$(reg "/v2/shop-staging/web/blobs/$layer" -o /dev/null -I -w "%{http_code}")" 404 &&
	expect_eq "$(v2 "/v2/shop-staging/web/manifests/${v1#*@}" -o /dev/null -w "%{http_code}")" 200 &&
	serves staging.shop.localhost v5 && serves shop.localhost v2
'

test_expect_success 'rollback to a kept release pulls its digest back; to a collected one it fails, changing nothing' '
	v1=$(img_of shop 1) && v3=$(img_of shop-staging 3) && v4=$(img_of shop-staging 4) &&
	for i in "$v1" "$v3" "$v4"; do
		id=$(dkl image inspect --format "{{.Id}}" "$i") && dkl rmi -f "$id" >/dev/null || return 1
	done &&
	paas-deploy --json -D shop-staging rollback 4 >rb4.out &&
	serves staging.shop.localhost v4 &&
	paas-deploy --json -D shop rollback 1 >rb1.out && serves shop.localhost v1 &&
	paas-deploy --json -D shop-staging history >hb &&
	expect_status 1 paas-deploy -D shop-staging rollback 3 2>err &&
	expect_grep "image $v3 is not on host local and cannot be pulled" err &&
	paas-deploy --json -D shop-staging history >ha && test_cmp hb ha &&
	serves staging.shop.localhost v4
'

test_done
