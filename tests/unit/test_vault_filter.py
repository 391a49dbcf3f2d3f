"""Unit tests for filter_plugins/vault.py."""

import pytest
from ansible.errors import AnsibleFilterError

from filter_plugins.vault import vault_catalogue_problems

CATALOGUE = {
    "postgres_app": {"path": "editaliza/postgres/app", "keys": ["username", "password"]},
    "jwt": {"path": "editaliza/app/jwt", "keys": ["secret"]},
    "webhook": {"path": "editaliza/alerting/webhook"},
}


def test_all_present_gives_no_problem():
    found = {"postgres_app": ["username", "password"], "jwt": ["secret"], "webhook": ["url"]}
    assert vault_catalogue_problems(CATALOGUE, found) == []


def test_missing_path_and_missing_keys_are_named():
    found = {"postgres_app": ["password"], "jwt": None, "webhook": []}
    assert vault_catalogue_problems(CATALOGUE, found, "kv") == [
        "Vault secret 'jwt' at kv/editaliza/app/jwt is missing or unreadable",
        "Vault secret 'postgres_app' at kv/editaliza/postgres/app lacks keys: username",
    ]


def test_entry_never_read_counts_as_missing():
    problems = vault_catalogue_problems({"jwt": CATALOGUE["jwt"]}, {})
    assert problems == ["Vault secret 'jwt' at secret/editaliza/app/jwt is missing or unreadable"]


def test_entry_without_path_is_reported():
    assert vault_catalogue_problems({"x": {"keys": ["a"]}}, {}) == ["vault_secrets.x has no path"]


def test_catalogue_must_be_a_mapping():
    with pytest.raises(AnsibleFilterError, match="must be a mapping"):
        vault_catalogue_problems(["editaliza/app/jwt"], {})
