"""The scheduled restore drill (pgbackrest role) on the replica pg-va: from each repository
a scratch copy that holds the primary's sentinel row and passes pg_amcheck, measured RPO
and RTO in the textfile metrics; then a truncated file in repo2's newest backup fails the
drill loudly for repo2 only. Runs after the backup and PITR tests, before the restart and
failover tests (which it leaves the hosts as it found them for)."""

import json
import re
import time

import pytest
from conftest import local_sql

from tests.helpers.hosts import systemd_exposure

PROM = "/var/lib/prometheus/node-exporter/pgbackrest-drill.prom"
SCRATCH = "/var/lib/postgresql/drill"


def sample(text, name, repo):
    match = re.search(rf'^{name}{{stanza="main",repo="{repo}"}} (\S+)$', text, re.MULTILINE)
    assert match, f"{name} for repo{repo} missing from:\n{text}"
    return float(match.group(1))


def archived_sentinel(hosts):
    """A new sentinel row on the primary, its WAL archived into both repositories and
    replayed on pg-va; returns its id."""
    sp, va = hosts["pg-sp"], hosts["pg-va"]
    assert sp.run("systemctl start pgbackrest-sentinel.service").rc == 0
    row = local_sql(sp, "SELECT max(id) FROM editaliza_drill_sentinel", db="postgres").stdout.strip()
    assert row.isdigit(), row
    segment = local_sql(sp, "SELECT pg_walfile_name(pg_switch_wal())", db="postgres").stdout.strip()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [hosts[r].run(f"find /var/lib/pgbackrest/archive/main -name '{segment}-*'").stdout.strip()
                 for r in ("pg-app", "pg-other")]
        replayed = local_sql(va, "SELECT max(id) FROM editaliza_drill_sentinel", db="postgres").stdout.strip()
        if all(found) and replayed.isdigit() and int(replayed) >= int(row):
            break
        time.sleep(1)
    else:
        pytest.fail(f"sentinel {row} (segment {segment}) not archived in both repositories and replayed in 60 s")
    time.sleep(6)  # older than pgbackrest_drill_sentinel_grace (5 s in molecule.yml)
    return int(row)


def test_the_sentinel_writer_writes_on_the_primary_only(hosts):
    va = hosts["pg-va"]
    before = local_sql(va, "SELECT count(*) FROM editaliza_drill_sentinel", db="postgres").stdout.strip()
    assert va.run("systemctl start pgbackrest-sentinel.service").rc == 0
    # Its ExecCondition saw a server in recovery: skipped, not failed.
    result = va.run("systemctl show -p Result --value pgbackrest-sentinel.service").stdout.strip()
    assert result in ("success", "exec-condition"), result
    assert "Skipped due to 'exec-condition'" in va.run(
        "journalctl -u pgbackrest-sentinel.service --no-pager -o cat -n 5").stdout
    assert local_sql(va, "SELECT count(*) FROM editaliza_drill_sentinel", db="postgres").stdout.strip() == before
    for host in ("pg-sp", "pg-va"):
        assert hosts[host].service("pgbackrest-sentinel.timer").is_enabled, host
    assert hosts["pg-va"].service("pgbackrest-drill.timer").is_enabled
    assert not hosts["pg-sp"].file("/etc/systemd/system/pgbackrest-drill.timer").exists


@pytest.mark.parametrize(("unit", "host"), [("pgbackrest-drill.service", "pg-va"),
                                            ("pgbackrest-sentinel.service", "pg-sp")])
def test_drill_units_are_sandboxed(hosts, unit, host):
    # Measured on the lab: 1.7 and 1.3 ("OK"); unsandboxed both are 9.2.
    assert systemd_exposure(hosts[host], unit) < 2.0


