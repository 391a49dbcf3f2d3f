"""The node exporter runs sandboxed (roles/common, the prometheus-node-exporter drop-in):
`systemd-analyze security` scores it at most 3.0 (issue 18's target for exporters; the
package's unit alone scores 9.2), and the sandbox takes nothing away that the fleet
reads: the collectors that answer without it still answer through it."""

import re

import pytest

from tests.helpers.hosts import systemd_exposure

testinfra_hosts = ["all"]

UNIT = "prometheus-node-exporter.service"
# What Prometheus and the alert rules read from every host: the textfile collector (drift,
# backups, restart-pending metrics), systemd's units over D-Bus, the clock's sync state
# (adjtimex), filesystems, memory, CPU and network.
COLLECTORS = ["textfile", "systemd", "timex", "filesystem", "meminfo", "cpu", "netdev", "netclass"]


def test_the_node_exporter_s_exposure_is_at_most_3(host):
    assert host.file(f"/etc/systemd/system/{UNIT}.d/10-sandbox.conf").exists
    assert systemd_exposure(host, UNIT) <= 3.0
    assert host.service(UNIT).is_running
    show = host.check_output(f"systemctl show {UNIT} -p NoNewPrivileges -p ProtectSystem -p CapabilityBoundingSet")
    assert "NoNewPrivileges=yes" in show
    assert "ProtectSystem=strict" in show


@pytest.mark.parametrize("name", ["common-db", "common-mon", "common-app"])
def test_the_sandboxed_exporter_still_serves_every_collector_the_fleet_reads(mon, name):
    out = mon.check_output(f"curl -sS --max-time 5 https://{name}:9100/metrics")
    success = dict(re.findall(r'^node_scrape_collector_success\{collector="(\w+)"\} (\d)', out, re.M))
    assert {c: success.get(c) for c in COLLECTORS} == dict.fromkeys(COLLECTORS, "1"), success
    assert re.search(r"^node_timex_sync_status \d", out, re.M)
