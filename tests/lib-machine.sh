# Test "machines": containers on the local test dockerd whose init is
# systemd (scripts/fleet-machine-image: Debian with systemd, cached), for
# what needs a real systemd: fleet (lib-fleet.sh) and the units of
# paas-cluster up --systemd.  Machines run on $DOCKER_URL (lib-docker.sh's
# docker_start_local), or on the dockerd MACHINE_DOCKER names (a unix://
# URL) when it is set.  Every machine is removed at exit.
#
#   machine_image               the image imported there (once per dockerd)
#   machine_run NAME ARGS...    a machine named NAME with docker-run ARGS
#                               (bind mounts...); its IP in MACHINE_IP[NAME];
#                               with MACHINE_NET=host, in the network
#                               namespace of its dockerd (no IP of its own)
#   mx NAME ARGS...             a command inside machine NAME

need docker curl
declare -A MACHINE_IP MACHINE_URL _machine_imported
MACHINE_IMAGE=paas-fleet-machine:1

_machine_url() { echo "${MACHINE_DOCKER:-${DOCKER_URL:-}}"; }
# _machine_dk ARGS: the docker CLI against the machines' dockerd (with
# MACHINE_AT=NAME, machine NAME's)
_machine_dk() {
	local url=${MACHINE_AT:+${MACHINE_URL[$MACHINE_AT]}}
	DOCKER_API_VERSION=1.41 /usr/bin/docker -H "${url:-$(_machine_url)}" "$@"
}

machine_image() {
	local tar url
	url=$(_machine_url)
	[ -n "$url" ] || bail_out "machines need docker_start_local first"
	[ -n "${_machine_imported[$url]:-}" ] && return 0
	tar=$(sh "$SRCDIR/scripts/fleet-machine-image" 2>>"$TEST_LOG") ||
		bail_out "cannot make the machine image"
	"$PAAS_T" docker "$url" import "$tar" paas-fleet-machine 1 >>"$TEST_LOG" 2>&1 ||
		bail_out "cannot import the machine image"
	_machine_imported[$url]=1
}

machine_run() {
	local name=$1 id net=(--hostname "$1")
	shift
	machine_image
	[ "${MACHINE_NET:-}" = host ] && net=(--network host)
	_machine_dk rm -f "$name" >/dev/null 2>&1
	id=$(_machine_dk run -d --name "$name" "${net[@]}" \
		--cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_PTRACE \
		--security-opt seccomp=unconfined --security-opt apparmor=unconfined \
		--cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
		--tmpfs /run --tmpfs /run/lock -e container=docker --stop-signal SIGRTMIN+3 \
		"$@" "$MACHINE_IMAGE" /sbin/init 2>>"$TEST_LOG") ||
		bail_out "cannot start machine $name"
	MACHINE_URL[$name]=$(_machine_url)
	at_exit "MACHINE_AT=$name _machine_dk rm -f $name >/dev/null 2>&1"
	MACHINE_IP[$name]=$(_machine_dk inspect -f '{{.NetworkSettings.IPAddress}}' "$id")
}

mx() {
	local n=$1
	shift
	MACHINE_AT=$n _machine_dk exec "$n" "$@"
}
