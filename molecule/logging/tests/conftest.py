"""Fixtures for the logging scenario: hosts, addresses, and whether Elastic's repository
answers from them (when it does not, the packages were left out and the tests of running
services skip, saying so)."""

from __future__ import annotations

import pytest
import testinfra

from tests.helpers.hosts import host_address

HOSTS = ("log-sp", "log-va")
REPOSITORY = "https://artifacts.elastic.co/packages/8.x/apt"


@pytest.fixture(scope="session")
def hosts():
    return {name: testinfra.get_host(f"docker://{name}") for name in HOSTS}


@pytest.fixture(scope="session")
def addresses(hosts):
    return {name: host_address(h) for name, h in hosts.items()}


@pytest.fixture(scope="session")
def repository_answers(hosts):
    return hosts["log-sp"].run(f"curl -sfI --max-time 10 {REPOSITORY}/dists/stable/Release").rc == 0


@pytest.fixture
def elastic(repository_answers):
    """Skip, saying what is not checked, where Elastic's packages could not be installed."""
    if not repository_answers:
        pytest.skip(f"Elastic's APT repository {REPOSITORY} is not reachable from the test hosts: "
                    "Elasticsearch, Logstash, Kibana and Filebeat were not installed, so this check of "
                    "running services did not run")
