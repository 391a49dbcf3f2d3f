"""pgBackRest: archiving from the primary into both repositories (one per region), an
encrypted full backup in each, timers and the backup-age metric on the repository hosts."""

import json
import re
import time

import pytest
from conftest import local_sql

from tests.helpers.hosts import systemd_exposure

REPOS = {"pg-app": 1, "pg-other": 2}


def pgbackrest(host, *args):
    return host.run("runuser -u postgres -- pgbackrest " + " ".join(args))


def test_check_passes_on_the_primary(hosts):
    out = pgbackrest(hosts["pg-sp"], "--stanza=main", "check")
    assert out.rc == 0, out.stderr + out.stdout


def test_the_primary_sees_a_full_backup_in_each_repository(hosts):
    out = pgbackrest(hosts["pg-sp"], "--stanza=main", "--output=json", "info")
    assert out.rc == 0, out.stderr
    (stanza,) = json.loads(out.stdout)
    assert stanza["status"]["code"] == 0, stanza["status"]
    assert {r["key"] for r in stanza["repo"]} == {1, 2}
    assert {r["cipher"] for r in stanza["repo"]} == {"aes-256-cbc"}
    full = {b["database"]["repo-key"] for b in stanza["backup"] if b["type"] == "full" and not b.get("error")}
    assert full == {1, 2}, stanza["backup"]


def test_archived_wal_reaches_both_repositories(hosts):
    segment = local_sql(hosts["pg-sp"], "SELECT pg_walfile_name(pg_switch_wal())").stdout.strip()
    assert re.fullmatch(r"[0-9A-F]{24}", segment), segment
    for repo_host in REPOS:
        found = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not found:
            found = hosts[repo_host].run(
                f"find /var/lib/pgbackrest/archive/main -name '{segment}-*'").stdout.strip()
            time.sleep(1)
        assert found, f"{segment} did not reach the repository on {repo_host} within 30 s"


def test_repositories_hold_only_ciphertext_and_the_passphrase_is_readable_by_postgres_only(hosts):
    for repo_host in REPOS:
        head = hosts[repo_host].run("head -c 8 /var/lib/pgbackrest/backup/main/backup.info").stdout
        assert head == "Salted__", f"backup.info on {repo_host} is not encrypted: {head!r}"
        wal = hosts[repo_host].run("find /var/lib/pgbackrest/archive/main -name '0*-*' -type f | head -1").stdout
        assert wal.strip(), f"no archived WAL on {repo_host}"
        assert hosts[repo_host].run(f"head -c 8 {wal.strip()}").stdout == "Salted__"
    for host in ("pg-sp", "pg-va", *REPOS):
        conf = hosts[host].file("/etc/pgbackrest.conf")
        assert (conf.user, conf.group, conf.mode) == ("postgres", "postgres", 0o640), host
        assert re.search(r"^repo\d-cipher-pass=", conf.content_string, re.MULTILINE), host


def test_backup_timers_are_scheduled_on_repository_hosts_only(hosts):
    for repo_host in REPOS:
        timers = hosts[repo_host].check_output("systemctl list-timers --all --no-legend 'pgbackrest-*'")
        for unit in ("pgbackrest-main-full.timer", "pgbackrest-main-diff.timer", "pgbackrest-main-incr.timer",
                     "pgbackrest-metrics.timer"):
            assert unit in timers, timers
            assert hosts[repo_host].service(unit).is_enabled
    assert "pgbackrest-main" not in hosts["pg-sp"].check_output("systemctl list-timers --all --no-legend")


def test_metrics_give_the_last_good_full_backup_of_each_repository(hosts):
    now = time.time()
    for repo_host, index in REPOS.items():
        text = hosts[repo_host].file("/var/lib/prometheus/node-exporter/pgbackrest.prom").content_string
        assert "pgbackrest_info_success 1" in text
        match = re.search(
            rf'^pgbackrest_backup_last_good_timestamp_seconds{{stanza="main",repo="{index}",type="full"}} (\d+)$',
            text, re.MULTILINE)
        assert match, text
        assert now - 3600 < int(match.group(1)) <= now + 5


@pytest.mark.parametrize(("host", "unit"), [("pg-sp", "pgbackrest.service"), ("pg-app", "pgbackrest.service"),
                                            ("pg-app", "pgbackrest-main-incr.service"),
                                            ("pg-app", "pgbackrest-metrics.service")])
def test_pgbackrest_s_units_are_sandboxed(hosts, host, unit):
    """The TLS server (Debian's unit: 9.2 'UNSAFE' without the drop-in), the backups and
    the metrics writer: at most 3.0."""
    assert systemd_exposure(hosts[host], unit) <= 3.0


def test_a_backup_through_its_sandboxed_unit_locks_where_every_process_of_the_stanza_looks(hosts):
    """The timer's unit (not Ansible's first backup) takes an incremental backup; its lock,
    and the TLS server's on the database host, are in the shared lock-path, never in a /tmp."""
    repo = hosts["pg-app"]
    before = pgbackrest(hosts["pg-sp"], "--stanza=main", "--output=json", "info")
    incr_before = sum(b["type"] == "incr" for b in json.loads(before.stdout)[0]["backup"])
    run = repo.run("systemctl start pgbackrest-main-incr.service")
    journal = repo.run("journalctl -u pgbackrest-main-incr.service --no-pager -o cat -n 20").stdout
    assert run.rc == 0, journal
    after = pgbackrest(hosts["pg-sp"], "--stanza=main", "--output=json", "info")
    assert sum(b["type"] == "incr" for b in json.loads(after.stdout)[0]["backup"]) == incr_before + 1
    # pg-sp archives (PostgreSQL's archive-push, outside any sandbox): with pgBackRest's
    # default lock-path, /tmp/pgbackrest would be there.
    for name in ("pg-app", "pg-sp"):
        assert hosts[name].file("/run/pgbackrest").is_directory, name
        tmpfiles = hosts[name].file("/etc/tmpfiles.d/pgbackrest.conf")
        assert tmpfiles.contains("^d /run/pgbackrest 0770 postgres postgres"), name
        assert "/run/pgbackrest" in pgbackrest(hosts[name], "help", "backup", "lock-path").stdout, name
        assert hosts[name].run("test -e /tmp/pgbackrest").rc != 0, f"{name}: locks in /tmp/pgbackrest"
    metrics = repo.run("systemctl start pgbackrest-metrics.service")
    assert metrics.rc == 0, repo.run("journalctl -u pgbackrest-metrics.service --no-pager -o cat -n 20").stdout
    assert "pgbackrest_info_success 1" in repo.file("/var/lib/prometheus/node-exporter/pgbackrest.prom").content_string
