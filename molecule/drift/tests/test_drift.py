"""The drift schedule on a control host: the timer, the unit the timer starts (user,
checkout, environment, journal), the lock that keeps runs from overlapping, the metrics'
publication, and bad input refused before any change.

This test host's checkout has no virtualenv (the role does not install one; PyPI is not
reachable from test hosts), so a run here stops at its own check for one: the check of
the fleet itself is not run in this scenario."""

from __future__ import annotations

import time

from tests.helpers.ansible_run import (
    assert_refused_before_any_change,
    converge_playbook,
    leaked_secrets,
    run_playbook,
)
from tests.helpers.vault import read_secret

UNIT = "editaliza-drift.service"
CHECKOUT = "/opt/editaliza-fleet"
REPORT = "/var/lib/editaliza-drift/report"
TEXTFILE = "/var/lib/prometheus/node-exporter"


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
    assert f"{CHECKOUT}/scripts/drift detect -i inventories/production/hosts.yml" in show
    user = host.user("editaliza-drift")
    assert user.exists
    assert user.shell == "/usr/sbin/nologin"
    assert host.file("/var/lib/editaliza-drift/.ssh/id_ed25519").mode == 0o600
    env = host.file("/etc/editaliza-drift/vault.env")
    assert (env.user, env.group, env.mode) == ("root", "root", 0o600)
    approle = read_secret("editaliza/drift/approle")
    assert host.run("grep -qxF -- %s /etc/editaliza-drift/vault.env", f"VAULT_ROLE_ID={approle['role_id']}").rc == 0


def test_a_run_logs_to_the_journal_and_publishes_the_report_s_metrics(host):
    print("The checkout on this test host has no virtualenv: the run stops at its own check for one, "
          "so the fleet check itself is not run here")
    # Metrics left by an earlier run, as the drift_report callback writes them: the unit
    # publishes whatever the report directory holds after each run.
    metrics = 'fleet_drift_changed_tasks{host="sp-db1",kind="corrective"} 2\n'
    host.check_output(f"printf '%s' '{metrics}' > {REPORT}/sp-db1.prom && chown editaliza-drift {REPORT}/sp-db1.prom")
    show, journal = _run_unit(host)
    assert "has no ansible-playbook: run scripts/setup" in journal, journal
    assert (show["Result"], show["ExecMainStatus"]) == ("exit-code", "2"), show  # a failed check, not drift
    published = host.file(f"{TEXTFILE}/fleet-drift-sp-db1.prom")
    assert published.content_string == metrics
    assert published.mode == 0o644


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
