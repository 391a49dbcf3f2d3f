"""filter_plugins/tls.py: the fleet's two TLS profiles, in each daemon's spelling."""

import configparser
import os
import shutil
import socket
import subprocess
import time

import pytest
from ansible.errors import AnsibleFilterError

from filter_plugins.tls import tls_profile

# Mozilla's server-side TLS recommendations (version 5.7), the yardstick sslyze applies.
MOZILLA = {
    "public": {"versions": ["TLSv1.2", "TLSv1.3"], "groups": ["X25519", "prime256v1", "secp384r1"]},
    "internal": {"versions": ["TLSv1.3"], "groups": ["X25519", "prime256v1", "secp384r1"]},
}


@pytest.mark.parametrize("name", ["public", "internal"])
def test_each_profile_is_mozillas(name):
    profile = tls_profile(name)
    assert profile["versions"] == MOZILLA[name]["versions"]
    assert profile["groups"] == MOZILLA[name]["groups"]
    assert profile["min_version"] == MOZILLA[name]["versions"][0]


def test_internal_endpoints_speak_tls_1_3_only_in_every_spelling():
    profile = tls_profile("internal")
    assert profile["go_min_version"] == "TLS13"
    assert profile["go_curves"] == ["X25519", "CurveP256", "CurveP384"]
    assert profile["registry_min_version"] == "tls1.3"
    assert profile["redis_exporter_min_version"] == "TLS1.3"
    assert profile["pgbouncer_protocols"] == "tlsv1.3"
    assert profile["openssl_versions"] == "TLSv1.3"


def test_the_public_profile_keeps_tls_1_2():
    profile = tls_profile("public")
    assert profile["go_min_version"] == "TLS12"
    assert profile["pgbouncer_protocols"] == "tlsv1.2,tlsv1.3"
    assert profile["openssl_versions"] == "TLSv1.2 TLSv1.3"


def test_the_openssl_file_sets_the_profile_as_every_context_s_default():
    text = tls_profile("internal")["openssl_conf"]
    conf = configparser.ConfigParser(delimiters=("=",))
    conf.optionxform = str
    # OpenSSL's file starts with settings outside any section.
    conf.read_string("[top]\n" + text)
    assert conf["top"]["openssl_conf"] == "editaliza_conf"
    assert conf[conf["top"]["openssl_conf"]]["ssl_conf"] == "editaliza_ssl"
    section = conf[conf["editaliza_ssl"]["system_default"]]
    assert section["MinProtocol"] == "TLSv1.3"
    assert section["Groups"] == "X25519:prime256v1:secp384r1"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def handshake(port, *options):
    """An ordinary client (the machine's OpenSSL defaults) with `options`: True if the
    handshake succeeds."""
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *options],
                         capture_output=True, text=True, timeout=20, check=False, input="")
    return out.returncode == 0 and "Cipher is (NONE)" not in out.stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl program on this machine")
def test_a_server_started_with_the_file_speaks_the_internal_profile_only(tmp_path):
    conf = tmp_path / "tls.cnf"
    conf.write_text(tls_profile("internal")["openssl_conf"])
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem"), "-days", "1",
                    "-subj", "/CN=localhost"], capture_output=True, check=True, timeout=30)
    port = free_port()
    # A loopback server that reads the file as a daemon's OPENSSL_CONF does; it ends by
    # itself after 6 connections, and is killed below in any case.
    server = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-naccept", "6",
                               "-cert", str(tmp_path / "cert.pem"), "-key", str(tmp_path / "key.pem")],
                              env={**os.environ, "OPENSSL_CONF": str(conf)},
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        results = {
            "tls1.3": handshake(port, "-tls1_3"),
            "tls1.2": handshake(port, "-tls1_2"),
            "X25519": handshake(port, "-tls1_3", "-groups", "X25519"),
            "P-384": handshake(port, "-tls1_3", "-groups", "secp384r1"),
            "P-521": handshake(port, "-tls1_3", "-groups", "secp521r1"),
        }
    finally:
        server.kill()
        server.wait(timeout=10)
    print(results)
    assert results == {"tls1.3": True, "tls1.2": False, "X25519": True, "P-384": True, "P-521": False}


def test_an_unknown_profile_is_refused_naming_the_known_ones():
    with pytest.raises(AnsibleFilterError, match=r"unknown profile 'modern'.*\['internal', 'public'\]"):
        tls_profile("modern")
