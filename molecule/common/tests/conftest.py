"""Fixtures for the common scenario: the scenario's hosts by role, and their addresses."""

import os

import pytest
import testinfra

from tests.helpers.hosts import host_address


def _host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")


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
    return host_address(db)


@pytest.fixture(scope="session")
def mon_address(mon):
    return host_address(mon)


@pytest.fixture(scope="session")
def app_address(app):
    return host_address(app)
