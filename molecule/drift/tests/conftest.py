"""Fixtures for the drift scenario: the control host, and the way its scheduled run
reaches the tests' Vault."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import testinfra

# A forwarder serves the scheduled runs of one test module: it stops by itself after this.
FORWARD_LIFETIME = 900


@pytest.fixture(scope="session")
def host():
    return testinfra.get_host("docker://drift-ctl")


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        return
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


class Forwarder:
    """TCP from (address, port) to the tests' Vault on loopback, in threads of this
    process: bounded by FORWARD_LIFETIME and closed when the fixture ends."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]):
        self.target = target
        self.server = socket.create_server(listen, reuse_port=False)
        self.server.settimeout(1)
        self.deadline = time.monotonic() + FORWARD_LIFETIME
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while time.monotonic() < self.deadline:
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            self.connections += 1
            upstream = socket.create_connection(self.target, timeout=10)
            upstream.settimeout(None)
            client.settimeout(None)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()
        self.server.close()

    def close(self) -> None:
        self.deadline = 0
        self.server.close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def vault_forwarder(host):
    """The control host's scheduled run talks to Vault at its network's gateway (the
    drift_vault_addr of molecule/drift/scheduled): listen there, pass to the tests' Vault."""
    vault = urlsplit(os.environ["VAULT_ADDR"])
    gateway = host.check_output("ip -4 route show default").split()[2]
    try:
        forwarder = Forwarder((gateway, vault.port), (vault.hostname, vault.port))
    except OSError as e:
        pytest.fail(f"cannot listen on the scenario network's gateway {gateway}:{vault.port} "
                    f"(Docker's bridge is not on this machine?): {e}")
    yield forwarder
    forwarder.close()
