"""The drift check's fast path: scripts/drift_state.py decides which hosts get the full
check, library/edz_state_digest.py reads a host's state."""

from __future__ import annotations

import json
import os

from tests.helpers.scripts import load_script

state = load_script("scripts/drift_state.py")
digest = load_script("library/edz_state_digest.py")

GROUPS = {"postgres": ["sp-db1", "va-db1"], "redis": ["sp-db1", "va-db1"], "redis_sentinel": ["sp-mon1"],
          "logging": [], "monitoring": ["sp-mon1", "va-mon1"], "loadbalancers": ["sp-web1", "va-web1"]}
NOW = 1_000_000.0
DAY = 86400.0


def probed(digest_value="d1", files=None, **entry):
    files = files or {"/etc/a": "1"}
    return {"changed": [], "failed": [], "unreachable": False,
            "state": {"digest": digest_value, "sections": {"files": "f-" + digest_value, "units": "u"},
                      "files": files}, **entry}


def recorded(digest_value="d1", key="k", age=60.0, files=None):
    return {"key": key, "recorded_at": NOW - age, "state": probed(digest_value, files)["state"]}


def run_plan(probe_hosts, records, key="k", force=False):
    return state.plan({"hosts": probe_hosts}, records, key, GROUPS, NOW, DAY, force)


def test_a_host_whose_state_is_the_recorded_clean_one_needs_no_full_check():
    got = run_plan({"sp-web1": probed(), "va-web1": probed()}, {"sp-web1": recorded(), "va-web1": recorded()})
    assert (got["full"], got["unchanged"]) == ([], ["sp-web1", "va-web1"])


def test_a_moved_file_names_the_file_and_pulls_in_the_rest_of_the_cluster():
    hosts = {"sp-db1": probed("d2", {"/etc/a": "2"}), "va-db1": probed(), "sp-mon1": probed(), "sp-web1": probed()}
    records = {h: recorded() for h in hosts}
    got = run_plan(hosts, records)
    # sp-mon1 runs a Sentinel of sp-db1's Redis: its health check may see the drift.
    assert got["full"] == ["sp-db1", "sp-mon1", "va-db1"]
    assert got["unchanged"] == ["sp-web1"]
    assert got["why"]["sp-db1"] == "state moved: files (/etc/a)"
    assert got["why"]["va-db1"].startswith("with sp-db1, a member of its ")


def test_no_record_another_key_or_an_old_record_means_a_full_check():
    hosts = {"sp-web1": probed(), "va-web1": probed(), "sp-mon1": probed()}
    records = {"va-web1": recorded(key="before"), "sp-mon1": recorded(age=2 * DAY)}
    got = run_plan(hosts, records)
    assert got["why"]["sp-web1"] == "no clean state recorded yet"
    assert "changed since its state was recorded" in got["why"]["va-web1"]
    assert "recorded 48.0 h ago" in got["why"]["sp-mon1"]


def test_the_probes_own_findings_and_failures_mean_a_full_check():
    hosts = {"sp-db1": probed(changed=[{"task": "redis : Put back settings changed at run time (CONFIG SET)"}]),
             "sp-web1": probed(failed=[{"task": "Read the host's state in one call", "msg": "x"}]),
             "va-web1": {"changed": [], "failed": [], "unreachable": False, "state": None}}
    got = run_plan(hosts, {h: recorded() for h in hosts})
    assert got["why"]["sp-db1"] == "the probe found: redis : Put back settings changed at run time (CONFIG SET)"
    assert got["why"]["sp-web1"].startswith("the probe failed: ")
    assert got["why"]["va-web1"] == "the probe read no state"


def test_drift_full_checks_every_host():
    hosts = {"sp-web1": probed(), "va-web1": probed()}
    got = run_plan(hosts, {h: recorded() for h in hosts}, force=True)
    assert got["full"] == ["sp-web1", "va-web1"]


def test_moved_names_sections_and_at_most_five_files():
    old = {"digest": "a", "sections": {"files": "1", "units": "1", "command:firewall": "1"},
           "files": {f"/etc/f{i}": "1" for i in range(7)}}
    new = {"digest": "b", "sections": {"files": "2", "units": "1", "command:firewall": "2"},
           "files": {f"/etc/f{i}": "2" for i in range(7)}}
    got = state.moved(old, new)
    assert got[0] == "command:firewall"
    assert got[1].endswith("/etc/f4 and 2 more)")


