"""Logging tier: Elasticsearch heap sizing, per-region clusters, where Filebeat ships.

Pure functions over maps the roles build from the inventory (host -> region, host ->
address), like filter_plugins/monitoring.py. Unit tests: tests/unit/test_elastic.py.

Heap: half the host's memory (Lucene uses the other half through the file system cache),
never more than 30 GiB: below about 31 GiB the JVM still uses compressed object pointers;
above it the same heap holds fewer objects. Elastic's sizing guide gives both rules.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

HEAP_CAP_MB = 30 * 1024
HEAP_MIN_MB = 256


def elasticsearch_heap_mb(memtotal_mb, requested_mb=0, cap_mb=HEAP_CAP_MB):
    """The heap in MB: `requested_mb` when set (non-zero), else half the memory, capped."""
    if int(requested_mb):
        return int(requested_mb)
    return max(HEAP_MIN_MB, min(int(memtotal_mb) // 2, int(cap_mb)))


def elasticsearch_heap_problems(requested_mb, memtotal_mb, cap_mb=HEAP_CAP_MB):
    """Why an explicitly requested heap can't be used on a host with `memtotal_mb`."""
    requested, memtotal, cap = int(requested_mb), int(memtotal_mb), int(cap_mb)
    if not requested:
        if memtotal // 2 < HEAP_MIN_MB:
            return [f"the host has {memtotal} MB of memory; Elasticsearch needs at least "
                    f"{2 * HEAP_MIN_MB} MB (a {HEAP_MIN_MB} MB heap and as much for the file system cache)"]
        return []
    problems = []
    if requested < HEAP_MIN_MB:
        problems.append(f"elasticsearch_heap_mb is {requested}, expected at least {HEAP_MIN_MB}")
    if requested > cap:
        problems.append(f"elasticsearch_heap_mb is {requested}, above {cap} MB the JVM loses "
                        "compressed object pointers")
    if requested > memtotal // 2:
        problems.append(f"elasticsearch_heap_mb is {requested}, more than half of the host's "
                        f"{memtotal} MB (the rest is Lucene's file system cache)")
    return problems


def _by_region(hosts, regions):
    out: dict[str, list[str]] = {}
    for host in sorted(hosts):
        try:
            out.setdefault(regions[host], []).append(host)
        except KeyError as exc:
            raise AnsibleFilterError(f"logging: host '{host}' has no region") from exc
    return out


def logging_quorum_problems(logging_hosts, regions):
    """Regions whose logging hosts can't form an Elasticsearch cluster.

    Each region's logging hosts form one cluster: one host runs alone (single-node), three
    or more elect a master by majority. Two can't: losing either stops the cluster.
    """
    return [
        f"region {region} has 2 logging hosts ({', '.join(hosts)}): an Elasticsearch cluster "
        "needs 1 host (single node) or 3 or more (a majority survives one loss)"
        for region, hosts in sorted(_by_region(logging_hosts, regions).items())
        if len(hosts) == 2
    ]


def elasticsearch_cluster(host, logging_hosts, regions):
    """The logging hosts of `host`'s region, sorted: the nodes of its cluster."""
    return _by_region(logging_hosts, regions).get(regions[host], [])


def logstash_hosts(host, logging_hosts, regions, addresses, port, fallback_regions=()):
    """"address:port" of the Logstash hosts `host` ships to.

    Its own region's logging hosts; in a region without any, those of the first region in
    `fallback_regions` that has some (the nearest, as the inventory orders them); failing
    that, every logging host, so that no host's logs stay behind.
    """
    by_region = _by_region(logging_hosts, regions)
    if host not in regions:
        raise AnsibleFilterError(f"logstash_hosts: host '{host}' has no region")
    chosen = by_region.get(regions[host])
    for region in fallback_regions or ():
        if chosen:
            break
        chosen = by_region.get(region)
    if not chosen:
        chosen = sorted(logging_hosts)
    result = []
    for h in chosen:
        try:
            address = str(addresses[h])
        except KeyError as exc:
            raise AnsibleFilterError(f"logstash_hosts: logging host '{h}' has no address") from exc
        # Filter plugins can't import each other: topology.url_host's rule, kept here.
        result.append(f"[{address}]:{int(port)}" if ":" in address else f"{address}:{int(port)}")
    return result


class FilterModule:
    def filters(self):
        return {
            "elasticsearch_heap_mb": elasticsearch_heap_mb,
            "elasticsearch_heap_problems": elasticsearch_heap_problems,
            "logging_quorum_problems": logging_quorum_problems,
            "elasticsearch_cluster": elasticsearch_cluster,
            "logstash_hosts": logstash_hosts,
        }
