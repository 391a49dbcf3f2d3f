"""What only the whole fleet shows: data written through one region reaches the other
region's replica, a session outlives a change of load balancer, and each region's
Prometheus scrapes every host of its region and sees the other region."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from conftest import ADDRESSES, GROUPS, REGIONS, in_region

PRIMARY = next(h for h in GROUPS["postgres"] if h.startswith("sp-"))
REPLICA = next(h for h in GROUPS["postgres"] if h.startswith("va-"))
# Jobs each region's Prometheus scrapes in the lab (a region's app, load balancer,
# PostgreSQL, Redis and Sentinel, monitoring, and the other region by federation).
JOBS = {"node", "postgres", "redis", "sentinel", "nginx", "app", "prometheus", "alertmanager", "federate"}


def psql(host, sql):
    return host.check_output("runuser -u postgres -- psql -XAt -d editaliza -c %s", sql)


def test_a_note_written_through_sao_paulo_is_read_on_the_virginia_replica(hosts, balancers):
    body = f"fleet-{uuid.uuid4()}"
    created = balancers["saopaulo"].post("/api/notes", body=body.encode())
    assert created.status == 201, created.body
    note_id = int(created.json()["id"])
    assert psql(hosts[PRIMARY], "SELECT pg_is_in_recovery()") == "f"
    assert psql(hosts[REPLICA], "SELECT pg_is_in_recovery()") == "t"
    deadline = time.monotonic() + 30
    while (row := psql(hosts[REPLICA], f"SELECT body FROM notes WHERE id = {note_id}")) != body:  # noqa: S608 - an integer
        assert time.monotonic() < deadline, f"note {note_id} not on {REPLICA} within 30 s (got {row!r})"
        time.sleep(1)
    lag = psql(hosts[REPLICA], "SELECT COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)")
    print(f"note {note_id}: written through saopaulo's load balancer, read on {REPLICA}; replay lag {float(lag):.2f} s")


def test_app_hosts_reach_postgresql_only_through_pgbouncer(hosts, balancers):
    for client in balancers.values():
        assert client.get("/healthz").status == 200
    apps = {ADDRESSES[h] for h in GROUPS["app"]}
    pooled = hosts[PRIMARY].check_output("ss -Htn state established '( sport = :6432 )' | awk '{print $4}'")
    assert apps <= {p.rsplit(":", 1)[0] for p in pooled.split()}, pooled
    direct = hosts[PRIMARY].check_output("ss -Htn state established '( sport = :5432 )' | awk '{print $4}'")
    assert not {p.rsplit(":", 1)[0] for p in direct.split()} & apps, direct


def test_a_session_made_through_one_load_balancer_is_valid_through_the_other(balancers):
    login = balancers["saopaulo"].post("/auth/login", body=json.dumps({"user": "fleet"}).encode())
    assert login.status == 200, login.body
    token = login.json()["session"]
    answer = balancers["virginia"].get("/auth/session", headers={"X-Session": token})
    assert (answer.status, answer.json()) == (200, {"user": "fleet"})
    assert balancers["virginia"].get("/auth/session", headers={"X-Session": "no-such-session"}).status == 401


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_every_target_of_each_region_is_up(api, region):
    mon = in_region("monitoring", region)[0]

    def targets():
        active = api.get(mon, 9090, "/api/v1/targets?state=active")["data"]["activeTargets"]
        found = {(t["labels"]["job"], t["labels"]["instance"]): t["health"] for t in active}
        nodes = {instance for job, instance in found if job == "node"}
        federated = {instance for job, instance in found if job == "federate"}
        complete = nodes == set(REGIONS[region]) and federated and set(found.values()) == {"up"}
        return found if complete else None

    found = api.wait(f"every target of {mon} up, node exporters of {REGIONS[region]}", targets, timeout=90)
    jobs = sorted({job for job, _ in found})
    print(f"{mon}: {len(found)} targets up, jobs {jobs}")
    assert set(jobs) >= JOBS, jobs


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_the_global_view_answers_for_both_regions(api, region):
    mon = in_region("monitoring", region)[0]
    expected = {r: len(hosts) for r, hosts in REGIONS.items()}

    def counts():
        result = api.query(mon, 'count by (region) (node_uname_info{job="node"})')
        found = {r["metric"]["region"]: int(r["value"][1]) for r in result}
        return found if found == expected else None

    api.wait(f"node exporters of both regions in {mon}'s view ({expected})", counts, timeout=120)
