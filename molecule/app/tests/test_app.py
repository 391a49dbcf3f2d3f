"""The app behind the load balancer: it writes through pgbouncer to PostgreSQL, keeps
sessions in Redis, and its containers run unprivileged within the roadmap's limits."""

import json

import pytest
from conftest import APP_HOSTS, container_health, wait_for


def test_healthz_checks_database_and_redis(client):
    r = client.get("/healthz")
    assert r.status == 200, r.body
    assert r.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_a_note_written_through_the_balancer_is_a_row_in_postgresql(client, hosts):
    body = "nota de teste 2026"
    created = client.post("/api/notes", body=body.encode())
    assert created.status == 201, created.body
    note_id = created.json()["id"]
    assert client.get(f"/api/notes/{note_id}").json()["body"] == body
    row = hosts["app-data"].check_output(
        "sudo -u postgres psql -XAt -d editaliza -c %s",
        f"SELECT body FROM notes WHERE id = {int(note_id)}",  # noqa: S608 - an integer, not text
    )
    assert row == body


def test_the_app_reaches_postgresql_through_pgbouncer(hosts, client):
    assert client.get("/healthz").status == 200
    # The app hosts' pooled connections end at pgbouncer's port, not at PostgreSQL's.
    peers = hosts["app-data"].check_output("ss -Htn state established '( sport = :6432 )' | awk '{print $4}'")
    assert {"10.214.5.20"} <= {p.rsplit(":", 1)[0] for p in peers.split()}, peers
    direct = hosts["app-data"].check_output("ss -Htn state established '( sport = :5432 )' | awk '{print $4}'")
    assert not {p.rsplit(":", 1)[0] for p in direct.split()} & {"10.214.5.20", "10.214.5.21"}, direct


def test_a_session_made_at_login_is_kept_in_redis(client):
    token = client.post("/auth/login", body=json.dumps({"user": "ana"}).encode()).json()["session"]
    assert client.get("/auth/session", headers={"X-Session": token}).json() == {"user": "ana"}
    assert client.get("/auth/session", headers={"X-Session": "not-a-session"}).status == 401


def test_the_env_file_is_root_only(hosts):
    for name in APP_HOSTS:
        f = hosts[name].file("/etc/editaliza/app/app.env")
        assert (f.user, f.group, f.mode) == ("root", "root", 0o600)


@pytest.mark.parametrize("name", APP_HOSTS)
def test_containers_run_unprivileged_within_their_limits(hosts, name):
    host = hosts[name]
    for index in (0, 1):
        c = json.loads(host.check_output(f"docker inspect app-blue-{index}"))[0]
        hc = c["HostConfig"]
        assert c["Config"]["User"] == "10001:10001"
        assert hc["Memory"] == 512 * 1024 * 1024
        assert hc["MemorySwap"] == 512 * 1024 * 1024
        assert hc["NanoCpus"] == 500_000_000
        assert hc["ReadonlyRootfs"] is True
        assert hc["CapDrop"] == ["ALL"]
        assert not hc["CapAdd"]
        assert "no-new-privileges" in hc["SecurityOpt"]
        assert c["State"]["Health"]["Status"] == "healthy"
        # Inside, the process really is that user, and the root filesystem refuses writes.
        assert host.check_output(f"docker exec app-blue-{index} id -u") == "10001"
        assert host.run(f"docker exec app-blue-{index} touch /opt/x").rc != 0


def test_container_logs_reach_the_journal_as_json(hosts, client):
    client.get("/", headers={"X-Request-Id": "journal-probe-1"})
    found = wait_for(lambda: hosts["app-sp"].run(
        "journalctl -o cat CONTAINER_NAME=app-blue-0 CONTAINER_NAME=app-blue-1 --since -2min | grep journal-probe-1"
    ).stdout, 10)
    record = json.loads(found.splitlines()[0])
    assert record["request_id"] == "journal-probe-1"
    assert record["status"] == 200


def test_killing_an_instance_loses_no_request(hosts, request_loop):
    host = hosts["app-sp"]
    with request_loop(max_seconds=60) as result:
        # A crash, not a stop: the process dies under Docker's feet (`docker kill` would
        # count as a manual stop and switch the restart policy off).
        host.check_output("kill -9 $(docker inspect -f '{{.State.Pid}}' app-blue-0)")
        # The restart policy brings it back; the load balancer routed around it meanwhile.
        assert wait_for(lambda: container_health(host, "app-blue-0") == "healthy", 60)
    assert result.sent > 50
    assert result.failures == [], result.failures[:5]
    print(f"instance killed under load: {result.sent} requests, 0 failed")


def test_virginia_takes_over_when_sao_paulo_has_no_instance(hosts, client):
    host = hosts["app-sp"]
    host.check_output("docker stop app-blue-0 app-blue-1")
    try:
        seen = {client.get("/").headers["x-app-instance"] for _ in range(12)}
        assert seen, seen
        assert seen <= {"app-va-blue-0", "app-va-blue-1"}, seen
    finally:
        host.check_output("docker start app-blue-0 app-blue-1")
        assert wait_for(lambda: all(container_health(host, f"app-blue-{i}") == "healthy" for i in (0, 1)), 60)
    # Once São Paulo's instances answer again, the load balancer goes back to them.
    assert wait_for(lambda: client.get("/").headers["x-app-instance"].startswith("app-sp-"), 30)
