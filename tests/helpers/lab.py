"""The lab's topology as inventories/lab/hosts.yml states it (for the fleet scenario's
tests and the lab benchmarks)."""

from __future__ import annotations

import yaml

from tests.helpers.ansible_run import ROOT


def lab_inventory() -> tuple[dict[str, str], dict[str, dict[str, dict]]]:
    """({host: address}, {group: {host: hostvars}}) from inventories/lab/hosts.yml."""
    children = yaml.safe_load((ROOT / "inventories/lab/hosts.yml").read_text())["all"]["children"]
    address, groups = {}, {}
    for name, group in children.items():
        members = group.get("hosts") or {}
        groups[name] = {h: (hv or {}) for h, hv in members.items()}
        for host, hv in members.items():
            if hv and "ansible_host" in hv:
                address[host] = hv["ansible_host"]
    return address, groups
