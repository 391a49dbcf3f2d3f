"""No seeded secret value in what Ansible printed, nor in a file any user can read."""

from __future__ import annotations

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
def test_no_seeded_secret_in_a_world_readable_file(hosts, name):
    secrets = seeded_secrets()
    patterns = " ".join(["-e %s"] * len(secrets))
    out = hosts[name].run(f"find {SEARCHED} -xdev -type f -perm -o=r -size -2M -print0 2>/dev/null"
                          f" | xargs -0 -r grep -lF {patterns}", *secrets)
    assert out.stdout.strip() == "", out.stdout
