"""The Alertmanagers of both regions are one cluster; routes follow severity; a host that
is down silences the other alerts about it; the webhook URL stays out of reach; each runs
sandboxed."""

import datetime

import pytest

from tests.helpers.hosts import systemd_exposure


def test_both_alertmanagers_are_one_ready_cluster(api):
    for mon in ("mon-sp", "mon-va"):
        status = api.get(mon, 9093, "/api/v2/status")
        assert status["cluster"]["status"] == "ready"
        assert len(status["cluster"]["peers"]) == 2, status["cluster"]


@pytest.mark.parametrize("mon", ["mon-sp", "mon-va"])
def test_alertmanager_runs_sandboxed_and_keeps_its_state(hosts, mon):
    # The role's drop-in (filter_plugins/systemd.py): the package's unit alone scores 9.2;
    # issue 18 asks at most 5.0 of Alertmanager, the drop-in gives about 1.6. Its data
    # directory stays writable: the notification log and silences are there.
    unit = "prometheus-alertmanager.service"
    assert systemd_exposure(hosts[mon], unit) <= 3.0
    assert hosts[mon].file("/var/lib/prometheus/alertmanager/silences").exists
    errors = hosts[mon].run(f"journalctl -u {unit} --no-pager -o cat | grep -ci 'read-only file system'")
    assert errors.stdout.strip() == "0", errors.stdout


def test_routes_by_severity(hosts):
    def receiver(labels):
        out = hosts["mon-sp"].check_output(
            f"amtool config routes test --config.file=/etc/prometheus/alertmanager.yml {labels}")
        return out.strip()

    assert receiver("severity=critical alertname=HostDown") == "oncall"
    assert receiver("severity=warning alertname=DiskWillFillIn24h") == "chat"


def test_configuration_on_the_host_passes_amtool(hosts):
    out = hosts["mon-va"].run("amtool check-config /etc/prometheus/alertmanager.yml")
    assert out.rc == 0, out.stdout + out.stderr


def test_a_host_down_silences_the_other_alerts_about_it(api):
    start = datetime.datetime.now(datetime.UTC).isoformat()
    alerts = [
        {"labels": {"alertname": "HostDown", "instance": "inhibit-probe", "severity": "critical"}, "startsAt": start},
        {"labels": {"alertname": "TargetDown", "instance": "inhibit-probe", "job": "nginx", "severity": "warning"},
         "startsAt": start},
        {"labels": {"alertname": "TargetDown", "instance": "other-host", "job": "nginx", "severity": "warning"},
         "startsAt": start},
    ]
    api.post("mon-sp", 9093, "/api/v2/alerts", alerts)

    def states():
        found = api.get("mon-sp", 9093, "/api/v2/alerts?filter=alertname%3D%22TargetDown%22")
        got = {a["labels"]["instance"]: a["status"]["state"] for a in found}
        return got if len(got) == 2 else None

    got = api.wait("both probe alerts known", states, timeout=30, interval=1)
    assert got == {"inhibit-probe": "suppressed", "other-host": "active"}


def test_the_config_holding_the_webhook_url_is_not_world_readable(hosts):
    f = hosts["mon-sp"].file("/etc/prometheus/alertmanager.yml")
    assert (f.user, f.group, f.mode) == ("root", "prometheus", 0o640)


def test_web_and_cluster_settings_name_every_peer(hosts, addresses):
    args = hosts["mon-sp"].file("/etc/default/prometheus-alertmanager").content_string
    assert f"--cluster.peer={addresses['mon-va']}:9094" in args
    assert f"--cluster.peer={addresses['mon-sp']}:9094" not in args
