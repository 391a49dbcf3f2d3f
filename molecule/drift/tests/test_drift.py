"""The drift schedule on a control host: the timer, the unit the timer starts (user,
checkout, environment, journal), the lock that keeps runs from overlapping, the metrics'
publication, and bad input refused before any change.

The role installs the run's Python environment from wheels built on the test machine (no
package index answers from test hosts), and a scheduled run checks the control host
itself (molecule/drift/scheduled) through the tests' Vault."""

from __future__ import annotations

import json
import time

import yaml

from tests.helpers.ansible_run import (
    ROOT,
    assert_refused_before_any_change,
    converge_playbook,
    leaked_secrets,
    run_playbook,
)
from tests.helpers.requirements import pins as requirements_pins
from tests.helpers.vault import read_secret

UNIT = "editaliza-drift.service"
CHECKOUT = "/opt/editaliza-fleet"
REPORT = "/var/lib/editaliza-drift/report"
TEXTFILE = "/var/lib/prometheus/node-exporter"
HOME = "/var/lib/editaliza-drift"


def _run_unit(host):
    """Start the oneshot unit, wait for it to end; its result, exit status and journal."""
    since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
    host.run(f"systemctl start {UNIT}")  # returns when the oneshot has ended
    show = dict(line.split("=", 1) for line in
                host.check_output(f"systemctl show {UNIT} -p Result -p ExecMainStatus -p ActiveState").splitlines())
    journal = host.check_output(f"journalctl -u {UNIT} --since '{since}' --no-pager -o cat")
    return show, journal


def test_the_timer_is_enabled_and_scheduled_hourly(host):
    assert host.service("editaliza-drift.timer").is_enabled
    assert host.service("editaliza-drift.timer").is_running
    timer = host.file("/etc/systemd/system/editaliza-drift.timer").content_string
    assert "OnCalendar=hourly" in timer
    assert "Persistent=true" in timer
    nxt = host.check_output("systemctl show editaliza-drift.timer -p NextElapseUSecRealtime --value")
    assert nxt.strip() not in ("", "n/a"), nxt


def test_the_unit_detects_only_as_the_drift_user_from_the_checkout(host):
    show = host.check_output(f"systemctl show {UNIT} -p User -p WorkingDirectory -p ExecStart")
    assert "User=editaliza-drift" in show
    assert f"WorkingDirectory={CHECKOUT}" in show
    assert f"{CHECKOUT}/scripts/drift detect -i molecule/drift/scheduled -p playbooks/drift.yml" in show
    user = host.user("editaliza-drift")
    assert user.exists
    assert user.shell == "/usr/sbin/nologin"
    assert host.file("/var/lib/editaliza-drift/.ssh/id_ed25519").mode == 0o600
    env = host.file("/etc/editaliza-drift/vault.env")
    assert (env.user, env.group, env.mode) == ("root", "root", 0o600)
    approle = read_secret("editaliza/drift/approle")
    assert host.run("grep -qxF -- %s /etc/editaliza-drift/vault.env", f"VAULT_ROLE_ID={approle['role_id']}").rc == 0


def test_the_run_s_python_environment_comes_from_the_wheels(host):
    """requirements-control.txt, installed by the role with no package index."""
    venv = f"{CHECKOUT}/.venv/bin"
    pins = requirements_pins(ROOT / "requirements-control.txt")
    frozen = host.check_output(f"{venv}/pip freeze --all").splitlines()
    freeze = dict(line.lower().split("==") for line in frozen if "==" in line)
    assert {name: freeze.get(name) for name in pins if freeze.get(name) != pins[name]} == {}, freeze
    # The collections come with the `ansible` package, at requirements.yml's versions.
    listed = host.check_output(f"{venv}/ansible-galaxy collection list community.hashi_vault 2>/dev/null")
    wanted = next(c["version"] for c in yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]
                  if c["name"] == "community.hashi_vault")
    assert f"community.hashi_vault {wanted}" in " ".join(listed.split()), listed


def _report(host):
    return json.loads(host.file(f"{REPORT}/drift-report.json").content_string)


