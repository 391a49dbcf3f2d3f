"""A Vault client for tests that need a seeded value (to use it, or to look for it)."""

from __future__ import annotations

import os
from pathlib import Path

import hvac


def vault_client() -> hvac.Client:
    """Authenticated as the playbooks are: VAULT_TOKEN when set, else an AppRole login
    (hvac would otherwise fall back to a token file in the home directory)."""
    client = hvac.Client(url=os.environ["VAULT_ADDR"])
    if os.environ.get("VAULT_TOKEN"):
        client.token = os.environ["VAULT_TOKEN"]
    else:
        client.auth.approle.login(role_id=os.environ["VAULT_ROLE_ID"], secret_id=os.environ["VAULT_SECRET_ID"])
    return client


def read_secret(path: str, mount: str = "secret") -> dict:
    return vault_client().secrets.kv.v2.read_secret_version(
        path=path, mount_point=mount, raise_on_deleted_version=True
    )["data"]["data"]


def admin_client() -> hvac.Client:
    """The test Vault's root token (scripts/vault keeps it in .lab/vault-test/root-token),
    for tests that must put a bad secret in place; playbooks never get it."""
    token_file = Path(__file__).resolve().parents[2] / ".lab/vault-test/root-token"
    client = hvac.Client(url=os.environ["VAULT_ADDR"])
    client.token = token_file.read_text().strip()
    return client
