"""Unit tests for filter_plugins/postgresql.py."""

import pytest
from ansible.errors import AnsibleFilterError

from filter_plugins.postgresql import (
    postgresql_clusters,
    postgresql_hba,
    postgresql_sizing,
    postgresql_slot_name,
    postgresql_standby_problems,
    postgresql_standby_settings,
)

GROUPS = {
    "postgres": ["sp-db1", "va-db1"],
    "app": ["sp-web1", "va-web1"],
    "monitoring": ["sp-mon1"],
}
HOSTVARS = {
    "sp-db1": {"postgresql_role": "primary"},
    "va-db1": {"postgresql_role": "replica"},
}
ADDRESS = {"sp-db1": "10.0.1.20", "va-db1": "10.0.2.20", "sp-web1": "10.0.1.10", "va-web1": "10.0.2.10",
           "sp-mon1": "10.0.1.30"}


def test_sizing_of_a_4_cpu_8_gib_host():
    s = postgresql_sizing(8192, 4, pools=2)
    assert s["pool_size"] == 10
    assert s["max_connections"] == 30
    assert s["shared_buffers_mb"] == 2048
    assert s["effective_cache_size_mb"] == 6144
    assert s["maintenance_work_mem_mb"] == 512
    assert s["work_mem_mb"] == (8192 - 2048) // 90
    assert s["max_parallel_workers_per_gather"] == 2


def test_sizing_caps_large_hosts():
    s = postgresql_sizing(256 * 1024, 32, pools=1)
    assert s["shared_buffers_mb"] == 16384
    assert s["maintenance_work_mem_mb"] == 2048
    assert s["work_mem_mb"] == 256
    assert s["pool_size"] == 64


def test_work_mem_has_a_floor():
    assert postgresql_sizing(512, 64, pools=20)["work_mem_mb"] == 4


def test_sizing_refuses_nonsense_naming_the_host():
    with pytest.raises(AnsibleFilterError, match="postgresql on db9: 100 MiB"):
        postgresql_sizing(100, 2, host="db9")
    with pytest.raises(AnsibleFilterError, match="needs numbers"):
        postgresql_sizing(None, 2)


def test_clusters_pair_replicas_with_their_primary():
    hostvars = {**HOSTVARS, "x-db1": {"postgresql_role": "primary", "postgresql_cluster": "reports"}}
    clusters = postgresql_clusters({"postgres": ["sp-db1", "va-db1", "x-db1"]}, hostvars)
    assert clusters == {"main": {"primary": "sp-db1", "replicas": ["va-db1"]},
                        "reports": {"primary": "x-db1", "replicas": []}}


def test_replica_without_primary_is_refused_naming_it():
    message = r"cluster 'main' needs exactly one primary, found: none \(replicas: va-db1\)"
    with pytest.raises(AnsibleFilterError, match=message):
        postgresql_clusters({"postgres": ["va-db1"]}, HOSTVARS)


def test_two_primaries_are_refused():
    hostvars = {**HOSTVARS, "va-db1": {"postgresql_role": "primary"}}
    with pytest.raises(AnsibleFilterError, match="found: sp-db1, va-db1"):
        postgresql_clusters(GROUPS, hostvars)


def test_a_fenced_old_primary_is_in_no_cluster():
    hostvars = {**HOSTVARS, "sp-db1": {"postgresql_role": "primary", "postgresql_fenced": True},
                "va-db1": {"postgresql_role": "primary"}}
    assert postgresql_clusters(GROUPS, hostvars) == {"main": {"primary": "va-db1", "replicas": []}}


def test_slot_names_are_valid_identifiers():
    assert postgresql_slot_name("va-db1.example") == "va_db1_example"


RULES = [
    {"name": "app", "database": "editaliza", "user": "editaliza", "from_groups": ["app"]},
    {"name": "replication", "database": "replication", "user": "replicator", "from_groups": ["postgres"]},
    {"name": "monitoring", "database": "all", "user": "postgres_exporter", "from_groups": ["monitoring"]},
]


def test_hba_admits_exactly_the_topology():
    entries = postgresql_hba("sp-db1", GROUPS, HOSTVARS, RULES, ADDRESS)
    lines = {(e["database"], e["user"], e["address"]) for e in entries}
    assert lines == {
        ("editaliza", "editaliza", "10.0.1.10/32"), ("editaliza", "editaliza", "10.0.2.10/32"),
        ("replication", "replicator", "10.0.2.20/32"),
        ("all", "postgres_exporter", "10.0.1.30/32"),
    }
    assert {e["type"] for e in entries} == {"hostssl"}
    assert {e["method"] for e in entries} == {"scram-sha-256"}


def test_hba_admits_replication_only_within_the_cluster():
    hostvars = {**HOSTVARS, "va-db1": {"postgresql_role": "replica", "postgresql_cluster": "other"}}
    entries = postgresql_hba("sp-db1", GROUPS, hostvars, RULES, ADDRESS)
    assert not [e for e in entries if e["database"] == "replication"]


def test_hba_unknown_group_is_named():
    with pytest.raises(AnsibleFilterError, match="pg_hba rule 'x': group 'nosuch'"):
        postgresql_hba("sp-db1", GROUPS, HOSTVARS, [{"name": "x", "database": "a", "user": "b",
                                                     "from_groups": ["nosuch"]}], ADDRESS)


def test_a_replica_sized_below_its_primary_is_named_setting_by_setting():
    primary = postgresql_standby_settings(postgresql_sizing(16384, 8))
    replica = postgresql_standby_settings(postgresql_sizing(4096, 2))
    problems = postgresql_standby_problems(replica, primary, "va-db1", "sp-db1")
    # pool size 16 vs 10 per pool: max_connections 26 vs 20; worker processes 8 both.
    assert problems == ["postgresql: replica va-db1 would run max_connections = 20, below its primary sp-db1's 26; "
                        "a hot standby refuses to start so (raise it with postgresql_settings or size va-db1 like "
                        "sp-db1)"]


def test_overrides_count_and_a_replica_may_run_higher():
    primary = postgresql_standby_settings(postgresql_sizing(4096, 2), {"max_locks_per_transaction": 128})
    replica = postgresql_standby_settings(postgresql_sizing(4096, 2), {"max_connections": "40"})
    problems = postgresql_standby_problems(replica, primary, "va-db1", "sp-db1")
    assert len(problems) == 1
    assert "max_locks_per_transaction = 64, below its primary sp-db1's 128" in problems[0]
    assert replica["max_connections"] == 40


def test_a_standby_setting_that_is_not_a_number_is_named():
    with pytest.raises(AnsibleFilterError, match=r"va-db1: postgresql_settings.max_wal_senders must be a whole"):
        postgresql_standby_settings(postgresql_sizing(4096, 2), {"max_wal_senders": "lots"}, "va-db1")
