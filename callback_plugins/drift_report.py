"""Turn a `--check --diff` run into a drift report.

Enable it for a run (it only records; it prints nothing):

    ANSIBLE_CALLBACKS_ENABLED=drift_report DRIFT_REPORT_DIR=.cache/drift \\
        ansible-playbook site.yml --check --diff

It writes, into the report directory:
  drift-report.json   per host: the tasks that would change, their diffs (secrets masked),
                      whether each is corrective or intended, failures, unreachable hosts
  drift-report.txt    the same, for people
  <host>.prom         Prometheus textfile metrics for the host's node exporter

Findings that are not changes: a task that fails in check mode and a host that cannot be
reached are findings on that host too ("failed", "unreachable"; counted as corrective in
the metrics), never a reason to stop checking the others. A failure in a preflight
(playbooks/preflight.yml, a role's tasks/preflight.yml) is the inventory being refused:
the report says so under "refused" and no metric file is written.

Corrective or intended: with DRIFT_BASELINE_COMMIT (the commit the fleet was last
converged from), a change is "intended" when the repository changed since then in the
task's role (or playbook) or in the inventory, since the change may come from that
edit; otherwise it is "corrective": the host moved away from what the repository says.
Without a baseline every change is "unclassified".

With DRIFT_PROBE_FILE (the probe run of scripts/drift's fast path) it writes that file
instead: per host the state digests of edz_state_digest and the probe's own findings,
and the digest of the secrets the repository reads; a refused preflight is reported as
in a check run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: drift_report
type: aggregate
short_description: Write a drift report (JSON, text, Prometheus textfile) from a check-mode run
description:
  - Records every task that reports a change, with its diff, per host; masks secrets.
requirements:
  - enable in callbacks_enabled (or ANSIBLE_CALLBACKS_ENABLED)
options:
  report_dir:
    description: Directory the report files are written to.
    default: .cache/drift
    env:
      - name: DRIFT_REPORT_DIR
    ini:
      - section: drift_report
        key: report_dir
    type: path
  baseline_commit:
    description: Commit the fleet was last converged from, to tell intended changes from corrective ones.
    env:
      - name: DRIFT_BASELINE_COMMIT
    ini:
      - section: drift_report
        key: baseline_commit
    type: str
  probe_file:
    description: >-
      Set for the fast path's probe run (playbooks/drift-probe.yml): write each host's
      state digests and the probe's own findings to this file instead of a report.
    env:
      - name: DRIFT_PROBE_FILE
    type: path
"""

MASK = "********"
# A private key block, and `key = value` / `key: value` pairs whose key names a secret.
PEM_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)
# Over-masking (a setting that merely mentions "pass") is the safe side.
SECRET_PAIR = re.compile(
    r"(?im)^([+\- ]?\s*[\w.-]*(?:pass|secret|token|api[_-]?key|private[_-]?key|masterauth|credential)"
    r"[\w.-]*(?:\s*[:=]\s*|\s+))(\S.*)$"
)
# user:password@ in URLs (database and Redis URLs).
URL_CREDENTIALS = re.compile(r"(://[^/\s:@]+:)([^@\s]+)(@)")


# The tag of a check that reports another host's drift (an Alertmanager peer down).
PEER_TAG = "drift_peer"


def mask_secrets(text: str) -> str:
    """The text with private keys and secret-looking values replaced by a mask."""
    text = PEM_KEY.sub(f"-----PRIVATE KEY {MASK}-----", text)
    text = SECRET_PAIR.sub(lambda m: m.group(1) + MASK, text)
    return URL_CREDENTIALS.sub(lambda m: m.group(1) + MASK + m.group(3), text)


def classify(task_path: str, changed_files: set[str] | None, root: str) -> str:
    """intended / corrective / unclassified, for a task defined at `task_path` (file:line)."""
    if changed_files is None:
        return "unclassified"
    if any(f.startswith("inventories/") for f in changed_files):
        return "intended"
    path = os.path.relpath(task_path.rsplit(":", 1)[0], root) if task_path else ""
    parts = path.split(os.sep)
    scope = os.sep.join(parts[:2]) + os.sep if len(parts) > 2 and parts[0] == "roles" else path
    if scope and any(f == scope or f.startswith(scope) for f in changed_files):
        return "intended"
    return "corrective"


