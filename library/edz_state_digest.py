#!/usr/bin/python
"""Read what a drift check looks at on one host, in one call, and return digests of it:
the files under the given roots (content, mode, owner), every account's ~/.ssh, systemd
units (active state, enablement), installed packages, listening sockets, the kernel
parameters the sysctl files set (their running values), certificates due for renewal,
and the output of the given commands (run-time state: the firewall's loaded ruleset,
containers, database catalogues). Nothing is changed.

scripts/drift compares these digests with the ones recorded when a full check last found
the host clean: a host whose digests are unchanged (and whose repository, inventory and
secrets are unchanged) needs no full check. Only digests and per-file hashes leave the
host, never a file's content or a command's output.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import os
import pwd
import stat
import subprocess

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: edz_state_digest
short_description: Digests of a host's managed state, for the drift check's fast path
description:
  - Walks I(roots) (without crossing into other file systems) and hashes every entry's
    type, mode, owner, group and content (regular files) or target (symbolic links).
  - Returns one sha256 per section, and the per-file hashes of the file sections, so
    that a mismatch can be named.
  - Read-only; supports check mode.
options:
  roots:
    {type: list, elements: path, default: [], description: Directories or files to hash; a missing one is absent.}
  exclude: {type: list, elements: str, default: [], description: fnmatch patterns of paths left out (volatile files).}
  commands:
    {type: dict, default: {}, description: 'Section name: a shell command whose exit status and output are hashed.'}
  cert_dirs:
    type: list
    elements: path
    default: []
    description: Directories whose *.crt and *.pem certificates are checked for renewal.
  renew_before_seconds: {type: int, default: 0, description: A certificate ending within this many seconds is due.}
  max_file_bytes: {type: int, default: 8388608, description: Larger files are hashed by size and mtime only.}
"""

RETURN = r"""
state:
  description: digest (of all sections), sections (name -> sha256), files (path -> sha256 of the entry)
  type: dict
  returned: always
"""


def sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def entry_hash(path: str, st: os.stat_result, max_bytes: int) -> str:
    head = f"{stat.S_IFMT(st.st_mode)} {stat.S_IMODE(st.st_mode):o} {st.st_uid} {st.st_gid}"
    if stat.S_ISLNK(st.st_mode):
        return sha(f"{head} -> {os.readlink(path)}")
    if stat.S_ISREG(st.st_mode):
        if st.st_size > max_bytes:
            return sha(f"{head} size {st.st_size} mtime {int(st.st_mtime)}")
        digest = hashlib.sha256(head.encode())
        try:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:  # a socket file, a file that went away
            digest.update(str(exc.errno).encode())
        return digest.hexdigest()
    return sha(head)


def walk(root: str, exclude: list[str], max_bytes: int, files: dict[str, str]) -> None:
    """Hashes of root and everything under it on its file system, into files."""
    try:
        top = os.lstat(root)
    except FileNotFoundError:
        files[root] = "absent"
        return
    stack = [root]
    while stack:
        path = stack.pop()
        if any(fnmatch.fnmatch(path, pattern) for pattern in exclude):
            continue
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        files[path] = entry_hash(path, st, max_bytes)
        if stat.S_ISDIR(st.st_mode) and st.st_dev == top.st_dev:
            try:
                names = os.listdir(path)
            except OSError:
                continue
            stack.extend(os.path.join(path, name) for name in names)


def ssh_dirs() -> list[str]:
    """Every account's ~/.ssh (authorized keys, key pairs the roles make)."""
    homes = {entry.pw_dir for entry in pwd.getpwall() if entry.pw_dir not in ("", "/", "/nonexistent")}
    return sorted(os.path.join(home, ".ssh") for home in homes if os.path.isdir(os.path.join(home, ".ssh")))


def run(command: str) -> str:
    proc = subprocess.run(["/bin/sh", "-c", command], capture_output=True, check=False, timeout=60)
    return f"rc {proc.returncode}\n" + proc.stdout.decode(errors="replace")


def units() -> str:
    """Each unit's active state and enablement (not its sub-state or timestamps)."""
    active = run("systemctl list-units --all --full --plain --no-legend --no-pager "
                 "--type=service,socket,timer,path,mount")
    enabled = run("systemctl list-unit-files --full --plain --no-legend --no-pager")
    lines = []
    for line in active.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3:
            lines.append(f"{fields[0]} {fields[1]} {fields[2]}")
    for line in enabled.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 2:
            lines.append(f"{fields[0]} file {fields[1]}")
    return "\n".join(sorted(lines))


def listeners() -> str:
    """Listening TCP sockets and bound, unconnected UDP sockets: protocol, address, port."""
    found = set()
    for proto, state in (("tcp", "0A"), ("tcp6", "0A"), ("udp", "07"), ("udp6", "07")):
        try:
            with open(f"/proc/net/{proto}") as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 3 and fields[3] == state:
                found.add(f"{proto} {fields[1]}")
    return "\n".join(sorted(found))


def sysctl_keys() -> list[str]:
    keys = set()
    for path in [*sorted(glob.glob("/etc/sysctl.d/*.conf")), "/etc/sysctl.conf"]:
        try:
            with open(path) as handle:
                for line in handle:
                    line = line.strip()
                    if line and not line.startswith(("#", ";")) and "=" in line:
                        keys.add(line.split("=", 1)[0].strip().lstrip("-"))
        except OSError:
            continue
    return sorted(keys)


def sysctl_values() -> str:
    lines = []
    for key in sysctl_keys():
        try:
            with open("/proc/sys/" + key.replace(".", "/")) as handle:
                value = " ".join(handle.read().split())
        except OSError:
            value = "(unreadable)"
        lines.append(f"{key} = {value}")
    return "\n".join(lines)


def certs_due(dirs: list[str], seconds: int) -> str:
    due = []
    for directory in dirs:
        for path in sorted(glob.glob(os.path.join(directory, "*.crt")) + glob.glob(os.path.join(directory, "*.pem"))):
            proc = subprocess.run(["openssl", "x509", "-noout", "-checkend", str(seconds), "-in", path],
                                  capture_output=True, check=False)
            if proc.returncode != 0 and b"Certificate will expire" in proc.stdout:
                due.append(path)
    return "\n".join(due)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "roots": {"type": "list", "elements": "path", "default": []},
            "exclude": {"type": "list", "elements": "str", "default": []},
            "commands": {"type": "dict", "default": {}},
            "cert_dirs": {"type": "list", "elements": "path", "default": []},
            "renew_before_seconds": {"type": "int", "default": 0},
            "max_file_bytes": {"type": "int", "default": 8 << 20},
        },
        supports_check_mode=True,
    )
    params = module.params
    files: dict[str, str] = {}
    for root in params["roots"] + ssh_dirs():
        walk(root, params["exclude"], params["max_file_bytes"], files)
    sections = {
        "files": sha("\n".join(f"{path} {digest}" for path, digest in sorted(files.items()))),
        "units": sha(units()),
        "listeners": sha(listeners()),
        "sysctl": sha(sysctl_values()),
        "certs_due": sha(certs_due(params["cert_dirs"], params["renew_before_seconds"])),
    }
    for name, command in sorted(params["commands"].items()):
        sections[f"command:{name}"] = sha(run(str(command)))
    digest = sha("\n".join(f"{name} {value}" for name, value in sorted(sections.items())))
    module.exit_json(changed=False, state={"digest": digest, "sections": sections, "files": files})


if __name__ == "__main__":
    main()
