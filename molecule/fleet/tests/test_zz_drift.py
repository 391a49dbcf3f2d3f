"""Drift on two hosts (a managed file edited on one, a managed service stopped on the
other), right after the idempotent second run: scripts/drift correct's detection names
exactly those hosts and tasks as corrective changes, it puts them back, and its closing
detection finds no drift. Runs last: it changes the hosts."""

from __future__ import annotations

import json
import subprocess

from tests.helpers.ansible_run import ROOT, leaked_secrets

REPORT = ROOT / ".cache/drift/lab"
# (host, what is changed, the tasks a check run reports: for the file, its template task
# and the handler it notifies)
EDITED = ("va-web1", "/etc/chrony/chrony.conf", ["common : Configure chrony", "common : Restart chrony"])
STOPPED = ("sp-db1", "prometheus-node-exporter.service", ["common : Enable and start the baseline services"])
MARK = "# drift injected by molecule/fleet"


def drift(mode):
    """scripts/drift MODE on the lab (the environment's Vault); (exit status, report, output)."""
    proc = subprocess.run([str(ROOT / "scripts/drift"), mode], cwd=ROOT, capture_output=True, text=True,
                          timeout=1800, check=False)
    report = json.loads((REPORT / "drift-report.json").read_text())
    print(f"scripts/drift {mode}: exit {proc.returncode}, drifted {report['drifted_hosts']}")
    output = proc.stdout + proc.stderr
    # The check's diffs are printed and kept: no secret may be among them.
    assert leaked_secrets(output + (REPORT / "check.log").read_text() + json.dumps(report)) == []
    return proc.returncode, report, output


def changed_tasks(report, host):
    return sorted({t["task"] for t in report["hosts"][host]["changed"]})


def test_correct_finds_exactly_the_drifted_hosts_and_tasks_and_fixes_them(hosts):
    # What the lab was converged from (scripts/lab provision records it; Molecule's
    # converge does not): changes since then would be "intended", none are.
    REPORT.mkdir(parents=True, exist_ok=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    (REPORT / "baseline").write_text(head.stdout)
    for stale in REPORT.glob("corrected-report.*"):
        stale.unlink()

    edited, path, edit_tasks = EDITED
    hosts[edited].check_output(f"echo {MARK!r} >> {path}")
    stopped, unit, stop_tasks = STOPPED
    hosts[stopped].check_output(f"systemctl stop {unit}")

    # correct's first step is a detection of the whole lab: its report is kept
    # (corrected-report.json) and checked here; its closing detection must find nothing.
    rc, closing, out = drift("correct")
    assert (rc, closing["drifted_hosts"]) == (0, []), out[-3000:]
    report = json.loads((REPORT / "corrected-report.json").read_text())
    assert report["drifted_hosts"] == sorted([edited, stopped]), out[-3000:]
    assert changed_tasks(report, edited) == edit_tasks, report["hosts"][edited]
    assert changed_tasks(report, stopped) == stop_tasks, report["hosts"][stopped]
    kinds = {t["kind"] for h in (edited, stopped) for t in report["hosts"][h]["changed"]}
    assert kinds == {"corrective"}
    diff = next(t["diff"] for t in report["hosts"][edited]["changed"] if t["task"] == edit_tasks[0])
    assert MARK in diff, diff
    text = (REPORT / "corrected-report.txt").read_text()
    assert edited in text
    assert stopped in text
    assert leaked_secrets(json.dumps(report) + text) == []
    # The per-host metrics are the closing check's: nothing left to correct.
    metric = (REPORT / f"{edited}.prom").read_text()
    assert f'fleet_drift_changed_tasks{{host="{edited}",kind="corrective"}} 0' in metric, metric
    assert MARK not in hosts[edited].file(path).content_string
    assert hosts[stopped].service(unit.removesuffix(".service")).is_running
