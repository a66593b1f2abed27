#!/bin/bash
# Benchmark (issue 2, 7b): a one-shot process reading one key through libpaas
# (tests/helpers/paas-t), against `etcdctl get` of the same key.
# Target: ratio <= 0.50.
. "$SRCDIR/tests/bench/lib-bench.sh"
. "$SRCDIR/tests/lib-etcd.sh"
need etcdctl
RUNS=${RUNS:-100}
# As paas-cluster up runs it: random passwords need no slow hash.
ETCD_EXTRA_ARGS="--bcrypt-cost 4"
etcd_start
E=$ETCD_ENDPOINT
"$PAAS_T" etcd "$E" put /paas/bench/key value >/dev/null
export ETCDCTL_API=3
expect_eq "$(etcdctl --endpoints "$E" get --print-value-only /paas/bench/key)" value || exit 1
expect_eq "$("$PAAS_T" etcd "$E" get /paas/bench/key)" value || exit 1
# hyperfine runs each command RUNS times without a shell in between, after
# a warm-up, so that only the processes themselves are timed.
need hyperfine
hyperfine -N -w 10 -r "$RUNS" --export-json hf.json \
	"$PAAS_T etcd $E get /paas/bench/key" \
	"etcdctl --endpoints $E get /paas/bench/key" >/dev/null 2>&1 || { echo "bench: hyperfine failed" >&2; exit 1; }
o=$(jq ".results[0].median" hf.json); p=$(jq ".results[1].median" hf.json)
echo "# etcd-oneshot: $RUNS one-shot reads each, median (hyperfine -N)"
echo "# etcd-oneshot: libpaas $(awk -v t="$o" 'BEGIN{printf "%.2f", t*1000}') ms/read  etcdctl $(awk -v t="$p" 'BEGIN{printf "%.2f", t*1000}') ms/read"
echo "etcd-oneshot ratio $(ratio "$o" "$p") (libpaas / etcdctl; target <= 0.50)"

# The same with etcd's users on, as paas-cluster up makes them: each process
# logs in once (libpaas: PAAS_ETCD_AUTH names the credentials file;
# etcdctl: ETCDCTL_USER).
b64() { printf %s "$1" | base64 -w0; }
post() { curl -fsS -m 5 -X POST "$E/v3/$1" -d "$2" >/dev/null; }
pw=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d " \n")
post auth/user/add "{\"name\":\"root\",\"password\":\"$pw\"}" &&
	post auth/user/grant "{\"user\":\"root\",\"role\":\"root\"}" &&
	post auth/user/add "{\"name\":\"bench\",\"password\":\"$pw\"}" &&
	post auth/role/add "{\"name\":\"bench\"}" &&
	post auth/role/grant "{\"name\":\"bench\",\"perm\":{\"permType\":\"READ\",\"key\":\"$(b64 /paas/)\",\"range_end\":\"$(b64 /paas0)\"}}" &&
	post auth/user/grant "{\"user\":\"bench\",\"role\":\"bench\"}" &&
	post auth/enable "{}" || { echo "bench: cannot turn etcd auth on" >&2; exit 1; }
printf "bench:%s\n" "$pw" >cred && chmod 600 cred
export PAAS_ETCD_AUTH=$PWD/cred
expect_eq "$("$PAAS_T" etcd "$E" get /paas/bench/key)" value || exit 1
# (the password through etcdctl's environment, not its arguments)
export ETCDCTL_USER="bench:$pw"
expect_eq "$(etcdctl --endpoints "$E" get --print-value-only /paas/bench/key)" value || exit 1
hyperfine -N -w 10 -r "$RUNS" --export-json hf2.json \
	"$PAAS_T etcd $E get /paas/bench/key" \
	"etcdctl --endpoints $E get /paas/bench/key" >/dev/null 2>&1 ||
	{ echo "bench: hyperfine failed" >&2; exit 1; }
oa=$(jq ".results[0].median" hf2.json); pa=$(jq ".results[1].median" hf2.json)
echo "# etcd-oneshot: with users: libpaas $(awk -v t="$oa" 'BEGIN{printf "%.2f", t*1000}') ms/read  etcdctl $(awk -v t="$pa" 'BEGIN{printf "%.2f", t*1000}') ms/read  (login cost: libpaas +$(awk -v a="$oa" -v b="$o" 'BEGIN{printf "%.2f", (a-b)*1000}') ms)"
echo "etcd-oneshot-auth ratio $(ratio "$oa" "$pa") (libpaas / etcdctl, both logging in; target <= 0.50)"
