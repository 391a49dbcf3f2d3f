"""Correct drifted hosts in batches: no batch holds two members of one cluster, and a
member whose correction failed holds back the rest of its cluster.

scripts/drift correct applies the playbook to one batch at a time, so a correction never
restarts or reconfigures two members of a clustered service at once: PostgreSQL, Redis and
its Sentinels, Elasticsearch, the Alertmanager cluster (the monitoring hosts) and the load
balancers (never every load balancer at once). Hosts in no cluster go into the first batch.

Each batch's run is its own health gate: the roles' checks (Alertmanager sees its peers,
Prometheus has its rules, PostgreSQL's exporter reaches its server, Redis answers, an app
instance is healthy) fail the run when a corrected host is not healthy. A failed batch does
not stop the correction: the hosts of later batches that share a cluster with a host that
failed are held back (a second member of a cluster is not touched while the first is
unhealthy); every other host is still corrected.

Usage:
  python scripts/drift_batches.py REPORT.json INVENTORY [INVENTORY ...]
      prints one line per batch: the hosts, comma-separated (for --limit)
  python scripts/drift_batches.py --run SUMMARY.json REPORT.json INVENTORY [...] -- COMMAND...
      runs COMMAND --limit <batch> for each batch, writes what was corrected, what failed
      and what was held back to SUMMARY.json; exit 0 when every batch ran, 1 otherwise
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

# Clusters and the groups whose hosts are their members: one member at a time. Redis and
# the Sentinel-only hosts are one cluster (every one of them runs a Sentinel of the same
# quorum).
CLUSTERS = {
    "postgresql": ("postgres",),
    "redis": ("redis", "redis_sentinel"),
    "elasticsearch": ("logging",),
    "alertmanager": ("monitoring",),
    "loadbalancers": ("loadbalancers",),
}
CLUSTERED_GROUPS = tuple(g for groups in CLUSTERS.values() for g in groups)


def membership(hosts: list[str], groups: dict[str, list[str]], clusters=None) -> dict[str, set[str]]:
    """{host: the clusters it is a member of}."""
    clusters = CLUSTERS if clusters is None else clusters
    return {
        h: {name for name, member_groups in clusters.items() if any(h in groups.get(g, []) for g in member_groups)}
        for h in hosts
    }


def batches(drifted: list[str], groups: dict[str, list[str]], clusters=None) -> list[list[str]]:
    """Greedy: each host (sorted) joins the first batch with no host of a cluster it is in."""
    member_of = membership(drifted, groups, clusters)
    result: list[tuple[list[str], set[str]]] = []
    for host in sorted(drifted):
        for hosts, taken in result:
            if not member_of[host] & taken:
                hosts.append(host)
                taken |= member_of[host]
                break
        else:
            result.append(([host], set(member_of[host])))
    return [hosts for hosts, _ in result]


def held_back(batch: list[str], failed: list[str], groups: dict[str, list[str]], clusters=None) -> dict[str, str]:
    """{host of the batch: why it waits} for hosts sharing a cluster with a failed host."""
    member_of = membership(sorted(set(batch) | set(failed)), groups, clusters)
    held = {}
    for host in batch:
        for other in failed:
            shared = sorted(member_of[host] & member_of[other])
            if shared:
                held[host] = f"{shared[0]} member {other} failed its correction"
                break
    return held


def peer_only(entry: dict) -> bool:
    """Every finding of the host is about a peer (a check tagged drift_peer): a converge of
    this host changes nothing; the peer's correction and the closing check settle it."""
    return bool(entry.get("changed")) and not entry.get("failed") and not entry.get("unreachable") \
        and all(t.get("peer") for t in entry["changed"])


def correctable(report: dict) -> list[str]:
    """Drifted hosts a run can reach and change: an unreachable host is reported, not
    corrected; a host whose findings are all a peer's drift waits for the closing check."""
    hosts = report["hosts"]
    return [h for h in report["drifted_hosts"]
            if not hosts.get(h, {}).get("unreachable") and not peer_only(hosts.get(h, {}))]


def inventory_groups(inventories: list[str]) -> dict[str, list[str]]:
    args = ["ansible-inventory", "--list"]
    for inventory in inventories:
        args += ["-i", inventory]
    data = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)

    def hosts_of(group: str, seen: frozenset = frozenset()) -> list[str]:
        node = data.get(group, {})
        found = list(node.get("hosts", []))
        for child in node.get("children", []):
            if child not in seen:
                found += hosts_of(child, seen | {group})
        return found

    return {g: sorted(set(hosts_of(g))) for g in CLUSTERED_GROUPS}


RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def failed_hosts(output: str, batch: list[str]) -> list[str]:
    """The hosts of a batch whose run failed, from its last PLAY RECAP; all of them when
    the run ended without one (it died before the plays)."""
    recap = {host: int(unreachable) + int(failed) for host, unreachable, failed in RECAP.findall(output)}
    if not recap:
        return list(batch)
    return [h for h in batch if recap.get(h, 1) > 0]


def run_batch(command: list[str]) -> tuple[int, str]:
    """Run one batch, its output passed through; (exit status, output). The hosts of a batch
    share no cluster: each is converged on its own (a failure on one does not stop the
    others: ANSIBLE_ANY_ERRORS_FATAL=False), and the recap says which failed."""
    env = {**os.environ, "ANSIBLE_ANY_ERRORS_FATAL": "False"}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        lines.append(line)
    return proc.wait(), "".join(lines)


def run(summary_path: str, report: dict, groups: dict[str, list[str]], command: list[str]) -> int:
    summary = {"corrected": [], "failed": [], "held_back": {}, "unreachable": [], "peer_only": [], "batches": []}
    hosts = report["hosts"]
    summary["unreachable"] = sorted(h for h in report["drifted_hosts"] if hosts.get(h, {}).get("unreachable"))
    summary["peer_only"] = sorted(h for h in report["drifted_hosts"] if peer_only(hosts.get(h, {})))
    for batch in batches(correctable(report), groups):
        held = held_back(batch, summary["failed"], groups)
        summary["held_back"].update(held)
        todo = [h for h in batch if h not in held]
        if not todo:
            continue
        started = time.monotonic()
        print(f"==> correcting: {','.join(todo)}", file=sys.stderr, flush=True)
        rc, output = run_batch([*command, "--limit", ",".join(todo)])
        failed = failed_hosts(output, todo) if rc != 0 else []
        summary["batches"].append({"hosts": todo, "exit": rc, "failed": failed,
                                   "seconds": round(time.monotonic() - started, 1)})
        summary["failed"] += failed
        summary["corrected"] += [h for h in todo if h not in failed]
        if failed:
            print(f"==> the correction failed on {','.join(failed)} (exit {rc}); their clusters' other "
                  "members wait", file=sys.stderr, flush=True)
    with open(summary_path, "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True)
    return 0 if not summary["failed"] and not summary["held_back"] else 1


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--run":
        if "--" not in argv or len(argv) < 5:
            print(__doc__, file=sys.stderr)
            return 2
        cut = argv.index("--")
        summary, report_path, *inventories = argv[1:cut]
        with open(report_path) as f:
            report = json.load(f)
        return run(summary, report, inventory_groups(inventories), argv[cut + 1:])
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    report_path, *inventories = argv
    with open(report_path) as f:
        report = json.load(f)
    for batch in batches(correctable(report), inventory_groups(inventories)):
        print(",".join(batch))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