def test_drill_restores_from_each_repository_and_measures_rpo_and_rto(hosts):
    va = hosts["pg-va"]
    # The replica's own archive-get queue: a restore with archive-async configured empties
    # it unless given a spool of its own (the first version of the drill did).
    spool = "/var/spool/pgbackrest/archive/main/in"
    assert va.run(f"install -d -o postgres -g postgres {spool} && runuser -u postgres -- touch {spool}/marker").rc == 0
    archived_sentinel(hosts)
    started = time.time()
    run = va.run("systemctl start pgbackrest-drill.service")
    journal = va.run("journalctl -u pgbackrest-drill.service --since '-10min' --no-pager -o cat").stdout
    assert run.rc == 0, journal[-3000:]
    for repo in (1, 2):
        assert re.search(rf"repo{repo}: passed, restored and writable in \d+ s \(RTO\)", journal), journal[-3000:]
    prom = va.file(PROM).content_string
    for repo in (1, 2):
        assert sample(prom, "pgbackrest_drill_success", repo) == 1
        assert sample(prom, "pgbackrest_drill_last_success_timestamp_seconds", repo) >= started - 5
        assert 0 < sample(prom, "pgbackrest_drill_restore_duration_seconds", repo) < 600
        # The sentinel's WAL was archived seconds before: the newest restorable point is recent.
        assert 0 <= sample(prom, "pgbackrest_drill_rpo_seconds", repo) < 120
    # Nothing left behind, nothing of the replica's touched; it still replays and streams.
    assert va.file(f"{spool}/marker").exists
    va.run(f"rm -f {spool}/marker")
    assert not va.file(SCRATCH).exists
    assert not va.file(f"{SCRATCH}.spool").exists
    assert va.run("ss -Hltnx | grep -c ':5499\\b'").stdout.strip() == "0"
    assert local_sql(va, "SELECT pg_is_in_recovery()", db="postgres").stdout.strip() == "t"
    assert local_sql(va, "SELECT status FROM pg_stat_wal_receiver", db="postgres").stdout.strip() == "streaming"


def test_a_broken_backup_fails_the_drill_for_its_repository_only(hosts):
    va, other = hosts["pg-va"], hosts["pg-other"]
    before = va.file(PROM).content_string
    info = json.loads(va.run("runuser -u postgres -- pgbackrest --output=json --stanza=main info").stdout)
    label = max((b for b in info[0]["backup"] if b["database"]["repo-key"] == 2),
                key=lambda b: b["timestamp"]["stop"])["label"]
    backup_dir = f"/var/lib/pgbackrest/backup/main/{label}/pg_data"
    victim = other.run(f"find {backup_dir} -type f -printf '%s %p\\n' | sort -n | tail -1 | cut -d' ' -f2-").stdout
    victim = victim.strip()
    assert victim, f"no file in {backup_dir} on pg-other"
    other.run(f"cp -p {victim} /root/drill-victim")
    try:
        assert other.run(f"truncate -s 100 {victim}").rc == 0
        archived_sentinel(hosts)
        run = va.run("systemctl start pgbackrest-drill.service")
        journal = va.run("journalctl -u pgbackrest-drill.service --since '-10min' --no-pager -o cat").stdout
        assert run.rc != 0, journal[-3000:]
        assert re.search(r"stanza main repo2: FAILED: restore from repo2: .* exited \d+", journal), journal[-3000:]
        prom = va.file(PROM).content_string
        assert sample(prom, "pgbackrest_drill_success", 2) == 0
        assert sample(prom, "pgbackrest_drill_success", 1) == 1
        # The last pass of repo2 is kept (stale alerts measure from it); its run time moved.
        assert sample(prom, "pgbackrest_drill_last_success_timestamp_seconds", 2) == sample(
            before, "pgbackrest_drill_last_success_timestamp_seconds", 2)
        assert sample(prom, "pgbackrest_drill_last_run_timestamp_seconds", 2) > sample(
            before, "pgbackrest_drill_last_run_timestamp_seconds", 2)
        assert not va.file(SCRATCH).exists
    finally:
        other.run(f"cp -p /root/drill-victim {victim} && rm -f /root/drill-victim")
