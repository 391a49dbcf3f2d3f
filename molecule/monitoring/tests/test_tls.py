"""Issue 18.2: Prometheus' and Alertmanager's HTTPS ports against Mozilla's "modern"
profile (sslyze from the Docker host)."""

import pytest

from plugin_utils.inventory_facts import role_default
from tests.helpers.tls import mozilla_issues


@pytest.mark.parametrize("port_var", ["prometheus_port", "alertmanager_port"])
def test_prometheus_and_alertmanager_are_mozilla_modern(hosts, addresses, port_var):
    target = f"{addresses['mon-sp']}:{role_default(port_var)}"
    assert mozilla_issues(hosts["mon-sp"], target, "internal") == {}