def test_the_report_holds_every_host_and_only_clean_full_checked_hosts_are_recorded():
    plan_ = {"full": ["sp-db1", "va-db1"], "unchanged": ["sp-web1"], "key": "k"}
    report = {"hosts": {"sp-db1": {"changed": [{"task": "x", "kind": "corrective"}], "failed": [],
                                   "unreachable": False},
                        "va-db1": {"changed": [], "failed": [], "unreachable": False}},
              "drifted_hosts": ["sp-db1"], "refused": None}
    got = state.complete(report, plan_, ["va-web1"], None, None, NOW)
    assert got["drifted_hosts"] == ["sp-db1", "va-web1"]
    assert got["hosts"]["sp-web1"]["checked"] == "state"
    assert got["hosts"]["va-db1"]["checked"] == "full"
    probe = {"hosts": {"sp-db1": probed(), "va-db1": probed()}}
    assert list(state.clean_states(got, plan_, probe)) == ["va-db1"]


def test_no_full_check_still_gives_a_report_of_every_host():
    got = state.complete(None, {"full": [], "unchanged": ["sp-web1", "va-web1"], "key": "k"}, [], "abc", "def", NOW)
    assert (got["drifted_hosts"], sorted(got["hosts"]), got["baseline"]) == ([], ["sp-web1", "va-web1"], "abc")


def test_the_digest_sees_content_mode_and_a_new_file_but_not_an_excluded_one(tmp_path):
    (tmp_path / "etc").mkdir()
    conf = tmp_path / "etc/app.conf"
    conf.write_text("a = 1\n")

    def read():
        files = {}
        digest.walk(str(tmp_path / "etc"), [str(tmp_path / "etc/*.cache")], 1 << 20, files)
        return files

    first = read()
    (tmp_path / "etc/ld.cache").write_text("noise")
    assert read() == first
    os.chmod(conf, 0o600)
    second = read()
    assert second[str(conf)] != first[str(conf)]
    conf.write_text("a = 2\n")
    assert read()[str(conf)] != second[str(conf)]
    (tmp_path / "etc/sudoers-like").write_text("x")
    assert str(tmp_path / "etc/sudoers-like") in read()


def test_a_missing_root_is_recorded_as_absent(tmp_path):
    files = {}
    digest.walk(str(tmp_path / "nothing"), [], 1 << 20, files)
    assert files == {str(tmp_path / "nothing"): "absent"}


def test_the_repository_digest_follows_a_file_with_or_without_git(tmp_path):
    (tmp_path / "roles/x/tasks").mkdir(parents=True)
    task = tmp_path / "roles/x/tasks/main.yml"
    task.write_text("---\n")
    (tmp_path / "site.yml").write_text("---\n")
    first = state.repository_digest(tmp_path)  # no .git here: every file is read
    task.write_text("--- # changed\n")
    assert state.repository_digest(tmp_path) != first


def test_the_repository_digest_needs_no_git_program(tmp_path, monkeypatch):
    """A control host with a copy of the repository and no git: the files are read, and
    bytecode the run leaves beside the plugins does not move the key."""
    (tmp_path / "filter_plugins").mkdir()
    (tmp_path / "filter_plugins/f.py").write_text("X = 1\n")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    first = state.repository_digest(tmp_path)
    (tmp_path / "filter_plugins/__pycache__").mkdir()
    (tmp_path / "filter_plugins/__pycache__/f.cpython-311.pyc").write_bytes(b"\0")
    assert state.repository_digest(tmp_path) == first
    (tmp_path / "filter_plugins/f.py").write_text("X = 2\n")
    assert state.repository_digest(tmp_path) != first


def test_when_no_host_answers_the_report_names_each_unreachable(tmp_path):
    assert state.main(["unreachable", str(tmp_path), "a1,b1", ""]) == 0
    report = json.loads((tmp_path / "drift-report.json").read_text())
    assert report["drifted_hosts"] == ["a1", "b1"]
    assert all(e["unreachable"] and not e["changed"] for e in report["hosts"].values())
    assert 'fleet_drift_check_success{host="a1"} 0' in (tmp_path / "a1.prom").read_text()
