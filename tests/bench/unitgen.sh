#!/bin/bash
# Benchmark (issue 3, 6): parse and render a Servicefile of 500 and of 1,000
# services: wall time and peak memory, and how cost grows (1,000 should take
# about twice 500).  Peer, in the same run: `docker-compose config` on the
# equivalent compose file, which does the same job (parse, validate, print a
# canonical form).
. "$SRCDIR/tests/bench/lib-bench.sh"
need docker-compose
export PATH="$BUILDDIR:$PATH"

gen_servicefile() {
	local n=$1 i
	echo "Env: {BRANDING: Company Ltd., REGION: eu}"
	for ((i = 0; i < n; i++)); do
		cat <<-YML
		svc$i:
		  image: local/app$i:1
		  cmd: [/bin/httpd, -f, -p, "8000", -h, /www]
		  env: {NAME: svc$i, MODE: production, QUOTE: 'say "hi" 100%'}
		  ports: [8000]
		  instances: 2
		  health: {http: /healthz, port: 8000, interval: 2s}
		  volumes: {data: /srv/data$i}
		  resources: {cpu: 0.5, memory: 128m}
		YML
	done
}

gen_compose() {
	local n=$1 i
	echo "version: '3.8'"
	echo "services:"
	for ((i = 0; i < n; i++)); do
		cat <<-YML
		  svc$i:
		    image: local/app$i:1
		    command: [/bin/httpd, -f, -p, "8000", -h, /www]
		    environment: {BRANDING: Company Ltd., REGION: eu, NAME: svc$i, MODE: production, QUOTE: 'say "hi" 100%'}
		    ports: ["8000"]
		    deploy: {replicas: 2, resources: {limits: {cpus: '0.5', memory: 128M}}}
		    healthcheck: {test: [CMD, wget, -q, -O, /dev/null, "http://127.0.0.1:8000/healthz"], interval: 2s}
		    volumes: ["data$i:/srv/data$i"]
		YML
	done
	echo "volumes:"
	for ((i = 0; i < n; i++)); do echo "  data$i: {}"; done
}

# measure CMD...: "seconds peak_kib": the best wall time of 5 runs (ns clock),
# and the peak resident memory of one run under /usr/bin/time.
measure() {
	local best="" r t kib
	for r in 1 2 3 4 5; do
		t=$(secs "$@") || return 1
		if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a < b)}'; then best=$t; fi
	done
	/usr/bin/time -f "%M" -o tm "$@" >/dev/null 2>&1 || return 1
	kib=$(tail -n 1 tm)
	echo "$best $kib"
}

gen_servicefile 1 >sf1.yml
base=$(measure paas-unitgen -D bench sf1.yml) || exit 1
t1=${base% *}
echo "# unitgen 1 service (fixed cost: start-up, one file): ${t1}s"
for n in 500 1000; do
	gen_servicefile $n >sf$n.yml
	gen_compose $n >compose$n.yml
	rm -rf out$n && mkdir out$n
	ours=$(measure paas-unitgen -D bench sf$n.yml) || exit 1
	files=$(measure paas-unitgen -D bench -o out$n sf$n.yml) || exit 1
	spec=$(measure paas-unitgen --spec sf$n.yml) || exit 1
	peer=$(measure docker-compose -p bench -f compose$n.yml config) || exit 1
	echo "# unitgen $n services: parse+render $(ls out$n | wc -l) units ${ours% *}s peak $((${ours#* } / 1024)) MiB; to files (-o) ${files% *}s; --spec ${spec% *}s; docker-compose config ${peer% *}s peak $((${peer#* } / 1024)) MiB"
	eval "t$n=${ours% *} p$n=${peer% *}"
done
echo "# unitgen growth: 1000 / 500 services = $(awk -v a="$t1000" -v b="$t500" 'BEGIN{ printf "%.2f", a / b }'), less the fixed cost $(awk -v a="$t1000" -v b="$t500" -v c="$t1" 'BEGIN{ printf "%.2f", (a - c) / (b - c) }') (linear is 2)"
echo "unitgen ratio $(awk -v a="$t1000" -v b="$p1000" 'BEGIN{ printf "%.3f", (a > 0 ? a : 0.005) / b }') (paas-unitgen / docker-compose config, 1,000 services)"
