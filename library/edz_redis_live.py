#!/usr/bin/python
"""Keep a running Redis instance's settings equal to its configuration file: a value
changed with CONFIG SET is drift the file never shows, and a restart would undo it
silently (or a restart of the cache is what it takes to notice)."""

from __future__ import annotations

import json
import os
import shlex

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: edz_redis_live
short_description: Put back Redis settings changed at run time (CONFIG SET)
description:
  - Parses the instance's configuration file, reads every setting with CONFIG GET over the
    instance's Unix socket and sets back, with CONFIG SET, each one the file names that
    differs. Check mode reports them as a diff.
  - Settings Redis cannot change at run time, file paths of the process and the included
    files (users, replication login) are not compared; replication is Sentinel's.
options:
  config: {type: path, required: true, description: The instance's configuration file.}
  socket: {type: path, required: true, description: The instance's Unix socket.}
  user: {type: str, required: true, description: ACL user allowed CONFIG.}
  auth:
    type: str
    required: true
    no_log: true
    description: Its password.
"""

# Not compared: read-only at run time, the process's own paths, or not a setting.
SKIP = {
    "include", "unixsocket", "unixsocketperm", "pidfile", "logfile", "syslog-enabled", "syslog-ident",
    "syslog-facility", "databases", "daemonize", "supervised", "appendfilename", "appenddirname",
    "tcp-backlog", "aclfile", "user", "rename-command", "replicaof", "slaveof", "always-show-logo",
}
UNITS = {"k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
MEMORY = {"maxmemory", "client-query-buffer-limit", "proto-max-bulk-len", "repl-backlog-size"}


def parse_config(text: str) -> dict[str, str]:
    """{setting: value as one string} of a redis.conf (later lines win; `save` lines join)."""
    settings: dict[str, str] = {}
    saves: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line)
        key, value = words[0].lower(), " ".join(words[1:])
        if key in SKIP:
            continue
        if key == "save":
            saves = [] if value == "" else [*saves, value]
            settings["save"] = " ".join(saves)
        else:
            settings[key] = value
    return settings


def normalise(key: str, value: str) -> str:
    value = value.strip()
    lowered = value.lower()
    if key in MEMORY:
        for unit in sorted(UNITS, key=len, reverse=True):
            if lowered.endswith(unit) and lowered[: -len(unit)].isdigit():
                return str(int(lowered[: -len(unit)]) * UNITS[unit])
    return " ".join(lowered.split())


def differences(wanted: dict[str, str], live: dict[str, str]) -> dict[str, tuple[str, str]]:
    """{setting: (live, file)} for settings of the file whose live value differs; a setting
    CONFIG GET does not return is not compared."""
    return {
        k: (live[k], v) for k, v in sorted(wanted.items())
        if k in live and normalise(k, live[k]) != normalise(k, v)
    }


def pairs(reply) -> dict[str, str]:
    """CONFIG GET's reply from redis-cli --json: a map (RESP3) or a flat list (RESP2)."""
    if isinstance(reply, dict):
        return {str(k): str(v) for k, v in reply.items()}
    return {str(reply[i]): str(reply[i + 1]) for i in range(0, len(reply) - 1, 2)}


def main():
    module = AnsibleModule(
        argument_spec={
            "config": {"type": "path", "required": True},
            "socket": {"type": "path", "required": True},
            "user": {"type": "str", "required": True},
            "auth": {"type": "str", "required": True, "no_log": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    if not os.path.exists(p["config"]) or not os.path.exists(p["socket"]):
        module.exit_json(changed=False, compared=False,
                         msg="the instance is not configured or not running: not compared")
    with open(p["config"]) as f:
        wanted = parse_config(f.read())
    cli = [module.get_bin_path("redis-cli", required=True), "-s", p["socket"], "--user", p["user"], "--no-auth-warning"]
    env = {"REDISCLI_AUTH": p["auth"]}
    rc, out, err = module.run_command([*cli, "--json", "CONFIG", "GET", "*"], environ_update=env)
    if rc != 0 or not out.strip().startswith(("[", "{")):
        module.fail_json(msg=f"CONFIG GET failed on {p['socket']}: {(err or out).strip()[:300]}")
    diff = differences(wanted, pairs(json.loads(out)))
    if not diff:
        module.exit_json(changed=False, compared=True)
    if not module.check_mode:
        for key, (_, value) in diff.items():
            rc, out, err = module.run_command([*cli, "CONFIG", "SET", key, value], environ_update=env)
            if rc != 0 or out.strip() != "OK":
                # A converge goes on (the instance keeps serving); the next check reports it again.
                module.warn(f"CONFIG SET {key} failed on {p['socket']}: {(err or out).strip()[:300]}")
    module.exit_json(
        changed=True, compared=True, differences={k: {"live": a, "file": b} for k, (a, b) in diff.items()},
        diff={"before": "".join(f"{k} {a}\n" for k, (a, _) in diff.items()),
              "after": "".join(f"{k} {b}\n" for k, (_, b) in diff.items()),
              "before_header": f"{os.path.basename(p['config'])} (running)", "after_header": p["config"]},
    )


if __name__ == "__main__":
    main()
