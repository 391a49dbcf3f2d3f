"""Bad inputs must stop a run of the scenario's converge before any host changes.
Runs once, not per host. (A --check run on converged hosts is tested in the pki
scenario, which converges the same playbook; Vault failures in tests/integration.)"""

import json

from tests.helpers.ansible_run import converge_playbook, run_playbook

testinfra_hosts = ["common-db"]


def assert_nothing_changed(run):
    assert run.recap, run.output[-3000:]
    assert all(r["changed"] == 0 for r in run.recap.values()), run.recap


def test_wrong_variable_type_is_refused_before_any_change():
    run = run_playbook(converge_playbook(), "-e", '{"common_sshd_port": "twenty-two"}')
    assert run.rc != 0
    assert "common : Validating arguments against arg spec" in run.output
    assert "common_sshd_port" in run.output
    assert "int" in run.output
    assert_nothing_changed(run)


def test_unknown_firewall_group_is_refused_before_any_change():
    rule = {"name": "metrics", "port": 9999, "on_groups": ["nosuchgroup"]}
    run = run_playbook(converge_playbook(), "-e", json.dumps({"common_firewall_extra_rules": [rule]}))
    assert run.rc != 0
    assert "firewall rule 'metrics': on_groups names group 'nosuchgroup'" in run.output
    assert_nothing_changed(run)


def test_two_services_on_one_port_are_refused_before_any_change():
    # common-db is a postgres host: the PostgreSQL exporter would take the node exporter's
    # port, which no role checks by itself (pgbouncer_port 5432 is pgbouncer's own check,
    # which the preflight runs first).
    run = run_playbook(converge_playbook(), "-e", '{"postgresql_exporter_port": 9100}')
    assert run.rc != 0
    assert ("host 'common-db': common_node_exporter_port (9100) and postgresql_exporter_port (9100) "
            "collide on tcp") in run.output
    assert_nothing_changed(run)


def test_port_out_of_range_is_refused_naming_host_and_variable():
    run = run_playbook(converge_playbook(), "-e", '{"redis_sentinel_port": 70000}')
    assert run.rc != 0
    # The inventory's check (preflight) names it before the firewall's own.
    assert "redis_sentinel_port is 70000, expected a port in 1-65535" in run.output
    assert_nothing_changed(run)
