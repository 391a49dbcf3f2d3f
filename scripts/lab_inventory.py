"""Print the lab's hosts from inventories/lab as lines: name address network subnet features.

scripts/lab reads these to create one container per host on its region's network.
features: comma-separated, "-" for none: `docker` (an app host: runs Docker inside),
`registry` (holds the lab's image registry).
With --regions: one line per region (every `region_*` group) for scripts/lab's summary:
region load-balancer monitoring postgres (the first host:address of each, "-" for none).
Usage: python scripts/lab_inventory.py [--regions] INVENTORY
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys


def regions(data: dict) -> list[str]:
    """region lb-host:address mon-host:address db-host:address, one per region_* group."""
    hostvars = data["_meta"]["hostvars"]
    lines = []
    for group in sorted(g for g in data if g.startswith("region_")):
        members = set(data[group].get("hosts", []))
        picks = []
        for service in ("loadbalancers", "monitoring", "postgres"):
            hosts = sorted(members & set(data.get(service, {}).get("hosts", [])))
            picks.append(f"{hosts[0]}:{hostvars[hosts[0]]['ansible_host']}" if hosts else "-")
        lines.append(" ".join([group.removeprefix("region_"), *picks]))
    return lines


def main(inventory: str, mode: str = "hosts") -> int:
    data = json.loads(
        subprocess.run(
            ["ansible-inventory", "-i", inventory, "--list"],
            check=True, capture_output=True, text=True,
        ).stdout
    )
    if mode == "regions":
        print("\n".join(regions(data)))
        return 0
    hostvars = data["_meta"]["hostvars"]
    members = {g: set(data.get(g, {}).get("hosts", [])) for g in ("app", "registry")}
    for name in sorted(hostvars):
        hv = hostvars[name]
        missing = [k for k in ("ansible_host", "lab_network", "lab_subnet") if k not in hv]
        if missing:
            print(f"lab host '{name}' lacks {', '.join(missing)} (set them on its region group)",
                  file=sys.stderr)
            return 1
        address = ipaddress.ip_address(hv["ansible_host"])
        subnet = ipaddress.ip_network(hv["lab_subnet"])
        if address not in subnet:
            print(f"lab host '{name}': {address} is outside its network {subnet}", file=sys.stderr)
            return 1
        features = [f for f, g in (("docker", "app"), ("registry", "registry")) if name in members[g]]
        print(name, address, hv["lab_network"], subnet, ",".join(features) or "-")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--regions"]:
        sys.exit(main(sys.argv[2], "regions"))
    sys.exit(main(sys.argv[1]))
