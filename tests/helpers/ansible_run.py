"""Run playbooks against a Molecule scenario's hosts from its testinfra tests.

The verifier runs with Molecule's environment (ANSIBLE_CONFIG, MOLECULE_*), so a test can
re-run the scenario's converge (for instance in check mode, or with bad variables) exactly
as Molecule does, and read the result.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECAP = re.compile(
    r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


def tool(name: str) -> str:
    """An Ansible command from the virtualenv running the tests, whatever PATH says."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


def cached_tool(name: str) -> str | None:
    """A tool scripts/setup unpacked into .cache/tools/bin (promtool, amtool), else PATH's,
    else None."""
    local = ROOT / ".cache/tools/bin" / name
    return str(local) if local.exists() else shutil.which(name)


@dataclass
class PlaybookRun:
    rc: int
    output: str

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        return {
            m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")}
            for m in RECAP.finditer(self.output)
        }


def run_playbook(playbook: str | Path, *args: str, env: dict[str, str] | None = None) -> PlaybookRun:
    """ansible-playbook with the scenario's inventory plus the shared one."""
    inventory = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    cmd = [
        tool("ansible-playbook"),
        "--inventory", str(inventory),
        "--inventory", str(ROOT / "molecule/_shared/inventory"),
        str(playbook),
        *args,
    ]
    run_env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", **(env or {})}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=run_env, timeout=1200, check=False)
    return PlaybookRun(proc.returncode, proc.stdout + proc.stderr)


def converge_playbook() -> Path:
    return Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]) / "converge.yml"


def seeded_secrets() -> list[str]:
    """Every value the test Vault was seeded with (scripts/vault_seed.py)."""
    path = ROOT / ".lab/vault-test/seeded-values.json"
    values = json.loads(path.read_text())
    assert values, f"{path} lists no seeded value"
    return values


def leaked_secrets(text: str) -> list[str]:
    """The seeded secret values that appear in `text` (shown shortened)."""
    return [v[:6] + "..." for v in seeded_secrets() if v in text]


def assert_refused_before_any_change(run: PlaybookRun, *fragments: str) -> None:
    """The run failed, its output names every fragment, and no host reports a change."""
    assert run.rc != 0, run.output[-2000:]
    for fragment in fragments:
        assert fragment in run.output, (fragment, run.output[-3000:])
    assert run.recap, run.output[-3000:]
    assert all(r["changed"] == 0 for r in run.recap.values()), run.recap