def test_a_scheduled_run_checks_the_fleet_and_publishes_what_it_found(host, vault_forwarder):
    """The timer's unit runs a real detection (the preflight, Vault through AppRole, SSH to
    the inventory's host, the check-mode run, the report) and publishes its metrics:
    clean first, then the drift made here, named with its task."""
    # Before the host trusts the run's key: not a failed check but a finding.
    show, journal = _run_unit(host)
    assert (show["Result"], show["ExecMainStatus"]) == ("success", "1"), journal[-3000:]
    assert "drift on drift-ctl: unreachable" in journal, journal[-3000:]
    unreachable = host.file(f"{TEXTFILE}/fleet-drift-drift-ctl.prom").content_string
    assert 'fleet_drift_check_success{host="drift-ctl"} 0' in unreachable, unreachable

    key = host.file(f"{HOME}/.ssh/id_ed25519.pub").content_string.strip()
    host.check_output(f"install -d -m 0700 /root/.ssh && echo '{key}' >> /root/.ssh/authorized_keys")
    host.check_output(f"ssh-keyscan -t ed25519 127.0.0.1 2>/dev/null > {HOME}/.ssh/known_hosts "
                      f"&& chown editaliza-drift: {HOME}/.ssh/known_hosts")
    show, journal = _run_unit(host)
    assert (show["Result"], show["ExecMainStatus"]) == ("success", "0"), journal[-3000:]
    assert vault_forwarder.connections > 0  # the run logged in to Vault itself
    report = _report(host)
    assert report["drifted_hosts"] == [], report
    assert "drift-ctl" in report["hosts"], report
    published = host.file(f"{TEXTFILE}/fleet-drift-drift-ctl.prom")
    assert published.mode == 0o644
    assert 'fleet_drift_check_success{host="drift-ctl"} 1' in published.content_string
    assert report["hosts"]["drift-ctl"]["checked"] == "full"

    # Nothing moved since: the probe alone (the run's own cache in the checkout is not
    # state of the host).
    show, journal_again = _run_unit(host)
    assert (show["Result"], show["ExecMainStatus"]) == ("success", "0"), journal_again[-3000:]
    assert _report(host)["hosts"]["drift-ctl"]["checked"] == "state", journal_again[-3000:]
    counts = [line for line in published.content_string.splitlines() if line.startswith("fleet_drift_changed_tasks{")]
    assert counts, published.content_string
    assert all(line.endswith(" 0") for line in counts), counts

    # Drift: the directory of the run's credentials opened to every user.
    host.check_output("chmod 0777 /etc/editaliza-drift")
    try:
        show, journal_drift = _run_unit(host)
    finally:
        host.check_output("chmod 0755 /etc/editaliza-drift")
    assert (show["Result"], show["ExecMainStatus"]) == ("success", "1"), journal_drift[-3000:]  # drift is not a failure
    report = _report(host)
    assert report["drifted_hosts"] == ["drift-ctl"], report
    changed = [t["task"] for t in report["hosts"]["drift-ctl"]["changed"]]
    assert changed == ["drift : Create the configuration directory"], changed
    assert "drift on drift-ctl: 1 change(s)" in journal_drift, journal_drift[-3000:]
    published = host.file(f"{TEXTFILE}/fleet-drift-drift-ctl.prom").content_string
    # No git on this host, so no baseline to tell corrective from intended changes.
    assert 'fleet_drift_changed_tasks{host="drift-ctl",kind="unclassified"} 1' in published, published
    logs = journal + journal_again + journal_drift + host.check_output(f"cat {REPORT}/*.log {REPORT}/*.txt")
    assert leaked_secrets(logs) == []


def test_a_run_started_while_another_holds_the_lock_does_nothing(host):
    host.check_output("systemd-run --unit=edz-drift-lock-holder --uid=editaliza-drift "
                      f"flock {CHECKOUT}/.cache/drift.lock sleep 60")
    try:
        for _ in range(20):  # until the holder has the lock
            if host.run(f"flock --nonblock {CHECKOUT}/.cache/drift.lock true").rc != 0:
                break
            time.sleep(0.5)
        show, journal = _run_unit(host)
        assert "another run holds" in journal, journal
        assert show["ExecMainStatus"] == "75", show
        assert show["Result"] == "success", show  # 75 is not a failure of the unit
    finally:
        host.run("systemctl stop edz-drift-lock-holder")


def test_a_missing_approle_is_named_before_any_change():
    run = run_playbook(converge_playbook(), "-e", "drift_approle_vault_path=editaliza/drift/none")
    assert_refused_before_any_change(run, "editaliza/drift/none with keys role_id and secret_id",
                                     "Nothing was changed")


def test_a_host_without_checkout_is_refused_before_any_change():
    run = run_playbook(converge_playbook(), "-e", "drift_project_dir=/srv/nowhere")
    assert_refused_before_any_change(run, "/srv/nowhere/scripts/drift does not exist or is not executable")


def test_check_diff_run_changes_nothing_and_prints_no_secret():
    run = run_playbook(converge_playbook(), "--check", "--diff")
    assert run.rc == 0, run.output[-3000:]
    assert all(r["changed"] == 0 for r in run.recap.values()), run.recap
    assert leaked_secrets(run.output) == []
