"""Bad inputs stop a run before any host changes, naming what is wrong; a --check --diff
run on the converged hosts (what drift detection runs) changes nothing and prints no
secret. (A converge after the deploys, test_zz_deploy, checks that a converge recreates
no container.)"""

import json

import pytest

from tests.helpers.ansible_run import (
    assert_refused_before_any_change,
    converge_playbook,
    run_playbook,
)
from tests.helpers.vault import admin_client, read_secret

MISMATCHED = "editaliza/tls/test-mismatched"


@pytest.fixture
def mismatched_tls_path():
    """A Vault path whose key belongs to another certificate than the one stored with it."""
    public = read_secret("editaliza/tls/public")
    other = admin_client().secrets.pki.generate_certificate(
        name="fleet-service", common_name="other.editaliza.lab", mount_point="pki_int",
    )["data"]
    admin_client().secrets.kv.v2.create_or_update_secret(
        path=MISMATCHED, mount_point="secret",
        secret={"certificate": public["certificate"], "private_key": other["private_key"], "ca_chain": ""},
    )
    yield MISMATCHED
    admin_client().secrets.kv.v2.delete_metadata_and_all_versions(path=MISMATCHED, mount_point="secret")


def test_a_tls_key_that_does_not_match_its_certificate_is_refused(mismatched_tls_path):
    run = run_playbook(converge_playbook(), "-e", f"nginx_tls_vault_path={mismatched_tls_path}")
    assert_refused_before_any_change(run, "the private key does not match the certificate (CN=www.editaliza.lab)")


def test_too_many_instances_are_refused():
    run = run_playbook(converge_playbook(), "-e", '{"app_instances_per_host": 11}')
    assert_refused_before_any_change(run, "expected app_instances_per_host 1-10 (got 11)")


def test_wrong_type_is_refused_by_the_argument_spec():
    run = run_playbook(converge_playbook(), "-e", '{"app_cpus": "lots"}')
    assert_refused_before_any_change(run, "app : Validating arguments against arg spec", "app_cpus")


def test_a_missing_vault_path_is_named():
    paths = {"database": "editaliza/postgres/app", "redis": "editaliza/redis/app",
             "redis_sentinel": "editaliza/redis/sentinel", "jwt": "editaliza/app/no-such-jwt"}
    run = run_playbook(converge_playbook(), "-e", json.dumps({"app_vault_paths": paths}))
    assert_refused_before_any_change(run, "Vault has no secret at editaliza/app/no-such-jwt")
