"""Unit tests for filter_plugins/redis.py."""

import pytest
from ansible.errors import AnsibleFilterError

from filter_plugins.redis import (
    redis_current_masters,
    redis_instance_problems,
    redis_maxmemory_mb,
    redis_quote,
    redis_sentinel_commands,
    redis_sentinel_quorum,
    redis_sentinel_region_losses,
    redis_topology_problems,
)

SESSIONS = {"name": "sessions", "port": 6379, "exporter_port": 9121, "maxmemory_percent": 15}
CACHE = {"name": "cache", "port": 6380, "exporter_port": 9122, "maxmemory_percent": 15}

GROUPS = {
    "redis": ["sp-db1", "va-db1"],
    "redis_sentinel": ["sp-mon1"],
}
HOSTVARS = {
    "sp-db1": {"redis_role": "primary", "group_names": ["region_saopaulo", "redis"]},
    "va-db1": {"redis_role": "replica", "group_names": ["region_virginia", "redis"]},
    "sp-mon1": {"group_names": ["region_saopaulo", "redis_sentinel"]},
}


def test_percent_sizing_takes_a_share_of_the_host():
    assert redis_maxmemory_mb([SESSIONS, CACHE], 8192) == {"sessions": 1228, "cache": 1228}


def test_explicit_size_wins_over_percent():
    sized = redis_maxmemory_mb([{**SESSIONS, "maxmemory_mb": 512}, CACHE], 8192)
    assert sized["sessions"] == 512


def test_size_larger_than_the_host_is_refused_naming_host_and_instance():
    with pytest.raises(AnsibleFilterError, match=r"redis on sp-db1: instance 'cache' has maxmemory_mb 9000.*8192 MiB"):
        redis_maxmemory_mb([SESSIONS, {**CACHE, "maxmemory_mb": 9000}], 8192, "sp-db1")


def test_instances_together_must_leave_room_for_forks():
    with pytest.raises(AnsibleFilterError, match="adds up to 7600 MiB"):
        redis_maxmemory_mb([{**SESSIONS, "maxmemory_mb": 4000}, {**CACHE, "maxmemory_mb": 3600}], 8000)


@pytest.mark.parametrize("percent", [0, 95])
def test_percent_out_of_range_is_refused(percent):
    with pytest.raises(AnsibleFilterError, match=f"maxmemory_percent {percent}"):
        redis_maxmemory_mb([{**SESSIONS, "maxmemory_percent": percent}], 8192)


def test_missing_memory_fact_is_refused():
    with pytest.raises(AnsibleFilterError, match="not a number"):
        redis_maxmemory_mb([SESSIONS], None)


def test_sound_instances_have_no_problem():
    assert redis_instance_problems([SESSIONS, CACHE], 26379) == []


def test_two_instances_on_one_port_are_named():
    problems = redis_instance_problems([SESSIONS, {**CACHE, "port": 6379}], 26379)
    assert problems == ["cache.port and sessions.port both use port 6379"]


def test_exporter_and_sentinel_ports_count_too():
    problems = redis_instance_problems([SESSIONS, {**CACHE, "exporter_port": 9121}], 6380)
    assert "cache.exporter_port and sessions.exporter_port both use port 9121" in problems
    assert "redis_sentinel_port 6380 is also cache.port" in problems


def test_sentinel_exporter_port_and_name_are_reserved():
    assert redis_instance_problems([SESSIONS, CACHE], 26379, 9123) == []
    problems = redis_instance_problems([SESSIONS, {**CACHE, "name": "sentinel", "exporter_port": 9123}], 26379, 9123)
    assert "instance name 'sentinel' is reserved (the Sentinel exporter's)" in problems
    assert "redis_sentinel_exporter_port 9123 is also sentinel.exporter_port" in problems


def test_duplicate_instance_names():
    assert "instance name 'sessions' is used 2 times" in redis_instance_problems([SESSIONS, SESSIONS])


def test_sound_topology_has_no_problem():
    assert redis_topology_problems(GROUPS, HOSTVARS) == []


def test_no_redis_hosts_is_fine():
    assert redis_topology_problems({"redis": []}, {}) == []


def test_replica_without_primary_names_the_replicas():
    hostvars = {**HOSTVARS, "sp-db1": {**HOSTVARS["sp-db1"], "redis_role": "replica"}}
    problems = redis_topology_problems(GROUPS, hostvars)
    assert problems == [
        "Redis needs exactly one host with redis_role primary for the replicas sp-db1, va-db1, found: none"
    ]


def test_two_primaries_are_named():
    hostvars = {**HOSTVARS, "va-db1": {**HOSTVARS["va-db1"], "redis_role": "primary"}}
    assert redis_topology_problems(GROUPS, hostvars) == [
        "Redis needs exactly one host with redis_role primary, found: sp-db1, va-db1"
    ]


