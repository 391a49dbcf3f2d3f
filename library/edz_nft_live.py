#!/usr/bin/python
"""Compare the nftables table the kernel runs with the one the ruleset file defines, and
load the file when they differ: an element added with `nft add element` at run time is
drift that the file on disk never shows."""

from __future__ import annotations

import difflib
import os

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: edz_nft_live
short_description: Reload an nftables ruleset file when the loaded table differs from it
description:
  - The file is loaded into a new, empty network namespace (unshare --net) and the table
    listed there is what the file means; the table listed in the host's namespace is what
    runs. Both are listed by the same nft, so the comparison is of nft's own rendering.
  - Check mode reports the difference as a diff; otherwise the file is loaded with nft -f.
  - Where no namespace can be made (no CAP_SYS_ADMIN), nothing is compared and a warning says so.
options:
  path: {type: path, required: true, description: The ruleset file.}
  table: {type: str, required: true, description: 'Family and name, for example "inet editaliza".'}
"""


def normalise(listing: str) -> list[str]:
    """Lines of an `nft list table` output, without trailing blanks or empty lines."""
    return [line.rstrip() for line in listing.splitlines() if line.strip()]


def table_diff(loaded: str, wanted: str, table: str) -> str:
    """A unified diff from the loaded table to the file's, or "" when they are the same."""
    return "".join(
        line + "\n"
        for line in difflib.unified_diff(
            normalise(loaded), normalise(wanted), f"{table} (loaded)", f"{table} (file)", lineterm=""
        )
    )


def main():
    module = AnsibleModule(
        argument_spec={"path": {"type": "path", "required": True}, "table": {"type": "str", "required": True}},
        supports_check_mode=True,
    )
    path, table = module.params["path"], module.params["table"]
    if not os.path.exists(path):
        module.exit_json(changed=False, msg=f"{path} does not exist yet: nothing to compare")
    nft = module.get_bin_path("nft", required=True)
    unshare = module.get_bin_path("unshare", required=True)
    rc, wanted, err = module.run_command([unshare, "--net", "sh", "-c", f'"$1" -f "$2" && "$1" list table {table}',
                                          "sh", nft, path])
    if rc != 0:
        module.warn(f"could not read what {path} defines in a scratch namespace: {err.strip()}; not compared")
        module.exit_json(changed=False, compared=False)
    rc, loaded, _ = module.run_command([nft, "list", "table", *table.split()])
    if rc != 0:
        loaded = ""
    diff = table_diff(loaded, wanted, table)
    if not diff:
        module.exit_json(changed=False, compared=True)
    if not module.check_mode:
        module.run_command([nft, "-f", path], check_rc=True)
    module.exit_json(changed=True, compared=True, diff={"prepared": diff})


if __name__ == "__main__":
    main()
