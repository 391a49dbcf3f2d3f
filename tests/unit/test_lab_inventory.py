"""scripts/lab_inventory.py --regions: what scripts/lab's summary prints per region, for any
number of regions (a third region added by the README's steps shows up there too)."""

from __future__ import annotations

import importlib.util

from tests.helpers.ansible_run import ROOT

_spec = importlib.util.spec_from_file_location("lab_inventory", ROOT / "scripts/lab_inventory.py")
lab_inventory = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lab_inventory)


def test_every_region_gets_a_line_with_its_load_balancer_monitoring_and_database_host():
    addresses = {"sp-web1": "10.213.1.10", "sp-mon1": "10.213.1.30", "sp-db1": "10.213.1.20",
                 "va-web1": "10.213.2.10", "va-mon1": "10.213.2.30", "eu-mon1": "10.213.3.30"}
    data = {
        "_meta": {"hostvars": {h: {"ansible_host": a} for h, a in addresses.items()}},
        "region_saopaulo": {"hosts": ["sp-web1", "sp-mon1", "sp-db1"]},
        "region_virginia": {"hosts": ["va-web1", "va-mon1"]},
        "region_frankfurt": {"hosts": ["eu-mon1"]},
        "loadbalancers": {"hosts": ["sp-web1", "va-web1"]},
        "monitoring": {"hosts": ["sp-mon1", "va-mon1", "eu-mon1"]},
        "postgres": {"hosts": ["sp-db1"]},
    }
    assert lab_inventory.regions(data) == [
        "frankfurt - eu-mon1:10.213.3.30 -",
        "saopaulo sp-web1:10.213.1.10 sp-mon1:10.213.1.30 sp-db1:10.213.1.20",
        "virginia va-web1:10.213.2.10 va-mon1:10.213.2.30 -",
    ]
