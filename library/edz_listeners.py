#!/usr/bin/python
"""Report sockets that listen, on an address other hosts can reach, on a port the
topology does not declare for this host (the ports its firewall rules open). Nothing is
closed: the process may be anyone's, so a person decides."""

from __future__ import annotations

import ipaddress
import os
import re

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: edz_listeners
short_description: Report listening sockets on undeclared ports
description:
  - Reads /proc/net/{tcp,tcp6,udp,udp6} (TCP sockets in LISTEN, UDP sockets bound and not
    connected) and names each one's process from /proc/<pid>/fd.
  - Sockets bound to loopback only are not reported (no other host reaches them).
  - In check mode an undeclared listener is a change (a drift finding, with a diff); in a
    converge it is a warning, since closing it is a person's decision.
options:
  tcp: {type: list, elements: str, default: [], description: 'Declared TCP ports, "80" or ranges "8080-8099".'}
  udp: {type: list, elements: str, default: [], description: Declared UDP ports, likewise.}
"""

LISTEN, UDP_UNCONNECTED = "0A", "07"


def port_set(specs) -> set[int]:
    ports = set()
    for spec in specs:
        low, _, high = str(spec).partition("-")
        ports.update(range(int(low), int(high or low) + 1))
    return ports


def decode_address(hex_addr: str) -> str:
    """/proc/net's little-endian hex address as text."""
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return str(ipaddress.IPv6Address(words))


def parse_proc_net(text: str, proto: str) -> list[dict]:
    """Listening sockets in one /proc/net table: proto, address, port, inode."""
    sockets = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        state = fields[3]
        if (proto == "tcp" and state != LISTEN) or (proto == "udp" and state != UDP_UNCONNECTED):
            continue
        address, port = fields[1].split(":")
        sockets.append({"proto": proto, "address": decode_address(address), "port": int(port, 16),
                        "inode": int(fields[9])})
    return sockets


def reachable(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_loopback


def undeclared(sockets, tcp: set[int], udp: set[int]) -> list[dict]:
    declared = {"tcp": tcp, "udp": udp}
    seen, found = set(), []
    for s in sorted(sockets, key=lambda s: (s["proto"], s["port"], s["address"])):
        key = (s["proto"], s["address"], s["port"])
        if key in seen or not reachable(s["address"]) or s["port"] in declared[s["proto"]]:
            continue
        seen.add(key)
        found.append(s)
    return found


def owners() -> dict[int, str]:
    """{socket inode: "command (pid N)"}."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            for fd in os.listdir(f"/proc/{pid}/fd"):
                match = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(f"/proc/{pid}/fd/{fd}"))
                if match:
                    found.setdefault(int(match.group(1)), f"{comm} (pid {pid})")
        except OSError:
            continue
    return found


def describe(s: dict, owner: str | None) -> str:
    host = f"[{s['address']}]" if ":" in s["address"] else s["address"]
    return f"{s['proto']} {host}:{s['port']} {owner or '(process unknown)'}"


def main():
    module = AnsibleModule(
        argument_spec={"tcp": {"type": "list", "elements": "str", "default": []},
                       "udp": {"type": "list", "elements": "str", "default": []}},
        supports_check_mode=True,
    )
    sockets = []
    for proto in ("tcp", "udp"):
        for suffix in ("", "6"):
            try:
                with open(f"/proc/net/{proto}{suffix}") as f:
                    sockets += parse_proc_net(f.read(), proto)
            except OSError:
                continue
    found = undeclared(sockets, port_set(module.params["tcp"]), port_set(module.params["udp"]))
    names = owners() if found else {}
    lines = [describe(s, names.get(s["inode"])) for s in found]
    result = {"undeclared": lines, "changed": False}
    if lines:
        text = "".join(f"listening on a port the topology does not declare here: {line}\n" for line in lines)
        if module.check_mode:
            result["changed"] = True
            result["diff"] = {"before": text, "after": "", "before_header": "undeclared listeners",
                              "after_header": "the topology (a person closes them)"}
        else:
            module.warn(f"{text.strip()} -- not closed: a person must decide")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
