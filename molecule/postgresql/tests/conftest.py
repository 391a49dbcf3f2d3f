"""Fixtures for the postgresql scenario: hosts, addresses, the app login, and psql helpers."""

from __future__ import annotations

import shlex
import time

import pytest
import testinfra

from tests.helpers.ansible_run import converge_playbook, leaked_secrets, run_playbook
from tests.helpers.hosts import host_address
from tests.helpers.vault import read_secret

HOSTS = ("pg-sp", "pg-va", "pg-app", "pg-other")


class Secret(dict):
    """A login, shown masked wherever pytest prints a test's arguments."""

    def __repr__(self):
        return "<login hidden>"


@pytest.fixture(scope="session")
def hosts():
    return {name: testinfra.get_host(f"docker://{name}") for name in HOSTS}


@pytest.fixture(scope="session")
def addresses(hosts):
    return {name: host_address(h) for name, h in hosts.items()}


@pytest.fixture(scope="session")
def logins():
    return {name: Secret(read_secret(f"editaliza/postgres/{name}"))
            for name in ("app", "replication", "monitoring", "superuser")}


def local_sql(host, sql, db="editaliza"):
    """SQL as the postgres superuser on `host`'s own socket."""
    return host.run(f"runuser -u postgres -- psql -XAt -d {db} -c {shlex.quote(sql)}")


def remote_sql(host, target_address, login, sql, sslmode="require", db="editaliza"):
    """SQL from `host` to `target_address` over TCP as `login` (password in the environment)."""
    conninfo = f"host={target_address} dbname={db} user={login['username']} sslmode={sslmode} connect_timeout=5"
    return host.run(f"PGPASSWORD={shlex.quote(login['password'])} psql -XAt {shlex.quote(conninfo)} "
                    f"-c {shlex.quote(sql)}")


def converge(*args):
    """The scenario's converge again with `args` (every host: a run limited to one needs
    the others' facts, which Molecule's memory cache does not keep between runs), its wall
    time printed; it must succeed and show no seeded secret."""
    started_at = time.monotonic()
    run = run_playbook(converge_playbook(), *args)
    print(f"converge {' '.join(args)}: rc {run.rc} in {time.monotonic() - started_at:.0f} s")
    assert run.rc == 0, run.output[-3000:]
    assert leaked_secrets(run.output) == []
    return run
