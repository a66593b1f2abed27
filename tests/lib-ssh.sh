# A real OpenSSH server for tests (Debian's openssh-server), on a free
# loopback port with its own host key, config and log in $TEST_TMP:
#
#   sshd_start KEYS_FILE [CONFIG LINES...]
#                     sshd on 127.0.0.1:$SSH_PORT, taking public keys from
#                     KEYS_FILE (root may log in with forced commands only,
#                     unless SSHD_ROOT_LOGIN says otherwise)
#   ssh_key NAME      an ed25519 key pair $TEST_TMP/NAME, NAME.pub
#   GIT_SSH_COMMAND   set for the real git client: that port, no known-hosts
need sshd ssh ssh-keygen

sshd_start() {
	local keys=$1 dir="$TEST_TMP/sshd" pid
	shift
	mkdir -p "$dir" /run/sshd
	ssh-keygen -q -t ed25519 -N "" -f "$dir/host_key" >/dev/null || bail_out "cannot make an sshd host key"
	SSH_PORT=$(free_port)
	{
		echo "Port $SSH_PORT"
		echo "ListenAddress 127.0.0.1"
		echo "HostKey $dir/host_key"
		echo "PidFile $dir/sshd.pid"
		echo "AuthorizedKeysFile $keys"
		echo "PermitRootLogin ${SSHD_ROOT_LOGIN:-forced-commands-only}"
		echo "PasswordAuthentication no"
		echo "KbdInteractiveAuthentication no"
		echo "UsePAM no"
		# $TEST_TMP is under /tmp (mode 1777), which StrictModes refuses.
		echo "StrictModes no"
		echo "LogLevel VERBOSE"
		local l
		for l; do echo "$l"; done
	} >"$dir/sshd_config"
	/usr/sbin/sshd -D -e -f "$dir/sshd_config" >"$dir/log" 2>&1 &
	pid=$!
	at_exit "kill $pid 2>/dev/null"
	wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SSH_PORT" 2>/dev/null ||
		{ tail -n 20 "$dir/log" >>"$TEST_LOG"; bail_out "sshd did not come up on port $SSH_PORT"; }
	export SSH_PORT
}

ssh_key() {
	ssh-keygen -q -t ed25519 -N "" -C "$1@paas-test" -f "$TEST_TMP/$1" >/dev/null ||
		bail_out "cannot make ssh key $1"
}

# git_ssh KEYNAME: GIT_SSH_COMMAND for that key
git_ssh() {
	echo "ssh -i $TEST_TMP/$1 -p $SSH_PORT -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
}

