#!/usr/bin/env python3
"""The drift check's fast path (scripts/drift): which hosts need the full check.

A full check (`site.yml --check --diff`) that finds a host clean records the host's
state digests (playbooks/drift-probe.yml, module edz_state_digest) under REPORT_DIR/state/.
The next detection reads the digests again (one probe run, seconds) and gives the full
check only to the hosts where something differs:

  - no state recorded, or recorded longer ago than DRIFT_FULL_AFTER_HOURS (default 24);
  - the key differs: the repository's files, the inventory, the playbook and its
    arguments, or the secrets read from Vault changed since (what the roles would write
    may differ);
  - a digest differs (a file under the probe's roots, a unit, a package, a listener, a
    kernel parameter, the loaded firewall, a certificate due, a role's run-time state);
  - the probe's own checks changed or failed something on the host;
  - DRIFT_FULL=1 (every host);
and, with each such host, the other members of its clusters (a peer's health check may
see the drift). A host with no difference has no finding: its state is the one a full
check found clean.

    drift_state.py plan REPORT_DIR PROBE_JSON KEY_PART [INVENTORY ...]
        prints the hosts for the full check (comma-separated, empty for none), says why on
        stderr, writes REPORT_DIR/plan.json
    drift_state.py finish REPORT_DIR UNREACHABLE BASELINE
        completes the report (drift-report.json/.txt, <host>.prom) with the hosts the
        probe found unchanged and the unreachable ones, and records the state of every
        fully checked host the check found clean
    drift_state.py unreachable REPORT_DIR UNREACHABLE BASELINE
        writes the report when no host answered: each one unreachable
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "callback_plugins"))

from drift_batches import inventory_groups, membership  # noqa: E402
from drift_report import drifted, head_commit, new_report, write_report  # noqa: E402

# What a check of the repository depends on besides the hosts: these files' contents.
KEY_PATHS = ("ansible.cfg", "site.yml", "requirements.yml", "playbooks", "roles", "inventories",
             "library", "filter_plugins", "plugin_utils", "callback_plugins", "strategy_plugins")
MAX_NAMED = 5


def repository_digest(root: Path = ROOT) -> str:
    """sha256 over the names and contents of the files a run reads (tracked or not,
    ignoring what .gitignore leaves out)."""
    try:
        proc = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z", "--", *KEY_PATHS],
                              cwd=root, capture_output=True, check=False)
    except OSError:  # no git on this host (a control host with a copy of the repository)
        proc = None
    if proc is not None and proc.returncode == 0:
        names = list(filter(None, proc.stdout.split(b"\0")))
    else:  # a copy without .git (git archive): every file under those paths but bytecode
        names = [str(f.relative_to(root)).encode() for p in KEY_PATHS
                 for f in ([root / p] if (root / p).is_file() else (root / p).rglob("*"))
                 if f.is_file() and "__pycache__" not in f.parts]
    digest = hashlib.sha256()
    for name in sorted(names):
        path = root / name.decode()
        digest.update(name + b"\0")
        if path.is_file():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def files_digest(paths: list[str]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.encode() + b"\0")
        p = Path(path)
        for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
            if f.is_file():
                digest.update(str(f).encode() + hashlib.sha256(f.read_bytes()).digest())
    return digest.hexdigest()


def moved(recorded: dict, current: dict) -> list[str]:
    """What differs between two states: section names, with up to MAX_NAMED files."""
    out = []
    for name in sorted(set(recorded["sections"]) | set(current["sections"])):
        if recorded["sections"].get(name) == current["sections"].get(name):
            continue
        if name == "files":
            old, new = recorded.get("files", {}), current.get("files", {})
            paths = sorted(p for p in set(old) | set(new) if old.get(p) != new.get(p))
            more = f" and {len(paths) - MAX_NAMED} more" if len(paths) > MAX_NAMED else ""
            out.append(f"files ({', '.join(paths[:MAX_NAMED])}{more})")
        else:
            out.append(name)
    return out


def reasons(entry: dict, recorded: dict | None, key: str, now: float, max_age: float,
            force: bool) -> str | None:
    """Why a host (its probe entry, its recorded state) needs the full check, or None."""
    if force:
        return "a full check was asked for (DRIFT_FULL)"
    if entry.get("unreachable"):
        return "the probe did not reach it"
    if entry.get("failed"):
        return "the probe failed: " + "; ".join(f["task"] for f in entry["failed"])
    if entry.get("changed"):
        return "the probe found: " + "; ".join(t["task"] for t in entry["changed"])
    if not entry.get("state"):
        return "the probe read no state"
    if recorded is None:
        return "no clean state recorded yet"
    if recorded.get("key") != key:
        return "the repository, inventory, arguments or secrets changed since its state was recorded"
    age = now - recorded.get("recorded_at", 0)
    if age > max_age:
        return f"its state was recorded {age / 3600:.1f} h ago (full check every {max_age / 3600:g} h)"
    if recorded["state"]["digest"] != entry["state"]["digest"]:
        return "state moved: " + ", ".join(moved(recorded["state"], entry["state"]))
    return None


def plan(probe: dict, recorded: dict[str, dict], key: str, groups: dict[str, list[str]], now: float,
         max_age: float, force: bool) -> dict:
    """{"full": hosts for the full check, "unchanged": the others, "why": {host: reason}}."""
    why = {}
    for host, entry in sorted(probe["hosts"].items()):
        reason = reasons(entry, recorded.get(host), key, now, max_age, force)
        if reason:
            why[host] = reason
    moved_hosts = sorted(why)
    member_of = membership(sorted(probe["hosts"]), groups)
    for host in sorted(set(probe["hosts"]) - set(moved_hosts)):
        peers = [h for h in moved_hosts if member_of[h] & member_of[host]]
        if peers:
            shared = sorted(member_of[host] & member_of[peers[0]])[0]
            why[host] = f"with {peers[0]}, a member of its {shared} cluster"
    return {"key": key, "full": sorted(why), "unchanged": sorted(set(probe["hosts"]) - set(why)), "why": why}


def state_dir(report_dir: Path) -> Path:
    return report_dir / "state"


def load_recorded(report_dir: Path) -> dict[str, dict]:
    found = {}
    for path in state_dir(report_dir).glob("*.json"):
        try:
            found[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return found


def cmd_plan(report_dir: Path, probe_path: Path, key_part: str, inventories: list[str]) -> int:
    probe = json.loads(probe_path.read_text())
    key = hashlib.sha256("\n".join([repository_digest(), files_digest(inventories), key_part,
                                    probe.get("secrets") or "no secrets digest"]).encode()).hexdigest()
    max_age = float(os.environ.get("DRIFT_FULL_AFTER_HOURS", "24")) * 3600
    force = os.environ.get("DRIFT_FULL", "") not in ("", "0")
    result = plan(probe, load_recorded(report_dir), key, inventory_groups(inventories), time.time(), max_age, force)
    result["probe"] = str(probe_path)
    (report_dir / "plan.json").write_text(json.dumps(result, indent=2, sort_keys=True))
    for host in result["full"]:
        print(f"full check: {host}: {result['why'][host]}", file=sys.stderr)
    if result["unchanged"]:
        print(f"unchanged since a full check found them clean: {', '.join(result['unchanged'])}", file=sys.stderr)
    print(",".join(result["full"]))
    return 0


def complete(report: dict | None, plan_: dict, unreachable: list[str], baseline: str | None,
             commit: str | None, now: float) -> dict:
    """The full check's report (or a new one) with every host of the detection in it."""
    if report is None:
        report = new_report({}, baseline, commit, [], now)
    hosts = report["hosts"]
    for host in plan_["full"]:
        hosts.setdefault(host, {"changed": [], "failed": [], "unreachable": False})["checked"] = "full"
    for host in plan_["unchanged"]:
        hosts[host] = {"changed": [], "failed": [], "unreachable": False, "checked": "state"}
    for host in unreachable:
        entry = hosts.setdefault(host, {"changed": [], "failed": [], "unreachable": False})
        entry["unreachable"] = entry["unreachable"] or "did not answer before the check"
    report["drifted_hosts"] = sorted(h for h, e in hosts.items() if drifted(e))
    return report


