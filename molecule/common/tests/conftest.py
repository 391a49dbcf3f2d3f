"""Fixtures for the common scenario: the scenario's hosts by role, and their addresses."""

import os

import pytest
import testinfra


def _host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")


def _address(host):
    return host.check_output("ip -4 -o route get 1.1.1.1 | sed -n 's/.* src \\([0-9.]*\\).*/\\1/p'")


@pytest.fixture(scope="session")
def db():
    return _host("common-db")


@pytest.fixture(scope="session")
def mon():
    return _host("common-mon")


@pytest.fixture(scope="session")
def app():
    return _host("common-app")


@pytest.fixture(scope="session")
def db_address(db):
    return _address(db)


@pytest.fixture(scope="session")
def mon_address(mon):
    return _address(mon)


@pytest.fixture(scope="session")
def app_address(app):
    return _address(app)
