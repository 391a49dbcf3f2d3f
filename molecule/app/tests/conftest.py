"""Fixtures for the app scenario: the hosts, an HTTPS client that talks to the load
balancer from the Docker host (the scenario's "internet") and checks the lab
certificate, and a bounded concurrent request loop."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pytest
import testinfra

from tests.helpers.https import Client

LB = "10.214.5.10"
APP_HOSTS = ("app-sp", "app-va")


def _host(name):
    return testinfra.get_host(f"docker://{name}")


@pytest.fixture(scope="session")
def hosts():
    return {name: _host(name) for name in ("app-lb", "app-sp", "app-va", "app-data")}


@pytest.fixture(scope="session")
def ca_file(hosts, tmp_path_factory):
    """The fleet's root CA, as the pki role installed it on the app hosts."""
    path = tmp_path_factory.mktemp("ca") / "ca.crt"
    path.write_text(hosts["app-sp"].file("/etc/ssl/editaliza/ca.crt").content_string)
    return str(path)


@pytest.fixture(scope="session")
def client(ca_file):
    return Client(ca_file, LB)


@dataclass
class LoopResult:
    sent: int = 0
    failures: list = field(default_factory=list)
    versions: dict = field(default_factory=dict)
    instances: set = field(default_factory=set)


class RequestLoop:
    """GETs through the load balancer from `threads` threads until stopped, at most
    `max_seconds` and `max_requests` (bounded, whatever happens)."""

    def __init__(self, client, path="/", threads=4, max_seconds=180, max_requests=20000):
        self.client, self.path, self.threads = client, path, threads
        self.max_seconds, self.max_requests = max_seconds, max_requests
        self.result = LoopResult()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = []

    def _work(self):
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            with self._lock:
                if self.result.sent >= self.max_requests:
                    return
                self.result.sent += 1
            try:
                r = self.client.get(self.path, timeout=15)
                ok = r.status == 200
                detail = r.status if not ok else None
            except OSError as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            with self._lock:
                if ok:
                    v = r.headers.get("x-app-version", "?")
                    self.result.versions[v] = self.result.versions.get(v, 0) + 1
                    self.result.instances.add(r.headers.get("x-app-instance", "?"))
                else:
                    self.result.failures.append(detail)
            time.sleep(0.02)

    def __enter__(self):
        for _ in range(self.threads):
            t = threading.Thread(target=self._work, daemon=True)
            t.start()
            self._workers.append(t)
        time.sleep(1)
        return self.result

    def __exit__(self, *exc):
        time.sleep(1)
        self._stop.set()
        for t in self._workers:
            t.join(timeout=30)
        return False


@pytest.fixture
def request_loop(client):
    return lambda **kw: RequestLoop(client, **kw)


def wait_for(check, timeout, interval=0.5):
    """Poll `check` until it returns a true value or `timeout` seconds pass."""
    start = time.monotonic()
    while True:
        value = check()
        if value or time.monotonic() - start > timeout:
            return value
        time.sleep(interval)


def container_health(host, name):
    out = host.run(f"docker inspect -f '{{{{.State.Health.Status}}}}' {name}")
    return out.stdout.strip() if out.rc == 0 else "absent"
