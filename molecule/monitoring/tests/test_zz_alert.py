"""End to end: stopping the node exporter on a target host raises HostDown in its region's
Prometheus (and in the other region's, by federation), the Alertmanager cluster notifies
the webhook once, and the resolved notice follows when the exporter is back.
Runs last (it stops a service)."""

import json
import time

SINK = "/var/lib/alert-sink/notifications.jsonl"


def _notifications(hosts):
    found = []
    for mon in ("mon-sp", "mon-va"):
        out = hosts[mon].run(f"cat {SINK} 2>/dev/null")
        found += [dict(json.loads(line), receiver_host=mon) for line in out.stdout.splitlines() if line]
    return found


def _host_down(notes, status):
    return [n for n in notes
            if n["body"]["status"] == status
            and any(a["labels"].get("alertname") == "HostDown" and a["labels"].get("instance") == "tgt-va"
                    for a in n["body"]["alerts"])]


def test_a_stopped_exporter_fires_host_down_and_reaches_the_webhook(hosts, api):
    tgt = hosts["tgt-va"]
    started = time.monotonic()
    tgt.check_output("systemctl stop prometheus-node-exporter")
    try:
        firing = api.wait("a firing HostDown notification for tgt-va",
                          lambda: _host_down(_notifications(hosts), "firing"), timeout=180, interval=5)
        fired_after = time.monotonic() - started
        note = firing[0]
        # The path is the secret part of the URL Vault holds; the receiver saw it.
        assert note["path"].startswith("/hooks/")
        alert = next(a for a in note["body"]["alerts"] if a["labels"]["alertname"] == "HostDown")
        assert alert["labels"]["region"] == "virginia"
        assert alert["labels"]["severity"] == "critical"
        assert "federated_region" not in alert["labels"]
        # Both Prometheus raise it (Virginia's directly, São Paulo's by federation) ...
        for mon in ("mon-sp", "mon-va"):
            api.wait(f"HostDown firing in {mon}", lambda mon=mon: api.query(
                mon, 'ALERTS{alertname="HostDown", alertstate="firing", instance="tgt-va"}'), timeout=60)
        # ... and the cluster delivers it once (the second Alertmanager waits 15 s for the
        # first one's notification log before it would send).
        time.sleep(20)
        firing = _host_down(_notifications(hosts), "firing")
        print(f"HostDown notified {fired_after:.0f} s after the exporter stopped; "
              f"{len(firing)} firing notification(s) delivered, by {[n['receiver_host'] for n in firing]}")
        assert len(firing) == 1
    finally:
        tgt.check_output("systemctl start prometheus-node-exporter")
    api.wait("a resolved HostDown notification for tgt-va", lambda: _host_down(_notifications(hosts), "resolved"),
             timeout=120, interval=5)
