"""The restart plan: a setting that only a restart applies (max_files_per_process).

A converge restarts the replica (which streams again) and leaves the primary running
with the old value: "restart pending" in the output and postgresql_restart_pending in
its textfile metric. With -e postgresql_allow_restart=true (a maintenance window) the
primary is restarted. Last, the scenario's settings are put back the same way, for the
failover test that follows. The converges run the postgresql role's tasks only
(--tags postgresql).

The unit's sandbox goes the same way: its drop-in, made younger than the running servers
(as a change of the sandbox would), waits for the same restarts."""

import json
import time

from conftest import converge as scenario_converge
from conftest import local_sql

SETTING = "max_files_per_process"
CHANGED = json.dumps({"postgresql_settings": {SETTING: 1300}})
METRIC = "/var/lib/prometheus/node-exporter/postgresql_restart.prom"
DROPIN = "/etc/systemd/system/postgresql@15-main.service.d/10-sandbox.conf"
WAITING = f"{SETTING}, the unit sandbox"


def value(host, sql):
    return local_sql(host, sql).stdout.strip()


def started(host):
    return value(host, "SELECT pg_postmaster_start_time()")


def streaming(host, timeout=60):
    deadline = time.monotonic() + timeout
    while value(host, "SELECT status FROM pg_stat_wal_receiver") != "streaming" and time.monotonic() < deadline:
        time.sleep(1)
    return value(host, "SELECT status FROM pg_stat_wal_receiver") == "streaming"


def converge(*extra):
    return scenario_converge("--tags", "postgresql", *extra)


def test_a_restart_setting_restarts_the_replica_and_leaves_the_primary_pending_until_allowed(hosts):
    sp, va = hosts["pg-sp"], hosts["pg-va"]
    original = value(sp, f"SHOW {SETTING}")
    assert original != "1300"
    before = {"sp": started(sp), "va": started(va)}
    for host in (sp, va):
        host.check_output(f"touch {DROPIN}")

    run = converge("-e", CHANGED)
    assert f"restart pending on pg-sp (a primary) for settings {WAITING}" in " ".join(run.output.split())
    assert started(va) != before["va"], "the replica was not restarted"
    assert value(va, f"SHOW {SETTING}") == "1300"
    assert streaming(va)
    assert started(sp) == before["sp"], "the primary was restarted without postgresql_allow_restart"
    assert value(sp, f"SHOW {SETTING}") == original
    assert value(sp, "SELECT pending_restart FROM pg_settings WHERE name = 'max_files_per_process'") == "t"
    assert f'postgresql_restart_pending{{settings="{WAITING}"}} 1' in sp.file(METRIC).content_string
    assert 'postgresql_restart_pending{settings=""} 0' in va.file(METRIC).content_string

    # The maintenance window.
    converge("-e", CHANGED, "-e", "postgresql_allow_restart=true")
    assert started(sp) != before["sp"]
    assert value(sp, f"SHOW {SETTING}") == "1300"
    assert 'postgresql_restart_pending{settings=""} 0' in sp.file(METRIC).content_string
    assert streaming(va)

    # Back to the scenario's settings, for the tests after this one.
    converge("-e", "postgresql_allow_restart=true")
    assert value(sp, f"SHOW {SETTING}") == original
    assert value(va, f"SHOW {SETTING}") == original
    assert streaming(va)
