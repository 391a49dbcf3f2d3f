"""scripts/drift_batches.py: a correction never touches two nodes of one cluster at once."""

import json

from tests.helpers.scripts import load_script

drift_batches = load_script("scripts/drift_batches.py")

GROUPS = {
    "postgres": ["sp-db1", "va-db1"],
    "redis": ["sp-db1", "va-db1"],
    "redis_sentinel": ["sp-mon1"],
    "logging": ["sp-log1", "sp-log2", "sp-log3"],
}


def test_hosts_outside_clusters_are_corrected_together():
    assert drift_batches.batches(["sp-web1", "va-web1"], GROUPS) == [["sp-web1", "va-web1"]]


def test_two_nodes_of_a_cluster_never_share_a_batch():
    got = drift_batches.batches(["va-db1", "sp-web1", "sp-db1", "sp-log2", "sp-log1", "sp-mon1"], GROUPS)
    # sp-mon1's Sentinel votes with those of sp-db1 and va-db1: the same cluster.
    assert got == [["sp-db1", "sp-log1", "sp-web1"], ["sp-log2", "sp-mon1"], ["va-db1"]]
    clusters = {"postgres": GROUPS["postgres"], "sentinels": GROUPS["redis"] + GROUPS["redis_sentinel"],
                "logging": GROUPS["logging"]}
    for batch in got:
        for name, members in clusters.items():
            assert len(set(batch) & set(members)) <= 1, (batch, name)


def test_no_drift_means_no_batch():
    assert drift_batches.batches([], GROUPS) == []


def test_alertmanagers_and_load_balancers_are_corrected_one_at_a_time():
    groups = {**GROUPS, "monitoring": ["sp-mon1", "va-mon1"], "loadbalancers": ["sp-web1", "va-web1"]}
    got = drift_batches.batches(["sp-mon1", "va-mon1", "sp-web1", "va-web1"], groups)
    assert got == [["sp-mon1", "sp-web1"], ["va-mon1", "va-web1"]]


def test_a_failed_member_holds_back_the_rest_of_its_cluster_only():
    held = drift_batches.held_back(["va-db1", "va-web1"], ["sp-db1"], GROUPS)
    assert held == {"va-db1": "postgresql member sp-db1 failed its correction"}
    assert drift_batches.held_back(["va-web1"], ["sp-db1"], GROUPS) == {}


def test_unreachable_hosts_are_reported_not_corrected():
    report = {"drifted_hosts": ["sp-db1", "va-web1"],
              "hosts": {"sp-db1": {"unreachable": "did not answer before the check"},
                        "va-web1": {"unreachable": False}}}
    assert drift_batches.correctable(report) == ["va-web1"]


def test_a_host_whose_only_findings_are_a_peers_drift_waits_for_the_closing_check():
    peer = {"task": "alertmanager : Name the peers missing from Alertmanager's cluster", "peer": True}
    own = {"task": "alertmanager : Enable and start Alertmanager", "peer": False}
    report = {"drifted_hosts": ["sp-mon1", "va-mon1", "va-web1"],
              "hosts": {"sp-mon1": {"changed": [peer], "failed": [], "unreachable": False},
                        "va-mon1": {"changed": [own], "failed": [], "unreachable": False},
                        # A peer finding beside one of its own: the host is corrected.
                        "va-web1": {"changed": [peer, own], "failed": [], "unreachable": False}}}
    assert drift_batches.correctable(report) == ["va-mon1", "va-web1"]
    # A failed check is the host's own: corrected even beside a peer finding.
    report["hosts"]["sp-mon1"]["failed"] = [{"task": "x", "msg": "y"}]
    assert drift_batches.correctable(report) == ["sp-mon1", "va-mon1", "va-web1"]
    assert not drift_batches.peer_only({"changed": [], "failed": [], "unreachable": False})


RECAP = """PLAY RECAP *****
sp-db1                     : ok=10   changed=1    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0
sp-app1                    : ok=30   changed=2    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
"""


def test_the_recap_names_the_hosts_that_failed():
    assert drift_batches.failed_hosts(RECAP, ["sp-db1", "sp-app1"]) == ["sp-db1"]
    # No recap: the run died before its plays, nothing of the batch is known corrected.
    assert drift_batches.failed_hosts("ERROR! the inventory ...", ["sp-db1", "sp-app1"]) == ["sp-db1", "sp-app1"]


def test_run_corrects_every_host_it_can(tmp_path):
    """sp-db1's correction fails: va-db1 (its cluster) waits; every other host is corrected."""
    report = {"drifted_hosts": ["sp-app1", "sp-db1", "sp-web1", "va-db1", "va-web1", "sp-mon1", "va-mon1"],
              "hosts": {"sp-mon1": {"unreachable": "did not answer"},
                        "va-mon1": {"changed": [{"task": "a peer is missing", "peer": True}], "failed": [],
                                    "unreachable": False}}}
    groups = {**GROUPS, "loadbalancers": ["sp-web1", "va-web1"]}
    # The "playbook": prints a recap where sp-db1 failed, and exits 2 when it was in the batch.
    script = (
        'echo "$2" >> {ran}; for h in $(echo "$2" | tr , " "); do f=0; [ "$h" = sp-db1 ] && f=1; '
        'echo "$h : ok=1 changed=0 unreachable=0 failed=$f skipped=0"; done; '
        'case "$2" in *sp-db1*) exit 2;; esac'
    ).format(ran=tmp_path / "ran")
    summary = tmp_path / "summary.json"
    assert drift_batches.run(str(summary), report, groups, ["sh", "-c", script, "sh"]) == 1
    got = json.loads(summary.read_text())
    assert got["failed"] == ["sp-db1"]
    assert got["held_back"] == {"va-db1": "postgresql member sp-db1 failed its correction"}
    assert got["unreachable"] == ["sp-mon1"]
    assert got["peer_only"] == ["va-mon1"]
    assert sorted(got["corrected"]) == ["sp-app1", "sp-web1", "va-web1"]
    assert (tmp_path / "ran").read_text().split() == ["sp-app1,sp-db1,sp-web1", "va-web1"]
