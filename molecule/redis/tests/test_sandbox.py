"""The Redis exporters run sandboxed (the role's template unit, filter_plugins/systemd.py):
`systemd-analyze security` scores each at most 3.0 (issue 18's target for exporters; the
unit before scored 8.3). That they still serve their metrics over TLS is
test_replication.py's exporter tests."""

import pytest

from tests.helpers.hosts import systemd_exposure


@pytest.mark.parametrize(("name", "units"), [
    ("redis-sp", ["sessions", "cache", "sentinel"]),
    ("redis-va", ["sessions", "cache", "sentinel"]),
    ("redis-mon", ["sentinel"]),
])
def test_each_exporter_s_exposure_is_at_most_3(hosts, name, units):
    for unit in units:
        service = f"prometheus-redis-exporter@{unit}.service"
        assert hosts[name].service(service).is_running, service
        assert systemd_exposure(hosts[name], service) <= 3.0, service
