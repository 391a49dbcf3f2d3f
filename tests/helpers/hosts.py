"""What tests ask of a test host."""

from __future__ import annotations

import re


def host_address(host) -> str:
    """The IPv4 address a testinfra host sends from (the source of its default route):
    the address its peers see, and the one the inventory's filters derive for it."""
    return host.check_output("ip -4 -o route get 1.1.1.1 | sed -n 's/.* src \\([0-9.]*\\).*/\\1/p'")


def systemd_exposure(host, unit: str) -> float:
    """`systemd-analyze security UNIT`'s overall exposure (0 best, 10 worst), printed with
    the host's name so that the test output keeps each unit's figure."""
    out = host.check_output(f"systemd-analyze security {unit}")
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out)
    assert found, out[-500:]
    print(f"{host.backend.get_hostname()}: systemd-analyze security {unit}: {found.group(1)}")
    return float(found.group(1))
