"""Sentinel failover of the sessions instance (runs last: it moves the primary).

Stopping the primary's sessions instance must make Sentinel promote the replica in the
other region within 30 s, and clients asking Sentinel must get the new address. The old
primary, started again, must come back as a replica of the new one. The promoted host is
recorded for after_failover.yml, which runs after the next converge."""

import os
import uuid
from pathlib import Path

from conftest import DATA_HOSTS, PORTS, wait_for


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
