"""No seeded secret value in what Ansible printed, nor in a file any user can read."""

from __future__ import annotations

import subprocess

import pytest
from conftest import ADDRESSES

from tests.helpers.ansible_run import leaked_secrets, seeded_secrets

# Where services keep configuration and state; /var/lib/docker (images, on its own
# volume) is left out by -xdev.
SEARCHED = "/etc /var /opt /srv /home /root /usr/local /run /tmp"


def test_no_seeded_secret_in_ansible_output(ansible_log):
    assert "PLAY RECAP" in ansible_log, "the log holds no finished run"
    assert leaked_secrets(ansible_log) == []


@pytest.mark.parametrize("name", sorted(ADDRESSES))
def test_no_seeded_secret_in_a_file_any_user_can_read(name):
    # Files whose own mode lets others read them and that hold a value, kept when the
    # user `nobody` can in fact read them (every directory above lets it through; it need
    # not be able to list them: a container's id is in `ps`). The values go through
    # stdin, one per line (grep -F takes each line as a pattern).
    script = (f"patterns=$(cat); find {SEARCHED} -xdev -type f -perm -o=r -size -2M -print0 2>/dev/null"
              ' | xargs -0 -r grep -lF -e "$patterns" 2>/dev/null'
              ' | while read -r f; do runuser -u nobody -- test -r "$f" && echo "$f"; done; true')
    out = subprocess.run(["docker", "exec", "-i", name, "sh", "-c", script],
                         input="\n".join(seeded_secrets()), capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "", out.stdout
