"""Unit tests for filter_plugins/pgbackrest.py and the role's metrics writer."""

import json

import pytest
from ansible.errors import AnsibleFilterError

from filter_plugins.pgbackrest import pgbackrest_repo_problems, pgbackrest_repos, pgbackrest_stanzas
from tests.helpers.scripts import load_script

GROUPS = {"postgres": ["sp-db1", "va-db1"], "pgbackrest_repo": ["va-mon1", "sp-mon1"]}
HOSTVARS = {
    "sp-db1": {"group_names": ["region_saopaulo", "postgres"], "ansible_host": "10.0.1.20"},
    "va-db1": {"group_names": ["region_virginia", "postgres"], "ansible_host": "10.0.2.20"},
    "sp-mon1": {"group_names": ["region_saopaulo", "pgbackrest_repo"], "ansible_host": "10.0.1.30",
                "pgbackrest_repo_index": 1},
    "va-mon1": {"group_names": ["region_virginia", "pgbackrest_repo"], "ansible_host": "10.0.2.30",
                "pgbackrest_repo_index": 2},
}


def _with(host, **changes):
    hostvars = {h: dict(v) for h, v in HOSTVARS.items()}
    hostvars[host].update(changes)
    return hostvars


def test_two_regions_two_indexes_is_a_sound_layout():
    assert pgbackrest_repo_problems(GROUPS, HOSTVARS) == []


def test_repositories_sorted_by_index_with_their_addresses():
    repos = pgbackrest_repos(GROUPS, HOSTVARS, {"sp-mon1": "10.9.9.1"})
    assert [(r["index"], r["host"], r["address"], r["region"]) for r in repos] == [
        (1, "sp-mon1", "10.9.9.1", "saopaulo"),
        (2, "va-mon1", "10.0.2.30", "virginia"),
    ]


def test_all_repositories_in_one_region_is_refused_unless_allowed():
    hostvars = _with("va-mon1", group_names=["region_saopaulo", "pgbackrest_repo"])
    problems = pgbackrest_repo_problems(GROUPS, hostvars)
    assert len(problems) == 1
    assert "saopaulo" in problems[0]
    assert "3-2-1" in problems[0]
    assert pgbackrest_repo_problems(GROUPS, hostvars, require_offsite=False) == []


def test_duplicate_index_names_both_hosts():
    problems = pgbackrest_repo_problems(GROUPS, _with("va-mon1", pgbackrest_repo_index=1))
    assert any("'sp-mon1' and 'va-mon1' both hold repo1" in p for p in problems)


@pytest.mark.parametrize("value", [None, 0, 5, "two", True])
def test_bad_index_names_the_host_and_the_value(value):
    problems = pgbackrest_repo_problems(GROUPS, _with("va-mon1", pgbackrest_repo_index=value))
    assert any("'va-mon1'" in p and f"{value!r}" in p for p in problems)
    with pytest.raises(AnsibleFilterError, match="va-mon1"):
        pgbackrest_repos(GROUPS, _with("va-mon1", pgbackrest_repo_index=value))


def test_a_repository_on_a_database_host_is_refused():
    groups = {"postgres": ["sp-db1", "va-db1"], "pgbackrest_repo": ["sp-mon1", "va-db1"]}
    problems = pgbackrest_repo_problems(groups, _with("va-db1", pgbackrest_repo_index=2))
    assert problems == [
        "pgBackRest repository host 'va-db1' is also a PostgreSQL host: a repository must not be lost "
        "with the database it protects"
    ]


def test_database_hosts_without_a_repository_host_are_refused_unless_stated():
    groups = {"postgres": ["sp-db1"], "pgbackrest_repo": []}
    problems = pgbackrest_repo_problems(groups, HOSTVARS)
    assert len(problems) == 1
    assert "no host to hold the PostgreSQL hosts' backups" in problems[0]
    assert pgbackrest_repo_problems(groups, HOSTVARS, require_repository=False) == []
    assert pgbackrest_repo_problems({"postgres": [], "pgbackrest_repo": []}, HOSTVARS) == []


def test_hosts_named_by_an_ip_address_are_refused():
    groups = {"postgres": ["10.0.1.20", "va-db1"], "pgbackrest_repo": ["sp-mon1", "va-mon1"]}
    problems = pgbackrest_repo_problems(groups, HOSTVARS)
    assert len(problems) == 1
    assert "'10.0.1.20': its inventory name is an IP address" in problems[0]


def test_stanzas_list_the_primary_first():
    clusters = {"main": {"primary": "sp-db1", "replicas": ["va-db1"]}, "reports": {"primary": "x1", "replicas": []}}
    stanzas = pgbackrest_stanzas(clusters, {"sp-db1": "10.0.1.20", "va-db1": "10.0.2.20", "x1": "10.0.3.1"})
    assert stanzas == {
        "main": [{"index": 1, "host": "sp-db1", "address": "10.0.1.20"},
                 {"index": 2, "host": "va-db1", "address": "10.0.2.20"}],
        "reports": [{"index": 1, "host": "x1", "address": "10.0.3.1"}],
    }
    with pytest.raises(AnsibleFilterError, match="'va-db1'"):
        pgbackrest_stanzas(clusters, {"sp-db1": "10.0.1.20", "x1": "10.0.3.1"})


# --- roles/pgbackrest/files/pgbackrest-metrics ---------------------------------------------

def _metrics_module():
    return load_script("roles/pgbackrest/files/pgbackrest-metrics")


