#!/usr/bin/python
"""Keep the kernel's parameters equal to the sysctl files the roles write: a value set by
hand with `sysctl -w` is drift the files never show."""

from __future__ import annotations

import os

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: edz_sysctl_live
short_description: Apply the values of sysctl.d files that differ from the running kernel's
description:
  - Reads each file's C(key = value) lines and the kernel's values under /proc/sys;
    different ones are set with sysctl -w (check mode reports them as a diff).
  - With O(apply) false (a container: the kernel is the container host's), nothing is
    compared and the result says so.
  - A key the kernel does not have is reported as a warning, not set.
options:
  paths: {type: list, elements: path, required: true, description: sysctl.d files.}
  apply: {type: bool, default: true, description: Whether this host owns its kernel.}
"""


def parse(text: str) -> dict[str, str]:
    """{key: value} of a sysctl.d file (later lines win; `-key` prefixes dropped)."""
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        values[key.lstrip("-").replace("/", ".")] = value
    return values


def same(live: str, wanted: str) -> bool:
    """Compare as the kernel prints: fields separated by any white space."""
    return live.split() == wanted.split()


def differences(wanted: dict[str, str], live: dict[str, str | None]) -> dict[str, tuple[str | None, str]]:
    """{key: (live value or None when the kernel lacks it, wanted value)} for keys that differ."""
    return {k: (live.get(k), v) for k, v in sorted(wanted.items()) if live.get(k) is None or not same(live[k], v)}


def read_live(key: str) -> str | None:
    try:
        with open("/proc/sys/" + key.replace(".", "/")) as f:
            return f.read().strip()
    except OSError:
        return None


def main():
    module = AnsibleModule(
        argument_spec={"paths": {"type": "list", "elements": "path", "required": True},
                       "apply": {"type": "bool", "default": True}},
        supports_check_mode=True,
    )
    if not module.params["apply"]:
        module.exit_json(changed=False, compared=False,
                         msg="not compared: this host does not own its kernel (a container)")
    wanted = {}
    for path in module.params["paths"]:
        if os.path.exists(path):
            with open(path) as f:
                wanted.update(parse(f.read()))
    diff = differences(wanted, {k: read_live(k) for k in wanted})
    missing = sorted(k for k, (live, _) in diff.items() if live is None)
    if missing:
        module.warn(f"the kernel has no {', '.join(missing)}: not set")
    diff = {k: v for k, v in diff.items() if v[0] is not None}
    if not diff:
        module.exit_json(changed=False, compared=True)
    if not module.check_mode:
        sysctl = module.get_bin_path("sysctl", required=True)
        for key, (_, value) in diff.items():
            module.run_command([sysctl, "-q", "-w", f"{key}={value}"], check_rc=True)
    module.exit_json(
        changed=True, compared=True, differences={k: {"live": a, "file": b} for k, (a, b) in diff.items()},
        diff={"before": "".join(f"{k} = {a}\n" for k, (a, _) in diff.items()),
              "after": "".join(f"{k} = {b}\n" for k, (_, b) in diff.items()),
              "before_header": "kernel (live)", "after_header": "sysctl.d files"},
    )


if __name__ == "__main__":
    main()
