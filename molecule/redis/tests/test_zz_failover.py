"""Sentinel failover of the sessions instance (runs last: it moves the primary).

Stopping the primary's sessions instance must make Sentinel promote the replica in the
other region within 30 s, and clients asking Sentinel must get the new address. The old
primary, started again, must come back as a replica of the new one. Then, with every
Sentinel stopped, a converge limited to the promoted host must keep it primary with its
data (the inventory still names the old one). The promoted host is recorded for
after_failover.yml, which runs after the next converge."""

import os
import uuid
from pathlib import Path

from conftest import DATA_HOSTS, PORTS, addresses_inventory, wait_for

from tests.helpers.ansible_run import converge_playbook, leaked_secrets, run_playbook

SENTINEL_UNIT = "redis-sentinel@editaliza.service"
SENTINEL_HOSTS = ("redis-sp", "redis-va", "redis-mon")


def test_stopping_the_primary_promotes_the_replica_within_30_s(cli, hosts):
    old = cli.primary_of("sessions")
    new = next(h for h in DATA_HOSTS if h != old)
    key, value = "session:failover-probe", uuid.uuid4().hex
    assert cli.as_user("app", "redis-mon", old, PORTS["sessions"], "SET", key, value).stdout.strip() == "OK"
    # Let the replica receive it before its primary goes.
    seen, _ = wait_for(lambda: cli.as_user("app", "redis-mon", new, PORTS["sessions"], "GET", key).stdout.strip()
                       == value, 5)
    assert seen

    hosts[old].check_output("systemctl stop redis-server@sessions.service")
    try:
        promoted, waited = wait_for(lambda: cli.primary_of("sessions", on="redis-mon") == new, 30)
        print(f"Sentinel promoted {new} {waited:.1f} s after {old}'s sessions instance stopped")
        assert promoted, f"Sentinel did not promote {new} within 30 s"
        # Every Sentinel, including the one on the stopped instance's host, soon gives the new
        # address (the others learn it from the leader's announcements).
        agreed, _ = wait_for(
            lambda: {cli.primary_of("sessions", on=h) for h in ("redis-sp", "redis-va", "redis-mon")} == {new}, 10
        )
        assert agreed, "the Sentinels do not agree on the new primary"
        # The new primary takes writes and kept the data.
        assert "role:master" in cli.admin(new, "sessions", "INFO", "replication").stdout
        assert cli.as_user("app", "redis-mon", new, PORTS["sessions"], "GET", key).stdout.strip() == value
        assert cli.as_user("app", "redis-mon", new, PORTS["sessions"], "SET", "t:after", "1").stdout.strip() == "OK"
    finally:
        hosts[old].check_output("systemctl start redis-server@sessions.service")

    def rejoined():
        info = cli.admin(old, "sessions", "INFO", "replication").stdout
        return "role:slave" in info and "master_link_status:up" in info

    ok, waited = wait_for(rejoined, 60, interval=1)
    print(f"{old} rejoined as a replica of {new} after {waited:.1f} s")
    assert ok, f"{old} did not come back as a replica of {new}"
    Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "promoted-primary").write_text(cli.addresses[new])


def test_with_every_sentinel_down_a_converge_of_the_promoted_host_keeps_it_primary(cli, hosts, tmp_path):
    # Runs after the failover above: the inventory names the old primary, Sentinel the new.
    promoted = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "promoted-primary").read_text().strip()
    new = next(h for h in DATA_HOSTS if cli.addresses[h] == promoted)
    old = next(h for h in DATA_HOSTS if h != new)
    key, value = "session:no-sentinel-probe", uuid.uuid4().hex
    for host in SENTINEL_HOSTS:
        hosts[host].check_output(f"systemctl stop {SENTINEL_UNIT}")
    try:
        assert cli.as_user("app", "redis-mon", new, PORTS["sessions"], "SET", key, value).stdout.strip() == "OK"
        inventory = addresses_inventory(cli.addresses, tmp_path / "addresses.json")
        run = run_playbook(converge_playbook(), "--inventory", inventory, "--limit", new)
        print(f"converge --limit {new} with every Sentinel stopped: rc {run.rc}, recap {run.recap}")
        assert run.rc == 0, run.output[-4000:]
        assert leaked_secrets(run.output) == []
        # No REPLICAOF was sent: the promoted host is still the primary, with the write.
        assert "role:master" in cli.admin(new, "sessions", "INFO", "replication").stdout
        assert cli.as_user("app", "redis-mon", new, PORTS["sessions"], "GET", key).stdout.strip() == value
        info = cli.admin(old, "sessions", "INFO", "replication").stdout
        assert "role:slave" in info, info
        assert f"master_host:{promoted}" in info, info
    finally:
        for host in SENTINEL_HOSTS:
            hosts[host].check_output(f"systemctl start {SENTINEL_UNIT}")
