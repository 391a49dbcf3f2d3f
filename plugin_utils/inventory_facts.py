"""What several filter plugins need to know about the inventory, written once.

Ansible loads each file of filter_plugins/ on its own, under a name of its choosing, so
the filters can't import one another; they import this module instead (each puts this
directory on sys.path). Plain Python: no filters here, and nothing that reads a host.
Unit tests: tests/unit/test_topology.py.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from ansible.errors import AnsibleFilterError

# A host's region is the one inventory group named region_<name> it belongs to.
REGION_PREFIX = "region_"
# The roles whose defaults and argument specs the filters read.
ROLES_DIR = Path(__file__).resolve().parent.parent / "roles"


def regions_of(host, hostvars) -> list[str]:
    """The names (without the prefix) of the region groups `host` is in, sorted."""
    names = hostvars.get(host, {}).get("group_names", [])
    return sorted(g[len(REGION_PREFIX):] for g in names if g.startswith(REGION_PREFIX))


def region_of(host, hostvars) -> str | None:
    """`host`'s region, or None unless it is in exactly one (the preflight names that)."""
    regions = regions_of(host, hostvars)
    return regions[0] if len(regions) == 1 else None


def url_host(address) -> str:
    """`address` as the host part of a URL or of host:port: IPv6 in brackets."""
    address = str(address)
    return f"[{address}]" if ":" in address else address


@cache
def _role_defaults(role, roles_dir):
    path = Path(roles_dir) / role / "defaults" / "main.yml"
    return yaml.safe_load(path.read_text()) or {} if path.is_file() else {}


def role_default(name, roles_dir=ROLES_DIR):
    """The value `roles/<role>/defaults/main.yml` gives the variable `name`, where <role>
    is the longest role name that prefixes it (`redis_sentinel_port` -> redis).

    For facts one role owns and another needs before that role runs (the firewall opens
    the ports the services will listen on): the default is written once, in its role.
    """
    roles = sorted((d.name for d in Path(roles_dir).iterdir() if d.is_dir()), key=len, reverse=True)
    for role in roles:
        if name.startswith(role + "_"):
            defaults = _role_defaults(role, str(roles_dir))
            if name in defaults:
                return defaults[name]
            raise AnsibleFilterError(f"role_default: roles/{role}/defaults/main.yml does not define {name}")
    raise AnsibleFilterError(f"role_default: no role's name prefixes {name}")


def postgresql_cluster_of(host, hostvars) -> str:
    """The PostgreSQL cluster `host` belongs to (`postgresql_cluster`, else the role's default)."""
    return hostvars.get(host, {}).get("postgresql_cluster") or role_default("postgresql_cluster")


def postgresql_members(groups, hostvars):
    """The `postgres` group by cluster, and what is wrong with it.

    Returns ({cluster: {"primary": [hosts], "replicas": [hosts]}}, [problems]), sorted. A
    host with `postgresql_fenced: true` (an old primary after a failover) is in no cluster;
    one whose `postgresql_role` is neither primary nor replica is a problem and in none.
    The callers decide what a cluster without exactly one primary means (the preflight
    lists it, the roles' filter refuses it).
    """
    clusters, problems = {}, []
    for host in sorted(groups.get("postgres", [])):
        hv = hostvars.get(host, {})
        if hv.get("postgresql_fenced"):
            continue
        role = hv.get("postgresql_role")
        if role not in ("primary", "replica"):
            problems.append(f"PostgreSQL host '{host}' has postgresql_role '{role}', expected primary or replica")
            continue
        members = clusters.setdefault(postgresql_cluster_of(host, hostvars), {"primary": [], "replicas": []})
        members["primary" if role == "primary" else "replicas"].append(host)
    return dict(sorted(clusters.items())), problems
