"""Fixtures for the grafana scenario: hosts, addresses, and whether Grafana's repository
answers from them (when it does not, Grafana was left off and its tests skip)."""

from __future__ import annotations

import pytest
import testinfra

from tests.helpers.hosts import host_address

HOSTS = ("graf-sp", "graf-va")
REPOSITORY = "https://apt.grafana.com"


@pytest.fixture(scope="session")
def hosts():
    return {name: testinfra.get_host(f"docker://{name}") for name in HOSTS}


@pytest.fixture(scope="session")
def addresses(hosts):
    return {name: host_address(h) for name, h in hosts.items()}


@pytest.fixture(scope="session")
def repository_answers(hosts):
    out = hosts["graf-sp"].run(f"curl -sfI --max-time 10 {REPOSITORY}/dists/stable/Release")
    return out.rc == 0


@pytest.fixture
def grafana(repository_answers):
    """Skip, saying what is not checked, where Grafana could not be installed."""
    if not repository_answers:
        pytest.skip(f"Grafana's APT repository {REPOSITORY} is not reachable from the test hosts: "
                    "Grafana was not installed, so this check of a running Grafana did not run")
