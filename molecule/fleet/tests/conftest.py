"""Fixtures for the fleet scenario: the lab's hosts and groups (inventories/lab), HTTPS
clients for each region's load balancer, and a client for the monitoring hosts' APIs.
Tests reach the hosts with `docker exec` (quick, read-only checks); site.yml reached
them over SSH."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import testinfra

from tests.helpers.https import Api, Client
from tests.helpers.lab import lab_inventory

ADDRESSES, _MEMBERS = lab_inventory()
GROUPS = {name: sorted(members) for name, members in _MEMBERS.items()}
REGIONS = {name.removeprefix("region_"): hosts for name, hosts in GROUPS.items() if name.startswith("region_")}


def in_region(group, region):
    return [h for h in GROUPS[group] if h in REGIONS[region]]


@pytest.fixture(scope="session")
def hosts():
    return {name: testinfra.get_host(f"docker://{name}") for name in ADDRESSES}


@pytest.fixture(scope="session")
def ca_file(hosts, tmp_path_factory):
    """The fleet's root CA, as the pki role installed it on every host."""
    path = tmp_path_factory.mktemp("ca") / "ca.crt"
    path.write_text(hosts[GROUPS["loadbalancers"][0]].file("/etc/ssl/editaliza/ca.crt").content_string)
    return str(path)


@pytest.fixture(scope="session")
def balancers(ca_file):
    """{region: HTTPS client of that region's first load balancer}."""
    return {region: Client(ca_file, ADDRESSES[in_region("loadbalancers", region)[0]]) for region in REGIONS}


@pytest.fixture(scope="session")
def api(hosts):
    return Api(hosts, ADDRESSES)


@pytest.fixture(scope="session")
def ansible_log():
    """What Ansible printed in converge (ANSIBLE_LOG_PATH, molecule.yml)."""
    ephemeral = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
    assert ephemeral, "MOLECULE_EPHEMERAL_DIRECTORY is not set: run this scenario through Molecule"
    path = Path(ephemeral) / "ansible.log"
    assert path.is_file(), f"{path}: no Ansible log (ANSIBLE_LOG_PATH in molecule.yml)"
    return path.read_text(errors="replace")