def task_label(role: str | None, name: str) -> str:
    """"role : task", as Ansible prints it; ansible-core 2.19's Task.get_name() already
    starts with the role's name, older ones do not."""
    if not role or name.startswith(f"{role} : "):
        return name
    return f"{role} : {name}"


def is_preflight(task_path: str) -> bool:
    """True for a task of the preflight: its failure means the inputs were refused."""
    path = task_path.rsplit(":", 1)[0].replace(os.sep, "/")
    return path.endswith("/playbooks/preflight.yml") or path.endswith("/tasks/preflight.yml")


def drifted(entry: dict) -> bool:
    """A host has findings: changes, failed checks, or it could not be reached."""
    return bool(entry["changed"] or entry["failed"] or entry["unreachable"])


def prometheus_textfile(host: str, entry: dict, now: float) -> str:
    counts = {"corrective": 0, "intended": 0, "unclassified": 0}
    for task in entry["changed"]:
        counts[task["kind"]] += 1
    # A check that failed on the host, or could not reach it, is a finding as well.
    counts["corrective"] += len(entry["failed"]) + (1 if entry["unreachable"] else 0)
    ok = 0 if entry["failed"] or entry["unreachable"] else 1
    lines = [
        "# HELP fleet_drift_changed_tasks Tasks a check-mode run of the repository would change on this host.",
        "# TYPE fleet_drift_changed_tasks gauge",
        *(f'fleet_drift_changed_tasks{{host="{host}",kind="{k}"}} {v}' for k, v in counts.items()),
        "# HELP fleet_drift_check_success Whether the last drift check ran to the end on this host.",
        "# TYPE fleet_drift_check_success gauge",
        f'fleet_drift_check_success{{host="{host}"}} {ok}',
        "# HELP fleet_drift_full_check Whether the last detection ran the full check on this host (0: the probe "
        "found its state as a full check last left it).",
        "# TYPE fleet_drift_full_check gauge",
        f'fleet_drift_full_check{{host="{host}"}} {0 if entry.get("checked") == "state" else 1}',
        "# HELP fleet_drift_last_check_timestamp_seconds When the last drift check ran.",
        "# TYPE fleet_drift_last_check_timestamp_seconds gauge",
        f'fleet_drift_last_check_timestamp_seconds{{host="{host}"}} {int(now)}',
    ]
    return "\n".join(lines) + "\n"


def render_text(report: dict) -> str:
    out = [f"Drift report {report['generated_at']} (commit {report['commit'] or 'unknown'}, "
           f"baseline {report['baseline'] or 'none'})", ""]
    if report.get("refused"):
        out += [f"REFUSED before any check: {report['refused']}", ""]
    for host, entry in sorted(report["hosts"].items()):
        state = (f"unreachable ({entry['unreachable']})" if entry["unreachable"]
                 else f"{len(entry['changed'])} change(s)" + (f", {len(entry['failed'])} failed check(s)"
                                                            if entry["failed"] else ""))
        out.append(f"== {host}: {state}")
        for task in entry["changed"]:
            peer = " (a peer's drift: corrected there)" if task.get("peer") else ""
            out.append(f"  * [{task['kind']}] {task['task']}{peer}  ({task['path']})")
            for line in (task["diff"] or task.get("detail", "")).splitlines():
                out.append(f"      {line}")
        for failure in entry["failed"]:
            out.append(f"  ! [corrective] check failed: {failure['task']}: {failure['msg']}")
        out.append("")
    return "\n".join(out)


def new_report(hosts: dict, baseline: str | None, commit: str | None, refused: list[str], now: float) -> dict:
    return {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "commit": commit,
        "baseline": baseline or None,
        "hosts": hosts,
        "drifted_hosts": sorted(h for h, e in hosts.items() if drifted(e)),
        "refused": "; ".join(refused) or None,
    }


