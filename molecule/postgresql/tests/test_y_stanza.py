"""Issue 19.7: a converge never starts a full backup by itself.

Repository 2 (pg-other) loses its backups the way a bad day can leave it (here: the
stanza deleted and created again, so `pgbackrest info` says "no valid backup", status 2).
A converge names the stanza, leaves the backup to the timers and
takes none; the operator's -e pgbackrest_backup_now=true then takes it. Runs after the
drill (test_x_drill restores from both repositories) and leaves a full backup in both
repositories for the failover test."""

import json

from conftest import converge as scenario_converge

REPO_HOST = "pg-other"


def pgbackrest(host, *args):
    out = host.run("runuser -u postgres -- pgbackrest --stanza=main " + " ".join(args))
    assert out.rc == 0, f"pgbackrest {' '.join(args)} on {host.backend.hostname}: {out.stderr}{out.stdout}"
    return out.stdout


def repository(host):
    """The stanza as this repository host sees it: status code and its full backups."""
    (stanza,) = json.loads(pgbackrest(host, "--output=json", "info"))
    full = [b["label"] for b in stanza["backup"] if b["type"] == "full" and not b.get("error")]
    return stanza["status"]["code"], full


def converge(*extra):
    return scenario_converge("--tags", "pgbackrest", *extra)


def test_a_stanza_without_a_valid_backup_is_reported_and_left_to_the_timers(hosts):
    other = hosts[REPO_HOST]
    status, full = repository(other)
    assert (status, bool(full)) == (0, True), f"repository 2 should start with a valid full backup: {full}"

    # The repository's backups gone: stop the stanza here, delete it from this repository
    # (--force: its database is running), start it again, create it empty.
    pgbackrest(other, "stop")
    try:
        pgbackrest(other, "stanza-delete", "--repo=2", "--force")
    finally:
        pgbackrest(other, "start")
    pgbackrest(other, "stanza-create")
    assert repository(other) == (2, []), "the stanza should exist without a valid backup"

    run = converge()
    said = " ".join(run.output.split())
    assert f"pgbackrest on {REPO_HOST}: stanza main has no valid backup in this repository" in said, run.output[-3000:]
    assert "pgbackrest_backup_now=true" in said
    assert {h: r["changed"] for h, r in run.recap.items() if r["changed"]} == {}, run.output[-3000:]
    assert repository(other) == (2, []), "the converge took a backup by itself"

    # The operator's decision.
    run = converge("-e", "pgbackrest_backup_now=true")
    assert run.recap[REPO_HOST]["changed"] > 0
    status, full = repository(other)
    assert (status, len(full)) == (0, 1), f"pgbackrest_backup_now took no full backup: {full}"
    assert "has no valid backup" not in " ".join(run.output.split())
