#!/bin/bash
# paas-unitgen's units under a real fleet (issue 16, point 3): two machines,
# each with its own Docker engine; the units are submitted with fleetctl
# (whose unit reader refuses lines of 2048 bytes), started, moved from
# instance to instance through the template, stopped, and their secrets
# file missing.  The image's shell runs httpd without exec: without Docker's
# init its PID 1 ignores SIGTERM (the control below shows the difference).
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/lib-docker.sh"
. "$SRCDIR/tests/lib-fleet.sh"
need systemd-analyze
docker_start_local
fleet_two_machines --docker

{
	cat <<-'EOF'
	web:
	  image: paas-test:1
	  cmd: [sh, -c, 'echo "$PAAS_INSTANCE" >/www/version; httpd -f -p 8000 -h /www']
	  ports: [8000]
	  instances: 2
	  constraints: {role: web}
	  conflicts: [web]
	  env:
	EOF
	for i in $(seq 300); do printf '    VARIABLE_NUMBER_%03d: "value %d 100%% sure"\n' "$i" "$i"; done
	cat <<-'EOF'
	vault:
	  image: paas-test:1
	  cmd: [sleep, '3600']
	  env: {TOKEN: '${TOKEN}'}
	EOF
} >Servicefile
# on UNIT: the machine fleet placed UNIT on (1 or 2), or nothing
on() { fleetctl list-units --no-legend --fields unit,machine --full | awk -v u="$1" '$1 == u { print $2 }' |
	sed -n "s|^0*\([0-9]*\)/.*|\1|p"; }
# active N UNIT: systemd says UNIT is active on machine N
active() { [ "$(fm "$1" systemctl is-active "$2")" = active ]; }

test_expect_success 'fleetctl takes the units of a service with 300 variables, and the templates' '
	mkdir units && paas-unitgen -D t -o units Servicefile &&
	ls units >names &&
	printf "t-vault@.service\nt-vault@1.service\nt-web@.service\nt-web@1.service\nt-web@2.service\n" >want &&
	test_cmp want names &&
	[ "$(awk "length > 2047" units/t-web@1.service | wc -l)" = 0 ] &&
	[ "$(wc -c <units/t-web@1.service)" -gt 10000 ] &&
	(cd units && fleetctl submit t-web@.service t-web@1.service t-web@2.service) 2>err &&
	! grep -i "too long" err &&
	fleetctl list-unit-files --no-legend | grep -c "^t-web@" >n && expect_eq "$(cat n)" 3
'

test_expect_success 'control: the same unit with its Exec line joined is refused by fleetctl' '
	mkdir joined && sed -e ":a" -e "/\\\\$/N; s/ \\\\\n\t/ /; ta" units/t-web@1.service >joined/t-joined@1.service &&
	[ "$(awk "length > 2047" joined/t-joined@1.service | wc -l)" = 1 ] &&
	! (cd joined && fleetctl submit t-joined@1.service) 2>err &&
	expect_grep "line too long" err
'

test_expect_success 'started: one per machine (Conflicts), every variable exact in the container' '
	fleetctl start --no-block t-web@1.service t-web@2.service &&
	wait_for 60 eval "m1=\$(on t-web@1.service) && [ -n \"\$m1\" ] && active \$m1 t-web@1.service" &&
	wait_for 60 eval "m2=\$(on t-web@2.service) && [ -n \"\$m2\" ] && active \$m2 t-web@2.service" &&
	[ "$m1" != "$m2" ] &&
	wait_for 30 eval "dk fleet$m1 exec t-web-1 env >env1" &&
	expect_eq "$(grep -c "^VARIABLE_NUMBER_" env1)" 300 &&
	expect_grep "^VARIABLE_NUMBER_007=value 7 100% sure$" env1 &&
	expect_eq "$(dk "fleet$m1" inspect -f "{{.HostConfig.Init}}" t-web-1)" true
'

test_expect_success 'a new instance number starts from the template' '
	fleetctl unload t-web@2.service >/dev/null 2>&1; fleetctl destroy t-web@2.service >/dev/null &&
	wait_for 30 eval "! fleetctl list-units --no-legend | grep -q t-web@2.service" &&
	fleetctl start --no-block t-web@7.service 2>err &&
	! grep -i "unable to find template" err &&
	wait_for 60 eval "m7=\$(on t-web@7.service) && [ -n \"\$m7\" ] && active \$m7 t-web@7.service" &&
	wait_for 30 eval "[ \"\$(dk fleet\$m7 exec t-web-7 cat /www/version)\" = 7 ]"
'

test_expect_success 'a stop takes under 2 s and leaves the unit inactive, not failed' '
	m=$(on t-web@7.service) &&
	t0=$(now_ms) && fm "$m" systemctl stop t-web@7.service && t1=$(now_ms) &&
	say "systemctl stop: $((t1 - t0)) ms" &&
	[ $((t1 - t0)) -lt 2000 ] &&
	expect_eq "$(fm "$m" systemctl is-active t-web@7.service)" inactive &&
	! fm "$m" systemctl is-failed -q t-web@7.service &&
	! dk "fleet$m" ps -q -f name=t-web-7 | grep -q .
'

test_expect_success 'control: the same unit without Docker init takes the 10 s grace and fails' '
	m=$(on t-web@1.service) &&
	sed -e "s/ --init / /" -e "s/t-web-%i/t-noinit-%i/g" units/t-web@.service >noinit.service &&
	docker -H "$DOCKER_URL" exec -i "fleet$m" sh -c "cat >/etc/systemd/system/t-noinit@5.service" <noinit.service &&
	fm "$m" systemctl daemon-reload && fm "$m" systemctl start t-noinit@5.service &&
	wait_for 30 eval "dk fleet$m exec t-noinit-5 true" &&
	t0=$(now_ms) && { fm "$m" systemctl stop t-noinit@5.service; t1=$(now_ms); } &&
	say "without --init: systemctl stop: $((t1 - t0)) ms, then $(fm "$m" systemctl is-active t-noinit@5.service)" &&
	[ $((t1 - t0)) -ge 9000 ] &&
	fm "$m" systemctl is-failed -q t-noinit@5.service
'

test_expect_success 'a missing secrets file: the unit fails once, saying so, and does not restart' '
	(cd units && fleetctl submit t-vault@.service t-vault@1.service) &&
	fleetctl start --no-block t-vault@1.service &&
	wait_for 60 eval "m=\$(on t-vault@1.service) && [ -n \"\$m\" ] && [ \"\$(fm \$m systemctl show -P AssertResult t-vault@1.service)\" = no ]" &&
	{ fm "$m" systemctl status t-vault@1.service >st 2>&1 || :; } && cat st &&
	expect_grep "Assertion failed\|AssertPathExists" st &&
	expect_eq "$(fm "$m" systemctl show -P NRestarts t-vault@1.service)" 0 &&
	fm "$m" sh -c "mkdir -p /etc/paas/t && echo TOKEN=s3cret >/etc/paas/t/vault.env && chmod 600 /etc/paas/t/vault.env" &&
	fm "$m" systemctl start t-vault@1.service &&
	wait_for 30 eval "dk fleet\$m exec t-vault-1 env | grep -qx TOKEN=s3cret"
'

test_done
