"""Fixtures for the redis scenario: hosts, their addresses, the seeded credentials, and a
redis-cli helper that runs on one host against another, over TLS, as a given user."""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass, field

import pytest
import testinfra

from tests.helpers.hosts import host_address
from tests.helpers.vault import read_secret

HOSTS = ("redis-sp", "redis-va", "redis-mon")
DATA_HOSTS = ("redis-sp", "redis-va")
CA = "/etc/ssl/editaliza/ca.crt"
PORTS = {"sessions": 6379, "cache": 6380}
SENTINEL_PORT = 26379


def _host(name):
    # Molecule's containers are named after its platforms; `docker exec` is the fastest way in.
    return testinfra.get_host(f"docker://{name}")


@pytest.fixture(scope="session")
def hosts():
    return {name: _host(name) for name in HOSTS}


@pytest.fixture(scope="session")
def addresses(hosts):
    return {name: host_address(h) for name, h in hosts.items()}


class Secrets(dict):
    """The credentials, shown masked wherever pytest prints a test's arguments."""

    def __repr__(self):
        return f"<{len(self)} Redis credentials, hidden>"


@pytest.fixture(scope="session")
def secrets():
    return Secrets({
        name: read_secret(f"editaliza/redis/{path}")
        for name, path in {"admin": "admin", "app": "app", "monitoring": "monitoring", "sentinel": "sentinel",
                           "replication": "replication", "sentinel_link": "sentinel-link"}.items()
    })


@dataclass
class Cli:
    hosts: dict
    addresses: dict
    secrets: dict = field(repr=False)

    def run(self, on, target, port, *args, user=None, password=None, tls=True):
        """redis-cli on host `on` against `target`'s port; the password goes in by stdin."""
        cmd = ["redis-cli", "-h", self.addresses[target], "-p", str(port), "--no-auth-warning"]
        if tls:
            cmd += ["--tls", "--cacert", CA]
        if user:
            cmd += ["--user", user]
        if password is not None:
            cmd += ["--askpass"]
        line = shlex.join(cmd + [str(a) for a in args])
        if password is not None:
            line = f"printf '%s\\n' {shlex.quote(password)} | {line}"
        return self.hosts[on].run(line)

    def as_user(self, who, on, target, port, *args):
        s = self.secrets[who]
        return self.run(on, target, port, *args, user=s["username"], password=s["password"])

    def admin(self, target, instance, *args, on="redis-mon"):
        return self.as_user("admin", on, target, PORTS[instance], *args)

    def sentinel(self, on, *args):
        return self.run(on, on, SENTINEL_PORT, *args, password=self.secrets["sentinel"]["password"])

    def primary_of(self, instance, on="redis-mon"):
        """The host whose address Sentinel gives for the instance's primary."""
        out = self.sentinel(on, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", f"editaliza-{instance}").stdout.split()
        by_address = {a: n for n, a in self.addresses.items()}
        return by_address[out[0]]


@pytest.fixture(scope="session")
def cli(hosts, addresses, secrets):
    return Cli(hosts, addresses, secrets)


def wait_for(check, timeout, interval=0.5):
    """Poll `check` until it returns a true value or `timeout` seconds pass; returns
    (value, seconds waited)."""
    start = time.monotonic()
    while True:
        value = check()
        waited = time.monotonic() - start
        if value or waited > timeout:
            return value, waited
        time.sleep(interval)


def addresses_inventory(addresses, path):
    """An inventory file giving every host its fleet address: a converge with --limit gathers
    no facts on the hosts it leaves out, whose addresses then come from the inventory, as in
    the lab and production. Returns the path to pass with --inventory."""
    path.write_text(json.dumps({"all": {"hosts": {h: {"fleet_address": a} for h, a in addresses.items()}}}))
    return str(path)
