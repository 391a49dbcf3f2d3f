#!/usr/bin/env python3
"""The lab measured with the public tools an auditor uses, one row per host and check,
written to benchmarks/results/security.md.

    .venv/bin/python benchmarks/security_audit.py     # with the lab up (scripts/lab up)

Checks:
  - sshd: `ssh-audit -P "Hardened Debian 12 (version 3)"` from this machine against each
    host's port 22 (pass or fail, and the first failing line);
  - systemd sandboxing: `systemd-analyze security` on each host, every running service but
    systemd's own, sshd and the container runtime (issue 18 leaves those out), with the
    issue's targets: at most 3.0 for exporters and the repository's own units, at most
    5.0 for Nginx, PostgreSQL, pgbouncer, Alertmanager and the registry; other services
    are listed with their figure and no target.

Nothing is changed on the hosts. Each command is bounded (60 s).
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys

from _lab import ROOT, dexec, lab_inventory, machine, write_results

from tests.helpers.ansible_run import tool

RESULTS = ROOT / "benchmarks/results/security.md"
POLICY = "Hardened Debian 12 (version 3)"
# Services issue 18 leaves out: sshd, the container runtime, systemd's own.
SKIP = re.compile(r"^(systemd-|ssh\.service$|docker\.service$|containerd\.service$|getty@|console-getty|user@)")
# (pattern, target): the first match decides.
TARGETS = [
    (re.compile(r"^prometheus-(node|postgres|nginx|redis)-exporter"), 3.0),
    (re.compile(r"^(pgbouncer-metrics|pgbackrest-metrics|pgbackrest-backup|redis-disable-thp|editaliza-)"), 3.0),
    (re.compile(r"^(nginx|postgresql@|pgbouncer|prometheus-alertmanager|docker-registry)"), 5.0),
]


def target(unit: str) -> float | None:
    return next((limit for pattern, limit in TARGETS if pattern.search(unit)), None)


def exposures(host: str) -> dict[str, float]:
    """{unit: exposure} of every running service systemd-analyze scores on `host`."""
    running = dexec(host, "systemctl list-units --type=service --state=running --no-legend --plain "
                          "| awk '{print $1}'").split()
    table = dexec(host, "systemd-analyze security --no-pager " + " ".join(running), timeout=120)
    found = {}
    for line in table.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith(".service"):
            found[parts[0]] = float(parts[1])
    return found


def ssh_audit(address: str) -> tuple[bool, str]:
    proc = subprocess.run([tool("ssh-audit"), "-P", POLICY, f"{address}:22"],
                          capture_output=True, text=True, timeout=60, check=False)
    failed = next((line.strip() for line in proc.stdout.splitlines() if "fail" in line.lower()), "")
    return proc.returncode == 0 and "Passed" in proc.stdout, failed[:120]


def main() -> int:
    addresses, _groups = lab_inventory()
    rows, failures = [], 0
    for host in sorted(addresses):
        ok, why = ssh_audit(addresses[host])
        failures += not ok
        rows.append(f"| {host} | ssh-audit `{POLICY}` | {'pass' if ok else 'FAIL: ' + why} | pass | "
                    f"{'yes' if ok else 'no'} |")
        for unit, score in sorted(exposures(host).items()):
            if SKIP.search(unit):
                continue
            limit = target(unit)
            ok = limit is None or score <= limit
            failures += not ok
            meets = "-" if limit is None else ("yes" if ok else "no")
            rows.append(f"| {host} | systemd-analyze security {unit} | {score} | "
                        f"{'-' if limit is None else f'<= {limit}'} | {meets} |")
    lines = [
        "# Security audit of the lab",
        "",
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, `.venv/bin/python benchmarks/security_audit.py` "
        f"on the lab (scripts/lab up). Machine: {machine()}.",
        "",
        "Exposure: systemd-analyze security's figure, 0 best, 10 worst; targets from issue 18 "
        "(`-`: a service the issue sets no figure for; issue 18 still wants a drop-in for every "
        "long-running service). ssh-audit runs from the Docker host.",
        "",
        "| host | check | figure | target | meets it |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Rows that miss their target: {failures}.",
        "",
    ]
    write_results(RESULTS, lines)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
