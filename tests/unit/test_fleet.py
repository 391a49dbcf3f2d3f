"""Unit tests for filter_plugins/fleet.py, and the repository's inventories against it."""

import copy
import json
import subprocess
from pathlib import Path

import pytest

from filter_plugins.fleet import fleet_problems
from tests.helpers.ansible_run import tool

ROOT = Path(__file__).resolve().parents[2]

GROUPS = {
    "all": ["sp-web1", "sp-db1", "sp-mon1", "va-web1", "va-db1", "va-mon1", "sp-log1"],
    "region_saopaulo": ["sp-web1", "sp-db1", "sp-mon1", "sp-log1"],
    "region_virginia": ["va-web1", "va-db1", "va-mon1"],
    "loadbalancers": ["sp-web1", "va-web1"],
    "app": ["sp-web1", "va-web1"],
    "postgres": ["sp-db1", "va-db1"],
    "redis": ["sp-db1", "va-db1"],
    "redis_sentinel": [],
    "registry": [],
    "pgbackrest_repo": [],
    "monitoring": ["sp-mon1", "va-mon1"],
    "logging": ["sp-log1"],
}
HOSTVARS = {
    "sp-web1": {"ansible_host": "10.0.1.10"},
    "sp-db1": {"ansible_host": "10.0.1.20", "postgresql_role": "primary"},
    "sp-mon1": {"ansible_host": "10.0.1.30"},
    "sp-log1": {"ansible_host": "10.0.1.40"},
    "va-web1": {"ansible_host": "10.0.2.10"},
    "va-db1": {"ansible_host": "10.0.2.20", "postgresql_role": "replica"},
    "va-mon1": {"ansible_host": "va-mon1.example"},
}


def variant():
    return copy.deepcopy(GROUPS), copy.deepcopy(HOSTVARS)


def test_a_sound_fleet_has_no_problem():
    assert fleet_problems(GROUPS, HOSTVARS) == []


def test_host_in_no_region_or_two():
    groups, hostvars = variant()
    groups["all"].append("stray")
    groups["region_virginia"].append("sp-web1")
    problems = fleet_problems(groups, hostvars)
    assert "host 'stray' must be in exactly one region_* group, found: none" in problems
    assert ("host 'sp-web1' must be in exactly one region_* group, found: region_saopaulo, region_virginia"
            in problems)


def test_region_with_load_balancers_needs_app_hosts():
    groups, hostvars = variant()
    groups["app"] = ["sp-web1"]
    assert fleet_problems(groups, hostvars) == [
        "region 'virginia' has load balancers (va-web1) but no host in group 'app' to send traffic to"
    ]


def test_every_region_needs_monitoring():
    groups, hostvars = variant()
    groups["monitoring"] = ["sp-mon1"]
    assert fleet_problems(groups, hostvars) == [
        "region 'virginia' has no host in group 'monitoring' (Prometheus runs in every region)"
    ]
    assert fleet_problems(groups, hostvars, {"require_monitoring": False}) == []


def test_logging_is_required_unless_switched_off():
    groups, hostvars = variant()
    groups["logging"] = []
    assert fleet_problems(groups, hostvars) == [
        "the fleet has no host in group 'logging' (set fleet_require_logging: false to run without)"
    ]
    assert fleet_problems(groups, hostvars, {"require_logging": False}) == []


def test_undefined_service_group():
    groups, hostvars = variant()
    del groups["redis"]
    assert fleet_problems(groups, hostvars) == [
        "the inventory does not define the groups redis (they may be empty)"
    ]


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        ({"sp-db1": "primary", "va-db1": "primary"},
         "PostgreSQL cluster 'main' needs exactly one primary, found: sp-db1, va-db1"),
        ({"sp-db1": "replica", "va-db1": "replica"},
         "PostgreSQL cluster 'main' needs exactly one primary, found: none"),
        ({"sp-db1": "primary", "va-db1": "standby"},
         "PostgreSQL host 'va-db1' has postgresql_role 'standby', expected primary or replica"),
    ],
)
def test_postgres_primaries(roles, message):
    groups, hostvars = variant()
    for host, role in roles.items():
        hostvars[host]["postgresql_role"] = role
    assert message in fleet_problems(groups, hostvars)


