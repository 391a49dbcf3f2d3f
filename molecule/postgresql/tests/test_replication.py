"""Streaming replication across regions, through the replica's own slot."""

import time
import uuid

from conftest import local_sql


def test_replica_streams_through_its_slot(hosts):
    rows = local_sql(hosts["pg-sp"], "SELECT application_name, state FROM pg_stat_replication").stdout.split()
    assert "pg_va|streaming" in rows, rows
    slots = local_sql(hosts["pg-sp"], "SELECT slot_name, active FROM pg_replication_slots").stdout.split()
    assert "pg_va|t" in slots, slots


def test_a_row_written_on_the_primary_is_read_on_the_replica_within_seconds(hosts):
    marker = uuid.uuid4().hex
    # The marker is a uuid4 hex string made here: nothing to inject.
    sql = f"CREATE TABLE IF NOT EXISTS repl_probe (v text); INSERT INTO repl_probe VALUES ('{marker}')"  # noqa: S608
    out = local_sql(hosts["pg-sp"], sql)
    assert out.rc == 0, out.stderr
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        query = f"SELECT count(*) FROM repl_probe WHERE v = '{marker}'"  # noqa: S608 - see above
        seen = local_sql(hosts["pg-va"], query).stdout.strip()
        if seen == "1":
            break
        time.sleep(0.5)
    assert seen == "1", "the replica did not show the row within 10 s"


def test_replica_is_in_recovery_and_refuses_writes(hosts):
    assert local_sql(hosts["pg-va"], "SELECT pg_is_in_recovery()").stdout.strip() == "t"
    out = local_sql(hosts["pg-va"], "CREATE TABLE nope (v int)")
    assert out.rc != 0
    assert "read-only transaction" in out.stderr


def test_replication_password_is_nowhere_visible(hosts, logins):
    password = logins["replication"]["password"]
    va = hosts["pg-va"]
    assert password not in va.check_output("ps -eo args")
    assert password not in local_sql(va, "SHOW primary_conninfo", db="postgres").stdout
    auto = va.run("cat /var/lib/postgresql/15/main/postgresql.auto.conf").stdout
    assert password not in auto
    pgpass = va.file("/var/lib/postgresql/.pgpass")
    assert pgpass.user == "postgres"
    assert pgpass.mode == 0o600
