"""The Vault preflight against the tests' OpenBao: one AppRole login per run, and a
missing path or an unreachable Vault stops the run before anything changes."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.ansible_run import ROOT, tool
from tests.integration.ghost import inventory_with_ghost

HERE = Path(__file__).parent
VAULT_DIR = ROOT / ".lab/vault-test"


@pytest.fixture(scope="module")
def vault_env():
    subprocess.run([str(ROOT / "scripts/vault"), "start", "test"], check=True, capture_output=True)
    exports = subprocess.run(
        [str(ROOT / "scripts/vault"), "env", "test"], check=True, capture_output=True, text=True
    ).stdout
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    for line in exports.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value
    return env


def run(env, marker, *extra):
    cmd = [tool("ansible-playbook"), "-i", str(HERE / "inventory.yml"), str(HERE / "playbooks/read_secrets.yml"),
           "-e", f"marker={marker}", *extra]
    env = {**env, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def audit_paths():
    """Paths of the requests Vault answered, in order, from its audit log."""
    out = []
    for line in (VAULT_DIR / "audit.log").read_text().splitlines():
        entry = json.loads(line)
        if entry.get("type") == "response":
            out.append(entry["request"]["path"])
    return out


def test_one_approle_login_per_run_and_reads_reuse_its_token(vault_env, tmp_path):
    before = len(audit_paths())
    rc, output = run(vault_env, tmp_path / "marker")
    assert rc == 0, output[-3000:]
    assert (tmp_path / "marker").exists()
    paths = audit_paths()[before:]
    assert paths.count("auth/approle/login") == 1, paths
    catalogue_reads = [p for p in paths if p.startswith("secret/data/editaliza/")]
    # 18 catalogue paths checked by the preflight, then 5 tasks reading 2 secrets each.
    assert len(catalogue_reads) >= 18 + 10


def test_seeded_values_never_reach_the_output(vault_env, tmp_path):
    rc, output = run(vault_env, tmp_path / "marker", "-v")
    assert rc == 0, output[-3000:]
    values = json.loads((VAULT_DIR / "seeded-values.json").read_text())
    assert [v[:4] for v in values if v in output] == []


def test_missing_path_is_named_and_nothing_runs(vault_env, tmp_path):
    catalogue = json.dumps({"vault_secrets": {
        "postgres_app": {"path": "editaliza/postgres/app", "keys": ["username", "password", "port"]},
        "app_jwt": {"path": "editaliza/app/nosuchpath", "keys": ["secret"]},
    }})
    rc, output = run(vault_env, tmp_path / "marker", "-e", catalogue)
    assert rc != 0
    assert "Vault secret 'app_jwt' at secret/editaliza/app/nosuchpath is missing or unreadable" in output
    assert "Vault secret 'postgres_app' at secret/editaliza/postgres/app lacks keys: port" in output
    assert not (tmp_path / "marker").exists()


def test_unreachable_vault_stops_the_run(vault_env, tmp_path):
    rc, output = run({**vault_env, "VAULT_ADDR": "http://127.0.0.1:9"}, tmp_path / "marker")
    assert rc != 0
    assert "Vault at 'http://127.0.0.1:9' did not answer" in output
    assert not (tmp_path / "marker").exists()


def test_refused_credentials_stop_the_run(vault_env, tmp_path):
    rc, output = run({**vault_env, "VAULT_SECRET_ID": "not-a-secret-id"}, tmp_path / "marker")
    assert rc != 0
    assert "The AppRole login to Vault was refused" in output
    assert "not-a-secret-id" not in output
    assert not (tmp_path / "marker").exists()


def test_a_refused_token_is_named_as_such_before_any_path(vault_env, tmp_path):
    env = {k: v for k, v in vault_env.items() if k not in ("VAULT_ROLE_ID", "VAULT_SECRET_ID")}
    rc, output = run({**env, "VAULT_TOKEN": "hvs.not-a-token-of-this-vault"}, tmp_path / "marker")
    assert rc != 0
    assert "refused the token (VAULT_TOKEN: permission denied" in " ".join(output.split())
    assert "missing or unreadable" not in output
    assert "not-a-token-of-this-vault" not in output
    assert not (tmp_path / "marker").exists()


def test_missing_credentials_are_named(vault_env, tmp_path):
    env = {k: v for k, v in vault_env.items() if k not in ("VAULT_ROLE_ID", "VAULT_SECRET_ID")}
    rc, output = run(env, tmp_path / "marker")
    assert rc != 0
    assert "Set VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID" in output
    assert not (tmp_path / "marker").exists()


def test_a_host_that_does_not_answer_stops_the_run_naming_it_and_the_flag(vault_env, tmp_path):
    # A second host nobody answers for: SSH to a closed port on loopback.
    inventory = inventory_with_ghost(tmp_path)
    rc, output = run(vault_env, tmp_path / "marker", "-i", str(inventory))
    assert rc != 0
    flat = " ".join(output.split())
    assert "Not answering: ghost. Nothing was changed." in flat, output[-3000:]
    assert "declare them: -e fleet_hosts_down=ghost" in flat
    assert not (tmp_path / "marker").exists()
    # A misspelt name is refused, not taken as "nothing is down".
    rc, output = run(vault_env, tmp_path / "marker", "-i", str(inventory), "-e", "fleet_hosts_down=ghots")
    assert rc != 0
    assert "fleet_hosts_down names ghots, not in the inventory" in output, output[-3000:]
    assert not (tmp_path / "marker").exists()
