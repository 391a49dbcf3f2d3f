"""Check what Vault holds against the inventory's secret catalogue, without values."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def vault_catalogue_problems(catalogue, found, mount="secret"):
    """One message per catalogue entry whose path is missing or lacks keys.

    `catalogue` maps names to {path, keys} (the inventory's `vault_secrets`); `found` maps
    the same names to the list of key names Vault returned, or None when the read failed.
    Messages name the entry, the path and the missing keys; values never reach here.
    """
    if not isinstance(catalogue, dict):
        raise AnsibleFilterError("vault_catalogue_problems: the catalogue (vault_secrets) must be a mapping")
    problems = []
    for name, entry in sorted(catalogue.items()):
        if not isinstance(entry, dict) or not entry.get("path"):
            problems.append(f"vault_secrets.{name} has no path")
            continue
        where = f"{mount}/{entry['path']}"
        keys = found.get(name)
        if keys is None:
            problems.append(f"Vault secret '{name}' at {where} is missing or unreadable")
            continue
        missing = [k for k in entry.get("keys", []) if k not in keys]
        if missing:
            problems.append(f"Vault secret '{name}' at {where} lacks keys: {', '.join(missing)}")
    return problems


class FilterModule:
    def filters(self):
        return {"vault_catalogue_problems": vault_catalogue_problems}
