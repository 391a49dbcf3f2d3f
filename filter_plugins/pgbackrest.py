"""pgBackRest topology: which repository each repository host holds, which database hosts
each stanza (one per PostgreSQL cluster) has, and what a safe layout needs.

Repositories live on dedicated hosts (group `pgbackrest_repo`), each holding one repository
numbered by its `pgbackrest_repo_index` (pgBackRest's repo1, repo2, ...). The number is
set in the inventory rather than derived from the order of hosts, so that adding a host
never renumbers an existing repository. The 3-2-1 rule: the database itself plus at least
two repositories, one of them in another region than the first.

Pure functions; every error names the host at fault. Unit tests: tests/unit/test_pgbackrest.py.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

from ansible.errors import AnsibleFilterError

# The helpers the filter files share (plugin_utils/inventory_facts.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugin_utils"))
from inventory_facts import region_of

REPO_GROUP = "pgbackrest_repo"
MAX_REPOS = 4


def _index(host, hostvars):
    value = hostvars.get(host, {}).get("pgbackrest_repo_index")
    if isinstance(value, bool):
        return None
    try:
        index = int(value)
    except (TypeError, ValueError):
        return None
    return index if 1 <= index <= MAX_REPOS else None


def pgbackrest_repo_problems(groups, hostvars, require_offsite=True, require_repository=True):
    """Messages for a repository layout that can't hold the fleet's backups safely.

    PostgreSQL hosts without any repository host are refused unless `require_repository`
    is false: then the fleet runs without WAL archiving or backups (playbooks/postgresql.yml
    leaves archive_command empty), a choice the inventory has to state.
    """
    problems = []
    repo_hosts = sorted(groups.get(REPO_GROUP, []))
    db_hosts = set(groups.get("postgres", []))
    if not db_hosts:
        return problems
    if not repo_hosts:
        if not require_repository:
            return problems
        return [f"pgBackRest: group '{REPO_GROUP}' has no host to hold the PostgreSQL hosts' backups "
                "(add one per region, or set pgbackrest_require_repository: false to run without backups)"]
    seen = {}
    for host in repo_hosts:
        index = _index(host, hostvars)
        if index is None:
            value = hostvars.get(host, {}).get("pgbackrest_repo_index")
            problems.append(f"pgBackRest repository host '{host}': pgbackrest_repo_index is {value!r}, "
                            f"expected a number from 1 to {MAX_REPOS}")
            continue
        if index in seen:
            problems.append(f"pgBackRest repository hosts '{seen[index]}' and '{host}' both hold repo{index}; "
                            "each needs its own pgbackrest_repo_index")
        seen.setdefault(index, host)
        if host in db_hosts:
            problems.append(f"pgBackRest repository host '{host}' is also a PostgreSQL host: a repository "
                            "must not be lost with the database it protects")
    for host in sorted(db_hosts | set(repo_hosts)):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            continue
        problems.append(f"pgBackRest host '{host}': its inventory name is an IP address, but pgBackRest "
                        "verifies TLS peers by the DNS names of their certificates; give it a name")
    regions = {region_of(h, hostvars) for h in repo_hosts} - {None}
    if require_offsite and len(regions) < 2:
        where = ", ".join(sorted(regions)) or "no region"
        problems.append(f"pgBackRest: the repositories ({', '.join(repo_hosts)}) are all in {where}; the "
                        "3-2-1 rule needs one in another region (or pgbackrest_require_offsite: false)")
    return problems


def pgbackrest_repos(groups, hostvars, address_of=None):
    """[{"index", "host", "address", "region"}] sorted by index, for the configuration files.

    `address_of` maps a host to its fleet address (the role passes the topology filter's
    result); without it the inventory's ansible_host is used.
    """
    repos = []
    for host in groups.get(REPO_GROUP, []):
        index = _index(host, hostvars)
        if index is None:
            raise AnsibleFilterError(
                f"pgBackRest repository host '{host}' has no valid pgbackrest_repo_index (1 to {MAX_REPOS})"
            )
        address = (address_of or {}).get(host) or hostvars.get(host, {}).get("ansible_host") or host
        repos.append({"index": index, "host": host, "address": str(address), "region": region_of(host, hostvars)})
    indexes = [r["index"] for r in repos]
    if len(set(indexes)) != len(indexes):
        raise AnsibleFilterError(f"pgBackRest: two repository hosts share an index: {sorted(indexes)}")
    return sorted(repos, key=lambda r: r["index"])


def pgbackrest_stanzas(clusters, address_of):
    """{stanza: [{"index", "host", "address"}]} from postgresql_clusters' result.

    The stanza is the cluster's name. Its database hosts become pg1, pg2, ... on the
    repository hosts, the primary first; pgBackRest finds the current primary among them
    by itself, so a failover needs no change here.
    """
    stanzas = {}
    for name, members in sorted(clusters.items()):
        hosts = [members["primary"], *sorted(members["replicas"])]
        try:
            stanzas[name] = [
                {"index": i, "host": h, "address": str(address_of[h])} for i, h in enumerate(hosts, start=1)
            ]
        except KeyError as exc:
            raise AnsibleFilterError(f"pgBackRest stanza '{name}': host {exc} has no fleet address") from exc
    return stanzas


class FilterModule:
    def filters(self):
        return {
            "pgbackrest_repo_problems": pgbackrest_repo_problems,
            "pgbackrest_repos": pgbackrest_repos,
            "pgbackrest_stanzas": pgbackrest_stanzas,
        }
