"""filter_plugins/systemd.py: one sandbox, opened only where a daemon needs it."""

import pytest
from ansible.errors import AnsibleFilterError

from filter_plugins.systemd import systemd_sandbox


def settings(text):
    return [line for line in text.splitlines() if not line.startswith("#")]


def test_the_default_sandbox_closes_everything_an_exporter_does_not_use():
    lines = settings(systemd_sandbox("x.service"))
    for wanted in ("NoNewPrivileges=yes", "CapabilityBoundingSet=", "ProtectSystem=strict", "ProtectClock=yes",
                   "PrivateDevices=yes", "MemoryDenyWriteExecute=yes", "SystemCallErrorNumber=EPERM",
                   "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"):
        assert wanted in lines
    # The allow-list first, then what is taken out of it (systemd applies them in order).
    filters = [line for line in lines if line.startswith("SystemCallFilter=")]
    assert filters == ["SystemCallFilter=@system-service", "SystemCallFilter=~@privileged"]
    # Never: daemons share users (pgbouncer and PostgreSQL: `postgres`), and RemoveIPC
    # would take PostgreSQL's shared memory away when pgbouncer stops.
    assert not any(line.startswith("RemoveIPC") for line in lines)
    assert not any(line.startswith("ReadWritePaths=") for line in lines)


def test_reading_the_clock_drops_protect_clock_and_allows_adjtimex_after_the_deny_list():
    lines = settings(systemd_sandbox("node.service", read_clock=True,
                                     address_families=["AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"]))
    assert "ProtectClock=yes" not in lines
    filters = [line for line in lines if line.startswith("SystemCallFilter=")]
    assert filters[-1] == "SystemCallFilter=adjtimex"
    assert "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK" in lines


def test_written_paths_are_listed():
    lines = settings(systemd_sandbox("d", read_write_paths=["/var/lib/a", "/run/b"]))
    # Each one optional: a directory missing at start must not stop the daemon from starting.
    assert "ReadWritePaths=-/var/lib/a -/run/b" in lines


@pytest.mark.parametrize("families", [[], ["INET"]])
def test_families_that_are_not_af_names_are_refused_naming_the_unit(families):
    with pytest.raises(AnsibleFilterError, match=r"systemd_sandbox for d\.service: address families"):
        systemd_sandbox("d.service", address_families=families)


def test_a_daemon_that_starts_as_root_keeps_only_the_capabilities_named():
    lines = settings(systemd_sandbox("nginx.service", capabilities=["CAP_NET_BIND_SERVICE", "CAP_SETUID"],
                                     syscalls=["@setuid"]))
    assert "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETUID" in lines
    assert "AmbientCapabilities=" in lines
    assert lines[-1] == "SystemCallFilter=@setuid"


def test_capabilities_that_are_not_cap_names_are_refused():
    with pytest.raises(AnsibleFilterError, match="capabilities must be CAP_"):
        systemd_sandbox("d.service", capabilities=["NET_ADMIN"])
