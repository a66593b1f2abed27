#!/bin/bash
# Records tests/fixtures/fleet again: the exchanges tests/unit/t-fleet
# reads, each one request to a real fleetd and the answer it gave.  Run by
# scripts/fleet-record (as root, with fleet's source in PAAS_FLEET_SRC):
# two machines of lib-fleet.sh with metadata host=fleetN,role=web, the
# requests of each file in order, machine 1 stopped before the last three.
# Not a test: it has no points, and writes into the tree.
#
#   bash tests/record-fleet.sh [DIR]   (default: tests/fixtures/fleet)
. "$(dirname "$0")/lib-test.sh"
OUTDIR=$(cd "$SRCDIR" && mkdir -p "${1:-tests/fixtures/fleet}" && cd "${1:-tests/fixtures/fleet}" && pwd)
[ -d "${PAAS_FLEET_SRC:-$SRCDIR/../shared/third_party/fleet}" ] ||
	bail_out "no fleet source in ${PAAS_FLEET_SRC:-$SRCDIR/../shared/third_party/fleet} (set PAAS_FLEET_SRC)"
. "$SRCDIR/tests/lib-docker.sh"
. "$SRCDIR/tests/lib-fleet.sh"
docker_start_local
fleet_two_machines

# record FILE METHOD PATH [BODY] [NOTE]: the request as the file's head, the
# answer (status line, headers, body) after a blank line, CRLF made LF.
record() {
	local file=$1 method=$2 path=$3 body=${4:-} note=${5:-}
	{
		echo "> $method $path${note:+ ($note)}"
		[ -z "$body" ] || echo "> body: $body"
		echo
		if [ -n "$body" ]; then
			curl -sS -i -X "$method" -H 'Content-Type: application/json' -d "$body" "$F$path"
		else
			curl -sS -i -X "$method" "$F$path"
		fi | tr -d '\r'
		echo
	} >"$OUTDIR/$file.http"
	echo "recorded $file" >&3
}
state() {	# state UNIT: its systemd active state, or none
	curl -sS "$F/fleet/v1/state?unitName=$1" | jq -r '.states[0].systemdActiveState // "none"'
}
machine_of() { curl -sS "$F/fleet/v1/state?unitName=$1" | jq -r '.states[0].machineID // "none"'; }
sleep_opts() {	# sleep_opts [X-FLEET-NAME VALUE]
	jq -cn --arg n "${1:-}" --arg v "${2:-}" '[{section: "Service", name: "ExecStart",
		value: "/bin/sleep 3600"}] + (if $n == "" then [] else [{section: "X-Fleet",
		name: $n, value: $v}] end)'
}

hello='{"desiredState":"launched","options":[{"section":"Unit","name":"Description","value":"hello 1"},{"section":"Service","name":"ExecStart","value":"/bin/sleep 3600"}]}'
curl -sS -f -X PUT -H 'Content-Type: application/json' -d "$hello" "$F/fleet/v1/units/hello@1.service" ||
	bail_out "cannot submit hello@1.service"
wait_for 60 sh -c "[ \"\$(curl -sS '$F/fleet/v1/state?unitName=hello@1.service' | jq -r '.states[0].systemdActiveState')\" = active ]" ||
	bail_out "hello@1.service did not become active"
first=$(machine_of hello@1.service)

record 01-get-machines GET /fleet/v1/machines
record 02-get-units GET /fleet/v1/units
record 03-get-state GET /fleet/v1/state
record 04-get-unit GET /fleet/v1/units/hello@1.service
record 05-get-unit-missing GET /fleet/v1/units/nope.service
record 06-put-unit-no-options PUT /fleet/v1/units/empty.service '{"desiredState":"launched"}'
record 07-put-unit-bad-state PUT /fleet/v1/units/bad.service \
	'{"desiredState":"running","options":[{"section":"Service","name":"ExecStart","value":"/bin/true"}]}'
record 08-put-unit-create PUT /fleet/v1/units/web@2.service \
	"{\"desiredState\":\"launched\",\"options\":$(sleep_opts MachineMetadata role=web)}"
record 09-put-unit-desired-state PUT /fleet/v1/units/web@2.service '{"desiredState":"inactive"}'
record 10-put-unit-change-options PUT /fleet/v1/units/web@2.service \
	'{"desiredState":"launched","options":[{"section":"Service","name":"ExecStart","value":"/bin/false"}]}'
record 11-get-state-filtered GET '/fleet/v1/state?unitName=hello@1.service'
record 12-delete-unit DELETE /fleet/v1/units/web@2.service
record 13-delete-unit-missing DELETE /fleet/v1/units/web@2.service
record 14-get-discovery GET /fleet/v1/discovery
record 15-put-global-unit PUT /fleet/v1/units/probe.service \
	"{\"desiredState\":\"launched\",\"options\":$(sleep_opts Global true)}"
record 16-put-unschedulable PUT /fleet/v1/units/db@1.service \
	"{\"desiredState\":\"launched\",\"options\":$(sleep_opts MachineMetadata role=db)}"
for i in 1 2 3; do
	name=17-put-web-1
	[ $i = 2 ] && name=18-put-web-2
	[ $i = 3 ] && name=19-put-web-3-conflict
	record $name PUT /fleet/v1/units/web@$i.service \
		"{\"desiredState\":\"launched\",\"options\":$(sleep_opts Conflicts 'web@*.service')}"
done
# Scheduled as it will be: web@1 and web@2 placed, web@3 and db@1 not.
wait_for 60 sh -c "[ \"\$(curl -sS '$F/fleet/v1/state' | jq '[.states[] | select(.name | test(\"^web@[12]\"))] | length')\" = 2 ]" ||
	bail_out "web@1 and web@2 were not both placed"
record 20-get-units-mixed GET /fleet/v1/units
record 21-get-state-mixed GET /fleet/v1/state

# The machine hello@1 runs on stopped: fleet moves it.
m=1
[ "$first" = "$(printf %032x 2)" ] && m=2
fleet_machine_stop $m
wait_for 120 sh -c "[ \"\$(curl -sS '${FLEET_URL[$((3 - m))]}/fleet/v1/machines' | jq '.machines | length')\" = 1 ]" ||
	bail_out "fleet still lists machine $m"
F=${FLEET_URL[$((3 - m))]}
wait_for 120 sh -c "[ \"\$(curl -sS '$F/fleet/v1/state?unitName=hello@1.service' | jq -r '.states[0].systemdActiveState')\" = active ]" ||
	bail_out "fleet did not move hello@1.service"
record 22-get-machines-after-loss GET /fleet/v1/machines '' "after machine $m was stopped"
record 23-get-units-after-loss GET /fleet/v1/units '' "after machine $m was stopped"
record 24-get-state-after-loss GET /fleet/v1/state '' "after machine $m was stopped"
echo "1..0 # recorded in $OUTDIR" >&3
