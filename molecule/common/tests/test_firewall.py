"""nftables: default deny inbound, and the allow-lists the inventory's groups imply,
probed from the other hosts."""

import json

import pytest

testinfra_hosts = ["all"]


def curl(client, url, timeout=4):
    """curl's exit status: 0 answered, 7 refused (port open, nothing listening), 28 dropped."""
    return client.run(f"curl -sS -o /dev/null --max-time {timeout} {url}").rc


def test_input_policy_is_drop(host):
    chain = json.loads(host.check_output("nft -j list chain inet editaliza input"))
    policies = [i["chain"]["policy"] for i in chain["nftables"] if "chain" in i]
    assert policies == ["drop"]


@pytest.mark.parametrize("name", ["common-db", "common-mon", "common-app"])
def test_node_exporter_answers_monitoring_over_tls(mon, name):
    # curl verifies the exporter's certificate with the host's trust store (pki role).
    out = mon.check_output(f"curl -sS --max-time 5 https://{name}:9100/metrics")
    assert "node_uname_info{" in out
    assert f'nodename="{name}"' in out


def test_node_exporter_refuses_plain_http(mon, db_address):
    result = mon.run(f"curl -sS --max-time 4 http://{db_address}:9100/metrics")
    assert "Client sent an HTTP request to an HTTPS server" in result.stdout + result.stderr


def test_exporter_and_ssh_are_dropped_from_other_hosts(app, db_address):
    assert curl(app, f"https://{db_address}:9100/metrics") == 28
    assert app.run(f"timeout 5 bash -c 'echo > /dev/tcp/{db_address}/22'").rc != 0


def test_postgres_port_is_open_to_the_app_host_only_where_it_runs(app, db_address, app_address, mon):
    # Allowed and nothing listens yet: refused at once, not dropped.
    assert curl(app, f"http://{db_address}:5432/") == 7
    # PostgreSQL's port is not open on the app host itself.
    assert curl(mon, f"http://{app_address}:5432/") == 28


def set_elements(host, name):
    listing = json.loads(host.check_output(f"nft -j list set inet editaliza {name}"))
    return next(s["set"].get("elem", []) for s in listing["nftables"] if "set" in s)


def test_ruleset_names_sources_from_the_inventory(db, app_address, mon_address):
    assert sorted(set_elements(db, "postgres_v4")) == sorted([app_address, mon_address])
    assert set_elements(db, "node_exporter_v4") == [mon_address]
    assert set_elements(db, "ssh_v4") == ["10.214.1.1"]


def test_textfile_metrics_are_exported(db, mon):
    db.run("echo 'editaliza_test_marker 42' > /var/lib/prometheus/node-exporter/test.prom")
    try:
        assert "editaliza_test_marker 42" in mon.check_output("curl -sS https://common-db:9100/metrics")
    finally:
        db.run("rm -f /var/lib/prometheus/node-exporter/test.prom")


def test_firewall_follows_the_port_variable_the_service_reads(app, db_address):
    # pgbouncer_port is 6433 on common-db (molecule.yml); its role's default, 6432, is not open.
    assert curl(app, f"http://{db_address}:6433/") == 7
    assert curl(app, f"http://{db_address}:6432/") == 28
