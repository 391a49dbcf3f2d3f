"""A renewed certificate reaches the Redis instances without a restart (CONFIG SET of the
TLS files), while Sentinel, which can't re-read its files, is restarted on that host only.
Runs before the failover tests (it converges one host)."""

from __future__ import annotations

from conftest import CA, DATA_HOSTS, PORTS, addresses_inventory

from tests.helpers.ansible_run import converge_playbook, leaked_secrets, run_playbook

CERT = "/etc/ssl/editaliza/redis.crt"
SENTINEL_UNIT = "redis-sentinel@editaliza.service"


def _pid(host, unit):
    return host.check_output(f"systemctl show --property MainPID --value {unit}")


def _serial_of_file(host):
    return host.check_output(f"openssl x509 -noout -serial -in {CERT}")


def _served_serial(client, address, port):
    return client.check_output(
        f"openssl s_client -connect {address}:{port} -CAfile {CA} </dev/null 2>/dev/null | openssl x509 -noout -serial")


def test_a_renewed_certificate_is_served_by_the_running_instances(cli, hosts, tmp_path):
    target = DATA_HOSTS[0]
    host, client = hosts[target], hosts["redis-mon"]
    units = [f"redis-server@{name}.service" for name in PORTS]
    before = {unit: _pid(host, unit) for unit in [*units, SENTINEL_UNIT]}
    others = {name: _pid(hosts[name], SENTINEL_UNIT) for name in hosts if name != target}
    old_serial = _serial_of_file(host)
    # As if its certificate had come due: the pki role issues a new one in the next run.
    host.check_output(f"rm {CERT}")

    inventory = addresses_inventory(cli.addresses, tmp_path / "addresses.json")
    run = run_playbook(converge_playbook(), "--inventory", inventory, "--limit", target)
    assert run.rc == 0, run.output[-4000:]
    assert leaked_secrets(run.output) == []
    assert "Reload redis TLS certificates" in run.output

    new_serial = _serial_of_file(host)
    assert new_serial != old_serial
    for name, port in PORTS.items():
        # Same processes, new certificate on the wire.
        assert _pid(host, f"redis-server@{name}.service") == before[f"redis-server@{name}.service"], name
        assert _served_serial(client, cli.addresses[target], port) == new_serial, name
    # Sentinel re-reads nothing at run time: restarted, on this host only.
    assert _pid(host, SENTINEL_UNIT) != before[SENTINEL_UNIT]
    assert {name: _pid(hosts[name], SENTINEL_UNIT) for name in others} == others
    print(f"{target}: certificate {old_serial} -> {new_serial}; instances kept their PIDs, Sentinel restarted")
