"""Issue 18.2: Prometheus' and Alertmanager's HTTPS ports against Mozilla's "modern"
profile (sslyze from the Docker host)."""

import pytest

from plugin_utils.inventory_facts import role_default
from tests.helpers.tls import admitted_from_docker_host, mozilla_issues


@pytest.mark.parametrize("rule", ["prometheus", "alertmanager"])
def test_prometheus_and_alertmanager_are_mozilla_modern(hosts, addresses, rule):
    with admitted_from_docker_host(hosts["mon-sp"], rule):
        issues = mozilla_issues(hosts["mon-sp"], f"{addresses['mon-sp']}:{role_default(rule + '_port')}", "internal")
    assert issues == {}
