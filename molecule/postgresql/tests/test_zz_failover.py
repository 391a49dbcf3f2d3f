"""playbooks/postgres-failover.yml with the primary's host down (runs last: it moves the
primary for good).

A writer's acknowledged rows reach the Virginia replica; then the São Paulo primary's
container is paused (a host that stops answering). The failover refuses to go on until
the operator declares the old primary down (fleet_hosts_down), changing nothing; then it
promotes Virginia without reaching São Paulo: no acknowledged row is lost, the new
primary takes writes, through pgbouncer too, and archives into both repositories. The
old primary comes back running as a primary (it never knew): a converge with the old
inventory stops before any change, naming the contradiction; with the inventory updated
as the runbook says, the converge fences the old primary (stopped, masked, a note) and
changes nothing on any other host."""

import json
import subprocess
import time

from conftest import HOSTS, local_sql, remote_sql

from tests.helpers.ansible_run import (
    ROOT,
    assert_refused_before_any_change,
    converge_playbook,
    leaked_secrets,
    run_playbook,
)

FAILOVER = ROOT / "playbooks/postgres-failover.yml"
ROWS = 100


def wait_for(check, timeout):
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.5)
    return check()


def test_failover_with_the_primary_down_loses_no_acknowledged_row_and_fences_it_on_return(
        hosts, addresses, logins, tmp_path):
    sp, va = hosts["pg-sp"], hosts["pg-va"]
    # The writer: ROWS inserts, each its own transaction, counted once acknowledged.
    assert local_sql(sp, "CREATE TABLE failover_probe (v text)").rc == 0
    insert = "runuser -u postgres -- psql -XAtq -d editaliza -c \"INSERT INTO failover_probe VALUES ('row $i')\""
    acked = int(sp.check_output(f"n=0; for i in $(seq {ROWS}); do {insert} && n=$((n + 1)); done; echo $n"))
    assert acked == ROWS
    # Replication is asynchronous: rows the replica has not received when the primary
    # dies are lost by design (README "Failover"). The test waits until it has them all.
    lsn = local_sql(sp, "SELECT pg_current_wal_lsn()").stdout.strip()
    assert wait_for(lambda: local_sql(va, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'").stdout.strip() == "t", 15)

    # Left out by --limit or down, hosts gather no facts: addresses from the inventory,
    # as in the lab and production.
    (tmp_path / "hosts.json").write_text(json.dumps({"all": {"hosts": {h: {"fleet_address": addresses[h]}
                                                                       for h in HOSTS}}}))
    subprocess.run(["docker", "pause", "pg-sp"], check=True, timeout=30)
    try:
        refused = run_playbook(FAILOVER, "--inventory", str(tmp_path), "-e", "failover_to=pg-va")
        print(f"failover, old primary down, not declared: rc {refused.rc}; recap {refused.recap}")
        assert_refused_before_any_change(refused, "pg-sp")

        started = time.monotonic()
        run = run_playbook(FAILOVER, "--inventory", str(tmp_path), "-e", "failover_to=pg-va",
                           "-e", "fleet_hosts_down=pg-sp")
        print(f"failover, old primary declared down: rc {run.rc} in {time.monotonic() - started:.0f} s; "
              f"recap {run.recap}")
        assert run.rc == 0, run.output[-4000:]
        assert leaked_secrets(run.output) == []
        assert "pg-sp is fenced (NOT reached: keep it off)" in " ".join(run.output.split())
        # Not reached, so nothing changed there (the failover's ping is all it tried).
        assert run.recap["pg-sp"]["changed"] == 0, run.recap

        # The new primary has every acknowledged row and takes writes, directly and
        # through its pgbouncer.
        assert local_sql(va, "SELECT pg_is_in_recovery()").stdout.strip() == "f"
        assert local_sql(va, "SELECT count(*) FROM failover_probe").stdout.strip() == str(ROWS)
        assert local_sql(va, "INSERT INTO failover_probe VALUES ('after')").rc == 0
        app = remote_sql(hosts["pg-app"], f"{addresses['pg-va']} port=6432", logins["app"],
                         "CREATE TABLE app_failover_probe (v text); INSERT INTO app_failover_probe VALUES ('app') "
                         "RETURNING v")
        assert app.rc == 0, app.stderr
        assert "app" in app.stdout.splitlines()
        # Backups follow the new primary: its WAL reaches both repositories.
        check = va.run("runuser -u postgres -- pgbackrest --stanza=main check")
        assert check.rc == 0, check.stderr
    finally:
        subprocess.run(["docker", "unpause", "pg-sp"], check=True, timeout=30)

    # Back, the old primary still runs as a primary: what the runbook's fence is for.
    assert local_sql(sp, "SELECT pg_is_in_recovery()").stdout.strip() == "f"

    # The inventory still says pg-sp is the primary: a converge stops before changing anything.
    stale = run_playbook(converge_playbook(), "--inventory", str(tmp_path))
    assert_refused_before_any_change(stale, "postgresql on pg-va: the inventory says postgresql_role replica")

    # The inventory as the runbook says to edit it: the converge fences the old primary
    # and changes nothing anywhere else. (host_vars files, as Molecule's own inventory
    # sets the roles there and a later inventory source's host_vars win.)
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars/pg-sp.json").write_text(json.dumps({"postgresql_fenced": True}))
    (tmp_path / "host_vars/pg-va.json").write_text(json.dumps({"postgresql_role": "primary"}))
    again = run_playbook(converge_playbook(), "--inventory", str(tmp_path))
    assert again.rc == 0, again.output[-4000:]
    assert again.recap["pg-sp"]["changed"] == 2, again.recap
    assert all(r["changed"] == 0 for h, r in again.recap.items() if h != "pg-sp"), again.recap
    assert sp.run("systemctl is-enabled postgresql@15-main.service").stdout.strip() == "masked"
    assert not sp.service("postgresql@15-main.service").is_running
    assert sp.run("systemctl start postgresql@15-main.service").rc != 0
    assert "it was not reached when the failover ran" in sp.file("/etc/postgresql/15/main/FENCED").content_string
