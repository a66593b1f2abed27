# Bash completion for paas-tools: paas-deploy, paas-scale, paas-route,
# paas-cluster, paas-unitgen.  Installed once per command under
# bash-completion's completions directory.  Deployment, service and host
# names come from etcd through the commands themselves (PAAS_ETCD, or the
# --etcd on the line), each asked with a 2 s limit; nothing is completed
# when etcd does not answer.

# _paas_etcd_flag: the --etcd given on the line, as arguments to pass on.
_paas_etcd_flag() {
	local i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		if [[ ${COMP_WORDS[i]} == --etcd ]]; then
			printf -- '--etcd\n%s\n' "${COMP_WORDS[i + 1]}"
			return
		fi
	done
}

# _paas_deployments, _paas_services [DEP], _paas_hosts: names, one a line.
_paas_deployments() {
	local -a e
	mapfile -t e < <(_paas_etcd_flag)
	timeout 2 paas-deploy "${e[@]}" --json list 2>/dev/null |
		sed -n 's/.*"deployment":"\([a-z0-9-]*\)".*/\1/p'
}
_paas_services() {
	local -a e
	mapfile -t e < <(_paas_etcd_flag)
	timeout 2 paas-deploy "${e[@]}" --json list 2>/dev/null |
		sed -n "s/.*\"deployment\":\"${1:-[a-z0-9-]*}\".*\"services\":{\([^}]*\)}.*/\1/p" |
		tr ',' '\n' | sed -n 's/^"\([a-z0-9-]*\)":.*/\1/p' | sort -u
}
_paas_jobs() {
	local -a e
	mapfile -t e < <(_paas_etcd_flag)
	[ -n "$1" ] || return 0
	timeout 2 paas-deploy "${e[@]}" -D "$1" --json jobs 2>/dev/null |
		sed -n 's/.*"service":"\([a-z0-9-]*\)".*/\1/p'
}
_paas_hosts() {
	local -a e
	mapfile -t e < <(_paas_etcd_flag)
	timeout 2 paas-cluster "${e[@]}" --json hosts ls 2>/dev/null |
		sed -n 's/.*"name":"\([a-z0-9.-]*\)".*/\1/p'
}

# _paas_dep: the -D / --deployment on the line, else $PAAS_DEPLOYMENT.
_paas_dep() {
	local i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
		-D | --deployment) echo "${COMP_WORDS[i + 1]}"; return ;;
		esac
	done
	echo "${PAAS_DEPLOYMENT:-}"
}

# _paas_sub: the first word after the command that is not a flag or a
# flag's value.
_paas_sub() {
	local i w
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-D | --deployment | --etcd | --lock-ttl | --stop-timeout | --drain | --ref | \
			--git-dir | --build-host | --host | --since | --tail) i=$((i + 1)) ;;
		-*) ;;
		*) echo "$w"; return ;;
		esac
	done
}

_paas_deploy() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} sub
	local flags="-D --deployment --etcd --json --table --dry-run --lock-ttl --stop-timeout
		--drain --ref --git-dir --build-host --yes -f --follow --since --tail --host
		-i -t -it -h --help -V --version"
	case $prev in
	-D | --deployment) mapfile -t COMPREPLY < <(compgen -W "$(_paas_deployments)" -- "$cur"); return ;;
	--git-dir) mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
	--build-host | --host) mapfile -t COMPREPLY < <(compgen -W "$(_paas_hosts)" -- "$cur"); return ;;
	--etcd | --lock-ttl | --stop-timeout | --drain | --ref | --since | --tail) return ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
		return
	fi
	sub=$(_paas_sub)
	case $sub in
	"") mapfile -t COMPREPLY < <(compgen -W "history ps list logs exec rollback promote config maintenance jobs destroy" -- "$cur")
		mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur") ;;
	promote) mapfile -t COMPREPLY < <(compgen -W "$(_paas_deployments)" -- "$cur") ;;
	logs | exec) mapfile -t COMPREPLY < <(compgen -W "$(_paas_services "$(_paas_dep)")" -- "$cur") ;;
	config) [ "$prev" = config ] && mapfile -t COMPREPLY < <(compgen -W "get set unset" -- "$cur") ;;
	maintenance) [ "$prev" = maintenance ] && mapfile -t COMPREPLY < <(compgen -W "on off" -- "$cur") ;;
	jobs) [ "$prev" = jobs ] && mapfile -t COMPREPLY < <(compgen -W "$(_paas_jobs "$(_paas_dep)")" -- "$cur") ;;
	esac
}

_paas_scale() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} s
	case $prev in
	-D | --deployment) mapfile -t COMPREPLY < <(compgen -W "$(_paas_deployments)" -- "$cur"); return ;;
	--etcd | --lock-ttl | --stop-timeout | --drain) return ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "-D --deployment --etcd --json --table --dry-run
			--lock-ttl --stop-timeout --drain -h --help -V --version" -- "$cur")
		return
	fi
	compopt -o nospace 2>/dev/null
	mapfile -t COMPREPLY < <(for s in $(_paas_services "$(_paas_dep)"); do echo "$s="; done |
		grep -- "^$cur")
}

