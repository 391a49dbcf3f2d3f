"""Repository-wide rules: role interfaces, pinned collections, inventories and secrets."""

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent for p in ROOT.glob("roles/*/meta/main.yml"))
INVENTORIES = sorted(p.parent for p in ROOT.glob("inventories/*/hosts.yml"))


def load(path):
    return yaml.safe_load(path.read_text()) or {}


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_interface(role):
    """defaults/main.yml and meta/argument_specs.yml hold the same keys, all prefixed with
    the role name, and the README documents each of them."""
    defaults = load(role / "defaults/main.yml")
    spec = load(role / "meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(defaults) == set(spec), f"{role.name}: defaults and argument_specs differ"
    assert [k for k in defaults if not k.startswith(f"{role.name}_")] == []
    readme = (role / "README.md").read_text()
    assert [k for k in defaults if f"`{k}`" not in readme] == [], f"{role.name}/README.md misses variables"
    assert load(role / "meta/main.yml")["dependencies"] == []


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_templates_say_they_are_managed(role):
    # A name starting with "_" is a macro file other templates import, not a file on a host.
    for template in role.glob("templates/**/*.j2"):
        if not template.name.startswith("_"):
            assert "ansible_managed" in template.read_text()[:300], template


def test_requirements_yml_matches_the_bundled_collections():
    spec = importlib.util.find_spec("ansible_collections")
    base = Path(next(iter(spec.submodule_search_locations)))
    for entry in load(ROOT / "requirements.yml")["collections"]:
        namespace, name = entry["name"].split(".")
        manifest = json.loads((base / namespace / name / "MANIFEST.json").read_text())
        assert manifest["collection_info"]["version"] == entry["version"], entry["name"]


def groups_of(inventory):
    """Groups defined in an inventory's hosts.yml, with their hosts."""
    groups = {}

    def walk(name, node):
        node = node or {}
        groups.setdefault(name, set()).update((node.get("hosts") or {}).keys())
        for child, sub in (node.get("children") or {}).items():
            walk(child, sub)
            groups[name] |= groups[child]

    walk("all", load(inventory / "hosts.yml")["all"])
    return groups


@pytest.mark.parametrize("inventory", INVENTORIES, ids=lambda p: p.name)
def test_every_host_is_in_exactly_one_region(inventory):
    groups = groups_of(inventory)
    regions = {g: hosts for g, hosts in groups.items() if g.startswith("region_")}
    for host in groups["all"]:
        assert len([r for r, hosts in regions.items() if host in hosts]) == 1, host


@pytest.mark.parametrize("inventory", INVENTORIES, ids=lambda p: p.name)
def test_inventory_defines_every_group_the_firewall_names(inventory):
    rules = load(ROOT / "roles/common/defaults/main.yml")["common_firewall_rules"]
    named = {g for r in rules for g in r.get("on_groups", []) + r.get("from_groups", [])}
    assert named - set(groups_of(inventory)) == set()


def render_with_our_filters(value):
    """A defaults value that is a template of this repository's filters alone (no
    variables), rendered as Ansible renders it, native types kept."""
    if not isinstance(value, str):
        return value
    from jinja2.nativetypes import NativeEnvironment

    from filter_plugins.app import FilterModule as AppFilters

    env = NativeEnvironment()
    env.filters.update(AppFilters().filters())
    return env.from_string(value).render()


@pytest.mark.parametrize("inventory", INVENTORIES, ids=lambda p: p.name)
def test_roles_default_ports_collide_on_no_host(inventory):
    """Every host's services on their roles' default ports: the firewall rules resolve,
    and no two listen on one port (an inventory's own values: the preflight)."""
    from filter_plugins.topology import firewall_allow, firewall_port_collisions

    rules = load(ROOT / "roles/common/defaults/main.yml")["common_firewall_rules"]
    # from_cidrs: templates of inventory values, left out; port_span: of our filters, rendered.
    rules = [{k: render_with_our_filters(v) if k == "port_span" else v for k, v in r.items() if k != "from_cidrs"}
             for r in rules]
    groups = groups_of(inventory)
    hostvars = {h: {"fleet_address": f"192.0.2.{i + 1}"} for i, h in enumerate(groups["all"])}
    for host in groups["all"]:
        assert firewall_allow(host, rules, groups, hostvars), host
        assert firewall_port_collisions(host, rules, groups, hostvars) == []


@pytest.mark.parametrize("inventory", INVENTORIES, ids=lambda p: p.name)
def test_inventory_catalogue_holds_paths_and_key_names_only(inventory):
    catalogue = load(inventory / "group_vars/all/vault.yml")["vault_secrets"]
    for name, entry in catalogue.items():
        assert set(entry) == {"path", "keys"}, name
        assert re.fullmatch(r"[a-z0-9_-]+(/[a-z0-9_-]+)+", entry["path"]), name
        assert all(re.fullmatch(r"[a-z_]+", k) for k in entry["keys"]), name


def test_lab_catalogue_is_seeded_by_the_fixture():
    catalogue = load(ROOT / "inventories/lab/group_vars/all/vault.yml")["vault_secrets"]
    fixture = load(ROOT / "tests/fixtures/vault-secrets.yml")
    seeded = {path: {"role_id", "secret_id"} if set(keys) == {"approle"} else set(keys)
              for path, keys in fixture["kv"].items()}
    seeded.update({path: {"certificate", "private_key", "ca_chain"} for path in fixture["tls"]})
    for name, entry in catalogue.items():
        assert entry["path"] in seeded, f"{name}: {entry['path']} is not seeded"
        assert set(entry["keys"]) <= seeded[entry["path"]], name
    assert {e["path"] for e in catalogue.values()} == set(seeded), "the fixture seeds paths nobody reads"


def tracked_files():
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    return [ROOT / f for f in out.splitlines() if (ROOT / f).is_file()]


def test_no_private_key_or_literal_secret_in_the_repository():
    offenders = []
    for path in tracked_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        # A real key block: the header, then full 64-character base64 lines.
        if re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\s+(?:[A-Za-z0-9+/=]{64}\s+)+", text):
            offenders.append(f"{path}: private key")
        for match in re.finditer(r"^\s*-?\s*(password|passphrase|secret_id|token)\s*:\s*(\S+)", text, re.M):
            value = match.group(2)
            # Allowed: templates (Vault lookups), generators in the Vault fixture, the
            # locked-password marker.
            if not value.startswith(("{{", '"{{', "'{{", "{generate", "{format", ">-", "|", '"!"')):
                offenders.append(f"{path}: {match.group(0).strip()}")
    assert offenders == []


def vault_path_settings():
    """{(role, variable): value} of every role default and inventory setting naming a
    Vault path (`*_vault_path`, and each entry of `*_vault_paths`)."""
    found = {}
    sources = [(role.name, role / "defaults/main.yml") for role in ROLES]
    sources += [(f"inventories/{p.parts[-4]}", p) for p in sorted(ROOT.glob("inventories/*/group_vars/all/*.yml"))
                if p.name != "vault.yml"]
    for owner, path in sources:
        for key, value in load(path).items():
            if key.endswith("_vault_path"):
                found[(owner, key)] = value
            elif key.endswith("_vault_paths"):
                found.update({(owner, f"{key}.{k}"): v for k, v in value.items()})
    return found


PATH_REFERENCE = re.compile(r"^\{\{ vault_secrets\.(\w+)\.path \}\}$")


def test_every_vault_path_is_written_once_in_the_inventorys_catalogue():
    """Roles and inventories name a secret by its catalogue key, never by its path: the
    catalogue (inventories/*/group_vars/all/vault.yml, what the preflight checks) is the
    one place a path is written, so staging reads staging's secrets."""
    settings = vault_path_settings()
    assert len(settings) > 20
    written = {k: v for k, v in settings.items() if v and not PATH_REFERENCE.match(v)}
    assert written == {}, "Vault paths written outside the catalogue"
    for environment in ("lab", "staging", "production"):
        catalogue = load(ROOT / f"inventories/{environment}/group_vars/all/vault.yml")["vault_secrets"]
        paths = {k: catalogue[PATH_REFERENCE.match(v).group(1)]["path"] for k, v in settings.items() if v}
        prefixes = {p.split("/")[0] for p in paths.values()}
        assert prefixes == {"editaliza-staging" if environment == "staging" else "editaliza"}, (environment, paths)
        assert paths[("registry", "registry_vault_path")] == paths[("inventories/" + environment,
                                                                     "app_registry_vault_path")]
