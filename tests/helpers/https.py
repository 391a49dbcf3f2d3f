"""HTTPS to a load balancer from the Docker host (the tests' "internet"): the request
goes to the balancer's address, the certificate is checked against the site's name and
the fleet CA."""

from __future__ import annotations

import http.client
import json
import shlex
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import quote

SITE = "www.editaliza.lab"


class _Connection(http.client.HTTPSConnection):
    """HTTPS to the load balancer's address, verified against the site's name."""

    def __init__(self, address, name, context, timeout):
        super().__init__(name, 443, context=context, timeout=timeout)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Client:
    ca_file: str
    address: str
    name: str = SITE
    context: ssl.SSLContext = field(init=False, repr=False)

    def __post_init__(self):
        self.context = ssl.create_default_context(cafile=self.ca_file)

    def request(self, method, path, body=None, headers=None, timeout=10):
        conn = _Connection(self.address, self.name, self.context, timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=b"", **kw):
        return self.request("POST", path, body=body, **kw)


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
