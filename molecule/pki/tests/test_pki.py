"""Certificates issued by the pki role: trusted, correct, served, renewed, never printed."""

import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from filter_plugins.pki import pki_renew_before_seconds
from tests.helpers.ansible_run import ROOT, converge_playbook, run_playbook
from tests.helpers.hosts import host_address

testinfra_hosts = ["all"]
DIR = "/etc/ssl/editaliza"
LAB_ROOT_CA = ROOT / ".lab/vault-test/ca.pem"


def openssl(*args, stdin=None):
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, text=True, check=True).stdout


def cert_text(host):
    return openssl("x509", "-noout", "-text", stdin=host.file(f"{DIR}/node-exporter.crt").content_string)


def serial_of(pem):
    return openssl("x509", "-noout", "-serial", stdin=pem).strip().split("=")[1].lower()


def test_certificate_verifies_against_the_lab_root_ca(host):
    chain = host.file(f"{DIR}/node-exporter-fullchain.crt").content_string
    certs = ["-----BEGIN" + c for c in chain.split("-----BEGIN")[1:]]
    assert len(certs) >= 2, "the full chain holds the certificate and its issuer"
    with tempfile.TemporaryDirectory() as tmp:
        leaf, intermediates = Path(tmp, "leaf.pem"), Path(tmp, "intermediates.pem")
        leaf.write_text(certs[0])
        intermediates.write_text("".join(certs[1:]))
        out = openssl("verify", "-CAfile", str(LAB_ROOT_CA), "-untrusted", str(intermediates),
                      "-purpose", "sslserver", str(leaf))
    assert out.strip().endswith(": OK")


def test_certificate_names_the_host_and_its_address(host):
    text = cert_text(host)
    assert f"DNS:{host.backend.get_hostname()}" in text
    assert f"IP Address:{host_address(host)}" in text
    assert "TLS Web Server Authentication" in text


def test_files_have_owner_and_mode(host):
    key = host.file(f"{DIR}/node-exporter.key")
    assert (key.user, key.group, key.mode) == ("root", "prometheus", 0o640)
    crt = host.file(f"{DIR}/node-exporter.crt")
    assert (crt.user, crt.group, crt.mode) == ("root", "root", 0o644)
    pub_key = host.check_output(f"openssl pkey -pubout -in {DIR}/node-exporter.key")
    pub_crt = host.check_output(f"openssl x509 -noout -pubkey -in {DIR}/node-exporter.crt")
    assert pub_key == pub_crt


def test_host_trust_store_has_the_fleet_root(host):
    assert host.file("/etc/ssl/certs/editaliza-fleet-root.pem").exists
    result = host.run(f"openssl verify -untrusted {DIR}/ca.crt {DIR}/node-exporter.crt")
    assert result.rc == 0, result.stderr


def test_exporter_serves_the_installed_certificate(host):
    # From the Docker host, verifying the chain the exporter sends against the lab root.
    name = host.backend.get_hostname()
    handshake = subprocess.run(
        ["openssl", "s_client", "-connect", f"{host_address(host)}:9100", "-servername", name,
         "-CAfile", str(LAB_ROOT_CA), "-verify_return_error", "-verify_hostname", name],
        input="", capture_output=True, text=True, timeout=20, check=False,
    )
    assert "Verify return code: 0 (ok)" in handshake.stdout, handshake.stdout[-1500:]
    served = serial_of(handshake.stdout[handshake.stdout.index("-----BEGIN CERTIFICATE-----"):])
    assert served == serial_of(host.file(f"{DIR}/node-exporter.crt").content_string)


def sans(pem):
    text = openssl("x509", "-noout", "-ext", "subjectAltName", stdin=pem)
    return sorted(n.strip() for n in text.splitlines()[1].split(","))


def test_nearly_expired_certificate_was_renewed_and_served_without_a_restart(host):
    marker = host.file("/root/pki-short-lived.crt")
    assert marker.exists, "side_effect.yml did not run"
    short = marker.content_string
    current = host.file(f"{DIR}/node-exporter.crt").content_string
    # Same names, same CA: the short lifetime alone made the role renew.
    assert sans(short) == sans(current)
    assert serial_of(current) != serial_of(short)
    not_after = openssl("x509", "-noout", "-enddate", stdin=current).strip().split("=")[1]
    expires = datetime.strptime(not_after, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)
    assert (expires - datetime.now(UTC)).days >= 25, "renewed for the full lifetime (720 h)"
    # The exporter was not restarted (it reads its certificate on every request) and
    # serves the renewed certificate: test_exporter_serves_the_installed_certificate.
    pid = host.check_output("systemctl show --property MainPID --value prometheus-node-exporter.service")
    assert pid == host.file("/root/pki-exporter-pid").content_string.strip(), "the exporter was restarted"
    assert current in host.file(f"{DIR}/node-exporter-fullchain.crt").content_string


def test_expiry_is_published_for_the_node_exporter(host):
    current = host.file(f"{DIR}/node-exporter.crt").content_string
    not_after = openssl("x509", "-noout", "-enddate", stdin=current).strip().split("=")[1]
    expires = int(datetime.strptime(not_after, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC).timestamp())
    metric = host.file("/var/lib/prometheus/node-exporter/pki-node-exporter.prom").content_string
    assert f'pki_certificate_expiry_timestamp_seconds{{certificate="node-exporter"}} {expires}\n' in metric
    # From when a run renews it: its own threshold (10 days plus its share of the 5-day
    # jitter, from host and certificate name), not one shared by every certificate.
    before = pki_renew_before_seconds(host.backend.get_hostname(), "node-exporter", 10, 5)
    assert 10 * 86400 < before < 15 * 86400
    assert f'pki_certificate_renewal_timestamp_seconds{{certificate="node-exporter"}} {expires - before}\n' in metric


@pytest.fixture(scope="module")
def check_run():
    return run_playbook(converge_playbook(), "--check", "--diff")


def test_check_mode_reports_no_change(host, check_run):
    assert check_run.rc == 0, check_run.output[-3000:]
    assert check_run.recap[host.backend.get_hostname()]["changed"] == 0


def test_private_key_never_appears_in_output(host, check_run):
    key_lines = [
        line for line in host.check_output(f"cat {DIR}/node-exporter.key").splitlines() if "-----" not in line
    ]
    assert key_lines
    assert not [line for line in key_lines if line in check_run.output]


def test_certificate_request_without_a_name_is_refused_before_any_change(host):
    run = run_playbook(converge_playbook(), "-e", '{"pki_certificates": [{"group": "prometheus"}]}')
    assert run.rc != 0
    assert "missing required arguments: name" in run.output
    assert "pki_certificates" in run.output
    assert run.recap[host.backend.get_hostname()]["changed"] == 0