def test_unknown_role_is_named():
    hostvars = {**HOSTVARS, "va-db1": {**HOSTVARS["va-db1"], "redis_role": "leader"}}
    assert "Redis host 'va-db1' has redis_role 'leader', expected primary or replica" in redis_topology_problems(
        GROUPS, hostvars
    )


def test_replicas_only_in_the_primary_region_are_refused():
    hostvars = {**HOSTVARS, "va-db1": {**HOSTVARS["va-db1"], "group_names": ["region_saopaulo", "redis"]}}
    problems = redis_topology_problems(GROUPS, hostvars)
    assert problems == [
        "Redis: every replica (va-db1) is in the primary's region 'saopaulo'; at least one must be in another region"
    ]


def test_two_sentinels_cannot_fail_over():
    problems = redis_topology_problems({**GROUPS, "redis_sentinel": []}, HOSTVARS)
    assert len(problems) == 1
    assert "sp-db1, va-db1 (2 hosts): failover needs at least 3" in problems[0]


def test_current_master_follows_the_sentinels_majority():
    answers = [{"sessions": ["10.0.2.20", "6379"], "cache": None},
               {"sessions": ["10.0.2.20", "6379"], "cache": None},
               {"sessions": ["10.0.1.20", "6379"]}]
    # No Sentinel monitors the cache yet, and its instances hold nothing: a new cluster.
    states = [{"address": "10.0.1.20", "roles": {"cache": ["master", 0, []]}}]
    assert redis_current_masters(answers, ["sessions", "cache"], "10.0.1.20", states) == {
        "sessions": "10.0.2.20",
        "cache": "10.0.1.20",
    }


def test_without_any_answer_nobody_can_tell_unless_bootstrapping():
    # A run limited to a Sentinel-only host while every Sentinel is down.
    assert redis_current_masters([], ["sessions"], "10.0.1.20") == {"sessions": None}
    assert redis_current_masters([], ["sessions"], "10.0.1.20", bootstrap=True) == {"sessions": "10.0.1.20"}


# ROLE answers (redis-cli --json ROLE) after Sentinel promoted Virginia: the promoted
# primary with a replica, the old primary following it.
PROMOTED = ["master", 9120, [["10.0.1.20", "6379", "9120"]]]
FOLLOWER = ["slave", "10.0.2.20", 6379, "connected", 9120]
FRESH = ["master", 0, []]


def test_without_sentinels_a_promotion_is_kept_from_the_promoted_primary_alone():
    # A converge with --limit on the promoted host, every Sentinel stopped: the inventory
    # says 10.0.1.20, the instance says it is the primary of a live cluster.
    states = [{"address": "10.0.2.20", "roles": {"sessions": PROMOTED}}]
    assert redis_current_masters([], ["sessions"], "10.0.1.20", states) == {"sessions": "10.0.2.20"}


def test_without_sentinels_a_replica_keeps_the_primary_it_follows():
    states = [{"address": "10.0.1.20", "roles": {"sessions": FOLLOWER}}]
    assert redis_current_masters([], ["sessions"], "10.0.1.20", states) == {"sessions": "10.0.2.20"}


def test_without_sentinels_a_new_cluster_takes_the_inventory_primary():
    states = [{"address": "10.0.1.20", "roles": {"sessions": FRESH}},
              {"address": "10.0.2.20", "roles": {"sessions": FRESH}}]
    assert redis_current_masters([], ["sessions"], "10.0.1.20", states) == {"sessions": "10.0.1.20"}


def test_without_sentinels_two_primaries_with_data_are_nobodys_call():
    states = [{"address": "10.0.1.20", "roles": {"sessions": ["master", 500, []]}},
              {"address": "10.0.2.20", "roles": {"sessions": PROMOTED}}]
    assert redis_current_masters([], ["sessions"], "10.0.1.20", states) == {"sessions": None}
    # Unless the operator says the cluster is new.
    assert redis_current_masters([], ["sessions"], "10.0.1.20", states, bootstrap=True) == {"sessions": "10.0.1.20"}


def test_sentinels_answer_before_the_instances_are_asked():
    states = [{"address": "10.0.1.20", "roles": {"sessions": ["master", 500, []]}},
              {"address": "10.0.2.20", "roles": {"sessions": PROMOTED}}]
    answers = [{"sessions": ["10.0.1.20", "6379"]}]
    assert redis_current_masters(answers, ["sessions"], "10.0.2.20", states) == {"sessions": "10.0.1.20"}


@pytest.mark.parametrize(("count", "configured", "quorum"), [(3, 0, 2), (4, 0, 3), (5, 0, 3), (3, 1, 1)])
def test_quorum_defaults_to_a_majority(count, configured, quorum):
    assert redis_sentinel_quorum(count, configured) == quorum


def test_quorum_larger_than_the_sentinels_is_refused():
    with pytest.raises(AnsibleFilterError, match=r"outside 1\.\.3"):
        redis_sentinel_quorum(3, 4)


