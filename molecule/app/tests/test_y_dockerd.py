"""A daemon.json change on the app hosts (issue 19.5): dockerd restarts one host at a time,
each host's containers back before the next restart, under a request loop that loses
nothing; then the setting goes back (the deploy tests after this one expect a clean
converge)."""

import json

from conftest import APP_HOSTS

from tests.helpers.ansible_run import ROOT, leaked_secrets, run_playbook

# Only the docker role's tasks (and the preflight, tagged always): the app hosts' daemons.
DOCKER_ONLY = ("--tags", "docker")


def docker_times(host):
    """dockerd's last restart on the host: when it left and re-entered active (µs on the
    kernel's monotonic clock, which the test hosts share)."""
    out = host.check_output("systemctl show docker.service -p ActiveExitTimestampMonotonic "
                            "-p ActiveEnterTimestampMonotonic")
    values = dict(line.split("=", 1) for line in out.splitlines())
    return int(values["ActiveExitTimestampMonotonic"]), int(values["ActiveEnterTimestampMonotonic"])


def containers(host):
    return host.check_output("docker ps --no-trunc --format '{{.ID}} {{.Status}}' | sort")


def test_a_daemon_json_change_restarts_one_app_host_at_a_time_and_loses_no_request(hosts, request_loop):
    before = {name: docker_times(hosts[name]) for name in APP_HOSTS}
    ids_before = {name: [line.split()[0] for line in containers(hosts[name]).splitlines()] for name in APP_HOSTS}
    extra = json.dumps({"docker_daemon_extra": {"max-concurrent-downloads": 4}})
    try:
        with request_loop() as result:
            run = run_playbook(ROOT / "playbooks/app.yml", *DOCKER_ONLY, "-e", extra)
        assert run.rc == 0, run.output[-3000:]
        assert leaked_secrets(run.output) == []
        assert result.failures == [], result.failures[:5]
        after = {name: docker_times(hosts[name]) for name in APP_HOSTS}
        assert all(after[name][1] > before[name][1] for name in APP_HOSTS), (before, after)  # each restarted
        first, second = sorted(APP_HOSTS, key=lambda name: after[name][1])
        # The second daemon stopped only after the first was active again (and its
        # containers checked): never both down at once.
        assert after[second][0] >= after[first][1], (first, after[first], second, after[second])
        for name in APP_HOSTS:
            assert "max-concurrent-downloads" in hosts[name].file("/etc/docker/daemon.json").content_string
            # live-restore: the same containers, never restarted
            assert [line.split()[0] for line in containers(hosts[name]).splitlines()] == ids_before[name]
        print(f"dockerd restarts: {first} then {second}, {result.sent} requests, 0 failed")
    finally:
        back = run_playbook(ROOT / "playbooks/app.yml", *DOCKER_ONLY)
        assert back.rc == 0, back.output[-3000:]
