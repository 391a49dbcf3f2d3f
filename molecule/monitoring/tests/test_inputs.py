"""Bad inputs stop a converge before any host changes, naming what is wrong; a --check
--diff run on the converged hosts changes nothing and prints no secret."""

import json

from tests.helpers.ansible_run import (
    assert_refused_before_any_change,
    converge_playbook,
    run_playbook,
)


def test_a_scrape_group_empty_in_a_region_is_refused():
    jobs = [{"name": "node", "group": "all", "port": 9100},
            {"name": "redis", "group": "redis", "port": 9121}]
    run = run_playbook(converge_playbook(), "-e", json.dumps({"prometheus_scrape_jobs": jobs}))
    assert_refused_before_any_change(
        run, "scrape job 'redis' has no target in region 'saopaulo': group 'redis' has no host in region_saopaulo")


def test_a_missing_webhook_secret_is_named():
    run = run_playbook(converge_playbook(), "-e", "alertmanager_webhook_vault_path=editaliza/alerting/no-such-hook")
    assert_refused_before_any_change(run, "lacks editaliza/alerting/no-such-hook (key url)")


def test_a_rule_file_that_does_not_parse_is_refused_before_reload(tmp_path, hosts):
    bad = tmp_path / "broken.yml"
    bad.write_text("groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: up ==\n")
    before = hosts["mon-sp"].check_output("systemctl show -p MainPID --value prometheus")
    # Only the prometheus role's tasks (and the preflight, tagged always): the rest is
    # not what this test is about.
    run = run_playbook(converge_playbook(), "--tags", "prometheus",
                       "-e", json.dumps({"prometheus_rule_files_extra": [str(bad)]}))
    assert run.rc != 0
    assert "promtool check rules" in run.output or "failed to validate" in run.output, run.output[-3000:]
    assert not hosts["mon-sp"].file("/etc/prometheus/rules/broken.yml").exists
    assert hosts["mon-sp"].check_output("systemctl show -p MainPID --value prometheus") == before
