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
