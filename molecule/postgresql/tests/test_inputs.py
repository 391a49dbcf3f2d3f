"""Bad inputs stop a converge before any host changes, naming what is wrong; a --check
--diff run on the converged hosts changes nothing and prints no secret."""

import json

from tests.helpers.ansible_run import (
    assert_refused_before_any_change,
    converge_playbook,
    run_playbook,
)


def test_two_primaries_are_refused():
    run = run_playbook(converge_playbook(), "-e", "postgresql_role=primary")
    assert_refused_before_any_change(run, "PostgreSQL cluster 'main' needs exactly one primary, found: pg-sp, pg-va")


def test_replica_without_primary_is_refused():
    run = run_playbook(converge_playbook(), "-e", "postgresql_role=replica")
    assert_refused_before_any_change(run, "PostgreSQL cluster 'main' needs exactly one primary, found: none")


def test_replica_the_primary_cannot_admit_is_refused():
    rules = [{"name": "app", "database": "all", "login": "app", "from_groups": ["app"]},
             {"name": "replication", "database": "replication", "login": "replication", "from_groups": ["app"]}]
    run = run_playbook(converge_playbook(), "-e", json.dumps({"postgresql_hba_rules": rules}))
    assert_refused_before_any_change(run, "postgresql on pg-va: the replica is in no group of the replication rules")


def test_missing_vault_path_is_named():
    paths = {"superuser": "editaliza/postgres/superuser", "app": "editaliza/postgres/app",
             "replication": "editaliza/postgres/no-such-login", "monitoring": "editaliza/postgres/monitoring"}
    run = run_playbook(converge_playbook(), "-e", json.dumps({"postgresql_vault_paths": paths}))
    assert_refused_before_any_change(run, "editaliza/postgres/no-such-login")


def test_two_repository_hosts_with_one_number_are_refused():
    run = run_playbook(converge_playbook(), "-e", "pgbackrest_repo_index=1")
    assert_refused_before_any_change(run, "pgBackRest repository hosts 'pg-app' and 'pg-other' both hold repo1")


def test_missing_cipher_passphrase_is_named():
    run = run_playbook(converge_playbook(), "-e", "pgbackrest_cipher_vault_path=editaliza/pgbackrest/no-such-cipher")
    assert_refused_before_any_change(run, "pgbackrest: Vault path 'editaliza/pgbackrest/no-such-cipher'")


def test_a_drill_on_a_host_without_postgresql_is_refused():
    # Every host gets it: the repository hosts pg-app and pg-other can't drill.
    run = run_playbook(converge_playbook(), "-e", "pgbackrest_drill_enabled=true")
    assert_refused_before_any_change(
        run, "pgbackrest on pg-app: pgbackrest_drill_enabled is true, but the drill needs a host of group "
             "postgres (this host is not one)")


def test_a_drill_without_room_for_the_backup_is_refused(hosts):
    va = hosts["pg-va"]
    assert va.run("mkdir -p /mnt/edz-tiny && mount -t tmpfs -o size=1m tmpfs /mnt/edz-tiny").rc == 0
    try:
        run = run_playbook(converge_playbook(), "-e", "pgbackrest_drill_scratch_dir=/mnt/edz-tiny/drill")
        assert_refused_before_any_change(run, "pgbackrest on pg-va: the restore drill needs")
        assert "under /mnt/edz-tiny, which has 1 MiB free" in run.output
    finally:
        va.run("umount /mnt/edz-tiny && rmdir /mnt/edz-tiny")
