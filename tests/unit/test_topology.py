"""Unit tests for filter_plugins/topology.py."""

import pytest
from ansible.errors import AnsibleFilterError

from filter_plugins.topology import (
    firewall_admits,
    firewall_allow,
    firewall_port_collisions,
    fleet_address,
    fleet_addresses,
    fleet_down_hosts,
    host_region,
    in_container,
    role_default,
    url_host,
)

HOSTVARS = {
    "db1": {"ansible_host": "10.1.0.10", "group_names": ["postgres", "region_saopaulo"]},
    "db2": {"ansible_host": "10.2.0.10", "group_names": ["postgres", "region_virginia"]},
    "app1": {"ansible_host": "10.1.0.20", "group_names": ["app", "region_saopaulo"]},
    "app2": {"ansible_host": "app2.example", "fleet_address": "10.2.0.20",
             "group_names": ["app", "region_virginia"]},
    "mon1": {"ansible_host": "mon1", "ansible_facts": {"default_ipv4": {"address": "10.1.0.30"}},
             "group_names": ["monitoring", "region_saopaulo"]},
    "lost": {"ansible_host": "lost.example", "group_names": ["app"]},
    "twice": {"ansible_host": "10.9.0.1", "group_names": ["region_a", "region_b"]},
}
GROUPS = {
    "all": sorted(HOSTVARS),
    "postgres": ["db1", "db2"],
    "app": ["app1", "app2"],
    "monitoring": ["mon1"],
    "logging": [],
}
RULES = [
    {"name": "ssh", "port": 22, "on_groups": ["all"], "from_cidrs": ["192.0.2.0/24", "2001:db8::/32"]},
    {"name": "postgres", "port": 5432, "on_groups": ["postgres"], "from_groups": ["app", "postgres"]},
    {"name": "node-exporter", "port": 9100, "on_groups": ["all"], "from_groups": ["monitoring"]},
    {"name": "https", "ports": [80, 443], "on_groups": ["app"], "from_cidrs": ["0.0.0.0/0"]},
    {"name": "logstash", "port": 5044, "on_groups": ["logging"], "from_groups": ["all"]},
    {"name": "syslog", "port": "5140-5150", "proto": "udp", "on_groups": ["postgres"],
     "from_groups": ["logging"]},
]


def by_name(allow):
    return {r["name"]: r for r in allow}


def test_address_order_of_preference():
    assert fleet_address("app2", HOSTVARS) == "10.2.0.20"  # fleet_address wins
    assert fleet_address("db1", HOSTVARS) == "10.1.0.10"  # IP ansible_host
    assert fleet_address("mon1", HOSTVARS) == "10.1.0.30"  # facts


def test_address_missing_names_the_host():
    with pytest.raises(AnsibleFilterError, match="'lost'"):
        fleet_address("lost", HOSTVARS)
    with pytest.raises(AnsibleFilterError, match="'nowhere' is not in the inventory"):
        fleet_address("nowhere", HOSTVARS)


def test_fleet_address_must_be_an_ip():
    hv = {"h": {"fleet_address": "db.example"}}
    with pytest.raises(AnsibleFilterError, match=r"host 'h' has fleet_address 'db\.example'"):
        fleet_address("h", hv)


def test_addresses_are_sorted_numerically_and_unique():
    hv = {f"h{i}": {"ansible_host": a} for i, a in enumerate(["10.0.0.10", "10.0.0.9", "10.0.0.9"])}
    assert fleet_addresses(sorted(hv), hv) == ["10.0.0.9", "10.0.0.10"]


def test_region_is_exactly_one():
    assert host_region("db2", HOSTVARS) == "virginia"
    with pytest.raises(AnsibleFilterError, match=r"host 'lost' .* found: none"):
        host_region("lost", HOSTVARS)
    with pytest.raises(AnsibleFilterError, match=r"host 'twice' .* found: region_a, region_b"):
        host_region("twice", HOSTVARS)


def test_postgres_opens_only_to_app_and_other_replicas():
    allow = by_name(firewall_allow("db1", RULES, GROUPS, HOSTVARS))
    assert allow["postgres"]["ports"] == ["5432"]
    assert allow["postgres"]["v4"] == ["10.1.0.20", "10.2.0.10", "10.2.0.20"]
    assert not allow["postgres"]["any"]
    assert "https" not in allow


def test_app_host_gets_https_from_anywhere_and_no_postgres():
    allow = by_name(firewall_allow("app1", RULES, GROUPS, HOSTVARS))
    assert allow["https"]["any"]
    assert allow["https"]["ports"] == ["80", "443"]
    assert allow["https"]["v4"] == []
    assert allow["https"]["v6"] == []
    assert "postgres" not in allow


