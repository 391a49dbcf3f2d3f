"""Replication across regions, Sentinel's view, the exporters (instances' and Sentinel's) and
the kernel settings."""

import re
import uuid

import pytest
import yaml
from conftest import DATA_HOSTS, PORTS, wait_for

from tests.helpers.ansible_run import ROOT
from tests.helpers.promql import exposed_names, metric_names


def _replica_of(primary):
    return next(h for h in DATA_HOSTS if h != primary)


@pytest.mark.parametrize("instance", PORTS)
def test_replica_link_is_up(cli, instance):
    primary = cli.primary_of(instance)
    replica = _replica_of(primary)
    info = cli.admin(replica, instance, "INFO", "replication").stdout
    assert "role:slave" in info, info
    assert "master_link_status:up" in info, info
    assert "connected_slaves:1" in cli.admin(primary, instance, "INFO", "replication").stdout


@pytest.mark.parametrize("instance", PORTS)
def test_replica_sees_new_keys_within_seconds(cli, instance):
    primary = cli.primary_of(instance)
    replica = _replica_of(primary)
    key, value = f"t:repl:{instance}", uuid.uuid4().hex
    assert cli.as_user("app", "redis-mon", primary, PORTS[instance], "SET", key, value).stdout.strip() == "OK"
    seen, waited = wait_for(
        lambda: cli.as_user("app", "redis-mon", replica, PORTS[instance], "GET", key).stdout.strip() == value, 5
    )
    assert seen, f"{replica} did not see {key} within {waited:.1f} s"


def test_replica_refuses_writes(cli):
    replica = _replica_of(cli.primary_of("sessions"))
    out = cli.as_user("app", "redis-mon", replica, PORTS["sessions"], "SET", "t:ro", "1")
    assert "READONLY" in out.stdout, out.stdout


@pytest.mark.parametrize("host", ["redis-sp", "redis-va", "redis-mon"])
def test_every_sentinel_knows_its_peers_and_has_a_quorum(cli, host):
    for instance in PORTS:
        out = cli.sentinel(host, "SENTINEL", "CKQUORUM", f"editaliza-{instance}").stdout
        assert out.startswith("OK 3 usable Sentinels"), (host, instance, out)


def test_sentinels_agree_on_the_primaries(cli):
    for instance in PORTS:
        answers = {cli.primary_of(instance, on=h) for h in ("redis-sp", "redis-va", "redis-mon")}
        assert len(answers) == 1, (instance, answers)


@pytest.mark.parametrize(("instance", "port"), [("sessions", 9121), ("cache", 9122)])
def test_exporter_serves_the_instance_metrics_over_tls(hosts, addresses, instance, port):
    for host in DATA_HOSTS:
        url = f"https://{addresses[host]}:{port}/metrics"
        metrics = hosts["redis-mon"].check_output(f"curl -sf --cacert /etc/ssl/editaliza/ca.crt {url}")
        assert "redis_up 1" in metrics, (host, instance)
        assert "redis_memory_max_bytes" in metrics
        assert "redis_connected_clients" in metrics
        policy = "noeviction" if instance == "sessions" else "allkeys-lru"
        assert f'maxmemory_policy="{policy}"' in metrics, (host, instance)


@pytest.mark.parametrize("host", ["redis-sp", "redis-va", "redis-mon"])
def test_sentinel_exporter_gives_each_sentinels_view_of_the_primaries(hosts, addresses, host):
    url = f"https://{addresses[host]}:9123/metrics"
    metrics = hosts["redis-mon"].check_output(f"curl -sf --cacert /etc/ssl/editaliza/ca.crt {url}")
    for instance in PORTS:
        for name, value in (("redis_sentinel_master_ok_sentinels", 3), ("redis_sentinel_master_status", 1)):
            pattern = rf'^{name}{{[^}}]*master_name="editaliza-{instance}"[^}}]*}} {value}$'
            found = [line for line in metrics.splitlines() if line.startswith(name)]
            assert re.search(pattern, metrics, re.MULTILINE), (host, instance, found)


def test_redis_rules_read_metrics_the_exporters_expose(hosts, addresses):
    exposed = set()
    for host, port in (("redis-sp", 9121), ("redis-sp", 9122), ("redis-mon", 9123)):
        url = f"https://{addresses[host]}:{port}/metrics"
        text = hosts["redis-mon"].check_output(f"curl -sf --cacert /etc/ssl/editaliza/ca.crt {url}")
        exposed |= exposed_names(text)
    groups = yaml.safe_load((ROOT / "roles/prometheus/files/rules/data.yml").read_text())["groups"]
    names = sorted({n for g in groups for r in g["rules"] for n in metric_names(r["expr"]) if n.startswith("redis_")})
    assert "redis_sentinel_master_ok_sentinels" in names
    missing = [n for n in names if n not in exposed]
    assert missing == [], f"rules read metrics the exporters do not expose: {missing}"


@pytest.mark.parametrize("host", DATA_HOSTS)
def test_kernel_settings_are_written_and_open_files_raised(hosts, host):
    h = hosts[host]
    sysctl = h.file("/etc/sysctl.d/60-redis.conf").content_string
    assert "vm.overcommit_memory = 1" in sysctl
    assert "net.core.somaxconn = 1024" in sysctl
    assert h.service("redis-disable-thp.service").is_enabled
    assert h.check_output("systemctl show -p LimitNOFILE --value redis-server@sessions.service") == "65535"
    pid = h.check_output("systemctl show -p MainPID --value redis-server@sessions.service")
    limits = h.check_output(f"cat /proc/{pid}/limits")
    soft = int(next(line.split()[3] for line in limits.splitlines() if line.startswith("Max open files")))
    # maxclients 10000 plus Redis's own 32 descriptors must fit.
    assert soft >= 10032, limits
    if soft < 65535:
        print(f"{host}: the container's hard limit caps open files at {soft} (the unit asks 65535)")


@pytest.mark.parametrize("host", DATA_HOSTS)
def test_kernel_settings_are_in_effect(hosts, host):
    h = hosts[host]
    virt = h.run("systemd-detect-virt --container").stdout.strip()
    if virt and virt != "none":
        pytest.skip(f"{host} is a {virt} container: the kernel is the host's, so vm.overcommit_memory, "
                    "somaxconn and transparent huge pages are written but not applied, and not tested here")
    assert h.check_output("cat /proc/sys/vm/overcommit_memory") == "1"
    assert int(h.check_output("cat /proc/sys/net/core/somaxconn")) >= 1024
    assert "[never]" in h.check_output("cat /sys/kernel/mm/transparent_hugepage/enabled")
