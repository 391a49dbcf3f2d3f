"""tests/helpers/promql.py, which the scenarios' exporter tests rely on."""

from tests.helpers.promql import exposed_names, sample_values

TEXT = """# HELP pg_up Whether the last scrape could connect.
# TYPE pg_up gauge
pg_up 1
pg_replication_slots_active{slot_name="pg_va",slot_type="physical"} 1
pg_replication_slots_active{slot_name="pg_x",slot_type="logical"} 0
pgbouncer_pool_max_wait_seconds{database="editaliza",user="app"} 1.5
"""


def test_sample_values_match_labels_exactly_and_by_subset():
    assert sample_values(TEXT, "pg_up") == [1.0]
    assert sample_values(TEXT, "pg_replication_slots_active") == [1.0, 0.0]
    assert sample_values(TEXT, "pg_replication_slots_active", slot_name="pg_va") == [1.0]
    assert sample_values(TEXT, "pg_replication_slots_active", slot_name="pg_v") == []
    assert sample_values(TEXT, "pgbouncer_pool_max_wait_seconds", user="app") == [1.5]
    # A name is not matched by a longer one that starts with it.
    assert sample_values(TEXT, "pg_replication_slots") == []


def test_exposed_names_skip_comments():
    assert exposed_names(TEXT) == {"pg_up", "pg_replication_slots_active", "pgbouncer_pool_max_wait_seconds"}
