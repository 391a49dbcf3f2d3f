"""Helpers the lab benchmarks share: commands in the lab's containers, the lab's topology
and Vault, and a description of the machine for the results files."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The benchmarks run as scripts: the repository root goes on the path for tests.helpers.
sys.path.insert(0, str(ROOT))
from tests.helpers.lab import lab_inventory  # noqa: E402

__all__ = ["ROOT", "dexec", "lab_inventory", "lab_vault_env", "machine", "sh", "vault_secret", "write_results"]


def sh(*args: str, stdin: str | None = None, timeout: int = 60) -> str:
    proc = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{shlex.join(args[:4])}...: exit {proc.returncode}: {proc.stderr.strip()[:400]}")
    return proc.stdout


def dexec(host: str, command: str, stdin: str | None = None, timeout: int = 60) -> str:
    """`command` through bash in the lab container `host`; secrets go through stdin only."""
    return sh("docker", "exec", "-i", host, "bash", "-c", command, stdin=stdin, timeout=timeout)


def lab_vault_env() -> dict[str, str]:
    """The variables `scripts/vault env lab` exports (VAULT_ADDR, the AppRole)."""
    env = sh(str(ROOT / "scripts/vault"), "env", "lab")
    values = dict(line.split("=", 1) for line in
                  (x.removeprefix("export ").strip() for x in env.splitlines()) if "=" in line)
    return {k: v.strip("'\"") for k, v in values.items()}


def vault_secret(path: str) -> dict:
    """A KV v2 secret from the lab's Vault (AppRole login, as the lab's playbooks do)."""
    values = lab_vault_env()
    import hvac  # from requirements.txt

    client = hvac.Client(url=values["VAULT_ADDR"])
    client.auth.approle.login(role_id=values["VAULT_ROLE_ID"], secret_id=values["VAULT_SECRET_ID"])
    return client.secrets.kv.v2.read_secret_version(path=path, mount_point="secret",
                                                    raise_on_deleted_version=True)["data"]["data"]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory_gib = round(int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024, 1)
    return f"{os.cpu_count()} CPUs ({cpu}), {memory_gib} GiB, kernel {platform.release()}"


def write_results(path: Path, lines: list[str]) -> None:
    """The results file (Markdown), also printed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"written to {path.relative_to(ROOT)}")
