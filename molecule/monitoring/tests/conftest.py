"""Fixtures for the monitoring scenario: the hosts, their addresses, and a client that
queries Prometheus and Alertmanager over HTTPS from a host of the fleet."""

from __future__ import annotations

import json
import shlex
import time
from urllib.parse import quote

import pytest
import testinfra

from tests.helpers.hosts import host_address

HOSTS = ("mon-sp", "mon-va", "tgt-va")
MONITORING = {"saopaulo": "mon-sp", "virginia": "mon-va"}


@pytest.fixture(scope="session")
def hosts():
    return {name: testinfra.get_host(f"docker://{name}") for name in HOSTS}


@pytest.fixture(scope="session")
def addresses(hosts):
    return {name: host_address(h) for name, h in hosts.items()}


class Api:
    """curl on `on` against a monitoring host's HTTPS API, verified with the fleet CA."""

    def __init__(self, hosts, addresses):
        self.hosts = hosts
        self.addresses = addresses

    def _curl(self, target, port, path, on, *options):
        url = f"https://{self.addresses[target]}:{port}{path}"
        return self.hosts[on or target].check_output(
            " ".join(["curl -sS --fail --max-time 10", *options, shlex.quote(url)]))

    def get(self, target, port, path, on=None):
        return json.loads(self._curl(target, port, path, on))

    def post(self, target, port, path, body, on=None):
        return self._curl(target, port, path, on, "-H 'Content-Type: application/json'",
                          "--data", shlex.quote(json.dumps(body)))

    def query(self, target, promql):
        return self.get(target, 9090, f"/api/v1/query?query={quote(promql)}")["data"]["result"]

    def wait(self, what, fn, timeout, interval=3):
        """fn() until it returns something true; fails naming `what` and the last value."""
        deadline = time.monotonic() + timeout
        while True:
            value = fn()
            if value or time.monotonic() > deadline:
                break
            time.sleep(interval)
        assert value, f"{what}: not within {timeout} s (last: {value!r})"
        return value


@pytest.fixture(scope="session")
def api(hosts, addresses):
    return Api(hosts, addresses)
