"""The postgres exporter on each server: HTTPS only, logged in (pg_up 1) with the
monitoring login whose password is in no environment, exposing every pg_* metric the
PostgreSQL alert rules read, and sandboxed (`systemd-analyze security` at most 3.0; the
package's unit alone scores 9.2)."""


import pytest
import yaml

from tests.helpers.ansible_run import ROOT
from tests.helpers.hosts import systemd_exposure
from tests.helpers.promql import exposed_names, metric_names, sample_values

CA = "/etc/ssl/editaliza/ca.crt"
PORT = 9187


def scrape(host, address):
    out = host.run(f"curl -sS --fail --max-time 10 --cacert {CA} https://{address}:{PORT}/metrics")
    assert out.rc == 0, out.stderr
    return out.stdout


def sample(metrics, name, **labels):
    """The value of the one sample of `name` whose labels include `labels`."""
    values = sample_values(metrics, name, **labels)
    assert len(values) == 1, f"{name}{labels}: {values}"
    return values[0]


@pytest.fixture(scope="module")
def metrics(hosts, addresses):
    return {name: scrape(hosts[name], addresses[name]) for name in ("pg-sp", "pg-va")}


def test_each_exporter_is_logged_in(metrics):
    assert sample(metrics["pg-sp"], "pg_up") == 1
    assert sample(metrics["pg-va"], "pg_up") == 1


@pytest.mark.parametrize("name", ["pg-sp", "pg-va"])
def test_the_exporter_is_sandboxed(hosts, name):
    unit = "prometheus-postgres-exporter.service"
    assert hosts[name].file(f"/etc/systemd/system/{unit}.d/10-sandbox.conf").exists
    assert systemd_exposure(hosts[name], unit) <= 3.0


def test_primary_and_replica_are_told_apart(metrics):
    assert sample(metrics["pg-sp"], "pg_replication_is_replica") == 0
    assert sample(metrics["pg-va"], "pg_replication_is_replica") == 1
    assert sample(metrics["pg-va"], "pg_replication_lag") >= 0


def test_the_replicas_slot_is_active_on_the_primary(metrics):
    assert sample(metrics["pg-sp"], "pg_replication_slots_active", slot_name="pg_va", slot_type="physical") == 1
    assert sample(metrics["pg-sp"], "pg_replication_slots_retained_wal_bytes", slot_name="pg_va") >= 0


def test_postgres_rules_read_metrics_the_exporter_exposes(metrics):
    groups = yaml.safe_load((ROOT / "roles/prometheus/files/rules/data.yml").read_text())["groups"]
    names = sorted({n for g in groups for r in g["rules"] for n in metric_names(r["expr"]) if n.startswith("pg_")})
    assert {"pg_up", "pg_replication_slots_active", "pg_replication_lag"} <= set(names), names
    exposed = set().union(*(exposed_names(m) for m in metrics.values()))
    missing = [n for n in names if n not in exposed]
    assert missing == [], f"rules read metrics the exporters do not expose: {missing}"


def test_plain_http_is_refused(hosts, addresses):
    out = hosts["pg-sp"].run(f"curl -sS --max-time 5 http://{addresses['pg-sp']}:{PORT}/metrics")
    assert "pg_up" not in out.stdout
    assert "Client sent an HTTP request to an HTTPS server" in out.stdout or out.rc != 0, out.stdout


def test_the_monitoring_password_is_in_a_group_readable_file_only(hosts, logins):
    host = hosts["pg-sp"]
    f = host.file("/etc/prometheus/postgres-exporter.password")
    assert (f.user, f.group, f.mode) == ("root", "prometheus", 0o640)
    pid = host.check_output("systemctl show -p MainPID --value prometheus-postgres-exporter")
    environ = host.run(f"tr '\\0' '\\n' < /proc/{pid}/environ").stdout
    assert "DATA_SOURCE_PASS_FILE=" in environ
    assert logins["monitoring"]["password"] not in environ
    assert logins["monitoring"]["password"] not in host.file("/etc/default/prometheus-postgres-exporter").content_string
