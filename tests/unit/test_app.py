"""filter_plugins/app.py: upstream servers of the load balancers, TLS pair check."""

import datetime

import pytest
from ansible.errors import AnsibleFilterError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from filter_plugins.app import (
    app_instance_port,
    app_metrics_port,
    app_port_block,
    app_upstream_servers,
    tls_pair_problems,
)

REGIONS = {
    "lb-sp": "saopaulo", "app-sp1": "saopaulo", "app-sp2": "saopaulo", "app-va1": "virginia", "lb-va": "virginia",
}
ADDRESSES = {"app-sp1": "10.0.1.11", "app-sp2": "10.0.1.12", "app-va1": "10.0.2.11"}
APP = ["app-va1", "app-sp2", "app-sp1"]


def test_local_region_first_and_other_regions_as_backup():
    servers = app_upstream_servers("lb-sp", APP, REGIONS, ADDRESSES, {}, {"instances": 2})
    assert [(s["address"], s["backup"]) for s in servers] == [
        ("10.0.1.11:8080", False), ("10.0.1.11:8081", False),
        ("10.0.1.12:8080", False), ("10.0.1.12:8081", False),
        ("10.0.2.11:8080", True), ("10.0.2.11:8081", True),
    ]
    assert not any(s["down"] for s in servers)


def test_host_variables_set_count_base_and_live_colour():
    hostvars = {"app-va1": {"app_instances_per_host": 1, "app_port_base": 9000, "app_live_color": "green"}}
    servers = app_upstream_servers("lb-va", APP, REGIONS, ADDRESSES, hostvars, {"instances": 2})
    assert servers[0] == {"host": "app-va1", "address": "10.0.2.11:9010", "backup": False, "down": False}
    assert [s["backup"] for s in servers[1:]] == [True] * 4


def test_drain_marks_a_host_or_one_instance_down():
    servers = app_upstream_servers("lb-sp", APP, REGIONS, ADDRESSES, {}, {}, drain=["app-sp1", "app-sp2:8081"])
    down = [s["address"] for s in servers if s["down"]]
    assert down == ["10.0.1.11:8080", "10.0.1.11:8081", "10.0.1.12:8081"]


def test_draining_every_local_instance_is_refused():
    with pytest.raises(AnsibleFilterError, match=r"'lb-va'.*without a serving app instance"):
        app_upstream_servers("lb-va", APP, REGIONS, ADDRESSES, {}, {}, drain=["app-va1"])


def test_region_without_app_hosts_is_named():
    regions = {**REGIONS, "lb-eu": "europe"}
    with pytest.raises(AnsibleFilterError, match=r"'lb-eu' is in region 'europe'.*saopaulo, virginia"):
        app_upstream_servers("lb-eu", APP, regions, ADDRESSES, {})


def test_unknown_colour_names_the_host():
    with pytest.raises(AnsibleFilterError, match="'app-sp1' has app_live_color 'red'"):
        app_upstream_servers("lb-sp", APP, REGIONS, ADDRESSES, {"app-sp1": {"app_live_color": "red"}})


def test_missing_region_or_address_is_an_error():
    with pytest.raises(AnsibleFilterError, match="no region for host 'app-xx'"):
        app_upstream_servers("lb-sp", ["app-xx"], REGIONS, ADDRESSES, {})
    with pytest.raises(AnsibleFilterError, match="no address for app host 'app-sp2'"):
        app_upstream_servers("lb-sp", APP, REGIONS, {"app-sp1": "10.0.1.11"}, {})


def _pair(cn="www.editaliza.lab"):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), pem_key


def test_matching_pair_has_no_problem():
    cert, key = _pair()
    assert tls_pair_problems(cert, key) == []


def test_key_of_another_certificate_is_refused():
    cert, _ = _pair()
    _, other_key = _pair()
    assert tls_pair_problems(cert, other_key, "public") == [
        "public: the private key does not match the certificate (CN=www.editaliza.lab)"
    ]


def test_garbage_is_reported_not_raised():
    cert, key = _pair()
    assert "not PEM" in tls_pair_problems("nonsense", key)[0]
    assert "not an unencrypted PEM key" in tls_pair_problems(cert, "nonsense")[0]


def test_metrics_port_of_an_instance_names_colour_and_index():
    assert app_metrics_port(1, 8080, "green") == {"port": 8091, "labels": {"app_instance": "green-1"}}


def test_the_colour_port_rule_is_one_function():
    # Blue from the base, green 10 above: what the containers, the upstreams, the metrics
    # and the rolling deploy all use.
    assert [app_instance_port(i, "blue", 8080) for i in (0, 1)] == [8080, 8081]
    assert [app_instance_port(i, "green", "9000") for i in ("0", "1")] == [9010, 9011]
    with pytest.raises(AnsibleFilterError, match="app colour 'red'"):
        app_instance_port(0, "red", 8080)


def test_the_port_block_holds_every_instance_of_every_colour():
    """The firewall opens, and the preflights keep clear, exactly the ports the rule gives."""
    block = app_port_block("8080")
    assert (block["first"], block["last"], block["span"]) == (8080, 8099, 20)
    used = {app_instance_port(i, color, 8080) for color in ("blue", "green") for i in range(block["max_instances"])}
    assert used == set(range(block["first"], block["last"] + 1))

