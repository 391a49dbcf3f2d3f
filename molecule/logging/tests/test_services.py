"""The running logging tier (only where Elastic's packages could be installed; elsewhere
each test skips naming the repository): Elasticsearch refuses anonymous requests, a log
line the app writes and an Nginx access line arrive parsed within 30 s, Kibana answers
its status API."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.helpers.vault import read_secret

CA = "/etc/ssl/editaliza/ca.crt"
pytestmark = pytest.mark.usefixtures("elastic")


def _es(hosts, addresses, path, user=None, method="GET"):
    creds = ""
    if user:
        creds = f"-u '{user}:{read_secret('editaliza/elasticsearch/users')[user]}'"
    out = hosts["log-sp"].run(f"curl -sS --max-time 10 --cacert {CA} {creds} -X {method} -w '\\n%{{http_code}}' "
                              f"'https://{addresses['log-sp']}:9200{path}'")
    body, _, code = out.stdout.rpartition("\n")
    return int(code or 0), body


def _wait_for_document(hosts, addresses, stream, request_id, limit=30.0):
    """The document with `request_id` in `stream`, read as the Grafana reader, and how long it took."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        code, body = _es(hosts, addresses, f"/{stream}/_search?q=request_id:{request_id}", user="grafana_reader")
        hits = json.loads(body).get("hits", {}).get("hits", []) if code == 200 else []
        if hits:
            return hits[0]["_source"], time.monotonic() - started
        time.sleep(1)
    pytest.fail(f"no document with request_id {request_id} in {stream} after {limit:.0f} s")


def test_elasticsearch_refuses_anonymous_requests_and_answers_elastic(hosts, addresses):
    code, _ = _es(hosts, addresses, "/")
    assert code == 401
    code, body = _es(hosts, addresses, "/_cluster/health", user="elastic")
    assert code == 200, body
    assert json.loads(body)["status"] == "green", body
    plain = hosts["log-sp"].run(f"curl -s --max-time 5 http://{addresses['log-sp']}:9200/")
    assert '"cluster_name"' not in plain.stdout


def test_an_app_log_line_arrives_with_its_parsed_fields_within_30_s(hosts, addresses):
    # Written to the journal under the identifier Docker's journald driver gives the app's
    # containers (their name), as an app container's line on log-va would be.
    request_id = uuid.uuid4().hex
    line = json.dumps({"ts": "2026-11-26T00:00:00", "level": "info", "request_id": request_id, "method": "GET",
                       "path": "/api/plans", "status": 200, "latency_ms": 12.5, "user": "u-42"})
    hosts["log-va"].check_output("logger -t app-blue-1 -- %s", line)
    doc, seconds = _wait_for_document(hosts, addresses, "logs-editaliza.app-virginia", request_id)
    print(f"app log line searchable after {seconds:.1f} s")
    assert doc["app"]["latency_ms"] == 12.5
    assert doc["app"]["user"] == "u-42"
    assert doc["region"] == "virginia"


def test_an_nginx_access_line_arrives_with_its_parsed_fields_within_30_s(hosts, addresses):
    request_id = uuid.uuid4().hex
    line = json.dumps({"time": "2026-11-26T00:00:00+00:00", "remote_addr": "10.214.8.77", "request_id": request_id,
                       "method": "GET", "uri": "/api/plans", "status": 200, "bytes_sent": 512, "request_time": 0.012,
                       "upstream_addr": "10.214.8.5:3000", "upstream_status": "200",
                       "upstream_response_time": "0.010", "cache": "MISS", "user_agent": "test", "host": "lab"})
    hosts["log-va"].check_output("mkdir -p /var/log/nginx && printf '%%s\\n' %s >> /var/log/nginx/access.log", line)
    doc, seconds = _wait_for_document(hosts, addresses, "logs-editaliza.nginx-virginia", request_id)
    print(f"nginx access line searchable after {seconds:.1f} s")
    assert doc["nginx"]["status"] == 200
    assert doc["source"]["ip"] == "10.214.8.77"
    assert doc["nginx"]["upstream_response_time"] == 0.010


def test_the_writer_can_not_read_and_the_reader_can_not_write(hosts, addresses):
    code, _ = _es(hosts, addresses, "/logs-editaliza.*/_search", user="logstash_writer")
    assert code == 403
    code, _ = _es(hosts, addresses, "/logs-editaliza.app-virginia/_doc", user="grafana_reader", method="POST")
    assert code in (400, 403)


def test_kibana_answers_its_status_api_over_tls(hosts, addresses):
    elastic = read_secret("editaliza/elasticsearch/users")["elastic"]
    out = hosts["log-sp"].check_output(f"curl -sS --max-time 10 --cacert {CA} -u 'elastic:{elastic}' "
                                       f"https://{addresses['log-sp']}:5601/api/status")
    assert json.loads(out)["status"]["overall"]["level"] == "available"
