"""filter_plugins/elastic.py: heap sizing, per-region clusters, where Filebeat ships."""

import pytest
from ansible.errors import AnsibleFilterError

from filter_plugins.elastic import (
    HEAP_CAP_MB,
    elasticsearch_cluster,
    elasticsearch_heap_mb,
    elasticsearch_heap_problems,
    logging_quorum_problems,
    logstash_hosts,
)

REGIONS = {"log-sp1": "sp", "log-sp2": "sp", "log-sp3": "sp", "log-va": "va", "web-rj": "rj", "web-sp": "sp"}
ADDRESSES = {"log-sp1": "10.0.1.41", "log-sp2": "10.0.1.42", "log-sp3": "10.0.1.43", "log-va": "fd00::41"}


@pytest.mark.parametrize(
    ("memtotal", "heap"),
    [(2048, 1024), (8000, 4000), (24_000, 12_000), (64 * 1024, HEAP_CAP_MB), (512 * 1024, HEAP_CAP_MB), (300, 256)],
)
def test_heap_is_half_the_memory_capped_below_31_gb(memtotal, heap):
    assert elasticsearch_heap_mb(memtotal) == heap
    assert HEAP_CAP_MB < 31 * 1024


def test_an_explicit_heap_wins():
    assert elasticsearch_heap_mb(64 * 1024, 4096) == 4096


def test_an_explicit_heap_within_half_the_memory_is_accepted():
    assert elasticsearch_heap_problems(4096, 8192) == []
    assert elasticsearch_heap_problems(0, 8192) == []


def test_a_heap_larger_than_the_host_allows_is_named():
    assert elasticsearch_heap_problems(6000, 8192) == [
        "elasticsearch_heap_mb is 6000, more than half of the host's 8192 MB (the rest is Lucene's file system cache)"
    ]
    problems = elasticsearch_heap_problems(40_000, 256 * 1024)
    assert problems == ["elasticsearch_heap_mb is 40000, above 30720 MB the JVM loses compressed object pointers"]
    assert elasticsearch_heap_problems(100, 8192) == ["elasticsearch_heap_mb is 100, expected at least 256"]


def test_a_host_too_small_for_any_heap_is_named():
    assert elasticsearch_heap_problems(0, 400) == [
        "the host has 400 MB of memory; Elasticsearch needs at least 512 MB "
        "(a 256 MB heap and as much for the file system cache)"
    ]


def test_one_or_three_logging_hosts_per_region_form_a_cluster():
    assert logging_quorum_problems(["log-sp1", "log-sp2", "log-sp3", "log-va"], REGIONS) == []
    assert logging_quorum_problems([], REGIONS) == []


def test_two_logging_hosts_in_a_region_are_refused_naming_region_and_hosts():
    assert logging_quorum_problems(["log-sp2", "log-sp1", "log-va"], REGIONS) == [
        "region sp has 2 logging hosts (log-sp1, log-sp2): an Elasticsearch cluster needs 1 host "
        "(single node) or 3 or more (a majority survives one loss)"
    ]


def test_a_logging_host_without_region_is_named():
    with pytest.raises(AnsibleFilterError, match="host 'log-xx' has no region"):
        logging_quorum_problems(["log-xx"], REGIONS)


def test_a_cluster_is_the_region_s_logging_hosts():
    hosts = ["log-va", "log-sp3", "log-sp1", "log-sp2"]
    assert elasticsearch_cluster("log-sp2", hosts, REGIONS) == ["log-sp1", "log-sp2", "log-sp3"]
    assert elasticsearch_cluster("log-va", hosts, REGIONS) == ["log-va"]


def test_a_host_ships_to_its_own_region_s_logstash():
    hosts = ["log-sp1", "log-va"]
    assert logstash_hosts("web-sp", hosts, REGIONS, ADDRESSES, 5044) == ["10.0.1.41:5044"]
    assert logstash_hosts("log-va", hosts, REGIONS, ADDRESSES, 5044) == ["[fd00::41]:5044"]


def test_a_region_without_logging_hosts_ships_to_the_first_fallback_that_has_some():
    hosts = ["log-sp1", "log-sp2", "log-sp3", "log-va"]
    assert logstash_hosts("web-rj", hosts, REGIONS, ADDRESSES, 5044, ["eu", "va", "sp"]) == ["[fd00::41]:5044"]


def test_without_a_fallback_a_region_ships_to_every_logging_host():
    hosts = ["log-va", "log-sp1"]
    assert logstash_hosts("web-rj", hosts, REGIONS, ADDRESSES, 5044) == ["10.0.1.41:5044", "[fd00::41]:5044"]
    assert logstash_hosts("web-rj", [], REGIONS, ADDRESSES, 5044) == []


def test_a_logging_host_without_address_is_named():
    with pytest.raises(AnsibleFilterError, match="logging host 'log-sp2' has no address"):
        logstash_hosts("web-sp", ["log-sp2"], REGIONS, {"log-sp1": "10.0.1.41"}, 5044)
