"""roles/pgbouncer/files/pgbouncer-metrics: SHOW POOLS / SHOW STATS rows to Prometheus text."""

import subprocess

import pytest

from tests.helpers.ansible_run import cached_tool
from tests.helpers.scripts import load_script


def _module():
    return load_script("roles/pgbouncer/files/pgbouncer-metrics")


# Rows as pgbouncer 1.18 (Debian 12) returns them, the admin console's own included.
POOLS = [
    {"database": "editaliza", "user": "editaliza_app", "cl_active": 3, "cl_waiting": 2, "cl_active_cancel_req": 0,
     "cl_waiting_cancel_req": 0, "sv_active": 3, "sv_active_cancel": 0, "sv_being_canceled": 0, "sv_idle": 4,
     "sv_used": 1, "sv_tested": 0, "sv_login": 0, "maxwait": 1, "maxwait_us": 500000, "pool_mode": "transaction"},
    {"database": "pgbouncer", "user": "pgbouncer", "cl_active": 1, "cl_waiting": 0, "cl_active_cancel_req": 0,
     "cl_waiting_cancel_req": 0, "sv_active": 0, "sv_active_cancel": 0, "sv_being_canceled": 0, "sv_idle": 0,
     "sv_used": 0, "sv_tested": 0, "sv_login": 0, "maxwait": 0, "maxwait_us": 0, "pool_mode": "statement"},
]
STATS = [
    {"database": "editaliza", "total_xact_count": 40, "total_query_count": 41, "total_received": 5000,
     "total_sent": 9000, "total_xact_time": 30000, "total_query_time": 2500000, "total_wait_time": 1500,
     "avg_xact_count": 1, "avg_query_count": 1, "avg_recv": 10, "avg_sent": 20, "avg_xact_time": 750,
     "avg_query_time": 600, "avg_wait_time": 0},
    {"database": "pgbouncer", "total_xact_count": 7, "total_query_count": 7, "total_received": 0, "total_sent": 0,
     "total_xact_time": 0, "total_query_time": 0, "total_wait_time": 0},
]


def test_pools_and_stats_become_labelled_series():
    text = _module().render(POOLS, STATS)
    assert "pgbouncer_up 1" in text
    pool = 'database="editaliza",user="editaliza_app"'
    assert f"pgbouncer_pool_client_connections{{{pool},state=\"waiting\"}} 2" in text
    assert f"pgbouncer_pool_server_connections{{{pool},state=\"idle\"}} 4" in text
    assert f"pgbouncer_pool_max_wait_seconds{{{pool}}} 1.5" in text
    assert 'pgbouncer_transactions_total{database="editaliza"} 40' in text
    assert 'pgbouncer_queries_total{database="editaliza"} 41' in text
    # Microseconds become seconds.
    assert 'pgbouncer_query_time_seconds_total{database="editaliza"} 2.5' in text
    assert 'pgbouncer_client_wait_time_seconds_total{database="editaliza"} 0.0015' in text
    assert 'database="pgbouncer"' not in text


def test_an_unreachable_console_gives_up_zero_and_nothing_else():
    text = _module().render([], [], up=False)
    assert text.splitlines() == ["# HELP pgbouncer_up 1 when pgbouncer's admin console answered.",
                                 "# TYPE pgbouncer_up gauge", "pgbouncer_up 0"]


def test_the_output_passes_promtool():
    promtool = cached_tool("promtool")
    if promtool is None:
        pytest.skip("promtool is not here: run scripts/setup (it unpacks Debian's prometheus package)")
    for text in (_module().render(POOLS, STATS), _module().render([], [], up=False)):
        check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                               text=True, check=False)
        assert check.returncode == 0, check.stdout + check.stderr


def test_label_values_are_escaped():
    pools = [dict(POOLS[0], database='we"ird\\db')]
    assert 'database="we\\"ird\\\\db"' in _module().render(pools, [])
