"""pgbouncer: the app login through the pooler, over TLS, and pooling that shows."""

from conftest import local_sql, remote_sql


def _via_pgbouncer(hosts, addresses, login, sql, db="editaliza", sslmode="require"):
    return remote_sql(hosts["pg-app"], f"{addresses['pg-sp']} port=6432", login, sql, sslmode=sslmode, db=db)


def test_app_login_connects_through_pgbouncer_over_tls(hosts, addresses, logins):
    out = _via_pgbouncer(hosts, addresses, logins["app"], "SELECT current_user, inet_server_port()")
    assert out.rc == 0, out.stderr
    # pgbouncer reaches the server through its unix socket: no server port.
    assert out.stdout.strip() == f"{logins['app']['username']}|"


def test_plaintext_and_wrong_passwords_are_refused_by_pgbouncer(hosts, addresses, logins):
    out = _via_pgbouncer(hosts, addresses, logins["app"], "SELECT 1", sslmode="disable")
    assert out.rc != 0
    assert "SSL required" in out.stderr, out.stderr
    wrong = {"username": logins["app"]["username"], "password": "not-the-password"}
    out = _via_pgbouncer(hosts, addresses, wrong, "SELECT 1")
    assert out.rc != 0
    # pgbouncer checks the SCRAM proof itself and answers in its own words.
    assert "SASL authentication failed" in out.stderr, out.stderr


def test_many_client_connections_share_few_server_connections(hosts, addresses, logins):
    app = hosts["pg-app"]
    password = logins["app"]["password"]
    user = logins["app"]["username"]
    conninfo = f"host={addresses['pg-sp']} port=6432 dbname=editaliza user={user} sslmode=require"
    # 40 clients, 8 at a time, each its own connection and transaction.
    out = app.run(f"seq 40 | PGPASSWORD='{password}' xargs -P 8 -I{{}} psql -XAt '{conninfo}' -c 'SELECT {{}}'")
    assert out.rc == 0, out.stderr
    assert len(out.stdout.split()) == 40
    pools = _via_pgbouncer(hosts, addresses, logins["monitoring"], "SHOW POOLS", db="pgbouncer").stdout
    row = next(line.split("|") for line in pools.splitlines() if line.startswith(f"editaliza|{user}|"))
    assert row[-1] == "transaction", row
    stats = _via_pgbouncer(hosts, addresses, logins["monitoring"], "SHOW STATS", db="pgbouncer").stdout
    total_xact = int(next(line.split("|") for line in stats.splitlines() if line.startswith("editaliza|"))[1])
    assert total_xact >= 40, stats
    servers = local_sql(hosts["pg-sp"], "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = 'editaliza' AND usename <> 'postgres'", db="postgres").stdout.strip()
    assert int(servers) <= 10, f"{servers} server connections for 40 clients"