def clean_states(report: dict, plan_: dict, probe: dict) -> dict[str, dict]:
    """The probe's states of the fully checked hosts the check found clean."""
    out = {}
    for host in plan_["full"]:
        entry, probed = report["hosts"].get(host), probe["hosts"].get(host, {})
        if entry and not drifted(entry) and probed.get("state") and not probed.get("changed") \
                and not probed.get("failed") and not probed.get("unreachable"):
            out[host] = probed["state"]
    return out


def cmd_finish(report_dir: Path, unreachable: list[str], baseline: str | None) -> int:
    plan_ = json.loads((report_dir / "plan.json").read_text())
    probe = json.loads(Path(plan_["probe"]).read_text())
    report_path = report_dir / "drift-report.json"
    report = json.loads(report_path.read_text()) if plan_["full"] else None
    if report is not None and report.get("refused"):
        return 0
    now = time.time()
    report = complete(report, plan_, unreachable, baseline, head_commit(ROOT), now)
    write_report(report_dir, report, now)
    states = state_dir(report_dir)
    states.mkdir(exist_ok=True)
    for host, state in clean_states(report, plan_, probe).items():
        (states / f"{host}.json").write_text(json.dumps({"key": plan_["key"], "recorded_at": now, "state": state}))
    return 0


def cmd_unreachable(report_dir: Path, unreachable: list[str], baseline: str | None) -> int:
    """No host answered: no probe, no check; the report names each host unreachable."""
    now = time.time()
    report = complete(None, {"full": [], "unchanged": []}, unreachable, baseline, head_commit(ROOT), now)
    write_report(report_dir, report, now)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) >= 4 and argv[0] == "plan":
        return cmd_plan(Path(argv[1]), Path(argv[2]), argv[3], argv[4:])
    if len(argv) == 4 and argv[0] == "finish":
        return cmd_finish(Path(argv[1]), [h for h in argv[2].split(",") if h], argv[3] or None)
    if len(argv) == 4 and argv[0] == "unreachable":
        return cmd_unreachable(Path(argv[1]), [h for h in argv[2].split(",") if h], argv[3] or None)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
