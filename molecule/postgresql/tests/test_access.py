"""pg_hba from the topology: exactly the app hosts for the app login, over TLS, with SCRAM."""

import pytest
from conftest import local_sql, remote_sql

from tests.helpers.hosts import systemd_exposure


def test_app_login_connects_from_the_app_host_over_tls(hosts, addresses, logins):
    out = remote_sql(hosts["pg-app"], addresses["pg-sp"], logins["app"], "SELECT ssl FROM pg_stat_ssl "
                     "WHERE pid = pg_backend_pid()")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "t"


def test_plaintext_connection_is_refused(hosts, addresses, logins):
    out = remote_sql(hosts["pg-app"], addresses["pg-sp"], logins["app"], "SELECT 1", sslmode="disable")
    assert out.rc != 0
    assert "no pg_hba.conf entry" in out.stderr, out.stderr
    assert "no encryption" in out.stderr, out.stderr


def test_host_outside_the_topology_is_refused(hosts, addresses, logins):
    out = remote_sql(hosts["pg-other"], addresses["pg-sp"], logins["app"], "SELECT 1")
    assert out.rc != 0
    assert f'no pg_hba.conf entry for host "{addresses["pg-other"]}"' in out.stderr, out.stderr


def test_app_login_is_refused_from_a_database_host(hosts, addresses, logins):
    out = remote_sql(hosts["pg-va"], addresses["pg-sp"], logins["app"], "SELECT 1")
    assert out.rc != 0
    assert "no pg_hba.conf entry" in out.stderr, out.stderr


def test_wrong_password_is_refused(hosts, addresses, logins):
    wrong = {"username": logins["app"]["username"], "password": "not-the-password"}
    out = remote_sql(hosts["pg-app"], addresses["pg-sp"], wrong, "SELECT 1")
    assert out.rc != 0
    assert "password authentication failed" in out.stderr, out.stderr


def test_pg_hba_holds_only_tls_scram_lines_and_the_local_superuser(hosts):
    rows = local_sql(hosts["pg-sp"], "SELECT type, auth_method, coalesce(error, '') FROM pg_hba_file_rules",
                     db="postgres").stdout.split()
    assert rows, "no pg_hba rules"
    assert "local|peer|" in rows
    assert "local|scram-sha-256|" in rows  # the app login from pgbouncer, through the socket
    others = [r for r in rows if not r.startswith("local|")]
    assert others, rows
    assert all(r == "hostssl|scram-sha-256|" for r in others), rows


def test_settings_are_sized_and_secure(hosts):
    settings = dict(line.split("|", 1) for line in local_sql(
        hosts["pg-sp"], "SELECT name, setting FROM pg_settings WHERE name IN ('shared_buffers', "
        "'max_connections', 'ssl', 'password_encryption', 'wal_level', 'effective_cache_size', "
        "'ssl_min_protocol_version')", db="postgres").stdout.split())
    # postgresql_memory_mb 1024: shared_buffers 256 MiB (in 8 kB pages), cache 768 MiB;
    # 10 pool connections x 1 pool + 15 reserved.
    expected = {
        "shared_buffers": str(256 * 1024 // 8),
        "effective_cache_size": str(768 * 1024 // 8),
        "max_connections": "25",
        "ssl": "on",
        "password_encryption": "scram-sha-256",
        "wal_level": "replica",
        "ssl_min_protocol_version": "TLSv1.3",
    }
    assert settings == expected


def test_monitoring_login_reads_statistics(hosts, addresses, logins):
    # Admitted from monitoring hosts only; from the primary's own socket as superuser we
    # check the role's membership instead.
    out = local_sql(hosts["pg-sp"], "SELECT pg_has_role("
                    f"'{logins['monitoring']['username']}', 'pg_monitor', 'MEMBER')", db="postgres")
    assert out.stdout.strip() == "t"


@pytest.mark.parametrize("name", ["pg-sp", "pg-va"])
def test_the_server_runs_in_its_sandbox(hosts, name):
    host = hosts[name]
    assert systemd_exposure(host, "postgresql@15-main.service") <= 5.0
    # The running postmaster, not only the unit: started under the drop-in.
    pid = host.check_output("head -1 /var/lib/postgresql/15/main/postmaster.pid")
    status = dict(line.split(":\t", 1) for line in host.check_output(f"cat /proc/{pid}/status").splitlines()
                  if ":\t" in line)
    assert status["NoNewPrivs"] == "1"
    assert int(status["CapEff"], 16) == 0, "the server, as postgres, holds no capability"
    # ProtectSystem=strict: the root file system is read-only in the server's namespace.
    root = host.check_output(f"awk '$5 == \"/\" {{print $6}}' /proc/{pid}/mountinfo").split(",")
    assert "ro" in root, root
