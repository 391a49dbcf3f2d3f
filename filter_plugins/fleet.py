"""Validate the shape of the fleet an inventory describes, before any host changes.

`fleet_problems(groups, hostvars, options)` returns one message per problem, each naming
the hosts, groups or regions at fault; playbooks/preflight.yml fails when there is any.
Unit tests: tests/unit/test_fleet.py.

Conventions it checks (the inventory's side of the roles' contracts):
  - every host is in exactly one `region_<name>` group;
  - a region with load balancers has app hosts (its upstreams) in the same region;
  - every region with hosts has a monitoring host (Prometheus runs per region), unless
    `require_monitoring` is false (a role's Molecule scenario is a piece of a fleet);
  - the fleet has a logging host, unless `require_logging` is false (the lab);
  - PostgreSQL hosts say `postgresql_role: primary|replica` and optionally
    `postgresql_cluster` (default `main`); each cluster has exactly one primary, and when
    it has replicas at least one of them is in another region than the primary;
  - no two hosts share a fleet address (`fleet_address`, or an IP `ansible_host`);
  - host names are DNS names (lowercase labels of letters, digits and inner hyphens):
    certificates, pg_hba, upstreams and Prometheus targets are built from them;
  - a variable named with a role's prefix (`app_`, `redis_`, ...) is one that role
    declares in its meta/argument_specs.yml: a misspelt name would be ignored and the
    default applied (the closest declared name is suggested);
  - every variable named `*_port` or `*_port_base` the inventory sets is in 1-65535.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import sys
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import yaml
from ansible.errors import AnsibleError

# The helpers the filter files share (plugin_utils/inventory_facts.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugin_utils"))
from inventory_facts import REGION_PREFIX, ROLES_DIR, postgresql_members

SERVICE_GROUPS = (
    "loadbalancers", "app", "registry", "postgres", "pgbackrest_repo", "redis", "redis_sentinel", "monitoring",
    "logging",
)
DEFAULT_OPTIONS = {"require_logging": True, "require_monitoring": True}
DNS_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
PORT_NAME = re.compile(r"_port(_base)?$")


def _published_facts(tasks):
    """The facts `tasks` publish to later runs (set_fact with cacheable: true), in blocks too."""
    names = set()
    for task in tasks or []:
        for body in (task.get("ansible.builtin.set_fact"), task.get("set_fact")):
            if isinstance(body, dict) and body.get("cacheable") is True:
                names.update(k for k in body if k != "cacheable")
        for key in ("block", "rescue", "always"):
            names.update(_published_facts(task.get(key)))
    return names


@lru_cache(maxsize=1)
def declared_variables(roles_dir=ROLES_DIR):
    """({role name prefixes}, {every variable a role declares in its argument specs, and
    every fact a role publishes to later runs: cached facts are host variables too})."""
    prefixes, names = set(), set()
    for spec in sorted(Path(roles_dir).glob("*/meta/argument_specs.yml")):
        prefixes.add(spec.parent.parent.name + "_")
        for entry in (yaml.safe_load(spec.read_text()).get("argument_specs") or {}).values():
            names.update((entry or {}).get("options") or {})
    for tasks_file in sorted(Path(roles_dir).glob("*/tasks/*.yml")):
        names.update(_published_facts(yaml.safe_load(tasks_file.read_text())))
    return frozenset(prefixes), frozenset(names)


def _port_value(hv, name):
    """The variable as an integer; None when it is not one (a template that fails here,
    or a value of another type, is its role's to refuse)."""
    try:
        value = hv.get(name)
    except AnsibleError:
        return None
    if isinstance(value, bool):
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def _variable_problems(hosts, hostvars):
    prefixes, declared = declared_variables()
    unknown = defaultdict(list)
    ports = []
    for host in hosts:
        hv = hostvars.get(host, {})
        for name in list(hv.keys()):
            if name.startswith(tuple(prefixes)) and name not in declared:
                unknown[name].append(host)
            if PORT_NAME.search(name):
                value = _port_value(hv, name)
                if value is not None and not 1 <= value <= 65535:
                    ports.append(f"host '{host}': {name} is {value}, expected a port in 1-65535")
    problems = []
    for name, owners in sorted(unknown.items()):
        close = difflib.get_close_matches(name, sorted(declared), n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(f"{name}, set for {_names(owners)}, is not a variable any role declares{hint}")
    return problems + ports


def _static_address(hv):
    for key in ("fleet_address", "ansible_host"):
        value = hv.get(key)
        if value:
            try:
                return str(ipaddress.ip_address(str(value)))
            except ValueError:
                continue
    return None


def _names(items):
    return ", ".join(sorted(items))


def fleet_problems(groups, hostvars, options=None):
    opts = {**DEFAULT_OPTIONS, **(options or {})}
    problems = []
    hosts = sorted(groups.get("all", []))
    regions = {g[len(REGION_PREFIX):]: set(members) for g, members in groups.items()
               if g.startswith(REGION_PREFIX)}

    missing = [g for g in SERVICE_GROUPS if g not in groups]
    if missing:
        problems.append(f"the inventory does not define the groups {_names(missing)} (they may be empty)")

    region_of = {}
    for host in hosts:
        mine = sorted(r for r, members in regions.items() if host in members)
        if len(mine) != 1:
            found = _names(REGION_PREFIX + r for r in mine) or "none"
            problems.append(f"host '{host}' must be in exactly one region_* group, found: {found}")
        elif mine:
            region_of[host] = mine[0]

    def in_region(group, region):
        return sorted(h for h in groups.get(group, []) if region_of.get(h) == region)

    for region in sorted(regions):
        if not regions[region]:
            continue
        lbs = in_region("loadbalancers", region)
        if lbs and not in_region("app", region):
            problems.append(
                f"region '{region}' has load balancers ({_names(lbs)}) but no host in group 'app' to send traffic to"
            )
        if opts["require_monitoring"] and not in_region("monitoring", region):
            problems.append(f"region '{region}' has no host in group 'monitoring' (Prometheus runs in every region)")
    if opts["require_logging"] and hosts and not groups.get("logging"):
        problems.append(
            "the fleet has no host in group 'logging' (set fleet_require_logging: false to run without)"
        )

    clusters, cluster_problems = postgresql_members(groups, hostvars)
    problems += cluster_problems
    for name, members in clusters.items():
        primaries, replicas = members["primary"], members["replicas"]
        if len(primaries) != 1:
            found = _names(primaries) or "none"
            problems.append(f"PostgreSQL cluster '{name}' needs exactly one primary, found: {found}")
            continue
        home = region_of.get(primaries[0])
        if replicas and all(region_of.get(r) == home for r in replicas):
            problems.append(
                f"PostgreSQL cluster '{name}': every replica ({_names(replicas)}) is in the primary's region "
                f"'{home}'; at least one must be in another region"
            )

    by_address = defaultdict(list)
    for host in hosts:
        address = _static_address(hostvars.get(host, {}))
        if address:
            by_address[address].append(host)
    for address, owners in sorted(by_address.items()):
        if len(owners) > 1:
            problems.append(f"hosts {_names(owners)} share the address {address}")

    # Bastions: a fact of each region (fleet_bastion). Where the inventory reaches hosts
    # through bastions, a region without one would reach its hosts through nobody's.
    if any(hostvars.get(h, {}).get("fleet_bastion") for h in hosts):
        for region in sorted(regions):
            lacking = sorted(h for h in regions[region] if not hostvars.get(h, {}).get("fleet_bastion"))
            if lacking:
                problems.append(
                    f"region '{region}' names no bastion (fleet_bastion) for {_names(lacking)}, while other "
                    f"hosts are reached through one: set it in the vars of group '{REGION_PREFIX}{region}'"
                )

    bad_names = [h for h in hosts if not DNS_NAME.match(h)]
    if bad_names:
        problems.append(f"host names {_names(bad_names)} are not DNS names (lowercase letters, digits, inner "
                        "hyphens, dots between labels): certificates and service addresses are built from them")
    return problems + _variable_problems(hosts, hostvars)


class FilterModule:
    def filters(self):
        return {"fleet_problems": fleet_problems}
