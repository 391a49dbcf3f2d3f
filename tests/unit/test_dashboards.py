"""Grafana dashboards (roles/grafana/files/dashboards) as data: valid JSON, well formed,
PromQL that parses, and every metric a panel reads is one this repository proves is
really exposed.

"Proved exposed" means one of:
- a metric an alert rule reads: the postgresql, redis and monitoring scenarios check
  live that their exporters expose the rules' pg_*, redis_*, node_* and pki_* names
  (test_postgres_rules_read_metrics_the_exporter_exposes, test_redis_rules_read_metrics_
  the_exporters_expose, test_host_rules_use_metrics_the_exporters_really_expose);
- a recording rule of the rule files (the monitoring scenario checks they load);
- a series our own metrics writers produce (pgbouncer-metrics, pgbackrest-metrics,
  pgbackrest-drill), whose output the postgresql scenario checks on its hosts;
- one of LIVE_CHECKED below: a name a scenario test asserts in a live exporter's output
  (the test here checks the named test file still mentions it);
- `up` and `ALERTS`, which Prometheus itself writes.
The app's editaliza_http_* names are those the reference app (tests/app/app.py) exposes and
the rules assume: a contract with the real app, not a check of it.
"""

import json
import re
import subprocess

import pytest
import yaml

from tests.helpers.ansible_run import ROOT, cached_tool
from tests.helpers.promql import metric_names

DASHBOARDS = sorted((ROOT / "roles/grafana/files/dashboards").glob("*.json"))
RULES = sorted((ROOT / "roles/prometheus/files/rules").glob("*.yml"))
LIVE_CHECKED = {
    "pg_replication_slots_retained_wal_bytes": "molecule/postgresql/tests/test_exporter.py",
    "redis_connected_clients": "molecule/redis/tests/test_replication.py",
    "redis_sentinel_master_status": "molecule/redis/tests/test_replication.py",
    "nginx_connections_accepted": "molecule/app/tests/test_loadbalancer.py",
}
BUILTIN = {"up", "ALERTS"}
def _writer_names(path):
    text = (ROOT / path).read_text()
    return set(re.findall(r"\b((?:pgbouncer|pgbackrest)_[a-z_]+)\b", text))


def _rule_names():
    alerting, recorded = set(), set()
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                alerting |= metric_names(rule["expr"])
                if "record" in rule:
                    recorded.add(rule["record"])
    return alerting, recorded


def proved_exposed():
    alerting, recorded = _rule_names()
    return (alerting | recorded | BUILTIN | set(LIVE_CHECKED)
            | _writer_names("roles/pgbouncer/files/pgbouncer-metrics")
            | _writer_names("roles/pgbackrest/files/pgbackrest-metrics")
            | _writer_names("roles/pgbackrest/files/pgbackrest-drill"))


def _load(path):
    return json.loads(path.read_text())


def _exprs(board):
    return [(p["title"], t["expr"]) for p in board["panels"] for t in p.get("targets", [])]


def test_the_role_ships_exactly_the_dashboards_it_lists():
    defaults = yaml.safe_load((ROOT / "roles/grafana/defaults/main.yml").read_text())
    assert sorted(defaults["grafana_dashboards"]) == [p.stem for p in DASHBOARDS]
    assert {"fleet", "postgresql", "redis", "nginx", "app", "slo"} <= {p.stem for p in DASHBOARDS}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_is_well_formed(path):
    board = _load(path)
    assert board["uid"] == f"editaliza-{path.stem}"
    assert board["title"]
    assert [v["name"] for v in board["templating"]["list"] if v["type"] == "datasource"] == ["datasource"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), ids
    for p in board["panels"]:
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        assert p["targets"], p["title"]
        assert {"x", "y", "w", "h"} <= set(p["gridPos"]), p["title"]
        ref_ids = [t["refId"] for t in p["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), p["title"]


def test_uids_are_unique():
    uids = [_load(p)["uid"] for p in DASHBOARDS]
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_panel_reads_metrics_that_are_proved_exposed(path):
    known = proved_exposed()
    unknown = [(title, n) for title, expr in _exprs(_load(path)) for n in sorted(metric_names(expr)) if n not in known]
    assert unknown == [], f"panels read metrics nothing proves exposed: {unknown}"


def test_live_checked_names_are_still_asserted_by_their_scenario_tests():
    for name, test in LIVE_CHECKED.items():
        assert name in (ROOT / test).read_text(), f"{test} no longer checks {name}"


def test_the_metric_name_parser():
    expr = ('histogram_quantile(0.99, sum by (route, le) (rate(editaliza_http_request_duration_seconds_bucket'
            '{status=~"5.."}[5m]))) / on (instance) group_left pg_up offset 5m and slo:x:ratio_rate1h > 1e3')
    assert metric_names(expr) == {"editaliza_http_request_duration_seconds_bucket", "pg_up", "slo:x:ratio_rate1h"}


def test_every_expression_parses(tmp_path):
    promtool = cached_tool("promtool")
    if promtool is None:
        pytest.skip("promtool is not here: run scripts/setup (it unpacks Debian's prometheus package)")
    rules = [{"record": f"dashboard:check:{i}", "expr": expr}
             for i, (_, expr) in enumerate(e for p in DASHBOARDS for e in _exprs(_load(p)))]
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    check = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