# sshd_host_start HOST KEYS_FILE [PORT [DOCKER_HOST]]: an sshd on PORT
# (default 22) of lib-docker.sh's host HOST (in its network namespace), its
# users logging in with the keys of KEYS_FILE, its sessions given
# DOCKER_HOST (default that host's dockerd), so that ssh://root@HOST_IP
# reaches it as Kamal's or Docker's own ssh:// hosts do.  Its host key is
# $TEST_TMP/sshd-HOST/host_key; SSHD_PID[HOST] (port 22's).
declare -A SSHD_PID
sshd_host_start() {
	local h=$1 keys=$2 port=${3:-22} dh=${4:-unix://${HOST_SOCK[$1]}} dir="$TEST_TMP/sshd-$1" cfg pid
	mkdir -p "$dir" /run/sshd
	[ -f "$dir/host_key" ] ||
		ssh-keygen -q -t ed25519 -N "" -f "$dir/host_key" >/dev/null || bail_out "cannot make an sshd host key"
	cfg="$dir/sshd_config.$port"
	cat >"$cfg" <<-EOC
	Port $port
	ListenAddress ${HOST_IP[$h]}
	HostKey $dir/host_key
	PidFile $dir/sshd.$port.pid
	AuthorizedKeysFile $keys
	PermitRootLogin prohibit-password
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	UsePAM no
	StrictModes no
	LogLevel ${SSHD_LOG_LEVEL:-VERBOSE}
	SetEnv DOCKER_HOST=$dh DOCKER_API_VERSION=1.41
	EOC
	nsenter --net="/run/netns/${_host_ns[$h]}" /usr/sbin/sshd -D -e -f "$cfg" \
		>>"$dir/log" 2>&1 &
	pid=$!
	[ "$port" = 22 ] && SSHD_PID[$h]=$pid
	at_exit "kill $pid 2>/dev/null"
	wait_for 10 bash -c "exec 3<>/dev/tcp/${HOST_IP[$h]}/$port" 2>/dev/null ||
		{ tail -n 20 "$dir/log" >>"$TEST_LOG"; bail_out "sshd of host $h did not come up"; }
}

# sshd_host_stop HOST: that sshd and every session it runs
sshd_host_stop() {
	pkill -KILL -P "${SSHD_PID[$1]}" 2>/dev/null
	kill "${SSHD_PID[$1]}" 2>/dev/null
	wait "${SSHD_PID[$1]}" 2>/dev/null
	:
}

# sshd_host_cut HOST: every session of that sshd killed (its processes and
# theirs: the connections close), the listener kept
sshd_host_cut() {
	local p kids=() next
	next=$(pgrep -P "${SSHD_PID[$1]}")
	while [ -n "$next" ]; do
		kids+=($next)
		next=$(for p in $next; do pgrep -P "$p"; done)
	done
	[ ${#kids[@]} -gt 0 ] && kill -KILL "${kids[@]}" 2>/dev/null
	:
}

# ssh_machine_start HOST KEYS_FILE: lib-docker.sh's host HOST as a bare
# machine reached over SSH, for what installs systemd units there: a
# container of HOST's own dockerd in HOST's network namespace, named
# m-HOST, whose init is systemd (lib-machine.sh, which the test sources),
# with this machine's /usr read-only (sshd, docker, etcd, haproxy), HOST's
# dockerd as its Docker (unix:///run/docker-host/docker.sock) and an
# OpenSSH server on HOST_IP:22 taking the keys of KEYS_FILE; nothing of
# paas-tools.  Its host key: $TEST_TMP/m-HOST/host_key.
_ssh_machine_booted() { mx "$1" systemctl is-system-running 2>/dev/null | grep -q 'running\|degraded'; }
ssh_machine_start() {
	local h=$1 keys=$2 m="m-$1" d="$TEST_TMP/m-$1"
	mkdir -p "$d"
	ssh-keygen -q -t ed25519 -N "" -f "$d/host_key" >/dev/null || bail_out "cannot make a host key"
	cp "$keys" "$d/authorized_keys"
	cat >"$d/sshd_config" <<-EOC
	Port 22
	ListenAddress ${HOST_IP[$h]}
	HostKey /etc/paas-test/host_key
	AuthorizedKeysFile /etc/paas-test/authorized_keys
	PermitRootLogin prohibit-password
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	UsePAM no
	SetEnv DOCKER_HOST=unix:///run/docker-host/docker.sock DOCKER_API_VERSION=1.41
	EOC
	MACHINE_DOCKER=unix://${HOST_SOCK[$h]} MACHINE_NET=host machine_run "$m" \
		-v /usr:/usr:ro -v /etc/ld.so.cache:/etc/ld.so.cache:ro \
		-v "$(dirname "${HOST_SOCK[$h]}"):/run/docker-host" -v "$d:/etc/paas-test:ro"
	wait_for 60 _ssh_machine_booted "$m" ||
		bail_out "the systemd of machine $m did not come up"
	{ mx "$m" useradd -r -M -d /run/sshd -s /usr/sbin/nologin sshd; mx "$m" mkdir -p /run/sshd; } >>"$TEST_LOG" 2>&1
	mx "$m" /usr/sbin/sshd -f /etc/paas-test/sshd_config -E /var/log/sshd.log ||
		bail_out "cannot start sshd on machine $m"
	wait_for 10 bash -c "exec 3<>/dev/tcp/${HOST_IP[$h]}/22" 2>/dev/null ||
		bail_out "the sshd of machine $m does not answer"
}
