"""Point-in-time restore (playbooks/postgres-restore.yml): rows written before a moment
come back on another host, rows written after it do not, and the cluster running on that
host is not touched."""

import json

from conftest import local_sql

from tests.helpers.ansible_run import ROOT, leaked_secrets, run_playbook


def test_restore_to_a_time_on_another_host_brings_back_exactly_the_earlier_rows(hosts):
    sp, va = hosts["pg-sp"], hosts["pg-va"]
    assert local_sql(sp, "CREATE TABLE pitr_probe (n int)").rc == 0
    assert local_sql(sp, "INSERT INTO pitr_probe SELECT generate_series(1, 100)").rc == 0
    target = local_sql(sp, "SELECT clock_timestamp()").stdout.strip()
    # Commits after the target, in a later transaction, and WAL switched so that both reach
    # the repositories (pgbackrest check waits for the segment to be archived).
    assert local_sql(sp, "SELECT pg_sleep(1.5); INSERT INTO pitr_probe SELECT generate_series(101, 150)").rc == 0
    check = sp.run("runuser -u postgres -- pgbackrest --stanza=main check")
    assert check.rc == 0, check.stderr

    # From repo2, the off-site repository: the copy that survives the loss of São Paulo.
    run = run_playbook(ROOT / "playbooks/postgres-restore.yml",
                       "-e", json.dumps({"restore_host": "pg-va", "restore_target_time": target, "restore_repo": 2}))
    try:
        assert run.rc == 0, run.output[-3000:]
        assert leaked_secrets(run.output) == []
        restored = va.run("runuser -u postgres -- psql -XAt -p 5433 -d editaliza "
                          "-c 'SELECT count(*), min(n), max(n) FROM pitr_probe'")
        assert restored.stdout.strip() == "100|1|100", restored.stdout + restored.stderr
        assert va.run("runuser -u postgres -- psql -XAt -p 5433 -c 'SELECT pg_is_in_recovery()'").stdout.strip() == "f"
        # The restored copy never archives into the stanza.
        assert va.run("runuser -u postgres -- psql -XAt -p 5433 -c 'SHOW archive_mode'").stdout.strip() == "off"
        # The replica that runs on the same host still streams from the primary.
        assert local_sql(va, "SELECT pg_is_in_recovery()").stdout.strip() == "t"
        assert local_sql(va, "SELECT count(*) FROM pitr_probe").stdout.strip() == "150"
    finally:
        va.run("pg_dropcluster --stop 15 restore; rm -rf /etc/postgresql/15/restore")


def test_restore_refuses_a_bad_request_before_any_change():
    run = run_playbook(ROOT / "playbooks/postgres-restore.yml",
                       "-e", json.dumps({"restore_host": "pg-app", "restore_target_time": "yesterday"}))
    assert run.rc != 0
    assert "expected -e restore_host=<a host of group postgres> (got 'pg-app')" in run.output
    assert "(got 'yesterday')" in run.output
    assert all(r["changed"] == 0 for r in run.recap.values()), run.recap
