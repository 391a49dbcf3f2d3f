"""Bad input stops the logging tier before any host changes, naming what is wrong; a
check-mode run on the converged hosts changes nothing and prints no secret."""

from __future__ import annotations

import json

from tests.helpers.ansible_run import (
    ROOT,
    assert_refused_before_any_change,
    converge_playbook,
    run_playbook,
)


def test_an_unreachable_repository_stops_the_run_before_any_change():
    # Runs everywhere: nothing listens on port 9 of the loopback.
    run = run_playbook(ROOT / "playbooks/logging.yml", "-e", json.dumps({"logging_install_packages": True}),
                       "-e", "elasticsearch_apt_url=http://127.0.0.1:9")
    assert_refused_before_any_change(
        run, "elasticsearch on log-sp: Elastic's APT repository http://127.0.0.1:9/dists/stable/Release did not answer",
        "Nothing was changed")


def test_a_heap_larger_than_the_host_allows_is_refused(hosts):
    memtotal_mb = int(hosts["log-sp"].check_output("awk '/^MemTotal:/ {print $2}' /proc/meminfo")) // 1024
    run = run_playbook(converge_playbook(), "-e", json.dumps({"elasticsearch_heap_mb": memtotal_mb}))
    assert_refused_before_any_change(
        run, f"elasticsearch on log-sp: elasticsearch_heap_mb is {memtotal_mb}, more than half of the host's")


def test_two_logging_hosts_in_a_region_are_refused(tmp_path):
    # A second name for log-sp's container, in São Paulo's logging group, with an address
    # of its own (duplicate addresses are refused by another check).
    extra = tmp_path / "second-logging-host.yml"
    extra.write_text(json.dumps({"all": {"children": {
        "region_saopaulo": {"hosts": {"log-sp2": {
            "ansible_connection": "docker", "ansible_host": "log-sp", "fleet_address": "10.214.8.250"}}},
        "logging": {"hosts": {"log-sp2": {}}}}}}))
    run = run_playbook(converge_playbook(), "-i", str(extra))
    assert_refused_before_any_change(
        run, "region saopaulo has 2 logging hosts (log-sp, log-sp2): an Elasticsearch cluster needs 1 host")


def test_a_missing_vault_path_is_named():
    run = run_playbook(converge_playbook(), "-e", "elasticsearch_users_vault_path=editaliza/elasticsearch/nobody")
    assert_refused_before_any_change(run, "has no editaliza/elasticsearch/nobody", "Nothing was changed")


def test_kibana_encryption_keys_missing_from_vault_are_named():
    run = run_playbook(converge_playbook(), "-e", "kibana_encryption_vault_path=editaliza/kibana/none")
    assert_refused_before_any_change(
        run, "has no editaliza/kibana/none with keys of 32 characters or more: saved_objects, reporting, security")
