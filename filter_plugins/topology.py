"""Derive cross-host facts from the inventory: addresses, regions, firewall allow-lists.

Pure functions over `hostvars` and `groups` (and the roles' defaults files, read-only);
every error names the host, group or rule at fault. Unit tests: tests/unit/test_topology.py.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

from ansible.errors import AnsibleError, AnsibleFilterError

# The helpers the filter files share (plugin_utils/inventory_facts.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugin_utils"))
from inventory_facts import REGION_PREFIX, ROLES_DIR, regions_of, role_default, url_host


def _is_ip(value) -> bool:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def fleet_address(host, hostvars):
    """The address other hosts use to reach `host`.

    In order: the host's `fleet_address` variable; its `ansible_host` when that is an IP
    address (the lab and most cloud inventories); the IPv4 address of its default route
    from gathered or cached facts (hosts reached by name, such as Molecule's containers).
    """
    try:
        hv = hostvars[host]
    except KeyError as exc:
        raise AnsibleFilterError(f"fleet_address: host '{host}' is not in the inventory") from exc
    if hv.get("fleet_address"):
        address = str(hv["fleet_address"])
        if not _is_ip(address):
            raise AnsibleFilterError(
                f"fleet_address: host '{host}' has fleet_address '{address}', expected an IP address"
            )
        return address
    if _is_ip(hv.get("ansible_host", "")):
        return str(hv["ansible_host"])
    default = (hv.get("ansible_facts") or {}).get("default_ipv4") or {}
    if default.get("address"):
        return default["address"]
    raise AnsibleFilterError(
        f"fleet_address: host '{host}' has no address: set fleet_address or an IP ansible_host, "
        "or gather its facts in this run"
    )


def fleet_addresses(hosts, hostvars):
    """Sorted, de-duplicated addresses of `hosts`."""
    return sorted({fleet_address(h, hostvars) for h in hosts}, key=_address_sort_key)


def _address_sort_key(address):
    net = ipaddress.ip_network(address, strict=False)
    return (net.version, net.network_address.packed, net.prefixlen)


def host_region(host, hostvars):
    """The single `region_*` group of `host`, without the prefix."""
    if host not in hostvars:
        raise AnsibleFilterError(f"host_region: host '{host}' is not in the inventory")
    regions = regions_of(host, hostvars)
    if len(regions) != 1:
        found = ", ".join(REGION_PREFIX + r for r in regions) or "none"
        raise AnsibleFilterError(
            f"host_region: host '{host}' must be in exactly one region_* group, found: {found}"
        )
    return regions[0]


def _cidr(value, rule_name):
    try:
        return str(ipaddress.ip_network(str(value), strict=True))
    except ValueError as exc:
        raise AnsibleFilterError(
            f"firewall rule '{rule_name}': '{value}' is not a valid CIDR ({exc})"
        ) from exc


def _group_hosts(groups, group, rule_name, field):
    if group not in groups:
        raise AnsibleFilterError(
            f"firewall rule '{rule_name}': {field} names group '{group}', "
            "which the inventory does not define"
        )
    return groups[group]


def _host_value(host, hostvars, name, roles_dir):
    """`name` as the inventory (or the run's extra vars) sets it for `host`, else its
    role's default: role defaults of another play are not in hostvars."""
    hv = hostvars[host]
    try:
        if name in hv:
            return hv[name]
    except AnsibleError as exc:
        raise AnsibleFilterError(f"host '{host}': {name} could not be templated ({exc})") from exc
    return role_default(name, roles_dir)


def _port_number(value, host, label, rule_name):
    if isinstance(value, bool) or not str(value).strip().isdigit() or not 1 <= int(str(value)) <= 65535:
        raise AnsibleFilterError(
            f"host '{host}': {label} is {value!r} (firewall rule '{rule_name}'), expected a port in 1-65535"
        )
    return int(str(value))


def rule_port_sources(rule, host, hostvars, roles_dir=ROLES_DIR):
    """[(low, high, label)]: the ports the rule `port_vars` names, as `host` has them.

    An entry is a variable (`redis_sentinel_port`) or a variable holding a list of
    dicts and the key of each item's port (`redis_instances.port`). `port_span: N`
    opens N ports from each (`app_port_base`: the blue and green instances).
    """
    name = rule.get("name")
    span = rule.get("port_span", 1)
    if isinstance(span, bool) or not isinstance(span, int) or span < 1:
        raise AnsibleFilterError(f"firewall rule '{name}': port_span {span!r}, expected a positive integer")
    out = []
    for ref in rule.get("port_vars", []):
        var, _, key = str(ref).partition(".")
        value = _host_value(host, hostvars, var, roles_dir)
        if key:
            if not isinstance(value, list):
                raise AnsibleFilterError(f"host '{host}': {var} is not a list (firewall rule '{name}': {ref})")
            items = [(f"{var}[{i}].{key}", item.get(key) if isinstance(item, dict) else None)
                     for i, item in enumerate(value)]
        else:
            items = [(var, value)]
        for label, item in items:
            low = _port_number(item, host, label, name)
            high = low + span - 1
            if high > 65535:
                raise AnsibleFilterError(
                    f"host '{host}': {label} is {low}; with port_span {span} (firewall rule '{name}') "
                    "it passes 65535"
                )
            out.append((low, high, label))
    return out


def _ports(rule, host=None, hostvars=None, roles_dir=ROLES_DIR):
    """The rule's ports as nftables text; `port_vars` resolved for `host` when given."""
    ports = rule.get("ports", [rule["port"]] if "port" in rule else [])
    if rule.get("port_vars") and host is not None:
        ports = list(ports) + [str(lo) if lo == hi else f"{lo}-{hi}"
                               for lo, hi, _ in rule_port_sources(rule, host, hostvars, roles_dir)]
    if not ports and not rule.get("port_vars"):
        raise AnsibleFilterError(f"firewall rule '{rule['name']}': no port, ports or port_vars given")
    out = []
    for port in ports:
        text = str(port)
        low, _, high = text.partition("-")
        try:
            bounds = [int(low)] + ([int(high)] if high else [])
        except ValueError as exc:
            raise AnsibleFilterError(
                f"firewall rule '{rule['name']}': port '{port}' is not a number or a range"
            ) from exc
        if not all(1 <= b <= 65535 for b in bounds) or bounds != sorted(bounds):
            raise AnsibleFilterError(f"firewall rule '{rule['name']}': port '{port}' is out of range")
        out.append(text)
    return out


def firewall_allow(host, rules, groups, hostvars, roles_dir=ROLES_DIR):
    """The inbound allow-list of `host`: the rules whose `on_groups` contain it.

    A rule: {name, port | ports | port_vars (+ port_span), proto (tcp|udp, default tcp),
    on_groups: [groups], from_groups: [groups], from_cidrs: [CIDRs]}. `port_vars` names
    the variables the services listen on (rule_port_sources), so a port is written once,
    in its role's defaults or the inventory. Every group named must exist in the
    inventory (it may be empty); every CIDR must be well-formed. Returns, per rule that
    applies, {name, proto, ports, any, v4, v6}: `any` when a source is 0.0.0.0/0 or ::/0,
    else the sorted IPv4 and IPv6 sources (the source hosts' fleet addresses and CIDRs).
    Rules with no source at all (empty groups) are returned with empty lists, so the
    rendered ruleset can say so.
    """
    result = []
    for rule in rules:
        name = rule.get("name")
        if not name:
            raise AnsibleFilterError(f"firewall rule without a name: {rule!r}")
        proto = rule.get("proto", "tcp")
        if proto not in ("tcp", "udp"):
            raise AnsibleFilterError(f"firewall rule '{name}': proto '{proto}', expected tcp or udp")
        on_groups = rule.get("on_groups", [])
        if not on_groups:
            raise AnsibleFilterError(f"firewall rule '{name}': 'on_groups' lists no group")
        applies = any(host in _group_hosts(groups, g, name, "on_groups") for g in on_groups)
        ports = _ports(rule, host if applies else None, hostvars, roles_dir)
        sources = [_cidr(c, name) for c in rule.get("from_cidrs", [])]
        for group in rule.get("from_groups", []):
            members = _group_hosts(groups, group, name, "from_groups")
            if applies:
                sources += [fleet_address(h, hostvars) for h in members if h != host]
        if not applies:
            continue
        nets = {ipaddress.ip_network(s, strict=False) for s in sources}
        any_source = any(n.prefixlen == 0 for n in nets)
        v4 = sorted((n for n in nets if n.version == 4), key=lambda n: (n.network_address, n.prefixlen))
        v6 = sorted((n for n in nets if n.version == 6), key=lambda n: (n.network_address, n.prefixlen))
        result.append({
            "name": name,
            "proto": proto,
            "ports": ports,
            "any": any_source,
            "v4": [] if any_source else [_plain(n) for n in v4],
            "v6": [] if any_source else [_plain(n) for n in v6],
        })
    return result


def firewall_port_collisions(host, rules, groups, hostvars, roles_dir=ROLES_DIR):
    """Messages for ports two services of `host` would both listen on: two variables (or
    two items of one list) the rules that apply to `host` resolve to overlapping ports of
    one protocol. The same variable in two rules (one port, two audiences) is no collision.
    """
    seen = []
    for rule in rules:
        on_groups = rule.get("on_groups", [])
        if not any(host in groups.get(g, []) for g in on_groups):
            continue
        proto = rule.get("proto", "tcp")
        for low, high, label in rule_port_sources(rule, host, hostvars, roles_dir):
            if not any(p == proto and lbl == label for p, _, _, lbl in seen):
                seen.append((proto, low, high, label))
    problems = []
    for i, (proto, low, high, label) in enumerate(seen):
        for other_proto, other_low, other_high, other_label in seen[i + 1:]:
            if proto == other_proto and low <= other_high and other_low <= high:
                where = str(low) if low == high else f"{low}-{high}"
                there = str(other_low) if other_low == other_high else f"{other_low}-{other_high}"
                problems.append(
                    f"host '{host}': {label} ({where}) and {other_label} ({there}) collide on {proto}"
                )
    return problems


def _plain(net):
    """A /32 or /128 network as a bare address, anything else as a CIDR."""
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)


def firewall_admits(allow, port, address, proto="tcp"):
    """True when the allow-list (from firewall_allow) lets `address` reach `port`."""
    ip = ipaddress.ip_address(str(address))
    for rule in allow:
        if rule["proto"] != proto:
            continue
        for spec in rule["ports"]:
            low, _, high = str(spec).partition("-")
            if not int(low) <= int(port) <= int(high or low):
                continue
            if rule["any"]:
                return True
            sources = rule["v4"] if ip.version == 4 else rule["v6"]
            if any(ip in ipaddress.ip_network(s, strict=False) for s in sources):
                return True
    return False


CONTAINER_TYPES = ("docker", "container", "containerd", "lxc", "podman")


def fleet_down_hosts(value, inventory_hosts=None):
    """The hosts an operator declares down (`fleet_hosts_down`: "a,b" or a list), sorted.

    With `inventory_hosts`, a name that is not among them is refused: a typo must not
    quietly leave a host unchecked while the real one is still reached.
    """
    if value is None or value == "":
        return []
    if isinstance(value, str):
        names = [n.strip() for n in value.split(",")]
    elif isinstance(value, (list, tuple)) and all(isinstance(n, str) for n in value):
        names = [n.strip() for n in value]
    else:
        raise AnsibleFilterError(
            f"fleet_hosts_down: expected host names, as 'a,b' or a list, got {value!r}"
        )
    names = sorted({n for n in names if n})
    if inventory_hosts is not None:
        unknown = [n for n in names if n not in inventory_hosts]
        if unknown:
            raise AnsibleFilterError(
                f"fleet_hosts_down names {', '.join(unknown)}, not in the inventory; expected inventory host names"
            )
    return names


def in_container(virtualization_role, virtualization_type):
    """True when the host is a container guest: it shares its host's kernel and clock, so
    kernel parameters and time discipline are the host's business (ansible_virtualization_*)."""
    return str(virtualization_role or "") == "guest" and str(virtualization_type or "") in CONTAINER_TYPES


def reject_ip_addresses(names):
    """The names in `names` that are not IP addresses (for DNS subject alternative names)."""
    return [n for n in names if not _is_ip(n)]


class FilterModule:
    def filters(self):
        return {
            "fleet_address": fleet_address,
            "fleet_addresses": fleet_addresses,
            "host_region": host_region,
            "url_host": url_host,
            "firewall_allow": firewall_allow,
            "firewall_admits": firewall_admits,
            "firewall_port_collisions": firewall_port_collisions,
            "role_default": role_default,
            "reject_ip_addresses": reject_ip_addresses,
            "in_container": in_container,
            "fleet_down_hosts": fleet_down_hosts,
        }
