"""Who may talk to Redis, and how each instance is set up. Topology-agnostic: the
primary is whichever host Sentinel names, so these pass before and after a failover."""

import json

import pytest
from conftest import PORTS, wait_for

MEMORY_PERCENT = {"sessions": 15, "cache": 15}


def test_unauthenticated_client_is_refused(cli):
    for instance, port in PORTS.items():
        out = cli.run("redis-mon", "redis-sp", port, "SET", "probe", "1")
        assert "NOAUTH" in out.stdout + out.stderr, (instance, out.stdout, out.stderr)


def test_default_user_is_disabled(cli):
    out = cli.run("redis-mon", "redis-sp", PORTS["sessions"], "PING", user="default", password="")
    assert "WRONGPASS" in out.stdout + out.stderr or "AUTH failed" in out.stdout + out.stderr


def test_plaintext_client_gets_no_answer(cli):
    out = cli.run("redis-mon", "redis-sp", PORTS["sessions"], "PING", tls=False)
    assert "PONG" not in out.stdout
    assert "NOAUTH" not in out.stdout  # nothing Redis-shaped comes back over plaintext


def test_app_user_can_set_and_get(cli):
    primary = cli.primary_of("sessions")
    assert cli.as_user("app", "redis-mon", primary, PORTS["sessions"], "SET", "t:app", "hello").stdout.strip() == "OK"
    assert cli.as_user("app", "redis-mon", primary, PORTS["sessions"], "GET", "t:app").stdout.strip() == "hello"


@pytest.mark.parametrize("command", [["FLUSHALL"], ["FLUSHDB"], ["CONFIG", "GET", "maxmemory"], ["DEBUG", "SLEEP", "0"],
                                     ["KEYS", "*"], ["SHUTDOWN"], ["ACL", "LIST"], ["REPLICAOF", "NO", "ONE"]])
def test_app_user_is_denied_dangerous_commands(cli, command):
    primary = cli.primary_of("cache")
    out = cli.as_user("app", "redis-mon", primary, PORTS["cache"], *command)
    # DEBUG is refused to every user unless enable-debug-command allows it; the rest by ACL.
    refusal = "DEBUG command not allowed" if command[0] == "DEBUG" else "NOPERM"
    assert refusal in out.stdout + out.stderr, out.stdout


def test_monitoring_user_can_read_but_not_write(cli):
    out = cli.as_user("monitoring", "redis-mon", "redis-sp", PORTS["sessions"], "INFO", "server")
    assert "redis_version:7." in out.stdout
    out = cli.as_user("monitoring", "redis-mon", "redis-sp", PORTS["sessions"], "SET", "t:mon", "1")
    assert "NOPERM" in out.stdout


@pytest.mark.parametrize("host", ["redis-sp", "redis-va"])
def test_instances_report_their_own_policy_persistence_and_size(cli, hosts, host):
    memtotal_kib = int(hosts[host].check_output("awk '/^MemTotal/ {print $2}' /proc/meminfo"))
    expected = {
        "sessions": {"maxmemory-policy": "noeviction", "appendonly": "yes", "appendfsync": "everysec",
                     "save": "3600 1 300 100 60 10000"},
        "cache": {"maxmemory-policy": "allkeys-lru", "appendonly": "no", "save": ""},
    }
    for instance, want in expected.items():
        out = cli.admin(host, instance, "--json", "CONFIG", "GET", "*").stdout
        config = json.loads(out)
        for key, value in want.items():
            assert config[key] == value, (host, instance, key, config[key])
        # Ansible's memtotal_mb is MemTotal in MiB, rounded down; the filter takes a share.
        want_bytes = (memtotal_kib // 1024) * MEMORY_PERCENT[instance] // 100 * 1024 * 1024
        assert int(config["maxmemory"]) == want_bytes, (host, instance)


def test_a_session_key_survives_a_restart_of_the_sessions_instance(cli, hosts):
    primary = cli.primary_of("sessions")
    app = ("app", "redis-mon", primary, PORTS["sessions"])
    assert cli.as_user(*app, "SET", "session:restart-probe", "alive").stdout.strip() == "OK"
    # appendfsync everysec: the write reaches the disk within a second.
    hosts[primary].run("sleep 1.5")
    hosts[primary].check_output("systemctl restart redis-server@sessions.service")
    value, _ = wait_for(lambda: cli.as_user(*app, "GET", "session:restart-probe").stdout.strip() == "alive", 20)
    assert value, "the session key did not survive the restart"
    # Leave the cluster as found: the replica back in sync.
    replica = next(h for h in ("redis-sp", "redis-va") if h != primary)
    linked, waited = wait_for(
        lambda: "master_link_status:up" in cli.admin(replica, "sessions", "INFO", "replication").stdout, 30, 1
    )
    assert linked, f"{replica} did not resynchronise within {waited:.0f} s of the restart"


def test_cache_keeps_nothing_on_disk(hosts):
    for host in ("redis-sp", "redis-va"):
        files = hosts[host].check_output("find /var/lib/redis/cache -type f")
        assert files == "", (host, files)


def test_no_password_in_any_process_list(hosts, secrets):
    values = [s["password"] for s in secrets.values()]
    for name, host in hosts.items():
        processes = host.check_output("ps -eo args")
        assert not [v[:4] for v in values if v in processes], name


def test_files_with_passwords_are_not_world_readable(hosts, secrets):
    values = [s["password"] for s in secrets.values()]
    for name, host in hosts.items():
        for value in values:
            out = host.run("find /etc /var/lib/redis -xdev -type f -perm -o=r -size -1M -print0 2>/dev/null"
                           " | xargs -0 -r grep -lF -- %s", value)
            assert out.stdout.strip() == "", (name, out.stdout)
