"""Bad inputs stop a converge before any host changes, naming what is wrong; a --check
--diff run on the converged hosts (what drift detection runs) changes nothing and prints
no secret. Runs once, not per host."""

import json

from tests.helpers.ansible_run import (
    assert_refused_before_any_change,
    converge_playbook,
    run_playbook,
)

SESSIONS = {"name": "sessions", "port": 6379, "exporter_port": 9121, "maxmemory_percent": 15,
            "maxmemory_policy": "noeviction", "appendonly": True}
CACHE = {"name": "cache", "port": 6380, "exporter_port": 9122, "maxmemory_percent": 15,
         "maxmemory_policy": "allkeys-lru", "appendonly": False}


def test_cache_and_sessions_on_one_port_are_refused():
    instances = [SESSIONS, {**CACHE, "port": 6379}]
    run = run_playbook(converge_playbook(), "-e", json.dumps({"redis_instances": instances}))
    assert_refused_before_any_change(run, "cache.port and sessions.port both use port 6379")


def test_maxmemory_larger_than_the_host_is_refused():
    instances = [SESSIONS, {**CACHE, "maxmemory_mb": 10_000_000}]
    run = run_playbook(converge_playbook(), "-e", json.dumps({"redis_instances": instances}))
    assert_refused_before_any_change(run, "instance 'cache' has maxmemory_mb 10000000, larger than the host's memory")


def test_replicas_without_a_primary_are_refused():
    run = run_playbook(converge_playbook(), "-e", "redis_role=replica")
    assert_refused_before_any_change(
        run, "Redis needs exactly one host with redis_role primary for the replicas redis-sp, redis-va, found: none"
    )


def test_missing_vault_path_is_named():
    paths = {"admin": "editaliza/redis/admin", "app": "editaliza/redis/no-such-app", "replication":
             "editaliza/redis/replication", "monitoring": "editaliza/redis/monitoring",
             "sentinel_link": "editaliza/redis/sentinel-link", "sentinel": "editaliza/redis/sentinel"}
    run = run_playbook(converge_playbook(), "-e", json.dumps({"redis_vault_paths": paths}))
    assert_refused_before_any_change(run, "editaliza/redis/no-such-app (username, password)")
    # The same preflight, before its Vault check, says which region's loss the Sentinels
    # can't fail over from: São Paulo holds two of the three (a warning, not a refusal).
    # (No quotes in the message: the YAML output would double them.)
    assert ("WARNING: Redis Sentinel: losing region saopaulo (redis-mon, redis-sp) leaves 1 of 3 "
            "Sentinels (redis-va), fewer than the 2 a failover needs") in " ".join(run.output.split()), \
        run.output[-3000:]


def test_wrong_type_is_refused_by_the_argument_spec():
    run = run_playbook(converge_playbook(), "-e", '{"redis_sentinel_port": "many"}')
    assert_refused_before_any_change(run, "redis : Validating arguments against arg spec", "redis_sentinel_port")
