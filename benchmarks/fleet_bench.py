#!/usr/bin/env python3
"""Fleet run times on the lab, in one run: the first site.yml on new hosts, a no-op
site.yml with the repository's settings, a drift detection, and the same no-op run with
Ansible's default settings, for the ratio. Results go to benchmarks/results/fleet.md.

    .venv/bin/python benchmarks/fleet_bench.py            # needs no lab running
    .venv/bin/python benchmarks/fleet_bench.py --rebuild  # scripts/lab down first

Steps (each a command a person runs; wall time of each, changed tasks from PLAY RECAP):
  1. scripts/lab create      the six containers, networks, SSH (not part of the ratio)
  2. scripts/lab provision   the first site.yml (with the registry and image push before it)
  3. scripts/lab provision   no-op, repository settings (ansible.cfg: Mitogen, pipelining,
                             ControlPersist, a day-long fact cache, 25 forks)
  4. DRIFT_FULL=1 scripts/drift detect
                             the full check: site.yml --check --diff with the drift report
                             on every host (it records each clean host's state)
  5. scripts/drift detect    the detection as the schedule runs it: the probe, and the
                             full check only where the state moved (here: nowhere)
  6. scripts/lab provision   no-op, Ansible's defaults: linear strategy, no pipelining,
                             no ControlPersist, facts gathered in every play, 5 forks
                             (--no-defaults leaves it out: 20 minutes)
  7. scripts/lab provision   no-op, repository settings again (after 6: the pair brackets
                             the defaults run, so a load change on the machine shows)

Ratios: detection / no-op site.yml (the mean of steps 3 and 7), for the issue's aim of a
quarter at most; no-op with defaults / no-op with repository settings.

The lab stays up at the end (scripts/lab down removes it). Every command is bounded by
--timeout seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time

from _lab import ROOT, machine, write_results

RESULTS = ROOT / "benchmarks/results/fleet.md"
LOGS = ROOT / ".cache/bench"

# Ansible's own defaults for what ansible.cfg tunes: environment variables override the
# configuration file. ssh_args without ControlMaster/ControlPersist (Ansible's default
# turns ControlPersist on for 60 s; the baseline has none).
DEFAULTS = {
    "ANSIBLE_STRATEGY": "linear",
    "ANSIBLE_PIPELINING": "False",
    "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o PreferredAuthentications=publickey",
    "ANSIBLE_FORKS": "5",
    "ANSIBLE_GATHERING": "implicit",
    "ANSIBLE_CACHE_PLUGIN": "memory",
    "ANSIBLE_GATHER_SUBSET": "all",
}

PROFILE = re.compile(r"^(\S[^\n]*?) -{3,} (\d+\.\d+)s$", re.M)
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def run(name: str, args: list[str], timeout: int, env: dict[str, str] | None = None,
        ok_codes: tuple[int, ...] = (0,)) -> dict:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"fleet-{name}.log"
    print(f"==> {name}: {' '.join(args)}", flush=True)
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.run(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                              env={**os.environ, **(env or {})}, check=False)
    seconds = time.monotonic() - started
    text = log.read_text()
    # The last play recap is site.yml's (scripts/lab provision runs playbooks/registry.yml first).
    last = RECAP.findall(text.rsplit("PLAY RECAP", 1)[-1])
    changed = sum(int(r[2]) for r in last)
    failed = sum(int(r[3]) + int(r[4]) for r in last)
    print(f"    {seconds:.0f} s, exit {proc.returncode}, changed {changed}, failed/unreachable {failed}",
          flush=True)
    if proc.returncode not in ok_codes:
        tail = "\n".join(text.splitlines()[-25:])
        raise SystemExit(f"{name} failed (exit {proc.returncode}); log {log.relative_to(ROOT)}:\n{tail}")
    return {"name": name, "seconds": seconds, "rc": proc.returncode, "changed": changed, "failed": failed}


def row(step: str, command: str, result: dict, changed: str | None = None) -> str:
    return (f"| {step} | {command} | {result['seconds']:.0f} | {result['rc']} | "
            f"{result['changed'] if changed is None else changed} |")


def lab_containers() -> list[str]:
    out = subprocess.run(["docker", "ps", "-q", "--filter", "label=org.editaliza.lab=1"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rebuild", action="store_true", help="remove a running lab first (scripts/lab down)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per step (default 3600)")
    parser.add_argument("--no-defaults", action="store_true", help="leave out the run with Ansible's defaults")
    args = parser.parse_args()

    if lab_containers():
        if not args.rebuild:
            print("a lab is running: the first run must start from new hosts (--rebuild removes it)",
                  file=sys.stderr)
            return 2
        run("down", ["scripts/lab", "down"], args.timeout)
    started = dt.datetime.now(dt.UTC)
    steps = [
        run("create", ["scripts/lab", "create"], args.timeout),
        run("first", ["scripts/lab", "provision"], args.timeout),
        run("noop", ["scripts/lab", "provision"], args.timeout),
        # 0: no drift; 1: drift found (reported, not a benchmark failure).
        # profile_roles: where the check's time goes, per role (read from its log below).
        run("detect-full", ["scripts/drift", "detect"], args.timeout, ok_codes=(0, 1),
            env={"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_roles", "DRIFT_FULL": "1"}),
    ]
    check_log = (ROOT / ".cache/drift/lab/check.log").read_text()
    steps.append(run("detect", ["scripts/drift", "detect"], args.timeout, ok_codes=(0, 1), env={"DRIFT_FULL": ""}))
    plan = json.loads((ROOT / ".cache/drift/lab/plan.json").read_text())
    if not args.no_defaults:
        steps.append(run("noop-defaults", ["scripts/lab", "provision"], args.timeout, env=DEFAULTS))
    steps.append(run("noop-again", ["scripts/lab", "provision"], args.timeout))
    by = {s["name"]: s for s in steps}
    roles = PROFILE.findall(check_log.split("PLAY RECAP", 1)[-1])
    tuned = (by["noop"]["seconds"] + by["noop-again"]["seconds"]) / 2
    ratio = by["noop-defaults"]["seconds"] / tuned if "noop-defaults" in by else None
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True, check=False).stdout.strip()
    hosts = len(lab_containers())
    lines = [
        "# Fleet run times (lab)",
        "",
        f"Run {started:%Y-%m-%d %H:%M:%S} UTC by `benchmarks/fleet_bench.py`, commit {commit}.",
        f"Machine: {machine()}; the lab's {hosts} containers share it with Ansible.",
        "",
        "| step | command | wall s | exit | changed tasks |",
        "|---|---|---|---|---|",
        row("create hosts", "`scripts/lab create`", by["create"], changed="-"),
        row("first site.yml", "`scripts/lab provision`", by["first"]),
        row("no-op site.yml, repository settings", "`scripts/lab provision`", by["noop"]),
        row("drift detection, full check of every host", "`DRIFT_FULL=1 scripts/drift detect`",
            by["detect-full"], changed=f"{by['detect-full']['changed']} (would change)"),
        row("drift detection, whole lab (probe; full check where the state moved)", "`scripts/drift detect`",
            by["detect"], changed=f"{by['detect']['changed']} (would change); full check on "
            f"{len(plan['full'])} of {len(plan['full']) + len(plan['unchanged'])} hosts"),
        *([row("no-op site.yml, Ansible defaults", "`scripts/lab provision` + defaults env", by["noop-defaults"])]
          if "noop-defaults" in by else []),
        row("no-op site.yml, repository settings again", "`scripts/lab provision`", by["noop-again"]),
        "",
        f"Ratio, drift detection / no-op site.yml (mean of the two no-op runs, {tuned:.0f} s): "
        f"{by['detect']['seconds'] / tuned:.2f} (aim: at most 0.25); the full check of every host: "
        f"{by['detect-full']['seconds'] / tuned:.2f}.",
        (f"Ratio, no-op with defaults / no-op with repository settings (mean of the two runs "
         f"around it): {ratio:.2f}x (aim: at least 3x)." if ratio is not None else
         "The no-op run with Ansible's defaults was left out of this run (--no-defaults): no ratio "
         "for it here; see this file's history for the last one measured."),
        "",
        "Where the full check's time goes (ansible.posix.profile_roles: the wall time of each role's "
        "tasks, all hosts at once, summed over the run; `total` is the playbook's):",
        "",
        *(f"- {name}: {seconds} s" for name, seconds in roles),
        "",
        "The first and no-op rows include `scripts/lab provision`'s own steps before site.yml "
        "(Vault start check, playbooks/registry.yml, pushing the reference app's images).",
        "Defaults: " + ", ".join(f"`{k}={v}`" for k, v in DEFAULTS.items()) + ".",
        f"Logs: `{LOGS.relative_to(ROOT)}/fleet-*.log` (not kept in the repository).",
        "",
    ]
    write_results(RESULTS, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
