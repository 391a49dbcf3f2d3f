"""filter_plugins/monitoring.py: scrape targets per region, federation, Alertmanager peers."""

import pytest
from ansible.errors import AnsibleFilterError

from filter_plugins.monitoring import (
    alertmanager_peers,
    first_host_per_region,
    prometheus_federation_targets,
    prometheus_targets,
)

GROUPS = {
    "all": ["mon-sp", "mon-va", "db-sp", "db-va", "web-sp"],
    "postgres": ["db-va", "db-sp"],
    "app": ["web-sp"],
    "monitoring": ["mon-va", "mon-sp"],
    "registry": [],
}
REGIONS = {"mon-sp": "sp", "db-sp": "sp", "web-sp": "sp", "mon-va": "va", "db-va": "va"}
ADDRESSES = {"mon-sp": "10.0.1.30", "db-sp": "10.0.1.20", "web-sp": "10.0.1.10", "mon-va": "10.0.2.30",
             "db-va": "fd00::20"}


def test_each_region_scrapes_its_own_hosts_with_region_role_and_instance():
    jobs = [{"name": "node", "group": "all", "port": 9100}, {"name": "postgres", "group": "postgres", "port": 9187}]
    sp = prometheus_targets("sp", jobs, GROUPS, REGIONS, ADDRESSES, {})
    assert sp["node"] == [
        {"targets": ["10.0.1.20:9100"], "labels": {"region": "sp", "role": "node", "instance": "db-sp"}},
        {"targets": ["10.0.1.30:9100"], "labels": {"region": "sp", "role": "node", "instance": "mon-sp"}},
        {"targets": ["10.0.1.10:9100"], "labels": {"region": "sp", "role": "node", "instance": "web-sp"}},
    ]
    va = prometheus_targets("va", jobs, GROUPS, REGIONS, ADDRESSES, {})
    assert va["postgres"] == [
        {"targets": ["[fd00::20]:9187"], "labels": {"region": "va", "role": "postgres", "instance": "db-va"}},
    ]


def test_several_endpoints_per_host_are_told_apart_by_their_labels():
    jobs = [{"name": "redis", "group": "postgres", "endpoints": [
        {"port": 9121, "labels": {"redis_instance": "sessions"}},
        {"port": 9122, "labels": {"redis_instance": "cache"}},
    ]}]
    entries = prometheus_targets("sp", jobs, GROUPS, REGIONS, ADDRESSES, {})["redis"]
    assert [(e["targets"], e["labels"]["redis_instance"]) for e in entries] == [
        (["10.0.1.20:9121"], "sessions"), (["10.0.1.20:9122"], "cache"),
    ]


def test_a_job_over_several_groups_scrapes_each_host_once():
    jobs = [{"name": "sentinel", "group": ["postgres", "monitoring", "all"], "port": 9123}]
    entries = prometheus_targets("sp", jobs, GROUPS, REGIONS, ADDRESSES, {})["sentinel"]
    assert [e["labels"]["instance"] for e in entries] == ["db-sp", "mon-sp", "web-sp"]
    with pytest.raises(AnsibleFilterError, match=r"group '\['registry'\]' has no host in region_sp"):
        prometheus_targets("sp", [{"name": "x", "group": ["registry"], "port": 1}], GROUPS, REGIONS, ADDRESSES, {})


def test_ports_from_a_host_variable_follow_each_host():
    jobs = [{"name": "app", "group": "app", "ports_var": "app_metrics_ports"}]
    hostvars = {"web-sp": {"app_metrics_ports": [{"port": 8090, "labels": {"app_instance": "green-0"}}]}}
    entries = prometheus_targets("sp", jobs, GROUPS, REGIONS, ADDRESSES, hostvars)["app"]
    assert entries == [{"targets": ["10.0.1.10:8090"],
                        "labels": {"region": "sp", "role": "app", "instance": "web-sp", "app_instance": "green-0"}}]


