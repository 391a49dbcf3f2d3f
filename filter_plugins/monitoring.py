"""Prometheus and Alertmanager topology: scrape targets, federation, Alertmanager peers.

Each region's Prometheus scrapes the hosts of its own region; every series carries the
labels `region`, `role` (the scrape job) and `instance` (the inventory hostname). The
global view is federation: each regional Prometheus also pulls the other regions' own
series from one Prometheus there, so any of them answers a query across every region.

Targets are written as file_sd entries ({targets, labels}), so a deploy can change them
without touching prometheus.yml.

Pure functions; `regions` and `addresses` map inventory names to their region and fleet
address (the topology filters `host_region` and `fleet_address` make them). Errors name
the region, group, job or host at fault. Unit tests: tests/unit/test_monitoring.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ansible.errors import AnsibleFilterError

# The helpers the filter files share (plugin_utils/inventory_facts.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugin_utils"))
from inventory_facts import url_host


def _lookup(mapping, host, what, job):
    try:
        return mapping[host]
    except KeyError as exc:
        raise AnsibleFilterError(f"prometheus: no {what} for host '{host}' (scrape job '{job}')") from exc


def _endpoints(job, host, hostvars, strict=True):
    """[(port, extra labels)] of one host for one job."""
    name = job["name"]
    if "ports_var" in job:
        var = job["ports_var"]
        ports = hostvars.get(host, {}).get(var)
        if ports is None and not strict:
            return []
        if ports is None:
            raise AnsibleFilterError(
                f"prometheus: host '{host}' has no variable '{var}' (scrape job '{name}' reads its "
                f"ports from it); run the play that sets it first"
            )
        return [(int(p["port"]), dict(p.get("labels", {}))) for p in ports]
    if "endpoints" in job:
        return [(int(e["port"]), dict(e.get("labels", {}))) for e in job["endpoints"]]
    if "port" in job:
        return [(int(job["port"]), {})]
    raise AnsibleFilterError(f"prometheus: scrape job '{name}' has no port, endpoints or ports_var")


def _host_and_port(address, port):
    return f"{url_host(address)}:{port}"


def first_host_per_region(hosts, regions):
    """{region: the first host (by name) of `hosts` in it}: the one Prometheus of a region
    that federation, and Grafana's data source for that region, talk to."""
    by_region = {}
    for host in sorted(hosts):
        by_region.setdefault(_lookup(regions, host, "region", "federate"), host)
    return by_region


def prometheus_targets(region, jobs, groups, regions, addresses, hostvars, strict=True):
    """file_sd entries per job name for the Prometheus of `region`.

    `jobs`: [{name, group, port | endpoints: [{port, labels}] | ports_var, required}];
    `group` is a group name or a list of them (their union).
    A job whose group has no host in the region fails when `required` (the default) is
    true, and is an empty list otherwise. With `strict` false (the preflight of a fleet
    whose app hosts have not run yet), a host without its `ports_var` has no target.
    """
    out = {}
    for job in jobs:
        name = job.get("name")
        group = job.get("group")
        if not name or not group:
            raise AnsibleFilterError(f"prometheus: every scrape job needs a name and a group, got {job!r}")
        if name in out:
            raise AnsibleFilterError(f"prometheus: scrape job '{name}' is defined twice")
        members = {h for g in ([group] if isinstance(group, str) else group) for h in groups.get(g, [])}
        hosts = sorted(h for h in members if _lookup(regions, h, "region", name) == region)
        if not hosts and job.get("required", True):
            raise AnsibleFilterError(
                f"prometheus: scrape job '{name}' has no target in region '{region}': group '{group}' "
                f"has no host in region_{region} (add one, or set required: false for this job)"
            )
        entries = []
        for host in hosts:
            address = _lookup(addresses, host, "address", name)
            for port, extra in _endpoints(job, host, hostvars, strict):
                labels = {"region": region, "role": name, "instance": host}
                labels.update({str(k): str(v) for k, v in extra.items()})
                entries.append({"targets": [_host_and_port(address, port)], "labels": labels})
        out[name] = entries
    return out


def prometheus_federation_targets(region, monitoring_hosts, regions, addresses, port):
    """file_sd entries for the federation job: one Prometheus of every other region.

    The first monitoring host (by name) of each other region is the one pulled from, so
    that two Prometheus of one region never deliver the same series twice.
    """
    by_region = first_host_per_region(monitoring_hosts, regions)
    if region not in by_region:
        raise AnsibleFilterError(f"prometheus: region '{region}' has no host in group monitoring")
    return [
        {
            "targets": [_host_and_port(_lookup(addresses, host, "address", "federate"), int(port))],
            "labels": {"region": region, "role": "federate", "instance": host, "federated_region": other},
        }
        for other, host in sorted(by_region.items())
        if other != region
    ]


def alertmanager_peers(monitoring_hosts, addresses, port, exclude=None):
    """"address:port" of every Alertmanager of the cluster (every region), sorted by host."""
    return [
        _host_and_port(_lookup(addresses, h, "address", "alertmanager"), int(port))
        for h in sorted(monitoring_hosts)
        if h != exclude
    ]


class FilterModule:
    def filters(self):
        return {
            "prometheus_targets": prometheus_targets,
            "prometheus_federation_targets": prometheus_federation_targets,
            "first_host_per_region": first_host_per_region,
            "alertmanager_peers": alertmanager_peers,
        }