def test_cidrs_split_by_family_and_facts_addresses_used():
    allow = by_name(firewall_allow("app1", RULES, GROUPS, HOSTVARS))
    assert allow["ssh"]["v4"] == ["192.0.2.0/24"]
    assert allow["ssh"]["v6"] == ["2001:db8::/32"]
    assert allow["node-exporter"]["v4"] == ["10.1.0.30"]


def test_rule_for_an_empty_group_does_not_apply():
    assert "logstash" not in by_name(firewall_allow("db1", RULES, GROUPS, HOSTVARS))


def test_udp_port_range():
    allow = by_name(firewall_allow("db1", RULES, GROUPS, HOSTVARS))
    assert allow["syslog"] == {"name": "syslog", "proto": "udp", "ports": ["5140-5150"],
                               "any": False, "v4": [], "v6": []}


def test_unknown_group_is_refused_with_rule_and_group():
    rules = [{"name": "redis", "port": 6379, "on_groups": ["redis"], "from_groups": ["app"]}]
    with pytest.raises(AnsibleFilterError, match="rule 'redis': on_groups names group 'redis'"):
        firewall_allow("db1", rules, GROUPS, HOSTVARS)
    rules = [{"name": "pg", "port": 5432, "on_groups": ["postgres"], "from_groups": ["apps"]}]
    with pytest.raises(AnsibleFilterError, match="rule 'pg': from_groups names group 'apps'"):
        firewall_allow("db1", rules, GROUPS, HOSTVARS)


def test_unknown_source_group_is_refused_even_on_hosts_the_rule_skips():
    rules = [{"name": "pg", "port": 5432, "on_groups": ["postgres"], "from_groups": ["apps"]}]
    with pytest.raises(AnsibleFilterError, match="group 'apps'"):
        firewall_allow("app1", rules, GROUPS, HOSTVARS)


@pytest.mark.parametrize("cidr", ["10.0.0.0/33", "10.0.0.1/24", "not-a-net", "300.1.1.1"])
def test_malformed_cidr_is_refused_with_rule_and_value(cidr):
    rules = [{"name": "ssh", "port": 22, "on_groups": ["all"], "from_cidrs": [cidr]}]
    with pytest.raises(AnsibleFilterError, match=f"rule 'ssh': '{cidr}' is not a valid CIDR"):
        firewall_allow("db1", rules, GROUPS, HOSTVARS)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "x", "port": 0, "on_groups": ["all"]}, "port '0' is out of range"),
        ({"name": "x", "port": "99-10", "on_groups": ["all"]}, "port '99-10' is out of range"),
        ({"name": "x", "port": "ssh", "on_groups": ["all"]}, "port 'ssh' is not a number"),
        ({"name": "x", "on_groups": ["all"]}, "no port"),
        ({"name": "x", "port": 1, "on_groups": []}, "'on_groups' lists no group"),
        ({"name": "x", "port": 1, "on_groups": ["all"], "proto": "icmp"}, "proto 'icmp'"),
        ({"port": 1, "on_groups": ["all"]}, "without a name"),
    ],
)
def test_malformed_rules_are_refused(rule, message):
    with pytest.raises(AnsibleFilterError, match=message):
        firewall_allow("db1", [rule], GROUPS, HOSTVARS)


def test_admits_checks_port_family_and_source():
    allow = firewall_allow("db1", RULES, GROUPS, HOSTVARS)
    assert firewall_admits(allow, 22, "192.0.2.77")
    assert not firewall_admits(allow, 22, "198.51.100.1")
    assert firewall_admits(allow, 22, "2001:db8::5")
    assert firewall_admits(allow, 5432, "10.2.0.20")
    assert not firewall_admits(allow, 5432, "10.1.0.30")
    assert firewall_admits(allow, 5145, "10.9.9.9", proto="udp") is False
    app_allow = firewall_allow("app1", RULES, GROUPS, HOSTVARS)
    assert firewall_admits(app_allow, 443, "203.0.113.9")


def test_reject_ip_addresses_keeps_names():
    from filter_plugins.topology import reject_ip_addresses

    assert reject_ip_addresses(["db1", "10.0.0.1", "::1", "db1.example"]) == ["db1", "db1.example"]


@pytest.mark.parametrize(
    ("role", "kind", "expected"),
    [("guest", "docker", True), ("guest", "lxc", True), ("guest", "kvm", False), ("host", "docker", False),
     ("", "", False), (None, None, False)],
)
def test_in_container_only_for_container_guests(role, kind, expected):
    assert in_container(role, kind) is expected


