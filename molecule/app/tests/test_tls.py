"""Issue 18.2: the load balancer against Mozilla's "intermediate" profile (its clients are
anyone's browsers) and the registry against "modern" (only dockerd connects), measured
with sslyze from the Docker host (the scenario's "internet")."""

from conftest import LB

from plugin_utils.inventory_facts import role_default
from tests.helpers.https import SITE
from tests.helpers.tls import mozilla_issues


def test_the_load_balancer_is_mozilla_intermediate(hosts):
    # The site's name for SNI and the certificate's check, the load balancer's address.
    assert mozilla_issues(hosts["app-lb"], f"{SITE}:443{{{LB}}}", "public") == {}


def test_the_registry_is_mozilla_modern_but_for_go_s_p521(hosts):
    issues = mozilla_issues(hosts["app-lb"], f"{LB}:{role_default('registry_port')}", "internal")
    # TLS 1.3 only (minimumtls), but distribution has no setting for the key-exchange
    # groups: Go's defaults offer P-521 besides Mozilla's three.
    assert set(issues) <= {"tls_curves"}, issues
    if issues:
        assert "secp521r1" in issues["tls_curves"], issues
        assert "X448" not in issues["tls_curves"], issues
        print("registry: P-521 offered (Go's default groups; distribution has no setting)")
