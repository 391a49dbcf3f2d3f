"""App tier facts: the load balancers' upstream servers, the TLS pair check.

Pure functions over `groups` and `hostvars`; every error names the host or region at
fault. Unit tests: tests/unit/test_app.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ansible.errors import AnsibleFilterError

# The helpers the filter files share (plugin_utils/inventory_facts.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugin_utils"))
from inventory_facts import role_default

try:  # the control node's filters run with the Python that runs Ansible (.venv)
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
except ImportError:  # pragma: no cover - ansible-core depends on cryptography
    x509 = None

# The colour/port rule, written once: up to APP_MAX_INSTANCES per host and colour; blue
# instances from a host's app_port_base, green ones from app_port_base + 10 (blue-green
# deploys run both colours side by side). A host's app ports are one block of
# APP_PORT_SPAN ports from app_port_base: the firewall opens it (common's rule `app`,
# port_span), the app and nginx preflights check it (app_port_block).
APP_MAX_INSTANCES = 10
COLOR_OFFSET = {"blue": 0, "green": APP_MAX_INSTANCES}
APP_PORT_SPAN = len(COLOR_OFFSET) * APP_MAX_INSTANCES


def app_instance_port(index, color, base):
    """The port of instance `index` of colour `color` on a host whose app_port_base is `base`."""
    if color not in COLOR_OFFSET:
        raise AnsibleFilterError(f"app colour '{color}': expected one of {', '.join(COLOR_OFFSET)}")
    return int(base) + COLOR_OFFSET[color] + int(index)


def app_port_block(base):
    """The app's ports on a host whose app_port_base is `base`: {first, last, span,
    max_instances}, every colour and instance included."""
    first = int(base)
    return {"first": first, "last": first + APP_PORT_SPAN - 1, "span": APP_PORT_SPAN,
            "max_instances": APP_MAX_INSTANCES}


def _instances(host, hostvars, defaults):
    hv = hostvars.get(host, {})
    # A host that sets none: the caller's defaults, else the app role's.
    count = int(hv.get("app_instances_per_host", defaults.get("instances") or role_default("app_instances_per_host")))
    base = int(hv.get("app_port_base", defaults.get("port_base") or role_default("app_port_base")))
    color = hv.get("app_live_color") or defaults.get("color", "blue")
    if color not in COLOR_OFFSET:
        raise AnsibleFilterError(f"app host '{host}' has app_live_color '{color}', expected blue or green")
    return [app_instance_port(i, color, base) for i in range(count)]


def app_upstream_servers(lb_host, app_hosts, regions, addresses, hostvars, defaults=None, drain=None):
    """Upstream servers of the load balancer `lb_host`, as dicts {host, address, backup, down}.

    `regions` and `addresses` map inventory names to their region and fleet address (the
    topology filters `host_region` and `fleet_address` make them, for `lb_host` and every
    app host). The app instances of the load balancer's region come first and take the
    traffic; those of other regions follow as `backup`. Each app host's live colour
    (`app_live_color`, set by the app role) picks its ports. `drain` lists "host" or
    "host:port" entries marked `down` (a deploy takes them out of rotation).
    """
    defaults = defaults or {}
    drain = set(drain or [])
    try:
        region = regions[lb_host]
        app_hosts = sorted(app_hosts)
        local = [h for h in app_hosts if regions[h] == region]
        others = [h for h in app_hosts if regions[h] != region]
    except KeyError as exc:
        raise AnsibleFilterError(f"app_upstream_servers: no region for host {exc}") from exc
    if not local:
        found = sorted({regions[h] for h in app_hosts}) or ["none"]
        raise AnsibleFilterError(
            f"load balancer '{lb_host}' is in region '{region}', which has no host in group app "
            f"(regions with app hosts: {', '.join(found)}); add app hosts to region_{region}"
        )
    servers = []
    for host in local + others:
        if host not in addresses:
            raise AnsibleFilterError(f"app_upstream_servers: no address for app host '{host}'")
        for port in _instances(host, hostvars, defaults):
            servers.append(
                {
                    "host": host,
                    "address": f"{addresses[host]}:{port}",
                    "backup": host in others,
                    "down": host in drain or f"{host}:{port}" in drain,
                }
            )
    if all(s["down"] for s in servers if not s["backup"]):
        raise AnsibleFilterError(
            f"load balancer '{lb_host}': draining {', '.join(sorted(drain))} would leave region '{region}' "
            "without a serving app instance"
        )
    return servers


def app_metrics_port(index, base, color):
    """{port, labels} of instance `index` of `color` on a host whose app_port_base is `base`."""
    return {"port": app_instance_port(index, color, base), "labels": {"app_instance": f"{color}-{int(index)}"}}


def tls_pair_problems(certificate_pem, key_pem, name="certificate"):
    """[] when the PEM key belongs to the first certificate of the PEM chain, else the reasons."""
    if x509 is None:  # pragma: no cover
        raise AnsibleFilterError("tls_pair_problems needs the cryptography package on the control node")
    try:
        cert = x509.load_pem_x509_certificate(str(certificate_pem).encode())
    except ValueError as exc:
        return [f"{name}: the certificate is not PEM ({exc})"]
    try:
        key = serialization.load_pem_private_key(str(key_pem).encode(), password=None)
    except (ValueError, TypeError) as exc:
        return [f"{name}: the private key is not an unencrypted PEM key ({type(exc).__name__})"]
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if cert.public_key().public_bytes(*fmt) != key.public_key().public_bytes(*fmt):
        return [f"{name}: the private key does not match the certificate ({cert.subject.rfc4514_string()})"]
    return []


class FilterModule:
    def filters(self):
        return {
            "app_instance_port": app_instance_port,
            "app_port_block": app_port_block,
            "app_metrics_port": app_metrics_port,
            "app_upstream_servers": app_upstream_servers,
            "tls_pair_problems": tls_pair_problems,
        }
