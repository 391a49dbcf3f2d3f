"""Each region's Prometheus scrapes its own hosts over TLS with region, role and instance
labels, sees the other region by federation, loads every rule file, and answers only
the hosts the firewall admits."""

import re

import pytest
import yaml
from conftest import MONITORING

from tests.helpers.ansible_run import ROOT
from tests.helpers.hosts import systemd_exposure

# What each region's Prometheus scrapes: (job, instance).
EXPECTED = {
    "saopaulo": {("node", "mon-sp"), ("prometheus", "mon-sp"), ("alertmanager", "mon-sp"), ("federate", "mon-va")},
    "virginia": {("node", "mon-va"), ("node", "tgt-va"), ("prometheus", "mon-va"), ("alertmanager", "mon-va"),
                 ("federate", "mon-sp")},
}


@pytest.mark.parametrize("region", sorted(MONITORING))
def test_every_target_of_the_region_is_up(api, region):
    mon = MONITORING[region]

    def targets():
        active = api.get(mon, 9090, "/api/v1/targets?state=active")["data"]["activeTargets"]
        found = {(t["labels"]["job"], t["labels"]["instance"]): t["health"] for t in active}
        return found if set(found) == EXPECTED[region] and set(found.values()) == {"up"} else None

    found = api.wait(f"every target of {mon} up", targets, timeout=60)
    print(f"{mon}: {len(found)} targets up: {sorted(found)}")


@pytest.mark.parametrize("region", sorted(MONITORING))
def test_series_carry_region_role_and_instance(api, region):
    series = api.query(MONITORING[region], f'up{{region="{region}"}}')
    assert series
    for s in series:
        labels = s["metric"]
        assert labels["region"] == region
        assert labels["role"] == labels["job"]
        assert labels["instance"] in {"mon-sp", "mon-va", "tgt-va"}, labels


@pytest.mark.parametrize("region", sorted(MONITORING))
def test_the_global_view_answers_for_both_regions(api, region):
    # Node exporters: one in São Paulo, two in Virginia, whichever Prometheus is asked.
    def counts():
        result = api.query(MONITORING[region], 'count by (region) (node_uname_info{job="node"})')
        found = {r["metric"]["region"]: int(r["value"][1]) for r in result}
        return found if found == {"saopaulo": 1, "virginia": 2} else None

    api.wait(f"both regions in {MONITORING[region]}'s view", counts, timeout=90)



def test_every_rule_group_is_loaded_and_healthy(api):
    groups = api.get("mon-sp", 9090, "/api/v1/rules")["data"]["groups"]
    names = {g["name"] for g in groups}
    assert {"hosts", "postgresql", "redis", "web", "slo-availability", "slo-availability-recording"} <= names
    broken = [(g["name"], r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r["health"] == "err"]
    assert broken == []


@pytest.mark.parametrize("mon", ["mon-sp", "mon-va"])
def test_prometheus_runs_sandboxed_and_writes_its_database(hosts, mon):
    # The role's drop-in over Debian's unit (3.9): about 1.4. Its database, the one place
    # it may write, takes samples (the targets test above reads them back).
    assert systemd_exposure(hosts[mon], "prometheus.service") <= 3.0
    assert hosts[mon].file("/var/lib/prometheus/metrics2/wal").is_directory
    errors = hosts[mon].run("journalctl -u prometheus.service --no-pager -o cat | grep -ci 'read-only file system'")
    assert errors.stdout.strip() == "0", errors.stdout


def test_configuration_on_the_host_passes_promtool(hosts):
    out = hosts["mon-va"].run("promtool check config /etc/prometheus/prometheus.yml")
    assert out.rc == 0, out.stdout + out.stderr


def test_plain_http_is_refused(hosts, addresses):
    out = hosts["mon-sp"].run(f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 5 http://{addresses['mon-sp']}:9090/-/healthy")
    assert out.stdout == "400", out.stdout  # Go's answer to HTTP on an HTTPS port


def test_prometheus_and_alertmanager_are_closed_to_a_host_outside_monitoring(hosts, addresses):
    for port in (9090, 9093):
        url = f"https://{addresses['mon-va']}:{port}/"
        refused = hosts["tgt-va"].run(f"curl -sk -o /dev/null --max-time 3 {url}")
        assert refused.rc != 0, f"tgt-va reached {url}"
        admitted = hosts["mon-sp"].run(f"curl -s -o /dev/null --max-time 3 {url}")
        assert admitted.rc == 0, f"mon-sp could not reach {url}: {admitted.stderr}"


def test_host_rules_use_metrics_the_exporters_really_expose(api):
    # The node-level names the rules read (node exporter, and the pki role's textfile
    # metric): each must have series in this fleet, or the rule could never fire.
    groups = yaml.safe_load((ROOT / "roles/prometheus/files/rules/hosts.yml").read_text())["groups"]
    exprs = " ".join(r["expr"] for g in groups for r in g["rules"])
    names = sorted(set(re.findall(r"\b((?:node|pki)_[a-zA-Z_]+)\b", exprs)))
    assert "node_filesystem_avail_bytes" in names
    assert "pki_certificate_expiry_timestamp_seconds" in names
    missing = [n for n in names if not api.query("mon-va", f'count({{__name__="{n}", instance="tgt-va"}})')]
    assert missing == [], f"rules read metrics tgt-va's exporter does not expose: {missing}"


@pytest.mark.parametrize("region", sorted(MONITORING))
def test_no_alert_since_install_names_a_host_outside_the_inventory(api, region):
    # Debian's package first runs Prometheus with its example configuration (localhost
    # targets); the role keeps it from starting so, or a false HostDown follows.
    seen = api.query(MONITORING[region], "max_over_time(ALERTS[1h])")
    strangers = sorted({(a["metric"]["alertname"], a["metric"].get("instance", "")) for a in seen
                        if "instance" in a["metric"] and a["metric"]["instance"] not in {"mon-sp", "mon-va", "tgt-va"}})
    assert strangers == []
