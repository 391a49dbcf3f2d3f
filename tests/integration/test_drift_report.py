"""The drift_report callback on a real check-mode run against the control machine."""

import json
import os
import subprocess
from pathlib import Path

from tests.helpers.ansible_run import ROOT, tool
from tests.integration.ghost import inventory_with_ghost

HERE = Path(__file__).parent
SECRET = "Wq3vTn8sLrX2pQ9z"  # a value the test invents; the report must never show it


def run(tmp_path, *extra, env=None):
    cmd = [tool("ansible-playbook"), "-i", str(HERE / "inventory.yml"), str(HERE / "playbooks/drift_target.yml"),
           "-e", f"drift_dir={tmp_path}", "-e", f"drift_secret={SECRET}", *extra]
    full_env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_CALLBACKS_ENABLED": "drift_report", "DRIFT_REPORT_DIR": str(tmp_path / "report"),
                **(env or {})}
    proc = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads((tmp_path / "report/drift-report.json").read_text()), proc.stdout


def test_converged_host_has_no_drift(tmp_path):
    run(tmp_path)
    report, _ = run(tmp_path, "--check", "--diff")
    assert report["drifted_hosts"] == []
    assert report["hosts"]["control"]["changed"] == []
    assert 'kind="corrective"} 0' in (tmp_path / "report/control.prom").read_text()


def test_edited_files_are_reported_with_masked_diffs(tmp_path):
    run(tmp_path)
    (tmp_path / "service.conf").write_text(f"listen = 0.0.0.0\npassword = {SECRET}\n")
    (tmp_path / "token").write_text("tampered\n")
    report, stdout = run(tmp_path, "--check", "--diff", env={"DRIFT_BASELINE_COMMIT": "HEAD"})
    changed = {t["task"]: t for t in report["hosts"]["control"]["changed"]}
    assert sorted(changed) == ["Manage the service configuration", "Manage the token file"]
    service = changed["Manage the service configuration"]
    assert "+listen = 127.0.0.1" in service["diff"]
    assert "-listen = 0.0.0.0" in service["diff"]
    assert service["kind"] == "corrective"  # nothing changed in the repository since HEAD
    assert changed["Manage the token file"]["diff"] == "(diff hidden: the task handles secrets)"
    files = [(tmp_path / "report" / n).read_text() for n in ("drift-report.json", "drift-report.txt", "control.prom")]
    assert not [f for f in files if SECRET in f]
    assert 'fleet_drift_changed_tasks{host="control",kind="corrective"} 2' in files[2]
    assert "== control: 2 change(s)" in files[1]
    assert (tmp_path / "banner").read_text() == "managed banner\n"  # check mode changed nothing
    assert "tampered" in (tmp_path / "token").read_text()
    del stdout


def drift(tmp_path, mode):
    return wrapper(tmp_path, mode)[0]


def test_detect_exit_status_and_correct_applies_to_drifted_hosts(tmp_path):
    run(tmp_path)
    clean = drift(tmp_path, "detect")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    (tmp_path / "banner").write_text("edited by hand\n")
    found = drift(tmp_path, "detect")
    assert found.returncode == 1, found.stdout + found.stderr
    assert "* [unclassified] Manage the banner" in found.stdout
    fixed = drift(tmp_path, "correct")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "correcting: control" in fixed.stderr
    assert (tmp_path / "banner").read_text() == "managed banner\n"
    assert (tmp_path / "wrapper-report/baseline").read_text().strip()
    assert SECRET not in fixed.stdout + fixed.stderr


def wrapper(tmp_path, mode, *extra, inventory=None):
    cmd = [str(ROOT / "scripts/drift"), mode, "-i", str(inventory or HERE / "inventory.yml"),
           "-p", str(HERE / "playbooks/drift_target.yml"),
           "-e", f"drift_dir={tmp_path}", "-e", f"drift_secret={SECRET}", *extra]
    env = {**os.environ, "DRIFT_REPORT_DIR": str(tmp_path / "wrapper-report")}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    report = tmp_path / "wrapper-report/drift-report.json"
    return proc, (json.loads(report.read_text()) if report.exists() else None)


def test_a_refused_inventory_is_exit_2_and_writes_no_metric(tmp_path):
    proc, report = wrapper(tmp_path, "detect", "-e", "drift_refuse=true")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "the preflight refused the inventory" in proc.stderr
    assert "the inventory is refused (drift_refuse)" in report["refused"]
    assert not list((tmp_path / "wrapper-report").glob("*.prom"))
    # correct corrects nothing on a refused inventory.
    proc, _ = wrapper(tmp_path, "correct", "-e", "drift_refuse=true")
    assert proc.returncode == 2
    assert "nothing corrected" in proc.stderr


def test_a_check_that_fails_is_a_finding_on_its_host(tmp_path):
    run(tmp_path)
    proc, report = wrapper(tmp_path, "detect", "-e", "drift_fail=true")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert report["drifted_hosts"] == ["control"]
    assert [f["task"] for f in report["hosts"]["control"]["failed"]] == ["Read the service's health"]
    assert "check failed: Read the service's health" in proc.stdout
    metric = (tmp_path / "wrapper-report/control.prom").read_text()
    assert 'fleet_drift_check_success{host="control"} 0' in metric
    assert 'fleet_drift_changed_tasks{host="control",kind="unclassified"} 0' in metric


def test_a_host_that_does_not_answer_is_reported_and_the_others_are_checked(tmp_path):
    run(tmp_path)
    (tmp_path / "banner").write_text("edited by hand\n")
    # A second host nobody answers for: SSH to a closed port on loopback.
    inventory = inventory_with_ghost(tmp_path)
    proc, report = wrapper(tmp_path, "detect", inventory=inventory)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert report["drifted_hosts"] == ["control", "ghost"]
    assert report["hosts"]["ghost"]["unreachable"]
    assert [t["task"] for t in report["hosts"]["control"]["changed"]] == ["Manage the banner"]
    proc, report = wrapper(tmp_path, "correct", inventory=inventory)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "not reached: ghost" in proc.stderr
    # The closing check names the hosts the first detection found.
    assert "checking again: control,ghost" in proc.stderr
    assert report["drifted_hosts"] == ["ghost"]
    assert (tmp_path / "banner").read_text() == "managed banner\n"