def test_replicas_all_in_the_primary_region_are_refused():
    groups, hostvars = variant()
    groups["all"].append("sp-db2")
    groups["region_saopaulo"].append("sp-db2")
    groups["postgres"] = ["sp-db1", "sp-db2"]
    hostvars["sp-db2"] = {"ansible_host": "10.0.1.21", "postgresql_role": "replica"}
    assert fleet_problems(groups, hostvars) == [
        "PostgreSQL cluster 'main': every replica (sp-db2) is in the primary's region 'saopaulo'; "
        "at least one must be in another region"
    ]


def test_clusters_are_checked_separately():
    groups, hostvars = variant()
    hostvars["va-db1"].update(postgresql_role="primary", postgresql_cluster="analytics")
    assert fleet_problems(groups, hostvars) == []


def test_a_fenced_old_primary_does_not_count_as_a_second_primary():
    groups, hostvars = variant()
    hostvars["va-db1"]["postgresql_role"] = "primary"
    hostvars["sp-db1"]["postgresql_fenced"] = True
    assert fleet_problems(groups, hostvars) == []


def test_duplicate_addresses_name_both_hosts():
    groups, hostvars = variant()
    hostvars["va-web1"]["fleet_address"] = "10.0.1.20"
    assert fleet_problems(groups, hostvars) == ["hosts sp-db1, va-web1 share the address 10.0.1.20"]


@pytest.mark.parametrize("inventory", ["lab", "staging", "production"])
def test_each_inventory_is_a_sound_fleet(inventory):
    listing = json.loads(subprocess.run(
        [tool("ansible-inventory"), "-i", str(ROOT / "inventories" / inventory / "hosts.yml"), "--list"],
        capture_output=True, text=True, check=True,
    ).stdout)
    hostvars = listing["_meta"]["hostvars"]
    nodes = {k: v for k, v in listing.items() if k != "_meta"}

    def members(name):
        node = nodes.get(name, {})
        found = set(node.get("hosts", []))
        for child in node.get("children", []):
            found |= members(child)
        return found

    names = set(nodes) | {c for node in nodes.values() for c in node.get("children", [])}
    groups = {name: sorted(members(name)) for name in names}
    groups["all"] = sorted(hostvars)
    options = {"require_logging": hostvars[next(iter(hostvars))].get("fleet_require_logging", True)}
    assert fleet_problems(groups, hostvars, options) == []


def test_a_host_name_that_is_not_a_dns_name_is_refused():
    groups, hostvars = variant()
    for name in ("sp-web1",):
        groups = {g: [("sp_web1" if h == name else h) for h in members] for g, members in groups.items()}
        hostvars["sp_web1"] = hostvars.pop(name)
    problems = fleet_problems(groups, hostvars)
    assert len(problems) == 1
    assert "host names sp_web1 are not DNS names" in problems[0]


def test_a_misspelt_role_variable_is_named_with_the_closest_declared_one():
    groups, hostvars = variant()
    hostvars["sp-web1"]["app_instance_per_host"] = 1
    hostvars["va-web1"]["app_instance_per_host"] = 1
    hostvars["sp-db1"]["postgresql_rol"] = "primary"
    problems = fleet_problems(groups, hostvars)
    assert ("app_instance_per_host, set for sp-web1, va-web1, is not a variable any role declares "
            "(did you mean app_instances_per_host?)") in problems
    assert any(p.startswith("postgresql_rol, set for sp-db1,") and "did you mean postgresql_role?" in p
               for p in problems), problems


def test_a_port_outside_the_range_is_refused_naming_host_and_variable():
    groups, hostvars = variant()
    hostvars["sp-db1"]["redis_sentinel_port"] = 70000
    hostvars["va-db1"]["pgbouncer_port"] = "0"
    hostvars["sp-web1"]["app_port_base"] = 8080
    problems = fleet_problems(groups, hostvars)
    assert "host 'sp-db1': redis_sentinel_port is 70000, expected a port in 1-65535" in problems
    assert "host 'va-db1': pgbouncer_port is 0, expected a port in 1-65535" in problems
    assert len(problems) == 2, problems


def test_where_hosts_go_through_bastions_every_region_names_one():
    groups, hostvars = variant()
    for host in groups["region_saopaulo"]:
        hostvars[host]["fleet_bastion"] = "bastion.sp.example"
    problems = fleet_problems(groups, hostvars)
    assert problems == ["region 'virginia' names no bastion (fleet_bastion) for va-db1, va-mon1, va-web1, while "
                        "other hosts are reached through one: set it in the vars of group 'region_virginia'"]
    for host in groups["region_virginia"]:
        hostvars[host]["fleet_bastion"] = "bastion.va.example"
    assert fleet_problems(groups, hostvars) == []
