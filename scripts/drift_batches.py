"""Split drifted hosts into correction batches: no batch holds two nodes of one cluster.

scripts/drift correct applies the playbook to one batch at a time, so a correction never
restarts or reconfigures two members of a clustered service at once (PostgreSQL, Redis
and its Sentinels, Elasticsearch). Hosts in no cluster go into the first batch.

Usage: python scripts/drift_batches.py REPORT.json INVENTORY [INVENTORY ...]
prints one line per batch: the hosts, comma-separated (for --limit).
"""

from __future__ import annotations

import json
import subprocess
import sys

# Clusters and the groups whose hosts are their members: one member at a time. Redis and
# the Sentinel-only hosts are one cluster (every one of them runs a Sentinel of the same
# quorum).
CLUSTERS = {
    "postgresql": ("postgres",),
    "redis": ("redis", "redis_sentinel"),
    "elasticsearch": ("logging",),
}
CLUSTERED_GROUPS = tuple(g for groups in CLUSTERS.values() for g in groups)


def batches(drifted: list[str], groups: dict[str, list[str]], clusters=None) -> list[list[str]]:
    """Greedy: each host (sorted) joins the first batch with no host of a cluster it is in."""
    clusters = CLUSTERS if clusters is None else clusters
    membership = {
        h: {name for name, member_groups in clusters.items()
            if any(h in groups.get(g, []) for g in member_groups)}
        for h in drifted
    }
    result: list[tuple[list[str], set[str]]] = []
    for host in sorted(drifted):
        for hosts, taken in result:
            if not membership[host] & taken:
                hosts.append(host)
                taken |= membership[host]
                break
        else:
            result.append(([host], set(membership[host])))
    return [hosts for hosts, _ in result]


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


def main(report: str, *inventories: str) -> int:
    with open(report) as f:
        drifted = json.load(f)["drifted_hosts"]
    for batch in batches(drifted, inventory_groups(list(inventories))):
        print(",".join(batch))
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
