"""Deploys under a concurrent request loop (runs last: it changes the release): rolling,
blue-green, switch back, a broken release that rolls back, a version the registry does not
have. None may lose a request; each ends where it says."""

import json
import os
from pathlib import Path

import pytest
from conftest import APP_HOSTS, wait_for

from tests.helpers.ansible_run import ROOT, leaked_secrets, run_playbook

DEPLOY = ROOT / "playbooks/deploy.yml"


def deploy(*extra):
    return run_playbook(DEPLOY, *extra)


def versions_served(client, n=30):
    return {client.get("/").headers["x-app-version"] for _ in range(n)}


def release_of(host):
    return json.loads(host.file("/etc/editaliza/app/release.json").content_string)


MARK = "/run/editaliza/deploy.json"


def marked(hosts):
    """App hosts that still carry a deploy's mark (roles/app/tasks/guard.yml)."""
    return [name for name in APP_HOSTS if hosts[name].file(MARK).exists]


def test_1_rolling_deploy_loses_no_request(hosts, client, request_loop):
    with request_loop() as result:
        run = deploy("-e", "app_version=1.1.0")
    assert run.rc == 0, run.output[-3000:]
    # Each entry point's arguments were checked against its own spec (tasks_from names
    # the entry point, without .yml, or Ansible finds no spec and checks nothing).
    for entry in ("deploy_prepare", "deploy_host", "deploy_finish"):
        assert f"app : Validating arguments against arg spec '{entry}'" in run.output
    assert leaked_secrets(run.output) == []
    assert result.failures == [], result.failures[:5]
    assert set(result.versions) == {"1.0.0", "1.1.0"}, result.versions
    assert versions_served(client) == {"1.1.0"}
    for name in APP_HOSTS:
        assert release_of(hosts[name])["version"] == "1.1.0"
        for i in (0, 1):
            image = hosts[name].check_output(f"docker inspect -f '{{{{.Config.Image}}}}' app-blue-{i}")
            assert image.endswith(":1.1.0")
    print(f"rolling deploy: {result.sent} requests during the deploy, 0 failed, versions {result.versions}")


def test_2_blue_green_deploy_loses_no_request_and_keeps_the_old_colour(hosts, client, request_loop):
    with request_loop() as result:
        run = deploy("-e", "app_version=1.2.0", "-e", "app_deploy_strategy=blue_green")
    assert run.rc == 0, run.output[-3000:]
    assert result.failures == [], result.failures[:5]
    assert versions_served(client) == {"1.2.0"}
    assert {client.get("/").headers["x-app-instance"] for _ in range(20)} == {"app-sp-green-0", "app-sp-green-1"}
    for name in APP_HOSTS:
        release = release_of(hosts[name])
        assert (release["version"], release["color"]) == ("1.2.0", "green")
        assert release["previous"] == {"version": "1.1.0", "color": "blue"}
        # The old colour still runs, ready for an instant switch back.
        assert hosts[name].check_output("docker inspect -f '{{.State.Health.Status}}' app-blue-0") == "healthy"
    print(f"blue-green deploy: {result.sent} requests, 0 failed, versions {result.versions}")


def test_3_switch_back_returns_to_the_previous_colour_at_once(hosts, client, request_loop):
    with request_loop() as result:
        run = deploy("-e", "app_deploy_strategy=switch_back")
    assert run.rc == 0, run.output[-3000:]
    assert result.failures == [], result.failures[:5]
    assert versions_served(client) == {"1.1.0"}
    assert release_of(hosts["app-sp"])["color"] == "blue"


def test_4_a_converge_after_deploys_keeps_the_release_and_recreates_no_container(hosts):
    before = {name: hosts[name].check_output("docker ps -q --no-trunc | sort") for name in APP_HOSTS}
    run = run_playbook(Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]) / "converge.yml")
    assert run.rc == 0, run.output[-3000:]
    assert all(r["changed"] == 0 for r in run.recap.values()), run.recap
    assert leaked_secrets(run.output) == []
    assert {name: hosts[name].check_output("docker ps -q --no-trunc | sort") for name in APP_HOSTS} == before


def test_5_a_broken_release_rolls_back_and_the_site_keeps_answering(hosts, client, request_loop):
    with request_loop() as result:
        run = deploy("-e", "app_version=1.3.0")
    assert run.rc != 0
    assert "deploy of 1.3.0 failed on app-sp and was rolled back to 1.1.0" in run.output, run.output[-3000:]
    assert result.failures == [], result.failures[:5]
    assert versions_served(client) == {"1.1.0"}
    # The deploy stopped after its rollback: converges manage the app again.
    assert marked(hosts) == []
    assert wait_for(lambda: all(
        hosts["app-sp"].check_output(f"docker inspect -f '{{{{.State.Health.Status}}}}' app-blue-{i}") == "healthy"
        for i in (0, 1)), 30)
    # Virginia came after São Paulo in the deploy: never touched.
    assert release_of(hosts["app-va"])["version"] == "1.1.0"


@pytest.mark.parametrize("version", ["9.9.9"])
def test_6_a_version_missing_from_the_registry_changes_nothing(hosts, client, version):
    run = deploy("-e", f"app_version={version}")
    assert run.rc != 0
    assert f"could not pull 10.214.5.10:5000/editaliza/app:{version}" in run.output, run.output[-3000:]
    assert all(r["changed"] == 0 for r in run.recap.values()), run.recap
    assert versions_served(client) == {"1.1.0"}



def test_7_a_run_during_a_deploy_stops_in_its_preflight_and_an_old_mark_no_longer_holds(hosts):
    # A deploy's mark as playbooks/deploy.yml writes it (roles/app/tasks/mark.yml), on one
    # app host, as if that deploy were running now.
    host = hosts["app-va"]
    started = int(host.check_output("date +%s"))
    mark = {"started": started, "version": "1.2.0", "strategy": "rolling", "by": "test_7"}
    host.check_output(f"echo {json.dumps(json.dumps(mark))} > {MARK}")
    converge = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]) / "converge.yml"
    try:
        # Only the always-tagged preflight can run: the rest of the converge is not needed
        # to show where the run stops.
        run = run_playbook(converge, "--tags", "edz_preflight_only")
        assert run.rc != 0, run.output[-3000:]
        assert f"app on app-va: a deploy (rolling to 1.2.0, started {started} by test_7) is in progress; " \
               "nothing was changed" in " ".join(run.output.split()), run.output[-3000:]
        assert all(r["changed"] == 0 for r in run.recap.values()), run.recap
        # A mark older than app_deploy_guard_minutes (120) is a deploy that died.
        mark["started"] = started - 3 * 3600
        host.check_output(f"echo {json.dumps(json.dumps(mark))} > {MARK}")
        run = run_playbook(converge, "--tags", "edz_preflight_only")
        assert run.rc == 0, run.output[-3000:]
    finally:
        host.check_output(f"rm -f {MARK}")
