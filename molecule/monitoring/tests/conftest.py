"""Fixtures for the monitoring scenario: the hosts, their addresses, and a client that
queries Prometheus and Alertmanager over HTTPS from a host of the fleet."""

from __future__ import annotations

import pytest
import testinfra

from tests.helpers.hosts import host_address
from tests.helpers.https import Api

HOSTS = ("mon-sp", "mon-va", "tgt-va")
MONITORING = {"saopaulo": "mon-sp", "virginia": "mon-va"}


@pytest.fixture(scope="session")
def hosts():
    return {name: testinfra.get_host(f"docker://{name}") for name in HOSTS}


@pytest.fixture(scope="session")
def addresses(hosts):
    return {name: host_address(h) for name, h in hosts.items()}


@pytest.fixture(scope="session")
def api(hosts, addresses):
    return Api(hosts, addresses)