WANT = {"prefix": "editaliza", "quorum": 2, "down_after_ms": 5000, "failover_timeout_ms": 60000,
        "parallel_syncs": 1, "masters": {"sessions": "10.0.1.20", "cache": "10.0.1.20"}}


def _monitored(name, ip="10.0.2.20", **overrides):
    entry = {"name": name, "ip": ip, "port": "6379", "quorum": "2", "down-after-milliseconds": "5000",
             "failover-timeout": "60000", "parallel-syncs": "1"}
    return {**entry, **overrides}


def test_sentinel_in_shape_needs_no_command():
    state = [_monitored("editaliza-sessions"), _monitored("editaliza-cache")]
    assert redis_sentinel_commands(state, [SESSIONS, CACHE], WANT) == []


def test_sentinel_keeps_the_address_it_failed_over_to():
    # Sentinel says 10.0.2.20 while the inventory's primary is 10.0.1.20: nothing to do.
    state = [_monitored("editaliza-sessions", ip="10.0.2.20"), _monitored("editaliza-cache")]
    assert redis_sentinel_commands(state, [SESSIONS, CACHE], WANT) == []


def test_unmonitored_primary_is_added_at_the_current_address():
    commands = redis_sentinel_commands([_monitored("editaliza-sessions")], [SESSIONS, CACHE], WANT)
    assert len(commands) == 1
    assert commands[0]["new"] is True
    assert commands[0]["args"] == ["SENTINEL", "MONITOR", "editaliza-cache", "10.0.1.20", "6380", "2"]
    assert commands[0]["settings"] == ["down-after-milliseconds", "5000", "failover-timeout", "60000",
                                       "parallel-syncs", "1"]


def test_changed_settings_are_set_and_explained():
    state = [_monitored("editaliza-sessions", quorum="1", **{"down-after-milliseconds": "30000"}),
             _monitored("editaliza-cache")]
    commands = redis_sentinel_commands(state, [SESSIONS, CACHE], WANT)
    assert commands == [{
        "name": "editaliza-sessions", "new": False,
        "reason": "quorum is 1, want 2; down-after-milliseconds is 30000, want 5000",
        "args": ["SENTINEL", "SET", "editaliza-sessions", "quorum", "2", "down-after-milliseconds", "5000"],
        "settings": [],
    }]


def test_primaries_of_removed_instances_are_dropped_but_foreign_ones_kept():
    state = [_monitored("editaliza-sessions"), _monitored("editaliza-old"), _monitored("someone-else")]
    commands = redis_sentinel_commands(state, [SESSIONS], WANT)
    assert [c["args"] for c in commands] == [["SENTINEL", "REMOVE", "editaliza-old"]]


def test_quote_makes_one_redis_cli_argument_of_anything():
    assert redis_quote('pa ss"wo\\rd') == '"pa ss\\"wo\\\\rd"'
    assert redis_quote(6379) == '"6379"'


def test_two_regions_can_not_survive_the_loss_of_the_region_with_two_sentinels():
    # The lab's placement: sp-db1 and sp-mon1 in São Paulo, va-db1 in Virginia (quorum 2).
    assert redis_sentinel_region_losses(["sp-db1", "sp-mon1", "va-db1"], HOSTVARS, 2) == [
        "Redis Sentinel: losing region saopaulo (sp-db1, sp-mon1) leaves 1 of 3 Sentinels (va-db1), "
        "fewer than the 2 a failover needs (quorum and majority): the other regions' replicas would not "
        "be promoted; a Sentinel in another region or site (group 'redis_sentinel') would survive it"
    ]


def test_a_third_region_s_sentinel_survives_the_loss_of_any_one_region():
    hostvars = {**HOSTVARS, "eu-mon1": {"group_names": ["region_frankfurt", "redis_sentinel"]}}
    assert redis_sentinel_region_losses(["sp-db1", "va-db1", "eu-mon1"], hostvars, 2) == []


def test_a_quorum_above_the_majority_is_what_the_survivors_must_reach():
    # Five Sentinels, two per data region and one in a third: losing a data region leaves
    # 3, a majority, but not a configured quorum of 4.
    sentinels = ["sp-db1", "va-db1", "sp-mon1", "va-mon1", "eu-mon1"]
    hostvars = {**HOSTVARS, "va-mon1": {"group_names": ["region_virginia"]},
                "eu-mon1": {"group_names": ["region_frankfurt"]}}
    assert redis_sentinel_region_losses(sentinels, hostvars, 3) == []
    lost = redis_sentinel_region_losses(sentinels, hostvars, 4)
    assert [m.split(" (")[0] for m in lost] == [
        "Redis Sentinel: losing region saopaulo", "Redis Sentinel: losing region virginia"]
    assert "leaves 3 of 5 Sentinels" in lost[0]
    assert "fewer than the 4 a failover needs" in lost[0]
