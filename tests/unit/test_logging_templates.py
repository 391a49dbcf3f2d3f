"""The logging roles' templates rendered for the production inventory (three logging
hosts in São Paulo, none in Virginia): the cluster branch of elasticsearch.yml and the
nearest-region shipping, which the logging scenario (one logging host) does not render."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.helpers.ansible_run import ROOT, tool

HOSTS = ["sp-log2", "va-app1", "sp-db1", "sp-lb1"]
SP_LOG = ["10.10.6.61", "10.10.6.62", "10.10.6.63"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("rendered")
    placeholders = {
        "render_hosts": ":".join(HOSTS), "render_dir": str(out), "ansible_facts": {"memtotal_mb": 65536},
        "ansible_python_interpreter": sys.executable,
        "__kibana_users": {"kibana_system": "placeholder", "elastic": "placeholder"},
        "__kibana_encryption": {k: "p" * 32 for k in ("saved_objects", "reporting", "security")},
    }
    run = subprocess.run(
        [tool("ansible-playbook"), "-i", str(ROOT / "inventories/production/hosts.yml"),
         str(ROOT / "tests/unit/playbooks/render-logging.yml"), "-e", json.dumps(placeholders)],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    return out


def load(rendered, host, name):
    text = (rendered / host / name).read_text()
    return json.loads(text) if name.endswith(".json") else yaml.safe_load(text)


def test_three_logging_hosts_form_one_cluster_that_finds_its_peers(rendered):
    conf = load(rendered, "sp-log2", "elasticsearch.yml")
    assert conf["cluster.name"] == "editaliza-logs-saopaulo"
    assert "discovery.type" not in conf
    assert conf["discovery.seed_hosts"] == [f"{a}:9300" for a in SP_LOG]
    assert conf["cluster.initial_master_nodes"] == ["sp-log1", "sp-log2", "sp-log3"]
    assert conf["network.host"] == "10.10.6.62"
    template = load(rendered, "sp-log2", "index-template-editaliza-logs.json")
    assert template["template"]["settings"]["index.number_of_replicas"] == 1


def test_logstash_and_kibana_use_every_node_of_their_region_s_cluster(rendered):
    pipeline = (rendered / "sp-log2" / "editaliza.conf").read_text()
    assert "hosts => [" + ", ".join(f'"https://{a}:9200"' for a in SP_LOG) + "]" in pipeline
    kibana = load(rendered, "sp-log2", "kibana.yml")
    assert kibana["elasticsearch.hosts"] == [f"https://{a}:9200" for a in SP_LOG]


def test_a_region_without_logging_hosts_ships_to_one_that_has_them(rendered):
    va = load(rendered, "va-app1", "filebeat.yml")
    assert va["output.logstash"]["hosts"] == [f"{a}:5044" for a in SP_LOG]
    assert va["filebeat.inputs"][0]["fields"] == {"region": "virginia"}


def test_each_host_ships_the_logs_of_the_services_it_runs(rendered):
    inputs = {h: {i["id"] for i in load(rendered, h, "filebeat.yml")["filebeat.inputs"]}
              for h in ("sp-db1", "sp-lb1", "va-app1")}
    assert inputs == {
        "sp-db1": {"editaliza-journald", "editaliza-postgresql"},
        "sp-lb1": {"editaliza-journald", "editaliza-nginx"},
        "va-app1": {"editaliza-journald"},
    }
    assert not (rendered / "va-app1" / "elasticsearch.yml").exists()
