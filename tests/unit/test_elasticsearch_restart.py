"""The order of roles/elasticsearch/files/elasticsearch-rolling-restart, against a recorded
API: Elasticsearch itself can't run here (Elastic's package repository is unreachable), so
these tests check the procedure's steps and their order, not a cluster's answers."""

from __future__ import annotations

import urllib.error

import pytest

from tests.helpers.scripts import load_script

script = load_script("roles/elasticsearch/files/elasticsearch-rolling-restart")


class Cluster:
    """Records the calls; the node is away from the restart until `down_polls` polls later."""

    def __init__(self, nodes=3, down_polls=2, green_after=1, restart_fails=False):
        self.calls, self.nodes, self.down = [], nodes, 0
        self.down_polls, self.green_after, self.restart_fails = down_polls, green_after, restart_fails
        self.health_polls = 0

    def api(self, method, path, body=None):
        self.calls.append((method, path, body))
        if path == "/_cluster/health":
            if self.down:
                self.down -= 1
                raise urllib.error.URLError("connection refused")
            return {"number_of_nodes": self.nodes}
        if path.startswith("/_cluster/health?wait_for_status=green"):
            self.health_polls += 1
            return {"status": "green" if self.health_polls > self.green_after else "yellow"}
        return {"acknowledged": True}

    def restart(self):
        self.calls.append(("restart", "", None))
        if self.restart_fails:
            raise script.subprocess.CalledProcessError(1, ["systemctl", "restart"])
        self.down = self.down_polls

    def settings(self):
        return [body["persistent"]["cluster.routing.allocation.enable"]
                for method, path, body in self.calls if path == "/_cluster/settings"]


FAST = {"interval": 0, "sleep": lambda s: None}


def test_allocation_is_held_to_primaries_around_the_restart_and_released_before_green():
    cluster = Cluster()
    steps = script.rolling_restart(cluster.api, cluster.restart, 3, **FAST)
    assert steps == ["allocation: primaries", "flushed", "restarted", "joined", "allocation: all", "green"]
    order = [c[0] if c[0] == "restart" else c[1] for c in cluster.calls]
    # primaries -> flush -> restart -> the node back -> allocation again -> green
    assert order[:3] == ["/_cluster/settings", "/_flush", "restart"]
    assert order.index("/_cluster/settings", 1) > max(i for i, p in enumerate(order) if p == "/_cluster/health")
    assert order[-1].startswith("/_cluster/health?wait_for_status=green")
    assert cluster.settings() == ["primaries", None]


def test_allocation_is_released_even_when_the_restart_fails():
    cluster = Cluster(restart_fails=True)
    with pytest.raises(script.subprocess.CalledProcessError):
        script.rolling_restart(cluster.api, cluster.restart, 3, **FAST)
    assert cluster.settings() == ["primaries", None]


def test_a_node_that_never_joins_fails_naming_the_step_and_releases_allocation():
    cluster = Cluster(nodes=2)  # one node short of 3, for ever
    ticks = iter(range(0, 10_000, 5))
    with pytest.raises(script.StepFailed, match="3 nodes in the cluster: not reached in 60 s"):
        script.rolling_restart(cluster.api, cluster.restart, 3, join_timeout=60,
                               clock=lambda: next(ticks), **FAST)
    assert cluster.settings() == ["primaries", None]


def test_a_cluster_that_stays_yellow_fails():
    cluster = Cluster(green_after=10**6)
    ticks = iter(range(0, 10_000, 5))
    with pytest.raises(script.StepFailed, match="cluster status green"):
        script.rolling_restart(cluster.api, cluster.restart, 3, green_timeout=30, clock=lambda: next(ticks), **FAST)


@pytest.mark.parametrize("argv", [[], ["0"], ["three"], ["1", "2"]])
def test_bad_arguments_are_refused(argv, capsys):
    assert script.main(argv) == 2
