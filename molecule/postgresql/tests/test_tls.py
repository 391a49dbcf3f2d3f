"""Issue 18.2: every TLS port of this tier against Mozilla's "modern" profile (sslyze from
the Docker host): PostgreSQL and pgbouncer (STARTTLS of the PostgreSQL protocol), the
exporter, and pgBackRest's TLS server (it asks for a client certificate, optionally at the
handshake: the certificate's name is checked after it, so sslyze needs none)."""

import pytest

from plugin_utils.inventory_facts import role_default
from tests.helpers.tls import mozilla_issues

ENDPOINTS = {
    "postgresql": ("pg-sp", "postgresql_port", "postgres"),
    "pgbouncer": ("pg-sp", "pgbouncer_port", "postgres"),
    "postgres-exporter": ("pg-sp", "postgresql_exporter_port", None),
    "pgbackrest": ("pg-app", "pgbackrest_tls_port", None),
}


@pytest.mark.parametrize("name", ENDPOINTS)
def test_each_tls_port_is_mozilla_modern(hosts, addresses, name):
    host, port_var, starttls = ENDPOINTS[name]
    issues = mozilla_issues(hosts["pg-sp"], f"{addresses[host]}:{role_default(port_var)}", "internal",
                            starttls=starttls)
    assert issues == {}