INFO = json.loads("""[{"name": "main", "status": {"code": 0, "message": "ok"},
  "repo": [{"key": 2, "status": {"code": 0}}],
  "backup": [
    {"type": "full", "error": false, "database": {"id": 1, "repo-key": 2}, "timestamp": {"start": 900, "stop": 1000}},
    {"type": "incr", "error": false, "database": {"id": 1, "repo-key": 2}, "timestamp": {"start": 1900, "stop": 2000}},
    {"type": "incr", "error": true, "database": {"id": 1, "repo-key": 2}, "timestamp": {"start": 2900, "stop": 3000}}
  ]}]""")


def test_metrics_keep_the_newest_good_backup_of_each_type():
    text = _metrics_module().render(INFO, now=2600)
    assert 'pgbackrest_backup_last_good_timestamp_seconds{stanza="main",repo="2",type="full"} 1000' in text
    assert 'pgbackrest_backup_last_good_timestamp_seconds{stanza="main",repo="2",type="incr"} 2000' in text
    # The backup flagged with errors (stop 3000) is not a good one.
    assert 'pgbackrest_backup_last_good_age_seconds{stanza="main",repo="2"} 600' in text
    assert 'pgbackrest_stanza_status_code{stanza="main"} 0' in text
    assert "pgbackrest_info_success 1" in text


def test_metrics_say_when_info_failed_or_a_stanza_has_no_backup():
    module = _metrics_module()
    assert module.render(None, now=1, ok=False).count("\n") == 3
    assert "pgbackrest_info_success 0" in module.render(None, now=1, ok=False)
    empty = [{"name": "main", "status": {"code": 2, "message": "no valid backups"}, "repo": [{"key": 1}], "backup": []}]
    text = module.render(empty, now=1)
    assert 'pgbackrest_stanza_status_code{stanza="main"} 2' in text
    assert "last_good" not in text


def test_metrics_file_is_replaced_whole(tmp_path):
    module = _metrics_module()
    target = tmp_path / "textfile" / "pgbackrest.prom"
    module.write_atomically(str(target), "a 1\n")
    module.write_atomically(str(target), "a 2\n")
    assert target.read_text() == "a 2\n"
    assert [p.name for p in target.parent.iterdir()] == ["pgbackrest.prom"]


# --- the restore drill's pure parts (the drill itself runs in the postgresql scenario) ---

@pytest.fixture(scope="module")
def drill():
    return load_script("roles/pgbackrest/files/pgbackrest-drill")


DRILL_INFO = [{
    "name": "main",
    "backup": [
        {"label": "F1", "type": "full", "timestamp": {"stop": 1000}, "database": {"repo-key": 1},
         "info": {"size": 500 * 2**20}},
        {"label": "I1", "type": "incr", "timestamp": {"stop": 2000}, "database": {"repo-key": 1},
         "info": {"size": 510 * 2**20}},
        {"label": "F2", "type": "full", "timestamp": {"stop": 1500}, "database": {"repo-key": 2},
         "info": {"size": 505 * 2**20}},
    ],
}]


def test_drill_takes_the_newest_backup_of_the_repository(drill):
    assert drill.latest_backup(DRILL_INFO, "main", 1)["label"] == "I1"
    assert drill.latest_backup(DRILL_INFO, "main", "2")["label"] == "F2"
    assert drill.latest_backup(DRILL_INFO, "main", 3) is None
    assert drill.latest_backup(DRILL_INFO, "other", 1) is None


def test_drill_refuses_less_space_than_the_backup_restores_to(drill):
    backup = drill.latest_backup(DRILL_INFO, "main", 1)
    assert drill.space_problem(backup, 600 * 2**20) is None
    assert drill.space_problem(backup, 400 * 2**20) == "400 MiB free, the backup restores to 510 MiB"


def test_drill_failure_keeps_the_last_pass_and_marks_the_run(drill):
    first = drill.merge({}, {("main", "1"): {"ok": True, "started": 100.0, "duration": 42.5, "rpo": 61.0},
                             ("main", "2"): {"ok": True, "started": 100.0, "duration": 40.0, "rpo": 70.0}})
    text = drill.render(first)
    assert 'pgbackrest_drill_success{stanza="main",repo="1"} 1' in text
    assert 'pgbackrest_drill_restore_duration_seconds{stanza="main",repo="1"} 42.500' in text
    # A week later repo2 fails: its success is 0, its run time moves, its last pass stays.
    second = drill.merge(drill.parse_previous(text), {("main", "1"): {"ok": True, "started": 700.0, "duration": 41.0,
                                                                      "rpo": 65.0},
                                                      ("main", "2"): {"ok": False, "started": 700.0}})
    text = drill.render(second)
    assert 'pgbackrest_drill_success{stanza="main",repo="2"} 0' in text
    assert 'pgbackrest_drill_last_run_timestamp_seconds{stanza="main",repo="2"} 700' in text
    assert 'pgbackrest_drill_last_success_timestamp_seconds{stanza="main",repo="2"} 100' in text
    assert 'pgbackrest_drill_last_success_timestamp_seconds{stanza="main",repo="1"} 700' in text
    assert 'pgbackrest_drill_rpo_seconds{stanza="main",repo="2"} 70' in text
    assert text.count("# TYPE pgbackrest_drill_success gauge") == 1


def test_a_scratch_cluster_not_yet_started_is_not_taken_for_a_stopped_one(drill):
    # pg_ctl -W returns before the postmaster writes its pid file (a CI run on a busy host
    # reported "stopped during recovery" with an empty log for exactly that).
    assert not drill.scratch_stopped(False, seen_before=False, since_start=2)
    assert drill.scratch_stopped(False, seen_before=True, since_start=2)  # it ran, and is gone
    assert drill.scratch_stopped(False, seen_before=False, since_start=drill.START_GRACE + 1)
    assert not drill.scratch_stopped(True, seen_before=True, since_start=500)
