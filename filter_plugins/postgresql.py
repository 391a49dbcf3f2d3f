"""PostgreSQL sizing and topology: memory settings from the host, connection limits
coordinated with pgbouncer, each replica's primary, and pg_hba rules from the groups.

Pure functions; every error names the host, cluster or setting at fault. Unit tests:
tests/unit/test_postgresql.py.

Sizing (`postgresql_sizing`), for a host with M MiB of memory and C CPUs, the usual
starting points for a dedicated database server, with the connection count coming from
pgbouncer's pools rather than from a guess:

  pool_size             = max(C * 2, 10) server connections per (database, user) pool
  max_connections       = pool_size * pools + reserve (pgbouncer's reserve pool, the
                          monitoring and replication connections, superusers' reserve)
  shared_buffers        = M / 4                 (capped at 16 GiB)
  effective_cache_size  = M * 3 / 4
  maintenance_work_mem  = M / 16                (capped at 2 GiB)
  work_mem              = (M - shared_buffers) / (max_connections * 3), 4..256 MiB
                          (a query may use several work_mem at once: sorts, hashes)
  max_worker_processes  = max(C, 8); parallel workers = C, per gather = max(C // 2, 1)
"""

from __future__ import annotations

import sys
from pathlib import Path

from ansible.errors import AnsibleFilterError

# The helpers the filter files share (plugin_utils/inventory_facts.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugin_utils"))
from inventory_facts import postgresql_cluster_of, postgresql_members


def postgresql_sizing(memtotal_mb, vcpus, pools=1, reserved=10, host="this host"):
    """Memory and connection settings (MiB and counts) for a host."""
    try:
        memory = int(memtotal_mb)
        cpus = max(int(vcpus), 1)
        pools = int(pools)
        reserved = int(reserved)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(
            f"postgresql on {host}: sizing needs numbers (memory {memtotal_mb!r} MiB, "
            f"cpus {vcpus!r}, pools {pools!r})"
        ) from exc
    if memory < 256:
        raise AnsibleFilterError(f"postgresql on {host}: {memory} MiB of memory is too little (256 at least)")
    if pools < 1:
        raise AnsibleFilterError(f"postgresql on {host}: pgbouncer needs at least one pool, got {pools}")
    pool_size = max(cpus * 2, 10)
    max_connections = pool_size * pools + reserved
    shared_buffers = min(memory // 4, 16384)
    work_mem = (memory - shared_buffers) // (max_connections * 3)
    return {
        "pool_size": pool_size,
        "max_connections": max_connections,
        "shared_buffers_mb": shared_buffers,
        "effective_cache_size_mb": memory * 3 // 4,
        "maintenance_work_mem_mb": min(memory // 16, 2048),
        "work_mem_mb": min(max(work_mem, 4), 256),
        "max_worker_processes": max(cpus, 8),
        "max_parallel_workers": cpus,
        "max_parallel_workers_per_gather": max(cpus // 2, 1),
    }


# Settings a hot standby needs at least as high as its primary's, or it refuses to start
# (PostgreSQL's documentation, "Hot Standby" > Administrator's Overview), with
# PostgreSQL's defaults where the role does not set them.
STANDBY_MINIMUMS = {
    "max_connections": None,  # from the sizing
    "max_worker_processes": None,  # from the sizing
    "max_wal_senders": 10,
    "max_prepared_transactions": 0,
    "max_locks_per_transaction": 64,
}


def postgresql_standby_settings(sizing, overrides=None, host="this host"):
    """The values of STANDBY_MINIMUMS a host runs with: its sizing, the role's fixed
    values, then the inventory's `postgresql_settings` over them."""
    values = {name: (sizing[name] if default is None else default) for name, default in STANDBY_MINIMUMS.items()}
    for name, value in (overrides or {}).items():
        if name in STANDBY_MINIMUMS:
            try:
                values[name] = int(value)
            except (TypeError, ValueError) as exc:
                raise AnsibleFilterError(
                    f"postgresql on {host}: postgresql_settings.{name} must be a whole number, got {value!r}"
                ) from exc
    return values


def postgresql_standby_problems(replica_values, primary_values, replica, primary):
    """One message per setting the replica runs lower than its primary."""
    return [
        f"postgresql: replica {replica} would run {name} = {replica_values[name]}, below its primary "
        f"{primary}'s {primary_values[name]}; a hot standby refuses to start so (raise it with "
        f"postgresql_settings or size {replica} like {primary})"
        for name in STANDBY_MINIMUMS
        if int(replica_values[name]) < int(primary_values[name])
    ]


def postgresql_clusters(groups, hostvars):
    """{cluster: {"primary": host, "replicas": [hosts]}} from the `postgres` group.

    Raises on the shapes playbooks/preflight.yml refuses (two primaries, none), so that a
    role run on its own can't go on with them either. A host with `postgresql_fenced: true`
    (an old primary after a failover, see playbooks/postgres-failover.yml) is in no cluster.
    """
    clusters, problems = postgresql_members(groups, hostvars)
    if problems:
        raise AnsibleFilterError(problems[0])
    result = {}
    for name, members in clusters.items():
        if len(members["primary"]) != 1:
            found = ", ".join(members["primary"]) or "none"
            for_replicas = f" (replicas: {', '.join(members['replicas'])})" if members["replicas"] else ""
            raise AnsibleFilterError(
                f"PostgreSQL cluster '{name}' needs exactly one primary, found: {found}{for_replicas}"
            )
        result[name] = {"primary": members["primary"][0], "replicas": members["replicas"]}
    return result


def postgresql_slot_name(host):
    """The physical replication slot of a replica: its inventory name, as PostgreSQL allows."""
    slot = "".join(c if c.isalnum() else "_" for c in str(host).lower())
    return slot[:63]


def postgresql_hba(host, groups, hostvars, rules, address_of):
    """pg_hba entries for `host`: one line per (rule, source address).

    `rules`: [{name, type (hostssl), database, user, from_groups, method}], groups must
    exist; `address_of`: {host: address}. Only hosts of the same cluster are admitted for
    replication rules (`database: replication`). Returns dicts {type, database, user,
    address, method, comment}, sorted, without duplicates.
    """
    cluster = postgresql_cluster_of(host, hostvars)
    entries = {}
    for rule in rules:
        name = rule.get("name", "?")
        for group in rule.get("from_groups", []):
            if group not in groups:
                raise AnsibleFilterError(f"pg_hba rule '{name}': group '{group}' is not in the inventory")
            for source in groups[group]:
                if source == host:
                    continue
                if rule.get("database") == "replication" and \
                        postgresql_cluster_of(source, hostvars) != cluster:
                    continue
                try:
                    address = address_of[source]
                except KeyError as exc:
                    raise AnsibleFilterError(f"pg_hba rule '{name}': no address for host '{source}'") from exc
                cidr = f"{address}/32" if ":" not in address else f"{address}/128"
                key = (rule.get("type", "hostssl"), rule["database"], rule["user"], cidr)
                entries.setdefault(key, {"type": key[0], "database": key[1], "user": key[2], "address": cidr,
                                         "method": rule.get("method", "scram-sha-256"),
                                         "comment": f"{name}: {source}"})
    return [entries[k] for k in sorted(entries)]


class FilterModule:
    def filters(self):
        return {
            "postgresql_sizing": postgresql_sizing,
            "postgresql_clusters": postgresql_clusters,
            "postgresql_standby_settings": postgresql_standby_settings,
            "postgresql_standby_problems": postgresql_standby_problems,
            "postgresql_slot_name": postgresql_slot_name,
            "postgresql_hba": postgresql_hba,
        }
