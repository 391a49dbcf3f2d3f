"""Seed an OpenBao/Vault dev server for the lab or the tests.

Reads tests/fixtures/vault-secrets.yml and sets up, on the server at VAULT_ADDR with the
root token VAULT_TOKEN:
  - the KV v2 secrets, with generated values;
  - a root and an intermediate CA (PKI engines) and the role host certificates come from;
  - TLS material issued from that CA into KV paths;
  - an AppRole `ansible` with a read-only policy, as production uses, and the AppRoles
    of KV paths given as {approle: <name>} (same policy; their credentials in that path).
Writes, into the state directory given as argument (mode 0600 files):
  seeded-values.json  every generated secret value, for the leak tests
  approle.json        role_id and secret_id of the `ansible` AppRole
  ca.pem              the root CA certificate

Usage: python scripts/vault_seed.py FIXTURE STATE_DIR
"""

from __future__ import annotations

import json
import os
import secrets
import string
import sys
from pathlib import Path

import hvac
import yaml

ALNUM = string.ascii_letters + string.digits
GENERATORS = {
    "password": lambda: "".join(secrets.choice(ALNUM) for _ in range(32)),
    "passphrase": lambda: "".join(secrets.choice(ALNUM) for _ in range(64)),
    "hex32": lambda: secrets.token_hex(16),
    "hex64": lambda: secrets.token_hex(32),
}

POLICY_TEMPLATE = """
# Ansible reads the fleet's secrets and issues host certificates; it writes nothing else.
path "{kv_mount}/data/editaliza/*" {{ capabilities = ["read"] }}
path "{kv_mount}/metadata/editaliza/*" {{ capabilities = ["read", "list"] }}
path "{int_mount}/issue/{role}" {{ capabilities = ["create", "update"] }}
path "{int_mount}/cert/ca_chain" {{ capabilities = ["read"] }}
path "auth/token/lookup-self" {{ capabilities = ["read"] }}
"""


def value_for(spec, generated: list[str]) -> str:
    """A literal string, or a generated value recorded in `generated`."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict) and "generate" in spec:
        value = GENERATORS[spec["generate"]]()
        generated.append(value)
        return value
    if isinstance(spec, dict) and "format" in spec:
        token = GENERATORS["hex32"]()
        generated.append(token)
        return spec["format"].replace("{hex32}", token)
    raise ValueError(f"unsupported secret spec: {spec!r}")


def setup_pki(client: hvac.Client, pki: dict) -> str:
    root, inter, role = pki["root"], pki["intermediate"], pki["role"]
    mounts = client.sys.list_mounted_secrets_engines()["data"]
    for conf in (root, inter):
        if f"{conf['mount']}/" not in mounts:
            client.sys.enable_secrets_engine("pki", path=conf["mount"])
        client.sys.tune_mount_configuration(conf["mount"], max_lease_ttl=conf["ttl"])
    root_pem = client.secrets.pki.generate_root(
        "internal", root["common_name"],
        extra_params={"ttl": root["ttl"], "key_type": "ec", "key_bits": 384},
        mount_point=root["mount"],
    )["data"]["certificate"]
    csr = client.secrets.pki.generate_intermediate(
        "internal", inter["common_name"],
        extra_params={"key_type": "ec", "key_bits": 384},
        mount_point=inter["mount"],
    )["data"]["csr"]
    signed = client.secrets.pki.sign_intermediate(
        csr, inter["common_name"],
        extra_params={"ttl": inter["ttl"], "format": "pem"},
        mount_point=root["mount"],
    )["data"]["certificate"]
    client.secrets.pki.set_signed_intermediate(signed + "\n" + root_pem, mount_point=inter["mount"])
    client.secrets.pki.create_or_update_role(
        role["name"],
        {
            "allow_any_name": True,
            "allow_ip_sans": True,
            "enforce_hostnames": False,
            "server_flag": True,
            "client_flag": True,
            "max_ttl": role["max_ttl"],
            "key_type": role["key_type"],
            "key_bits": role["key_bits"],
        },
        mount_point=inter["mount"],
    )
    return root_pem


def write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)


def main(fixture_path: str, state_dir: str) -> int:
    fixture = yaml.safe_load(Path(fixture_path).read_text())
    state = Path(state_dir)
    state.mkdir(parents=True, exist_ok=True)
    client = hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ["VAULT_TOKEN"])
    if not client.is_authenticated():
        print("vault_seed: the root token was refused", file=sys.stderr)
        return 1

    generated: list[str] = []
    kv_mount = fixture["kv_mount"]
    approle_paths = {}
    for path, keys in fixture["kv"].items():
        if set(keys) == {"approle"}:
            approle_paths[path] = keys["approle"]  # filled below, once the AppRole exists
            continue
        data = {key: value_for(spec, generated) for key, spec in keys.items()}
        client.secrets.kv.v2.create_or_update_secret(path=path, secret=data, mount_point=kv_mount)

    pki = fixture["pki"]
    root_pem = setup_pki(client, pki)
    for path, req in fixture.get("tls", {}).items():
        issued = client.secrets.pki.generate_certificate(
            pki["role"]["name"], req["common_name"],
            extra_params={"alt_names": ",".join(req.get("alt_names", [])), "ttl": req["ttl"]},
            mount_point=pki["intermediate"]["mount"],
        )["data"]
        # The key's base64 lines, not the whole PEM: a leak test greps line by line.
        generated.extend(line for line in issued["private_key"].splitlines() if "-----" not in line)
        client.secrets.kv.v2.create_or_update_secret(
            path=path,
            secret={
                "certificate": issued["certificate"],
                "private_key": issued["private_key"],
                "ca_chain": "\n".join(issued["ca_chain"]),
            },
            mount_point=kv_mount,
        )

    policy = POLICY_TEMPLATE.format(
        kv_mount=kv_mount, int_mount=pki["intermediate"]["mount"], role=pki["role"]["name"]
    )
    client.sys.create_or_update_policy("editaliza-ansible", policy)
    if "approle/" not in client.sys.list_auth_methods()["data"]:
        client.sys.enable_auth_method("approle")
    for name in ("ansible", *approle_paths.values()):
        client.auth.approle.create_or_update_approle(
            name, token_policies=["editaliza-ansible"],
            token_ttl="1h", token_max_ttl="4h",  # noqa: S106 (lifetimes, not passwords)
        )
    role_id = client.auth.approle.read_role_id("ansible")["data"]["role_id"]
    secret_id = client.auth.approle.generate_secret_id("ansible")["data"]["secret_id"]
    # AppRoles whose credentials a host keeps (the scheduled drift run's): in KV, like
    # production's, with the secret_id among the values the leak tests look for.
    for path, name in approle_paths.items():
        own = {"role_id": client.auth.approle.read_role_id(name)["data"]["role_id"],
               "secret_id": client.auth.approle.generate_secret_id(name)["data"]["secret_id"]}
        generated.append(own["secret_id"])
        client.secrets.kv.v2.create_or_update_secret(path=path, secret=own, mount_point=kv_mount)

    write_private(state / "seeded-values.json", json.dumps(sorted(set(generated)), indent=1))
    write_private(state / "approle.json", json.dumps({"role_id": role_id, "secret_id": secret_id}))
    (state / "ca.pem").write_text(root_pem + "\n")
    print(f"vault_seed: {len(fixture['kv'])} KV paths, {len(fixture.get('tls', {}))} TLS paths, "
          f"PKI at {pki['intermediate']['mount']}/issue/{pki['role']['name']}, AppRole 'ansible'")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
