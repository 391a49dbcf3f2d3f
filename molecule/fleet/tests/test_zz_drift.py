"""Drift of every kind, on the idempotent lab, found by one detection and fixed by one
`scripts/drift correct`. Runs last: it changes the hosts.

First, on the converged lab: a detection with no state recorded is a full check of every
host and finds nothing (this is the scenario's idempotence check), and records each
host's state. After the drift below, the fast path's detection reads every host's state:
exactly the two hosts touched are flagged by their own probe, their clusters' other
members are pulled in, and the load balancers (untouched, in no cluster with them) get
no full check,
which shows that the state read is stable where nothing moved (a detection on the
undrifted lab, the probe alone, is measured by benchmarks/fleet_bench.py instead of being
run here again). The fast path's findings and those of a full check of every host (the
first step of `DRIFT_FULL=1 scripts/drift correct`) must name the same hosts and tasks.

What is changed by hand (as an incident or an intruder would):
- va-mon1: a managed file edited (chrony.conf), a process listening on a port the
  topology does not declare there, an address added at run time to the nftables set
  that admits SSH, and Alertmanager stopped (so sp-mon1's Alertmanager misses its peer);
- sp-db1: an account `mallory` with a sudoers file granting everything, the Redis
  cache's eviction policy changed with CONFIG SET, and `ALTER SYSTEM SET work_mem` on the
  primary with a reload.

The detection must name exactly these hosts and, per host, exactly the tasks that own
the drift (all corrective), and survive the stopped service (no host's check fails);
sp-mon1's finding names its missing peer and is marked as the peer's drift. The
correction must put back everything the repository owns in one batch (the drifted hosts
share no cluster; sp-mon1 is left to the closing check, which finds its peer back), leave
the listener for a person (reported, not killed), and exit 1 naming only that; the hosts
are checked directly too. The drifts share two hosts (and the peer) so that the
correction is one batch of two and the closing check three hosts: the scenario's time
is CI's budget. Kernel parameters are not part of this: the
test hosts do not own their kernel (README).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

from tests.helpers.ansible_run import ROOT, leaked_secrets
from tests.helpers.vault import read_secret

REPORT = ROOT / ".cache/drift/lab"
MARK = "# drift injected by molecule/fleet"
INTRUDER_ADDRESS = "10.213.1.99"
LISTENER_PORT = 4444
REDIS_CLI = "redis-cli -s /run/redis-cache/redis.sock --user {user} --no-auth-warning"

LISTENER_TASK = "common : Report sockets listening on ports the topology does not declare here"
PEER_TASK = "alertmanager : Name the peers missing from Alertmanager's cluster"
NFT_TASK = "common : Load the firewall's ruleset file when the running table differs from it"
PRIVILEGE_TASK = "common : Take away privilege the inventory does not grant (accounts, sudoers, sudo groups)"
EXPECTED = {
    "va-mon1": {"common : Configure chrony", "common : Restart chrony", LISTENER_TASK, NFT_TASK,
                "alertmanager : Enable and start Alertmanager"},
    "sp-mon1": {PEER_TASK},
    "sp-db1": {PRIVILEGE_TASK,
               "redis : Put back settings changed at run time (CONFIG SET)",
               "postgresql : Keep ALTER SYSTEM's settings file empty",
               "postgresql : Reload the server's configuration"},
}
CORRECTED = ["sp-db1", "va-mon1"]
# The touched hosts and their clusters' other members (va-db1: PostgreSQL and Redis with
# sp-db1; sp-mon1: Alertmanager with va-mon1, Sentinel with sp-db1).
FAST_PATH_FULL = ["sp-db1", "sp-mon1", "va-db1", "va-mon1"]
LAB = ["sp-db1", "sp-mon1", "sp-web1", "va-db1", "va-mon1", "va-web1"]


def drift(mode, full=False):
    """scripts/drift MODE on the lab (the environment's Vault); (exit status, report, output)."""
    started = time.monotonic()
    proc = subprocess.run([str(ROOT / "scripts/drift"), mode], cwd=ROOT, capture_output=True, text=True,
                          timeout=2400, check=False, env={**os.environ, "DRIFT_FULL": "1" if full else ""})
    report = json.loads((REPORT / "drift-report.json").read_text())
    print(f"scripts/drift {mode}{' (DRIFT_FULL)' if full else ''}: exit {proc.returncode} in "
          f"{time.monotonic() - started:.0f} s, drifted {report['drifted_hosts']}")
    output = proc.stdout + proc.stderr
    # The check's diffs are printed and kept: no secret may be among them.
    assert leaked_secrets(output + (REPORT / "check.log").read_text() + json.dumps(report)) == []
    return proc.returncode, report, output


def findings(report):
    """{host: the tasks that changed or failed there}, for every drifted host."""
    return {h: tasks(report, h) | {f["task"] for f in report["hosts"][h]["failed"]}
            for h in report["drifted_hosts"]}


def tasks(report, host):
    return {t["task"] for t in report["hosts"][host]["changed"]}


def finding(report, host, task):
    entry = next(t for t in report["hosts"][host]["changed"] if t["task"] == task)
    return entry["diff"] + entry.get("detail", "")


def redis_cli(host, admin, *args):
    return host.check_output(f"REDISCLI_AUTH={admin['password']} "
                             + REDIS_CLI.format(user=admin["username"]) + " " + " ".join(args))


def test_one_detection_names_every_drift_and_one_correction_fixes_what_the_repository_owns(hosts):
    # What the lab was converged from (scripts/lab provision records it; Molecule's
    # converge does not): changes since then would be "intended", none are.
    REPORT.mkdir(parents=True, exist_ok=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    (REPORT / "baseline").write_text(head.stdout)
    for stale in REPORT.glob("corrected-report.*"):
        stale.unlink()
    shutil.rmtree(REPORT / "state", ignore_errors=True)
    admin = read_secret("editaliza/redis/admin")

    # The converged lab: a full check of every host (no state recorded) finds nothing...
    rc, report, out = drift("detect")
    assert (rc, report["drifted_hosts"]) == (0, []), out[-3000:]
    assert {h: e["checked"] for h, e in report["hosts"].items()} == dict.fromkeys(LAB, "full")
    assert sorted(p.stem for p in (REPORT / "state").glob("*.json")) == LAB

    hosts["va-mon1"].check_output(f"echo {MARK!r} >> /etc/chrony/chrony.conf")
    hosts["va-mon1"].check_output(f"systemd-run --unit=edz-intruder-listener python3 -m http.server "
                                  f"{LISTENER_PORT} --bind 0.0.0.0 --directory /tmp")
    hosts["va-mon1"].check_output("systemctl stop prometheus-alertmanager.service")
    hosts["sp-db1"].check_output("useradd --create-home --shell /bin/bash mallory")
    hosts["sp-db1"].check_output("echo 'mallory ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/mallory "
                                 "&& chmod 0440 /etc/sudoers.d/mallory")
    assert redis_cli(hosts["sp-db1"], admin, "CONFIG SET maxmemory-policy noeviction") == "OK"
    hosts["va-mon1"].check_output(f"nft add element inet editaliza ssh_v4 '{{ {INTRUDER_ADDRESS} }}'")
    hosts["sp-db1"].check_output("runuser -u postgres -- psql -XAtc \"ALTER SYSTEM SET work_mem = '64MB'\" "
                                 "-c 'SELECT pg_reload_conf()'")

    # The fast path: the probe finds the moved hosts; they and their clusters' other
    # members get the full check, the rest none.
    rc, fast, out = drift("detect")
    assert rc == 1, out[-3000:]
    plan = json.loads((REPORT / "plan.json").read_text())
    print("fast path:", json.dumps(plan["why"], indent=1))
    assert sorted(plan["full"]) == FAST_PATH_FULL, plan["why"]
    # Flagged by their own probe ("state moved: ...", "the probe found: <task>"), not
    # pulled in "with" another host.
    moved = sorted(h for h, why in plan["why"].items() if not why.startswith("with "))
    assert moved == CORRECTED, plan["why"]
    assert {h for h, e in fast["hosts"].items() if e["checked"] == "state"} == set(LAB) - set(FAST_PATH_FULL)

    # correct's first step, a full check of the whole lab here (DRIFT_FULL), is kept
    # (corrected-report.json): the same findings as the fast path's.
    rc, closing, out = drift("correct", full=True)
    report = json.loads((REPORT / "corrected-report.json").read_text())
    assert {h: e["checked"] for h, e in report["hosts"].items()} == dict.fromkeys(LAB, "full")
    assert findings(fast) == findings(report)
    assert report["drifted_hosts"] == sorted(EXPECTED), out[-3000:]
    assert {h: tasks(report, h) for h in EXPECTED} == EXPECTED
    assert all(not e["failed"] and not e["unreachable"] for e in report["hosts"].values()), report["hosts"]
    kinds = {t["kind"] for h in EXPECTED for t in report["hosts"][h]["changed"]}
    assert kinds == {"corrective"}
    # Each finding says what moved.
    assert MARK in finding(report, "va-mon1", "common : Configure chrony")
    assert f"0.0.0.0:{LISTENER_PORT} python3" in finding(report, "va-mon1", LISTENER_TASK)
    assert "does not see its peers va-mon1" in finding(report, "sp-mon1", PEER_TASK)
    peers = {(h, t["task"]) for h in EXPECTED for t in report["hosts"][h]["changed"] if t["peer"]}
    assert peers == {("sp-mon1", PEER_TASK)}
    privilege = finding(report, "sp-db1", PRIVILEGE_TASK)
    assert "login account not declared in the inventory: mallory" in privilege
    assert "mallory ALL=(ALL) NOPASSWD: ALL" in privilege
    assert "maxmemory-policy noeviction" in finding(report, "sp-db1",
                                                    "redis : Put back settings changed at run time (CONFIG SET)")
    assert INTRUDER_ADDRESS in finding(report, "va-mon1", NFT_TASK)
    assert "work_mem = '64MB'" in finding(report, "sp-db1", "postgresql : Keep ALTER SYSTEM's settings file empty")
    text = (REPORT / "corrected-report.txt").read_text()
    assert all(host in text for host in EXPECTED)
    assert leaked_secrets(json.dumps(report) + text) == []

    # The closing detection: only the listener is left, for a person; correct says so.
    assert (rc, closing["drifted_hosts"]) == (1, ["va-mon1"]), out[-3000:]
    assert tasks(closing, "va-mon1") == {LISTENER_TASK}
    correction = json.loads((REPORT / "correction.json").read_text())
    assert sorted(correction["corrected"]) == CORRECTED, correction
    assert [sorted(b["hosts"]) for b in correction["batches"]] == [CORRECTED], correction
    assert correction["peer_only"] == ["sp-mon1"], correction
    assert (correction["failed"], correction["held_back"]) == ([], {}), correction
    metric = (REPORT / "sp-db1.prom").read_text()
    assert 'fleet_drift_changed_tasks{host="sp-db1",kind="corrective"} 0' in metric, metric

    # On the hosts themselves.
    assert MARK not in hosts["va-mon1"].file("/etc/chrony/chrony.conf").content_string
    assert hosts["va-mon1"].service("prometheus-alertmanager").is_running
    assert not hosts["sp-db1"].file("/etc/sudoers.d/mallory").exists
    assert hosts["sp-db1"].user("mallory").shell == "/usr/sbin/nologin"
    assert redis_cli(hosts["sp-db1"], admin, "CONFIG GET maxmemory-policy").split() == ["maxmemory-policy",
                                                                                          "allkeys-lru"]
    assert INTRUDER_ADDRESS not in hosts["va-mon1"].check_output("nft list set inet editaliza ssh_v4")
    assert hosts["sp-db1"].check_output("runuser -u postgres -- psql -XAtc 'SHOW work_mem'") != "64MB"
    assert hosts["va-mon1"].socket(f"tcp://0.0.0.0:{LISTENER_PORT}").is_listening
    hosts["va-mon1"].check_output("systemctl stop edz-intruder-listener")