def test_missing_ports_variable_names_host_and_variable():
    jobs = [{"name": "app", "group": "app", "ports_var": "app_metrics_ports"}]
    with pytest.raises(AnsibleFilterError, match="host 'web-sp' has no variable 'app_metrics_ports'"):
        prometheus_targets("sp", jobs, GROUPS, REGIONS, ADDRESSES, {})


def test_required_job_with_no_host_in_the_region_fails_naming_region_and_group():
    jobs = [{"name": "app", "group": "app", "port": 8080}]
    with pytest.raises(AnsibleFilterError, match="job 'app' has no target in region 'va': group 'app'"):
        prometheus_targets("va", jobs, GROUPS, REGIONS, ADDRESSES, {})


def test_optional_job_with_no_host_is_empty():
    jobs = [{"name": "registry", "group": "registry", "port": 5000, "required": False}]
    assert prometheus_targets("sp", jobs, GROUPS, REGIONS, ADDRESSES, {}) == {"registry": []}


def test_duplicate_job_and_job_without_port_are_refused():
    with pytest.raises(AnsibleFilterError, match="'node' is defined twice"):
        prometheus_targets("sp", [{"name": "node", "group": "all", "port": 1}] * 2, GROUPS, REGIONS, ADDRESSES, {})
    with pytest.raises(AnsibleFilterError, match="'node' has no port"):
        prometheus_targets("sp", [{"name": "node", "group": "all"}], GROUPS, REGIONS, ADDRESSES, {})


def test_host_without_address_is_named():
    with pytest.raises(AnsibleFilterError, match="no address for host 'web-sp'"):
        prometheus_targets("sp", [{"name": "app", "group": "app", "port": 1}], GROUPS, REGIONS, {}, {})


def test_federation_pulls_from_one_prometheus_of_every_other_region():
    regions = dict(REGIONS, **{"mon-va2": "va", "mon-eu": "eu"})
    addresses = dict(ADDRESSES, **{"mon-va2": "10.0.2.31", "mon-eu": "10.0.3.30"})
    hosts = ["mon-va2", "mon-sp", "mon-eu", "mon-va"]
    assert prometheus_federation_targets("sp", hosts, regions, addresses, 9090) == [
        {"targets": ["10.0.3.30:9090"],
         "labels": {"region": "sp", "role": "federate", "instance": "mon-eu", "federated_region": "eu"}},
        {"targets": ["10.0.2.30:9090"],
         "labels": {"region": "sp", "role": "federate", "instance": "mon-va", "federated_region": "va"}},
    ]


def test_first_host_per_region_is_the_first_by_name():
    regions = {"mon-va2": "va", "mon-va": "va", "mon-sp": "sp"}
    assert first_host_per_region(["mon-va2", "mon-sp", "mon-va"], regions) == {"sp": "mon-sp", "va": "mon-va"}


def test_federation_of_a_region_without_monitoring_host_fails():
    with pytest.raises(AnsibleFilterError, match="region 'eu' has no host in group monitoring"):
        prometheus_federation_targets("eu", ["mon-sp"], REGIONS, ADDRESSES, 9090)


def test_alertmanager_peers_span_regions_and_can_leave_out_this_host():
    assert alertmanager_peers(["mon-va", "mon-sp"], ADDRESSES, 9094) == ["10.0.1.30:9094", "10.0.2.30:9094"]
    assert alertmanager_peers(["mon-va", "mon-sp"], ADDRESSES, 9094, exclude="mon-sp") == ["10.0.2.30:9094"]


def test_preflight_mode_accepts_a_host_that_has_not_published_its_ports_yet():
    jobs = [{"name": "app", "group": "app", "ports_var": "app_metrics_ports"}]
    assert prometheus_targets("sp", jobs, GROUPS, REGIONS, ADDRESSES, {}, strict=False) == {"app": []}