def head_commit(root) -> str | None:
    """The commit checked out at root, if it is a git checkout."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def write_report(directory: Path, report: dict, now: float) -> None:
    """drift-report.json/.txt, and a metric file per host; none when the inputs were
    refused."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "drift-report.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    (directory / "drift-report.txt").write_text(render_text(report))
    if report["refused"]:
        # The inputs were refused: no host was checked, no metric may say otherwise.
        return
    for host in report["hosts"]:
        (directory / f"{host}.prom").write_text(prometheus_textfile(host, report["hosts"][host], now))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "drift_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._hosts: dict[str, dict] = {}
        self._root = os.getcwd()
        self._refused: list[str] = []
        self._states: dict[str, dict] = {}
        self._secrets: str | None = None

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self._dir = Path(self.get_option("report_dir"))
        self._baseline = self.get_option("baseline_commit")
        self._probe_file = self.get_option("probe_file")
        # Hosts scripts/drift found unreachable before the check (and left out of it).
        for host in filter(None, os.environ.get("DRIFT_UNREACHABLE", "").split(",")):
            self._entry(host)["unreachable"] = "did not answer before the check"

    def _entry(self, host):
        return self._hosts.setdefault(host, {"changed": [], "failed": [], "unreachable": False})

    def v2_playbook_on_start(self, playbook):
        self._root = str(Path(playbook._basedir).resolve())

    def _diff_text(self, result) -> str:
        res = result._result
        if res.get("censored") or result._task.no_log:
            return "(diff hidden: the task handles secrets)"
        diffs = res.get("diff") or []
        diffs = list(diffs) if isinstance(diffs, list) else [diffs]
        for item in res.get("results", []):
            if item.get("changed") and item.get("diff"):
                diffs.extend(item["diff"] if isinstance(item["diff"], list) else [item["diff"]])
        if not diffs:
            return ""
        return mask_secrets(self._get_diff(diffs))

    def v2_runner_on_ok(self, result):
        self._entry(result._host.get_name())
        if result._task.action.endswith("edz_state_digest"):
            self._states[result._host.get_name()] = result._result.get("state")
        facts = result._result.get("ansible_facts") or {}
        if "drift_secrets_digest" in facts:
            self._secrets = facts["drift_secrets_digest"]
        if not result._result.get("changed"):
            return
        task = result._task
        role = task._role.get_name() if task._role else None
        diff = self._diff_text(result)
        msg = result._result.get("msg") if not task.no_log else None
        self._entry(result._host.get_name())["changed"].append({
            "task": task_label(role, task.get_name()),
            "path": task.get_path() or "",
            "action": task.action,
            "diff": diff,
            # What a check found when it has no diff to show (a health check naming a peer).
            "detail": mask_secrets(str(msg)) if msg and not diff else "",
            # A finding about another host (a peer it does not see, tagged drift_peer):
            # corrected on that host, not this one.
            "peer": PEER_TAG in (task.tags or []),
        })

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if ignore_errors:
            return
        task = result._task
        msg = "(hidden: the task handles secrets)" if task.no_log else str(result._result.get("msg", ""))
        role = task._role.get_name() if task._role else None
        failure = {"task": task_label(role, task.get_name()), "path": task.get_path() or "",
                   "msg": mask_secrets(msg)[:500]}
        if is_preflight(failure["path"]):
            self._refused.append(f"{result._host.get_name()}: {failure['task']}: {failure['msg']}")
        self._entry(result._host.get_name())["failed"].append(failure)

    def v2_runner_on_unreachable(self, result):
        msg = str(result._result.get("msg", "")) or "unreachable"
        self._entry(result._host.get_name())["unreachable"] = mask_secrets(msg)[:300]

    def _changed_files(self):
        if not self._baseline:
            return None
        try:
            out = subprocess.run(
                ["git", "diff", "--name-only", f"{self._baseline}..HEAD"],
                cwd=self._root, capture_output=True, text=True, check=True,
            ).stdout
        except (OSError, subprocess.CalledProcessError) as exc:
            self._display.warning(f"drift_report: cannot compare with baseline {self._baseline}: {exc}")
            return None
        return set(out.split())

    def v2_playbook_on_stats(self, stats):
        now = time.time()
        changed_files = self._changed_files()
        for entry in self._hosts.values():
            for task in entry["changed"]:
                task["kind"] = classify(task["path"], changed_files, self._root)
        report = new_report(self._hosts, self._baseline, head_commit(self._root), self._refused, now)
        if self._probe_file and not report["refused"]:
            # localhost only digests the secrets: not a host of the fleet.
            hosts = {h: {**e, "state": self._states.get(h)} for h, e in self._hosts.items() if h != "localhost"}
            probe = {"generated_at": report["generated_at"], "hosts": hosts, "secrets": self._secrets}
            Path(self._probe_file).write_text(json.dumps(probe, indent=2, sort_keys=True))
            return
        write_report(self._dir, report, now)