def test_url_host_brackets_ipv6_only():
    assert url_host("10.0.1.5") == "10.0.1.5"
    assert url_host("fd00::20") == "[fd00::20]"


@pytest.mark.parametrize(("value", "hosts"), [(None, []), ("", []), ("va-db1", ["va-db1"]),
                                              ("va-db1, sp-db1,", ["sp-db1", "va-db1"]),
                                              (["sp-db1", "sp-db1"], ["sp-db1"])])
def test_hosts_declared_down_read_as_a_list(value, hosts):
    assert fleet_down_hosts(value, ["sp-db1", "va-db1"]) == hosts


def test_a_host_declared_down_must_be_in_the_inventory():
    with pytest.raises(AnsibleFilterError, match="fleet_hosts_down names sp-db9, not in the inventory"):
        fleet_down_hosts("sp-db9", ["sp-db1"])
    with pytest.raises(AnsibleFilterError, match="expected host names"):
        fleet_down_hosts({"sp-db1": True})


# --- ports named by variables (port_vars) ---------------------------------------------

@pytest.fixture
def roles_dir(tmp_path):
    """Two roles whose defaults own ports, as roles/<role>/defaults/main.yml do."""
    for role, text in {
        "redis": "redis_sentinel_port: 26379\nredis_instances:\n"
                 "  - {name: sessions, port: 6379}\n  - {name: cache, port: 6380}\n",
        "app": "app_port_base: 8080\n",
        "pgbouncer": "pgbouncer_port: 6432\npgbouncer_templated: \"{{ x }}\"\n",
    }.items():
        (tmp_path / role / "defaults").mkdir(parents=True)
        (tmp_path / role / "defaults" / "main.yml").write_text(text)
    return tmp_path


PORT_GROUPS = {"all": ["r1", "r2", "a1"], "redis": ["r1", "r2"], "app": ["a1"],
               "lbs": [], "monitoring": []}
PORT_RULES = [
    {"name": "redis", "port_vars": ["redis_instances.port"], "on_groups": ["redis"], "from_groups": ["app"]},
    {"name": "sentinel", "port_vars": ["redis_sentinel_port"], "on_groups": ["redis"], "from_groups": ["app"]},
    {"name": "app", "port_vars": ["app_port_base"], "port_span": 20, "on_groups": ["app"],
     "from_groups": ["lbs"]},
]


def port_hostvars(**r2):
    return {"r1": {"ansible_host": "10.1.0.1"}, "r2": {"ansible_host": "10.1.0.2", **r2},
            "a1": {"ansible_host": "10.1.0.3"}}


def test_port_vars_come_from_the_role_defaults(roles_dir):
    allow = by_name(firewall_allow("r1", PORT_RULES, PORT_GROUPS, port_hostvars(), roles_dir))
    assert allow["redis"]["ports"] == ["6379", "6380"]
    assert allow["sentinel"]["ports"] == ["26379"]
    assert by_name(firewall_allow("a1", PORT_RULES, PORT_GROUPS, port_hostvars(), roles_dir))["app"]["ports"] == [
        "8080-8099"]


def test_port_vars_follow_the_inventory_of_the_host(roles_dir):
    hostvars = port_hostvars(redis_sentinel_port=26400,
                             redis_instances=[{"name": "sessions", "port": 7000}])
    allow = by_name(firewall_allow("r2", PORT_RULES, PORT_GROUPS, hostvars, roles_dir))
    assert allow["sentinel"]["ports"] == ["26400"]
    assert allow["redis"]["ports"] == ["7000"]
    # r1 keeps the role's defaults: the value is the listening host's own.
    assert by_name(firewall_allow("r1", PORT_RULES, PORT_GROUPS, hostvars, roles_dir))["sentinel"]["ports"] == [
        "26379"]


@pytest.mark.parametrize(
    ("r2", "message"),
    [
        ({"redis_sentinel_port": 70000}, "host 'r2': redis_sentinel_port is 70000 .*expected a port in 1-65535"),
        ({"redis_sentinel_port": "x"}, "host 'r2': redis_sentinel_port is 'x'"),
        ({"redis_instances": [{"name": "sessions"}]}, r"host 'r2': redis_instances\[0\].port is None"),
        ({"redis_instances": "6379"}, "host 'r2': redis_instances is not a list"),
    ],
)
def test_bad_port_values_name_host_and_variable(roles_dir, r2, message):
    with pytest.raises(AnsibleFilterError, match=message):
        firewall_allow("r2", PORT_RULES, PORT_GROUPS, port_hostvars(**r2), roles_dir)


