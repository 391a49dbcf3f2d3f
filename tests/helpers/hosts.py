"""What tests ask of a test host."""

from __future__ import annotations


def host_address(host) -> str:
    """The IPv4 address a testinfra host sends from (the source of its default route):
    the address its peers see, and the one the inventory's filters derive for it."""
    return host.check_output("ip -4 -o route get 1.1.1.1 | sed -n 's/.* src \\([0-9.]*\\).*/\\1/p'")
