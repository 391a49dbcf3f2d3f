"""What the logging tier writes without Elastic's packages, checked as the services would
read it: users and directories as the packages make them, elasticsearch.yml, kibana.yml
and filebeat.yml parsed as YAML, the API definitions and saved objects as JSON, the heap
against the sizing filter, the certificates against the hosts' addresses.

Logstash's pipeline language has no parser here (only Logstash has one; the role runs
`logstash --config.test_and_exit` before a pipeline is put in place where Logstash is
installed): its file is checked for what it must contain, and says so."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from filter_plugins.elastic import elasticsearch_heap_mb
from tests.helpers.ansible_run import seeded_secrets
from tests.helpers.vault import read_secret

ETC = "/etc/elasticsearch"


def _yaml(host, path):
    return yaml.safe_load(host.file(path).content_string)


def _json(host, path):
    return json.loads(host.file(path).content_string)


@pytest.mark.parametrize(("user", "home", "shell"), [
    ("elasticsearch", "/nonexistent", "/bin/false"),
    ("logstash", "/usr/share/logstash", "/usr/sbin/nologin"),
    ("kibana", "/usr/share/kibana", "/usr/sbin/nologin"),
])
def test_service_users_exist_on_the_logging_host_only(hosts, user, home, shell):
    u = hosts["log-sp"].user(user)
    assert u.exists
    assert u.uid < 1000
    assert u.home == home
    assert u.shell == shell
    assert not hosts["log-va"].user(user).exists


@pytest.mark.parametrize(("path", "owner", "group", "mode"), [
    (ETC, "root", "elasticsearch", 0o2750),
    (f"{ETC}/certs", "root", "elasticsearch", 0o2750),
    ("/var/lib/elasticsearch", "elasticsearch", "elasticsearch", 0o2750),
    ("/var/log/elasticsearch", "elasticsearch", "elasticsearch", 0o2750),
    ("/etc/logstash/conf.d", "root", "logstash", 0o750),
    ("/var/lib/logstash", "logstash", "logstash", 0o750),
    ("/etc/kibana", "root", "kibana", 0o2750),
    ("/var/lib/kibana", "kibana", "kibana", 0o750),
])
def test_directories_have_the_packages_owners_and_modes(hosts, path, owner, group, mode):
    d = hosts["log-sp"].file(path)
    assert d.is_directory
    assert (d.user, d.group, d.mode) == (owner, group, mode)


def test_elasticsearch_is_a_secured_single_node_on_the_fleet_address(hosts, addresses):
    host = hosts["log-sp"]
    conf = _yaml(host, f"{ETC}/elasticsearch.yml")
    assert conf["cluster.name"] == "editaliza-logs-saopaulo"
    assert conf["node.name"] == "log-sp"
    assert conf["discovery.type"] == "single-node"  # the region's only logging host
    assert conf["network.host"] == addresses["log-sp"]
    assert (conf["http.port"], conf["transport.port"]) == (9200, 9300)
    assert conf["xpack.security.enabled"] is True
    assert conf["xpack.security.http.ssl"]["enabled"] is True
    assert conf["xpack.security.transport.ssl"]["verification_mode"] == "full"
    for name in ("http-fullchain.crt", "http.key", "ca.crt"):
        f = host.file(f"{ETC}/certs/{name}")
        assert (f.user, f.group, f.mode) == ("root", "elasticsearch", 0o640), name
    # The copied certificate is the pki role's, names this host's address, and matches its key.
    sans = host.check_output(f"openssl x509 -noout -ext subjectAltName -in {ETC}/certs/http-fullchain.crt")
    assert f"IP Address:{addresses['log-sp']}" in sans
    assert host.check_output(f"openssl x509 -noout -pubkey -in {ETC}/certs/http-fullchain.crt") == \
        host.check_output(f"openssl pkey -pubout -in {ETC}/certs/http.key")
    assert host.run(f"openssl verify -CAfile {ETC}/certs/ca.crt {ETC}/certs/http-fullchain.crt").rc == 0


def test_the_rolling_restart_is_installed_and_the_kernel_setting_written(hosts):
    # Run by the restart handler where Elasticsearch is installed; here (no packages) only
    # its installation and its own refusal of bad input are seen. Its procedure is
    # unit-tested against a recorded API: tests/unit/test_elasticsearch_restart.py.
    host = hosts["log-sp"]
    script = host.file("/usr/local/sbin/elasticsearch-rolling-restart")
    assert (script.user, script.mode) == ("root", 0o755)
    usage = host.run("/usr/local/sbin/elasticsearch-rolling-restart")
    assert usage.rc == 2
    assert "allocate primaries only" in usage.stderr
    assert host.file("/etc/sysctl.d/60-elasticsearch.conf").content_string.strip() == "vm.max_map_count=262144"
    print("Elasticsearch's rolling restart is not run here: Elastic's package repository is unreachable")


def test_the_heap_is_half_the_memory_capped_as_the_sizing_filter_says(hosts):
    host = hosts["log-sp"]
    memtotal_mb = int(host.check_output("awk '/^MemTotal:/ {print $2}' /proc/meminfo")) // 1024
    heap = elasticsearch_heap_mb(memtotal_mb)
    options = host.file(f"{ETC}/jvm.options.d/editaliza-heap.options").content_string
    assert f"\n-Xms{heap}m\n-Xmx{heap}m\n" in options, (memtotal_mb, options)


def test_logs_are_kept_30_days_in_data_streams_the_pipeline_writes(hosts):
    host = hosts["log-sp"]
    policy = _json(host, f"{ETC}/editaliza/ilm-editaliza-logs.json")["policy"]["phases"]
    assert policy["delete"] == {"min_age": "30d", "actions": {"delete": {}}}
    assert policy["hot"]["actions"]["rollover"]["max_age"] == "1d"
    template = _json(host, f"{ETC}/editaliza/index-template-editaliza-logs.json")
    assert template["index_patterns"] == ["logs-editaliza.*-*"]
    assert "data_stream" in template
    assert template["template"]["settings"]["index.lifecycle.name"] == "editaliza-logs"
    assert template["template"]["settings"]["index.number_of_replicas"] == 0  # a single node
    fields = template["template"]["mappings"]["properties"]
    assert fields["nginx"]["properties"]["status"]["type"] == "integer"
    assert fields["app"]["properties"]["latency_ms"]["type"] == "float"
    assert fields["source"]["properties"]["ip"]["type"] == "ip"
    # Every dataset the pipeline names falls under the template and the roles' patterns.
    pipeline = host.file("/etc/logstash/conf.d/editaliza.conf").content_string
    datasets = set(re.findall(r'"\[data_stream\]\[dataset\]" => "(editaliza\.[a-z]+)"', pipeline))
    assert datasets == {f"editaliza.{d}" for d in ("nginx", "postgresql", "app", "redis", "system")}
    writer = _json(host, f"{ETC}/editaliza/role-editaliza_logs_writer.json")["indices"]
    reader = _json(host, f"{ETC}/editaliza/role-editaliza_logs_reader.json")["indices"]
    assert writer == [{"names": ["logs-editaliza.*"], "privileges": ["create_doc", "auto_configure"]}]
    assert reader == [{"names": ["logs-editaliza.*"], "privileges": ["read", "view_index_metadata"]}]


def test_the_logstash_pipeline_takes_tls_beats_and_writes_as_the_writer(hosts, addresses):
    print("Logstash's pipeline syntax is not parsed here (no Logstash): checked are its inputs, "
          "routes and output as text")
    host = hosts["log-sp"]
    pipeline = host.file("/etc/logstash/conf.d/editaliza.conf").content_string
    assert pipeline.count("{") == pipeline.count("}")
    assert f'host => "{addresses["log-sp"]}"' in pipeline
    assert "port => 5044" in pipeline
    assert 'ssl_client_authentication => "required"' in pipeline
    assert f'"https://{addresses["log-sp"]}:9200"' in pipeline
    assert 'user => "logstash_writer"' in pipeline
    assert 'password => "${LOGSTASH_WRITER_PASSWORD}"' in pipeline
    for route in ('[fields][log_type] == "nginx"', '[fields][log_type] == "postgresql"',
                  "[syslog][identifier] =~ /^app-/", "[systemd][unit] =~ /^redis/"):
        assert route in pipeline, route
    # The password lives in the unit's environment file, root only.
    env = host.file("/etc/default/logstash")
    assert (env.user, env.group, env.mode) == ("root", "root", 0o600)
    writer = read_secret("editaliza/elasticsearch/users")["logstash_writer"]
    assert host.run("grep -qxF -- %s /etc/default/logstash", f"LOGSTASH_WRITER_PASSWORD={writer}").rc == 0
    # The beats input takes only PKCS#8 keys (pki key_format).
    assert "-----BEGIN PRIVATE KEY-----" in host.file("/etc/ssl/editaliza/logstash.key").content_string
    assert host.file("/etc/ssl/editaliza/logstash.key").group == "logstash"


def test_kibana_connects_as_kibana_system_with_vault_s_keys(hosts, addresses):
    host = hosts["log-sp"]
    f = host.file("/etc/kibana/kibana.yml")
    assert (f.user, f.group, f.mode) == ("root", "kibana", 0o640)
    conf = yaml.safe_load(f.content_string)
    assert conf["server.host"] == addresses["log-sp"]
    assert conf["server.ssl.enabled"] is True
    assert conf["elasticsearch.hosts"] == [f"https://{addresses['log-sp']}:9200"]
    assert conf["elasticsearch.username"] == "kibana_system"
    assert conf["elasticsearch.password"] == read_secret("editaliza/elasticsearch/users")["kibana_system"]
    keys = read_secret("editaliza/kibana/encryption")
    assert conf["xpack.encryptedSavedObjects.encryptionKey"] == keys["saved_objects"]
    assert conf["xpack.security.encryptionKey"] == keys["security"]
    assert all(len(v) >= 32 for v in keys.values())


def test_the_saved_objects_are_a_data_view_and_a_dashboard_whose_references_resolve(hosts):
    lines = hosts["log-sp"].file("/etc/kibana/editaliza-saved-objects.ndjson").content_string.splitlines()
    objects = {(o["type"], o["id"]): o for o in map(json.loads, lines)}
    assert objects[("index-pattern", "editaliza-logs")]["attributes"]["title"] == "logs-editaliza.*"
    assert ("dashboard", "editaliza-logs-dashboard") in objects
    for obj in objects.values():
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in objects, (obj["id"], ref)


def test_filebeat_ships_to_its_region_or_the_nearest_one_with_a_logging_host(hosts, addresses):
    for name in ("log-sp", "log-va"):
        f = hosts[name].file("/etc/filebeat/filebeat.yml")
        assert (f.user, f.group, f.mode) == ("root", "root", 0o600), name
        conf = yaml.safe_load(f.content_string)
        # Virginia has no logging host: log-va ships to São Paulo's.
        assert conf["output.logstash"]["hosts"] == [f"{addresses['log-sp']}:5044"], name
        assert conf["output.logstash"]["ssl.verification_mode"] == "full"
        inputs = {i["id"]: i for i in conf["filebeat.inputs"]}
        assert inputs["editaliza-journald"]["type"] == "journald"
        assert inputs["editaliza-journald"]["fields"]["region"] == ("saopaulo" if name == "log-sp" else "virginia")
        assert ("editaliza-nginx" in inputs) == (name == "log-va"), name  # log-va's host vars
        assert "editaliza-postgresql" not in inputs  # neither is a postgres host
        assert hosts[name].file("/etc/ssl/editaliza/filebeat.crt").exists


def test_no_seeded_secret_is_in_a_world_readable_file(hosts):
    secrets = seeded_secrets()
    patterns = " ".join(["-e %s"] * len(secrets))
    for name, host in hosts.items():
        out = host.run("find /etc /var/lib -xdev -type f -perm -o=r -size -1M -print0"
                       f" | xargs -0 -r grep -lF {patterns}", *secrets)
        assert out.stdout.strip() == "", (name, out.stdout)