def test_port_span_past_the_last_port_is_refused(roles_dir):
    hostvars = port_hostvars()
    hostvars["a1"]["app_port_base"] = 65530
    with pytest.raises(AnsibleFilterError, match="host 'a1': app_port_base is 65530; with port_span 20"):
        firewall_allow("a1", PORT_RULES, PORT_GROUPS, hostvars, roles_dir)


def test_role_default_reads_the_owning_role(roles_dir):
    assert role_default("redis_sentinel_port", roles_dir) == 26379
    with pytest.raises(AnsibleFilterError, match=r"roles/redis/defaults/main\.yml does not define redis_nope"):
        role_default("redis_nope", roles_dir)
    with pytest.raises(AnsibleFilterError, match="no role's name prefixes zebra_port"):
        role_default("zebra_port", roles_dir)
    # A templated default can't be resolved without its role: named, not guessed.
    rules = [{"name": "pgb", "port_vars": ["pgbouncer_templated"], "on_groups": ["all"]}]
    with pytest.raises(AnsibleFilterError, match=r"pgbouncer_templated is '\{\{ x \}\}'"):
        firewall_allow("r1", rules, PORT_GROUPS, port_hostvars(), roles_dir)


def test_port_collisions_name_host_and_both_variables(roles_dir):
    assert firewall_port_collisions("r1", PORT_RULES, PORT_GROUPS, port_hostvars(), roles_dir) == []
    hostvars = port_hostvars(redis_sentinel_port=6380)
    assert firewall_port_collisions("r2", PORT_RULES, PORT_GROUPS, hostvars, roles_dir) == [
        "host 'r2': redis_instances[1].port (6380) and redis_sentinel_port (6380) collide on tcp"]
    # Inside another rule's span, and the same variable in two rules is not a collision.
    rules = [
        *PORT_RULES,
        {"name": "metrics", "port_vars": ["redis_sentinel_port"], "on_groups": ["app"]},
        {"name": "again", "port_vars": ["app_port_base"], "on_groups": ["app"], "from_groups": ["redis"]},
    ]
    hostvars = port_hostvars()
    hostvars["a1"]["redis_sentinel_port"] = 8095
    assert firewall_port_collisions("a1", rules, PORT_GROUPS, hostvars, roles_dir) == [
        "host 'a1': app_port_base (8080-8099) and redis_sentinel_port (8095) collide on tcp"]


def test_a_region_is_the_one_region_group_of_a_host():
    from plugin_utils.inventory_facts import region_of, regions_of

    hostvars = {
        "a": {"group_names": ["app", "region_saopaulo"]},
        "b": {"group_names": ["app"]},
        "c": {"group_names": ["region_saopaulo", "region_virginia"]},
    }
    assert region_of("a", hostvars) == "saopaulo"
    # None where the preflight has something to say (no region, two regions, no host).
    assert [region_of(h, hostvars) for h in ("b", "c", "d")] == [None, None, None]
    assert regions_of("c", hostvars) == ["saopaulo", "virginia"]


def test_the_filters_share_one_region_rule():
    # The filter files read the region from plugin_utils, not from copies of their own.
    import filter_plugins.pgbackrest as pgbackrest
    import filter_plugins.redis as redis
    import filter_plugins.topology as topology
    from plugin_utils import inventory_facts

    assert pgbackrest.region_of is redis.region_of
    assert topology.regions_of.__module__ == redis.region_of.__module__ == "inventory_facts"
    assert inventory_facts.REGION_PREFIX == topology.REGION_PREFIX


def test_postgresql_hosts_are_grouped_by_cluster_once_for_the_preflight_and_the_roles():
    from plugin_utils.inventory_facts import postgresql_members

    groups = {"postgres": ["db1", "db2", "db3", "old", "odd", "rep1"]}
    hostvars = {
        "db1": {"postgresql_role": "primary"},
        "db2": {"postgresql_role": "replica"},
        "db3": {"postgresql_role": "replica", "postgresql_cluster": "reports"},
        "rep1": {"postgresql_role": "primary", "postgresql_cluster": "reports"},
        "old": {"postgresql_role": "primary", "postgresql_fenced": True},  # after a failover: in none
        "odd": {"postgresql_rol": "primary"},
    }
    clusters, problems = postgresql_members(groups, hostvars)
    # "main": the postgresql role's default for postgresql_cluster, read from its defaults.
    assert clusters == {"main": {"primary": ["db1"], "replicas": ["db2"]},
                        "reports": {"primary": ["rep1"], "replicas": ["db3"]}}
    assert problems == ["PostgreSQL host 'odd' has postgresql_role 'None', expected primary or replica"]
