"""Redis topology and sizing: who is primary, where Sentinel runs, how much memory each
instance may use.

Pure functions over `groups`/`hostvars` and the role's `redis_instances`; every error
names the host, instance or setting at fault. Unit tests: tests/unit/test_redis.py.

Sizing (`redis_maxmemory_mb`): each instance gets either `maxmemory_mb` (explicit) or
`maxmemory_percent` of the host's memory. An instance may not be given more than the
host has, and all instances together may not take more than `RESERVE_PERCENT` less than
the host's memory: a persistent instance forks to write its snapshot and AOF, and the
fork's copy-on-write pages, the kernel and the other services of the host need the rest.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from ansible.errors import AnsibleFilterError

# The helpers the filter files share (plugin_utils/inventory_facts.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugin_utils"))
from inventory_facts import region_of

# Share of the host's memory left out of every Redis instance's maxmemory (forks, kernel).
RESERVE_PERCENT = 10


def redis_maxmemory_mb(instances, memtotal_mb, host="this host"):
    """{instance name: maxmemory in MiB} for the host, or AnsibleFilterError naming why not."""
    try:
        memtotal = int(memtotal_mb)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"redis on {host}: host memory '{memtotal_mb}' is not a number of MiB") from exc
    if memtotal <= 0:
        raise AnsibleFilterError(f"redis on {host}: host memory is {memtotal} MiB; gather facts first")
    sizes = {}
    for inst in instances:
        name = inst.get("name", "?")
        explicit = inst.get("maxmemory_mb")
        if explicit:
            mb = int(explicit)
            if mb > memtotal:
                raise AnsibleFilterError(
                    f"redis on {host}: instance '{name}' has maxmemory_mb {mb}, larger than the "
                    f"host's memory ({memtotal} MiB)"
                )
        else:
            percent = int(inst.get("maxmemory_percent", 0))
            if not 1 <= percent <= 100 - RESERVE_PERCENT:
                raise AnsibleFilterError(
                    f"redis on {host}: instance '{name}' has maxmemory_percent {percent}, expected "
                    f"1 to {100 - RESERVE_PERCENT} (or set maxmemory_mb)"
                )
            mb = memtotal * percent // 100
        sizes[name] = max(mb, 1)
    budget = memtotal * (100 - RESERVE_PERCENT) // 100
    total = sum(sizes.values())
    if total > budget:
        parts = ", ".join(f"{n} {mb} MiB" for n, mb in sizes.items())
        raise AnsibleFilterError(
            f"redis on {host}: the instances' maxmemory adds up to {total} MiB ({parts}), more "
            f"than {100 - RESERVE_PERCENT}% of the host's {memtotal} MiB"
        )
    return sizes


def redis_instance_problems(instances, sentinel_port=None, sentinel_exporter_port=None):
    """Messages for instance lists that can't work: names, ports, exporter ports.

    `sentinel` is not an instance name: Sentinel's exporter unit has it.
    """
    problems = []
    names = [i.get("name") for i in instances]
    for name, count in Counter(names).items():
        if count > 1:
            problems.append(f"instance name '{name}' is used {count} times")
    if "sentinel" in names:
        problems.append("instance name 'sentinel' is reserved (the Sentinel exporter's)")
    used = {}
    for inst in instances:
        for field in ("port", "exporter_port"):
            port = inst.get(field)
            if port is None:
                continue
            owner = f"{inst.get('name')}.{field}"
            if port in used:
                problems.append(f"{owner} and {used[port]} both use port {port}")
            else:
                used[port] = owner
    if sentinel_port is not None and sentinel_port in used:
        problems.append(f"redis_sentinel_port {sentinel_port} is also {used[sentinel_port]}")
    if sentinel_exporter_port is not None and sentinel_exporter_port in used:
        problems.append(f"redis_sentinel_exporter_port {sentinel_exporter_port} is also {used[sentinel_exporter_port]}")
    return problems


def redis_topology_problems(groups, hostvars):
    """Messages for a Redis topology that can't replicate or fail over safely.

    Redis hosts (group `redis`) say `redis_role: primary|replica`: exactly one primary;
    when there are replicas, at least one in another region than the primary. Sentinel
    runs on every Redis host and on the hosts of `redis_sentinel`; with replicas there must
    be at least three Sentinels, so that losing any one host leaves a majority to authorise
    a failover.
    """
    problems = []
    data_hosts = sorted(groups.get("redis", []))
    if not data_hosts:
        return problems
    primaries, replicas = [], []
    for host in data_hosts:
        role = hostvars.get(host, {}).get("redis_role")
        if role == "primary":
            primaries.append(host)
        elif role == "replica":
            replicas.append(host)
        else:
            problems.append(f"Redis host '{host}' has redis_role '{role}', expected primary or replica")
    if len(primaries) != 1:
        found = ", ".join(primaries) or "none"
        who = f" for the replicas {', '.join(replicas)}" if replicas and not primaries else ""
        problems.append(f"Redis needs exactly one host with redis_role primary{who}, found: {found}")
    elif replicas:
        home = region_of(primaries[0], hostvars)
        if all(region_of(r, hostvars) == home for r in replicas):
            problems.append(
                f"Redis: every replica ({', '.join(replicas)}) is in the primary's region '{home}'; "
                "at least one must be in another region"
            )
    sentinels = sorted(set(data_hosts) | set(groups.get("redis_sentinel", [])))
    if replicas and len(sentinels) < 3:
        problems.append(
            f"Redis Sentinel runs on {', '.join(sentinels)} ({len(sentinels)} hosts): failover needs at "
            "least 3, so that a majority survives the loss of one; add hosts to group 'redis_sentinel'"
        )
    return problems


def redis_sentinel_region_losses(sentinel_hosts, hostvars, quorum):
    """One message per region whose loss leaves too few Sentinels to fail over.

    `sentinel_hosts`: every host that runs a Sentinel (the role's __redis_sentinel_hosts).
    A failover needs `quorum` Sentinels to agree that the primary is down and a majority
    of all Sentinels to elect the one that carries it out; a region that holds more than
    that leaves the other regions' replicas without a failover when it goes dark (the
    case a two-region fleet can't avoid: one region holds the majority). A warning, not a
    refusal: the preflight says it, the operator decides where a tie-breaking Sentinel goes.
    """
    sentinels = sorted(sentinel_hosts)
    if len(sentinels) < 2:
        return []
    needed = max(int(quorum), len(sentinels) // 2 + 1)
    by_region = {}
    for host in sentinels:
        by_region.setdefault(region_of(host, hostvars) or "?", []).append(host)
    messages = []
    for region, lost in sorted(by_region.items()):
        left = [h for h in sentinels if h not in lost]
        if len(left) < needed:
            messages.append(
                f"Redis Sentinel: losing region {region} ({', '.join(lost)}) leaves {len(left)} of "
                f"{len(sentinels)} Sentinels ({', '.join(left) or 'none'}), fewer than the {needed} a "
                "failover needs (quorum and majority): the other regions' replicas would not be promoted; "
                "a Sentinel in another region or site (group 'redis_sentinel') would survive it"
            )
    return messages


def _live_primary(states):
    """The primary the instances' own ROLE answers name, "fresh" when they answered and
    none holds data yet, or None when they disagree or none answered.

    `states`: [address, ROLE answer] per data host that answered: ["master", offset,
    [[ip, port, offset], ...]] or ["slave", ip, port, state, offset].
    """
    if not states:
        return None
    named = set()
    for address, role in states:
        if not isinstance(role, list) or not role:
            continue
        if role[0] == "slave" and len(role) > 1:
            named.add(str(role[1]))
        elif role[0] == "master" and (int(role[1] or 0) > 0 or (len(role) > 2 and role[2])):
            # A primary that has taken writes or has replicas: a live cluster's primary.
            named.add(str(address))
    if not named:
        return "fresh"
    return named.pop() if len(named) == 1 else None


def redis_current_masters(answers, instance_names, fallback, states=None, bootstrap=False):
    """The address each instance's primary has now; None where nobody can tell.

    `answers`: one {instance name: [ip, port] or None} per Sentinel that answered; what
    most of them say wins, so a promotion made by Sentinel is kept, never reverted to the
    inventory's primary. Where no Sentinel answers for an instance, the instances' own
    replication state decides (`states`: one {"address": ..., "roles": {instance name:
    ROLE answer}} per data host in the play): the one primary they name; the inventory's primary
    (`fallback`) only when none holds data yet (a new cluster) or with `bootstrap`. When
    they name more than one primary, or name none while some instance holds data, the
    answer is None: the caller changes no replication and stops.
    """
    by_instance = {}
    for host in states or []:
        for instance, role in (host.get("roles") or {}).items():
            by_instance.setdefault(instance, []).append([host.get("address"), role])
    masters = {}
    for name in instance_names:
        votes = Counter(
            str(a[name][0]) for a in answers if isinstance(a, dict) and a.get(name)
        )
        if votes:
            masters[name] = votes.most_common(1)[0][0]
            continue
        live = "fresh" if bootstrap else _live_primary(by_instance.get(name, []))
        masters[name] = str(fallback) if live == "fresh" else live
    return masters


def redis_sentinel_quorum(sentinel_count, configured=0):
    """The quorum: `configured` when set, else a majority of the Sentinels."""
    count = int(sentinel_count)
    quorum = int(configured) or count // 2 + 1
    if not 1 <= quorum <= count:
        raise AnsibleFilterError(f"redis_sentinel_quorum {quorum} is outside 1..{count} (the Sentinel count)")
    return quorum


_SENTINEL_SETTINGS = (
    ("quorum", "quorum"),
    ("down-after-milliseconds", "down_after_ms"),
    ("failover-timeout", "failover_timeout_ms"),
    ("parallel-syncs", "parallel_syncs"),
)


def redis_sentinel_commands(state, instances, want):
    """SENTINEL commands that bring a running Sentinel to `want`, and why each is needed.

    `state`: SENTINEL MASTERS as JSON (a list of objects). `want`: {prefix, quorum,
    down_after_ms, failover_timeout_ms, parallel_syncs, masters: {instance: address}}.
    A primary Sentinel does not monitor yet is added at the address given (the current
    primary); a monitored one keeps the address Sentinel has (it follows failovers), only
    its settings are corrected. Primaries under our prefix whose instance is gone are
    removed. Credentials are not part of the result: the caller appends them to the
    MONITOR of a new primary (Sentinel never shows them back, so they can't be compared).
    """
    prefix = want["prefix"]
    known = {m.get("name"): m for m in state or []}
    commands = []
    wanted_names = set()
    for inst in instances:
        name = f"{prefix}-{inst['name']}"
        wanted_names.add(name)
        settings = [(key, str(want[field])) for key, field in _SENTINEL_SETTINGS if key != "quorum"]
        if name not in known:
            commands.append({
                "name": name,
                "new": True,
                "reason": f"Sentinel does not monitor {name}",
                "args": ["SENTINEL", "MONITOR", name, str(want["masters"][inst["name"]]), str(inst["port"]),
                         str(want["quorum"])],
                "settings": [v for pair in settings for v in pair],
            })
            continue
        current = known[name]
        wrong = [(key, str(want[field])) for key, field in _SENTINEL_SETTINGS
                 if str(current.get(key)) != str(want[field])]
        if wrong:
            commands.append({
                "name": name,
                "new": False,
                "reason": "; ".join(f"{k} is {current.get(k)}, want {v}" for k, v in wrong),
                "args": ["SENTINEL", "SET", name] + [v for pair in wrong for v in pair],
                "settings": [],
            })
    for name in sorted(set(known) - wanted_names):
        if name and name.startswith(prefix + "-"):
            commands.append({"name": name, "new": False, "reason": f"no instance is named {name} any more",
                             "args": ["SENTINEL", "REMOVE", name], "settings": []})
    return commands


def redis_quote(value):
    """`value` as one argument of a line redis-cli reads from its standard input."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


class FilterModule:
    def filters(self):
        return {
            "redis_maxmemory_mb": redis_maxmemory_mb,
            "redis_instance_problems": redis_instance_problems,
            "redis_topology_problems": redis_topology_problems,
            "redis_current_masters": redis_current_masters,
            "redis_sentinel_quorum": redis_sentinel_quorum,
            "redis_sentinel_region_losses": redis_sentinel_region_losses,
            "redis_sentinel_commands": redis_sentinel_commands,
            "redis_quote": redis_quote,
        }
