#!/usr/bin/python
"""Find, and take away, privilege the repository did not grant: accounts that can log in
without being declared, sudoers files it does not write, members of privileged groups it
does not declare. Check mode reports what a run would change, with a diff."""

from __future__ import annotations

import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: edz_accounts
short_description: Lock undeclared login accounts, remove unmanaged sudoers files and group members
description:
  - An account is undeclared when it has a login shell (listed in /etc/shells) or a UID of
    at least O(uid_min), is not in O(allowed_users), and is not already disabled (no login
    shell and a locked password). Such an account is disabled, not deleted (shell
    /usr/sbin/nologin, password locked, expired): a person decides whether to delete it.
  - A file in /etc/sudoers.d that sudo reads (no dot in its name, not ending in ~), that
    says something (not only comments) and that is not in O(sudoers_files) is removed; the
    diff shows what it granted.
  - A member of a group in O(privileged_groups) that is not listed for it is removed from
    the group (also when the group is the account's primary group, it is reported only).
options:
  allowed_users: {type: list, elements: str, required: true, description: Accounts that may log in.}
  privileged_groups:
    type: dict
    required: true
    description: Group name -> the members it may have. Groups that do not exist are skipped.
  sudoers_files:
    type: list
    elements: str
    required: true
    description: File names in /etc/sudoers.d the repository writes.
  sudoers_dir: {type: path, default: /etc/sudoers.d, description: The sudoers drop-in directory.}
  uid_min: {type: int, default: 1000, description: First UID of regular accounts.}
"""

NOLOGIN = ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false")


def login_shells(text: str) -> set[str]:
    """The shells /etc/shells lists, without the ones that refuse a login."""
    shells = {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}
    return shells - set(NOLOGIN)


def undeclared_accounts(accounts, shells, locked, allowed, uid_min) -> list[str]:
    """Names of accounts that can log in and are not declared.

    accounts: (name, uid, shell) tuples; locked: names whose password is locked.
    An account with no login shell and a locked password is already disabled."""
    found = []
    for name, uid, shell in accounts:
        if name in allowed or name == "nobody":
            continue
        can_login = shell in shells
        if not can_login and uid < uid_min:
            continue
        if not can_login and name in locked:
            continue
        found.append(name)
    return sorted(found)


def sudo_reads(name: str) -> bool:
    """sudo's @includedir skips names that contain a dot or end with ~."""
    return "." not in name and not name.endswith("~")


def grants(content: str) -> bool:
    """Whether a sudoers file says anything: a line that is not blank and not a comment
    (`#include` and `#includedir` are directives, not comments)."""
    for line in content.splitlines():
        line = line.strip()
        if line and (not line.startswith("#") or line.startswith(("#include", "#includedir"))):
            return True
    return False


def unmanaged_sudoers(names, managed) -> list[str]:
    return sorted(n for n in names if sudo_reads(n) and n not in set(managed))


def extra_members(members: dict[str, list[str]], allowed: dict[str, list[str]]) -> dict[str, list[str]]:
    """{group: members not allowed}, only for groups with such members."""
    extra = {}
    for group, names in members.items():
        bad = sorted(set(names) - set(allowed.get(group) or []))
        if bad:
            extra[group] = bad
    return extra


def render(accounts, sudoers, groups) -> str:
    lines = []
    lines += [f"login account not declared in the inventory: {n}" for n in accounts]
    for name, content in sudoers:
        lines.append(f"sudoers file the repository does not write: {name}")
        lines += [f"    {line}" for line in content.splitlines() if line.strip()]
    lines += [f"member of privileged group {g} not declared: {m}" for g, ms in sorted(groups.items()) for m in ms]
    return "\n".join(lines) + ("\n" if lines else "")


def read_locked() -> set[str]:
    locked = set()
    try:
        with open("/etc/shadow") as f:
            for line in f:
                parts = line.split(":")
                if len(parts) > 1 and parts[1].startswith(("!", "*")):
                    locked.add(parts[0])
    except OSError:
        pass
    return locked


def main():
    module = AnsibleModule(
        argument_spec={
            "allowed_users": {"type": "list", "elements": "str", "required": True},
            "privileged_groups": {"type": "dict", "required": True},
            "sudoers_files": {"type": "list", "elements": "str", "required": True},
            "sudoers_dir": {"type": "path", "default": "/etc/sudoers.d"},
            "uid_min": {"type": "int", "default": 1000},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        with open("/etc/shells") as f:
            shells = login_shells(f.read())
    except OSError:
        shells = {"/bin/sh", "/bin/bash"}
    accounts = [(e.pw_name, e.pw_uid, e.pw_shell) for e in pwd.getpwall()]
    bad_accounts = undeclared_accounts(accounts, shells, read_locked(), set(p["allowed_users"]), p["uid_min"])

    names = os.listdir(p["sudoers_dir"]) if os.path.isdir(p["sudoers_dir"]) else []
    sudoers = []
    for name in unmanaged_sudoers(names, p["sudoers_files"]):
        path = os.path.join(p["sudoers_dir"], name)
        try:
            with open(path, errors="replace") as f:
                content = f.read()
        except OSError as exc:
            content = f"(unreadable: {exc})"
        if grants(content):  # Debian's README, all comments, grants nothing
            sudoers.append((name, content))

    members = {}
    primary = {}
    for group in p["privileged_groups"]:
        try:
            entry = grp.getgrnam(group)
        except KeyError:
            continue
        members[group] = list(entry.gr_mem)
        primary[group] = [e.pw_name for e in pwd.getpwall() if e.pw_gid == entry.gr_gid]
        members[group] += primary[group]
    bad_members = extra_members(members, p["privileged_groups"])

    changed = bool(bad_accounts or sudoers or bad_members)
    result = {
        "changed": changed,
        "undeclared_accounts": bad_accounts,
        "unmanaged_sudoers": [n for n, _ in sudoers],
        "undeclared_group_members": bad_members,
    }
    if changed:
        result["diff"] = {"before": render(bad_accounts, sudoers, bad_members), "after": "",
                          "before_header": "privilege the repository did not grant",
                          "after_header": "after the correction"}
    if changed and not module.check_mode:
        for name in bad_accounts:
            module.run_command(["usermod", "--lock", "--expiredate", "1", "--shell", "/usr/sbin/nologin", name],
                               check_rc=True)
        for name, _ in sudoers:
            os.unlink(os.path.join(p["sudoers_dir"], name))
        for group, names in bad_members.items():
            for name in names:
                if name in primary.get(group, []):
                    module.warn(f"{name}'s primary group is {group}: change it by hand")
                    continue
                module.run_command(["gpasswd", "--delete", name, group], check_rc=True)
        if bad_accounts:
            module.warn(f"disabled undeclared accounts (review and delete them): {', '.join(bad_accounts)}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
