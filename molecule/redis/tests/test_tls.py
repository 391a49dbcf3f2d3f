"""Issue 18.2: every TLS port of Redis' tier against Mozilla's "modern" profile (sslyze
from the Docker host): each instance, Sentinel, and the exporters."""

import pytest

from plugin_utils.inventory_facts import role_default
from tests.helpers.tls import mozilla_issues

INSTANCES = {i["name"]: i for i in role_default("redis_instances")}


@pytest.mark.parametrize("port", [
    *(pytest.param(i["port"], id=name) for name, i in INSTANCES.items()),
    pytest.param(role_default("redis_sentinel_port"), id="sentinel"),
])
def test_redis_and_sentinel_are_mozilla_modern(hosts, addresses, port):
    assert mozilla_issues(hosts["redis-sp"], f"{addresses['redis-sp']}:{port}", "internal") == {}


@pytest.mark.parametrize("port", [
    *(pytest.param(i["exporter_port"], id=f"{name}-exporter") for name, i in INSTANCES.items()),
    pytest.param(role_default("redis_sentinel_exporter_port"), id="sentinel-exporter"),
])
def test_the_exporters_are_mozilla_modern_but_for_go_s_p521(hosts, addresses, port):
    issues = mozilla_issues(hosts["redis-sp"], f"{addresses['redis-sp']}:{port}", "internal")
    # TLS 1.3 only (REDIS_EXPORTER_TLS_SERVER_MIN_VERSION), but redis_exporter has no
    # setting for the key-exchange groups: Go's defaults offer P-521 besides Mozilla's three.
    assert set(issues) <= {"tls_curves"}, issues
    if issues:
        assert "secp521r1" in issues["tls_curves"], issues
        assert "X448" not in issues["tls_curves"], issues
        print(f"redis exporter :{port}: P-521 offered (Go's default groups; redis_exporter has no setting)")
