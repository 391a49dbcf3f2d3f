"""Alert rules (roles/prometheus/files/rules): promtool's own unit tests, and a check that
every alert of every rule file has one (tests/alert_rules/*.test.yml).

promtool comes from Debian's prometheus package, unpacked by scripts/setup into
.cache/tools/bin (or from PATH). Where neither has it the tests say so and skip.
"""

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers.ansible_run import cached_tool

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "roles/prometheus/files/rules").glob("*.yml"))
TESTS = sorted((ROOT / "tests/alert_rules").glob("*.test.yml"))


def _promtool():
    return cached_tool("promtool")


def _alerts(path):
    return {r["alert"] for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"] if "alert" in r}


def test_every_rule_file_has_a_test_file():
    assert RULES, "no rule files found"
    tested = {Path(f).name for t in TESTS for f in yaml.safe_load(t.read_text())["rule_files"]}
    assert {r.name for r in RULES} == tested


def test_every_alert_is_tested_firing():
    fired = set()
    for t in TESTS:
        for case in yaml.safe_load(t.read_text())["tests"]:
            fired |= {a["alertname"] for a in case.get("alert_rule_test", []) if a.get("exp_alerts")}
    missing = set().union(*(_alerts(r) for r in RULES)) - fired
    assert not missing, f"alerts without a test that makes them fire: {sorted(missing)}"


def _promtool_run(*args, cwd=None):
    promtool = _promtool()
    if not promtool:
        pytest.skip("promtool not found (scripts/setup unpacks it from Debian's prometheus package)")
    result = subprocess.run([promtool, *args], capture_output=True, text=True, check=False, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", TESTS, ids=lambda p: p.name)
def test_promtool_rule_tests_pass(test_file):
    _promtool_run("test", "rules", str(test_file), cwd=test_file.parent)


@pytest.mark.parametrize("rule_file", RULES, ids=lambda p: p.name)
def test_promtool_checks_each_rule_file(rule_file):
    _promtool_run("check", "rules", str(rule_file))
