"""A TLS endpoint measured against Mozilla's server-side TLS profiles with sslyze.

The fleet's profiles are in filter_plugins/tls.py: "public" is Mozilla's "intermediate",
"internal" its "modern". sslyze runs on the Docker host (scripts/setup installs it into
.cache/tools/bin) against a test host's address, trusting the fleet's CA as a test host
holds it.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import tempfile
from pathlib import Path

from tests.helpers.ansible_run import cached_tool

MOZILLA = {"public": "intermediate", "internal": "modern"}
ISSUE = re.compile(r"^\s+\* (\w+): (.*)$", re.MULTILINE)


def mozilla_issues(host, target: str, profile: str, *, starttls: str | None = None) -> dict[str, str]:
    """sslyze's findings for `target` ("address:port", or "name:port{address}") against
    the profile's Mozilla configuration: {check: what it found}, empty when compliant.
    `host` is a testinfra host that holds the fleet's CA. The findings are printed with
    the target. (Not for a port that demands a client certificate: sslyze's SSL 2.0 scan
    cannot load an EC client key, and the check then does not run.)"""
    sslyze = cached_tool("sslyze")
    assert sslyze, "sslyze is missing: scripts/setup installs it into .cache/tools/bin"
    with tempfile.TemporaryDirectory() as tmp:
        ca = Path(tmp, "ca.crt")
        ca.write_text(host.file("/etc/ssl/editaliza/ca.crt").content_string)
        cmd = [sslyze, f"--mozilla_config={MOZILLA[profile]}", f"--certinfo_ca_file={ca}"]
        if starttls:
            cmd.append(f"--starttls={starttls}")
        out = subprocess.run([*cmd, target], capture_output=True, text=True, timeout=180, check=False)
    report = out.stdout.split("COMPLIANCE AGAINST", 1)
    assert len(report) == 2, f"sslyze did not check {target}: {out.stdout[-1500:]}{out.stderr[-1500:]}"
    issues = dict(ISSUE.findall(report[1]))
    verdict = "compliant" if out.returncode == 0 and not issues else f"not compliant: {issues}"
    print(f"sslyze --mozilla_config={MOZILLA[profile]} {target}: {verdict}")
    assert (out.returncode == 0) == (not issues), out.stdout[-1500:]
    return issues


@contextlib.contextmanager
def admitted_from_docker_host(host, rule: str):
    """The Docker host (the test network's gateway) in the firewall set of `rule` (a
    name of common_firewall_rules) on `host` for the measurement, taken out after: the
    fleet's firewall admits only the hosts that use a port."""
    gateway = host.check_output("ip -4 route show default | awk '{print $3}'")
    element = f"inet editaliza {rule.replace('-', '_')}_v4 {{ {gateway} }}"
    host.check_output(f"nft add element {element}")
    try:
        yield
    finally:
        host.check_output(f"nft delete element {element}")
