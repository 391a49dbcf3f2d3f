"""Issue 18.2: the node exporter, the one TLS port of the baseline, against Mozilla's
"modern" profile (sslyze from the Docker host)."""

from plugin_utils.inventory_facts import role_default
from tests.helpers.tls import mozilla_issues


def test_the_node_exporter_is_mozilla_modern(db, db_address):
    # The firewall admits only the monitoring hosts: the Docker host (the network's
    # gateway) joins the exporter's set for the measurement, and leaves it after.
    gateway = db.check_output("ip -4 route show default | awk '{print $3}'")
    element = f"inet editaliza node_exporter_v4 {{ {gateway} }}"
    db.check_output(f"nft add element {element}")
    try:
        issues = mozilla_issues(db, f"{db_address}:{role_default('common_node_exporter_port')}", "internal")
    finally:
        db.check_output(f"nft delete element {element}")
    assert issues == {}
