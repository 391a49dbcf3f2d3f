"""Issue 18.2: the node exporter, the one TLS port of the baseline, against Mozilla's
"modern" profile (sslyze from the Docker host)."""

from plugin_utils.inventory_facts import role_default
from tests.helpers.tls import admitted_from_docker_host, mozilla_issues


def test_the_node_exporter_is_mozilla_modern(db, db_address):
    with admitted_from_docker_host(db, "node-exporter"):
        issues = mozilla_issues(db, f"{db_address}:{role_default('common_node_exporter_port')}", "internal")
    assert issues == {}