_paas_route() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	case $prev in
	--config | --master-socket | --stats-socket | --pid-file | --haproxy | --status-users)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
	--tls-dir) mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
	--etcd | --port | --https-port | --hard-stop-after | --name | --coalesce-ms | --ttl | --status-domain) return ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "--etcd --config --master-socket --stats-socket
			--port --https-port --tls-dir --hard-stop-after --haproxy --pid-file --name
			--coalesce-ms --ttl --status-domain --status-users -h --help -V --version" -- "$cur")
		return
	fi
	[ -z "$(_paas_sub)" ] && mapfile -t COMPREPLY < <(compgen -W "render apply watch" -- "$cur")
}

_paas_cluster() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} sub i w second=""
	case $prev in
	--state-dir | --tls-dir) mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
	--tls-ca | --tls-cert | --tls-key | --key | --registry-ca | --servicefile)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
	--host) [ "$(_paas_sub)" = up ] && return
		mapfile -t COMPREPLY < <(compgen -W "$(_paas_hosts)" -- "$cur"); return ;;
	--etcd | --port | --docker | --ssh | --fleet | --fleet-endpoint | --agent-etcd | --agent-docker | --etcd-port | --etcd-peer-port | --registry-port | \
		--registry-address | --registry | --label | --cpu | --memory | --address | \
		--timeout | --warn | --crit | --keep | --branch | --user | --ttl | --interval) return ;;
	esac
	sub=$(_paas_sub)
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		[[ $w == "$sub" ]] || continue
		[[ $((i + 1)) -lt $COMP_CWORD ]] && second=${COMP_WORDS[i + 1]}
		break
	done
	if [[ $cur == -* ]]; then
		local f="-h --help -V --version --json --table --etcd"
		case $sub in
		up) f="$f --state-dir --port --docker --etcd-port --etcd-peer-port --registry-port
			--registry-address --registry --registry-ca --no-registry --systemd --host
			--agent-docker --accept-new-host-key" ;;
		down) f="$f --state-dir" ;;
		status) f="$f --timeout" ;;
		check) f="$f --timeout --warn --crit --repair" ;;
		hosts) f="$f --docker --label --tls-ca --tls-cert --tls-key --insecure --cpu --memory
			--address --no-check --accept-new-host-key --ssh --fleet --agent-etcd
			--agent-docker --force" ;;
		members | restore) f="$f --force" ;;
		registry) f="$f --keep --dry-run" ;;
		git) f="$f --key --branch --servicefile --host --port --user" ;;
		agent) f="$f --host --fleet --fleet-endpoint --docker --ttl --interval" ;;
		esac
		mapfile -t COMPREPLY < <(compgen -W "$f" -- "$cur")
		return
	fi
	case $sub in
	"") mapfile -t COMPREPLY < <(compgen -W "up down status check hosts members backup
		restore registry git certs agent" -- "$cur") ;;
	hosts) if [ -z "$second" ]; then
			mapfile -t COMPREPLY < <(compgen -W "ls add rm" -- "$cur")
		elif [ "$second" = rm ]; then
			mapfile -t COMPREPLY < <(compgen -W "$(_paas_hosts)" -- "$cur")
		fi ;;
	members) [ -z "$second" ] && mapfile -t COMPREPLY < <(compgen -W "ls add rm" -- "$cur") ;;
	registry) [ -z "$second" ] && mapfile -t COMPREPLY < <(compgen -W "gc" -- "$cur") ;;
	git) if [ -z "$second" ]; then
			mapfile -t COMPREPLY < <(compgen -W "add ls" -- "$cur")
		elif [ "$second" = add ]; then
			mapfile -t COMPREPLY < <(compgen -W "$(_paas_deployments)" -- "$cur")
		fi ;;
	certs) if [ -z "$second" ]; then
			mapfile -t COMPREPLY < <(compgen -W "ls add rm" -- "$cur")
		elif [ "$second" = add ] && [ "$prev" != add ]; then
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		fi ;;
	backup | restore) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
	esac
}

_paas_unitgen() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	case $prev in
	-D | --deployment) mapfile -t COMPREPLY < <(compgen -W "$(_paas_deployments)" -- "$cur"); return ;;
	-o | --output) mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "-D --deployment --spec -o --output -h --help
			-V --version" -- "$cur")
		return
	fi
	mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}

complete -F _paas_deploy paas-deploy
complete -F _paas_scale paas-scale
complete -F _paas_route paas-route
complete -F _paas_cluster paas-cluster
complete -F _paas_unitgen paas-unitgen
