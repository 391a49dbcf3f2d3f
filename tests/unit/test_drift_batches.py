"""scripts/drift_batches.py: a correction never touches two nodes of one cluster at once."""

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
