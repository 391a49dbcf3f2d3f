"""systemd sandboxing, written once for every unit the fleet sandboxes.

`systemd_sandbox` returns the [Service] lines of a sandbox for a network daemon that only
reads the system (the exporters): no capabilities and no privilege gain, a read-only file
system, private /tmp and devices, kernel and cgroup settings out of reach, a system call
allow-list (@system-service minus @privileged) whose refusals fail with EPERM instead of
killing the daemon. `systemd-analyze security` scores such a unit about 1.5-2 (the
packages' units score 8-9.6). A caller opens only what its daemon needs: address
families, system calls outside the list, paths it writes, the clock's sync state.
Unit tests: tests/unit/test_systemd.py.

Not set, on purpose: RemoveIPC. It removes every IPC object of the unit's user when the
unit stops, and the fleet's daemons share users (pgbouncer runs as `postgres`): tried on
a test host, a restart of a pgbouncer with RemoveIPC deleted PostgreSQL's dynamic shared
memory, and every new connection then failed ("could not open shared memory segment").
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

BASE = (
    ("NoNewPrivileges", "yes"),
    ("CapabilityBoundingSet", ""),
    ("AmbientCapabilities", ""),
    ("ProtectSystem", "strict"),
    ("ProtectHome", "yes"),
    ("PrivateTmp", "yes"),
    ("PrivateDevices", "yes"),
    ("ProtectKernelTunables", "yes"),
    ("ProtectKernelModules", "yes"),
    ("ProtectKernelLogs", "yes"),
    ("ProtectControlGroups", "yes"),
    ("ProtectHostname", "yes"),
    ("RestrictNamespaces", "yes"),
    ("RestrictRealtime", "yes"),
    ("RestrictSUIDSGID", "yes"),
    ("LockPersonality", "yes"),
    ("MemoryDenyWriteExecute", "yes"),
    ("UMask", "0077"),
    ("SystemCallArchitectures", "native"),
    ("SystemCallFilter", "@system-service"),
    ("SystemCallFilter", "~@privileged"),
    ("SystemCallErrorNumber", "EPERM"),
)
FAMILIES = ("AF_INET", "AF_INET6", "AF_UNIX")


def systemd_sandbox(unit, address_families=FAMILIES, syscalls=(), read_write_paths=(), read_clock=False,
                    capabilities=()):
    """The sandbox lines for `unit` (named in the first line, a comment).

    address_families: what the daemon may open sockets of (AF_NETLINK for interface and
    ARP tables); syscalls: allowed beyond the list (names or @groups, e.g. @setuid for a
    daemon that drops to its user itself); read_write_paths: the only places it may
    write; read_clock: the clock's sync state (adjtimex), which ProtectClock would block;
    capabilities: the bounding set (none by default), for a daemon that starts as root.
    """
    families = list(address_families)
    bad = [f for f in families if not str(f).startswith("AF_")]
    if not families or bad:
        raise AnsibleFilterError(f"systemd_sandbox for {unit}: address families must be AF_* names, got {families}")
    bad = [c for c in capabilities if not str(c).startswith("CAP_")]
    if bad:
        raise AnsibleFilterError(f"systemd_sandbox for {unit}: capabilities must be CAP_* names, got {bad}")
    lines = [f"# Sandbox of {unit} (filter_plugins/systemd.py)"]
    for key, value in BASE:
        if key == "CapabilityBoundingSet":
            value = " ".join(capabilities)
        lines.append(f"{key}={value}")
        if key == "ProtectHostname" and not read_clock:
            lines.append("ProtectClock=yes")
    lines.append("RestrictAddressFamilies=" + " ".join(families))
    extra = list(syscalls) + (["adjtimex"] if read_clock else [])
    if extra:
        lines.append("SystemCallFilter=" + " ".join(sorted(set(extra))))
    if read_write_paths:
        # "-": a path missing at start is skipped instead of failing the start (226/NAMESPACE).
        lines.append("ReadWritePaths=" + " ".join(f"-{p}" for p in read_write_paths))
    return "\n".join(lines) + "\n"


class FilterModule:
    def filters(self):
        return {"systemd_sandbox": systemd_sandbox}
