"""playbooks/postgres-failover.yml (runs last: it moves the primary for good).

Promote the Virginia replica, fence the São Paulo primary; the new primary takes writes,
through pgbouncer too, and archives into both repositories; the old one can't start. A
converge with the old inventory stops before any change, naming the contradiction; with
the inventory updated as the runbook says, a converge changes nothing."""

import json
import time

from conftest import local_sql, remote_sql

from tests.helpers.ansible_run import (
    ROOT,
    assert_refused_before_any_change,
    converge_playbook,
    leaked_secrets,
    run_playbook,
)


def test_failover_promotes_the_replica_and_fences_the_old_primary(hosts, addresses, logins, tmp_path):
    sp, va = hosts["pg-sp"], hosts["pg-va"]
    assert local_sql(sp, "CREATE TABLE failover_probe (v text); INSERT INTO failover_probe VALUES ('before')").rc == 0
    deadline = time.monotonic() + 10
    while local_sql(va, "SELECT count(*) FROM failover_probe").stdout.strip() != "1" and time.monotonic() < deadline:
        time.sleep(0.5)

    started = time.monotonic()
    run = run_playbook(ROOT / "playbooks/postgres-failover.yml", "-e", "failover_to=pg-va")
    print(f"failover playbook: rc {run.rc} in {time.monotonic() - started:.0f} s; recap {run.recap}")
    assert run.rc == 0, run.output[-4000:]
    assert leaked_secrets(run.output) == []

    # The new primary has the data and takes writes, directly and through its pgbouncer.
    assert local_sql(va, "SELECT pg_is_in_recovery()").stdout.strip() == "f"
    assert local_sql(va, "INSERT INTO failover_probe VALUES ('after')").rc == 0
    assert local_sql(va, "SELECT string_agg(v, ',' ORDER BY v) FROM failover_probe").stdout.strip() == "after,before"
    app = remote_sql(hosts["pg-app"], f"{addresses['pg-va']} port=6432", logins["app"],
                     "CREATE TABLE app_failover_probe (v text); INSERT INTO app_failover_probe VALUES ('app') "
                     "RETURNING v")
    assert app.rc == 0, app.stderr
    assert "app" in app.stdout.splitlines()

    # The old primary is fenced: stopped, masked, and it can't be started.
    assert sp.run("systemctl is-enabled postgresql@15-main.service").stdout.strip() == "masked"
    assert not sp.service("postgresql@15-main.service").is_running
    assert sp.run("systemctl start postgresql@15-main.service").rc != 0
    assert "pg-va was promoted" in sp.file("/etc/postgresql/15/main/FENCED").content_string

    # Backups follow the new primary: its WAL reaches both repositories.
    check = va.run("runuser -u postgres -- pgbackrest --stanza=main check")
    assert check.rc == 0, check.stderr

    # The inventory still says pg-sp is the primary: a converge stops before changing anything.
    stale = run_playbook(converge_playbook())
    assert_refused_before_any_change(stale, "postgresql on pg-va: the inventory says postgresql_role replica")
    assert "postgresql on pg-sp: the inventory says postgresql_role primary" in stale.output

    # The inventory as the runbook says to edit it: a converge finds nothing to change.
    # (host_vars files, as Molecule's own inventory sets the roles there and a later
    # inventory source's host_vars win.)
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "hosts.json").write_text(json.dumps({"all": {"hosts": {"pg-sp": {}, "pg-va": {}}}}))
    (tmp_path / "host_vars/pg-sp.json").write_text(json.dumps({"postgresql_fenced": True}))
    (tmp_path / "host_vars/pg-va.json").write_text(json.dumps({"postgresql_role": "primary"}))
    again = run_playbook(converge_playbook(), "--inventory", str(tmp_path))
    assert again.rc == 0, again.output[-4000:]
    assert all(r["changed"] == 0 for r in again.recap.values()), again.recap
