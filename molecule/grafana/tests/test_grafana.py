"""Grafana over HTTPS with the admin login from Vault, a data source per region, the
role's dashboards; and, wherever the repository is, a repository that does not answer
stops the run before any change."""

import json

import pytest

from tests.helpers.ansible_run import (
    ROOT,
    assert_refused_before_any_change,
    run_playbook,
)
from tests.helpers.vault import read_secret

CA = "/etc/ssl/editaliza/ca.crt"


def _api(hosts, addresses, host, path, auth=True):
    login = read_secret("editaliza/grafana/admin")
    creds = f"-u '{login['username']}:{login['password']}'" if auth else ""
    out = hosts[host].run(f"curl -sS --max-time 10 --cacert {CA} {creds} -w '\\n%{{http_code}}' "
                          f"https://{addresses[host]}:3000{path}")
    body, _, code = out.stdout.rpartition("\n")
    return int(code or 0), body


def test_an_unreachable_repository_stops_the_run_before_any_change():
    # Runs everywhere: nothing listens on port 9 of the loopback.
    run = run_playbook(ROOT / "playbooks/grafana.yml", "-e", json.dumps({"grafana_enabled": True}),
                       "-e", "grafana_apt_url=http://127.0.0.1:9")
    assert_refused_before_any_change(run, "http://127.0.0.1:9/dists/stable/Release did not answer",
                                     "Nothing was changed")


def test_nothing_of_grafana_is_half_installed_where_it_was_left_off(hosts, repository_answers):
    if repository_answers:
        pytest.skip("the repository answers here: Grafana was installed, nothing was left off")
    for name, host in hosts.items():
        assert not host.file("/etc/apt/sources.list.d/grafana.sources").exists, name
        assert not host.package("grafana").is_installed, name
        assert not host.file("/etc/ssl/editaliza/grafana.key").exists, name


@pytest.mark.usefixtures("grafana")
def test_grafana_answers_over_tls_and_refuses_anonymous_users(hosts, addresses):
    code, body = _api(hosts, addresses, "graf-sp", "/api/health", auth=False)
    assert code == 200
    assert json.loads(body)["database"] == "ok"
    code, _ = _api(hosts, addresses, "graf-sp", "/api/dashboards/uid/editaliza-fleet", auth=False)
    assert code == 401
    plain = hosts["graf-sp"].run(f"curl -s --max-time 5 http://{addresses['graf-sp']}:3000/api/health")
    assert '"database"' not in plain.stdout


@pytest.mark.usefixtures("grafana")
def test_each_region_has_a_data_source_and_its_own_is_the_default(hosts, addresses):
    for host, region in (("graf-sp", "saopaulo"), ("graf-va", "virginia")):
        code, body = _api(hosts, addresses, host, "/api/datasources")
        assert code == 200, body
        sources = {d["uid"]: d for d in json.loads(body)}
        assert {"prometheus-saopaulo", "prometheus-virginia"} <= set(sources), sources
        assert [uid for uid, d in sources.items() if d["isDefault"]] == [f"prometheus-{region}"]
        assert sources["prometheus-virginia"]["url"] == f"https://{addresses['graf-va']}:9090"


@pytest.mark.usefixtures("grafana")
def test_the_roles_dashboards_are_provisioned_read_only(hosts, addresses):
    code, body = _api(hosts, addresses, "graf-sp", "/api/search?tag=editaliza")
    assert code == 200, body
    uids = {d["uid"] for d in json.loads(body)}
    assert uids == {f"editaliza-{n}" for n in ("fleet", "postgresql", "redis", "nginx", "app", "slo")}
    code, body = _api(hosts, addresses, "graf-sp", "/api/dashboards/uid/editaliza-slo")
    assert json.loads(body)["meta"]["provisioned"] is True


@pytest.mark.usefixtures("grafana")
def test_the_admin_password_is_in_no_world_readable_file(hosts):
    password = read_secret("editaliza/grafana/admin")["password"]
    ini = hosts["graf-sp"].file("/etc/grafana/grafana.ini")
    assert (ini.user, ini.group, ini.mode) == ("root", "grafana", 0o640)
    out = hosts["graf-sp"].run("find /etc /var/lib/grafana -xdev -type f -perm -o=r -size -1M -print0"
                               " | xargs -0 -r grep -lF -- %s", password)
    assert out.stdout.strip() == ""
