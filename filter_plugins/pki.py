"""When the pki role renews a certificate.

Every internal certificate is issued for the same lifetime; renewed at one fixed threshold,
all the certificates of a fleet issued in one run would come due in one later run, and that
run would reload or restart every service at once. Each certificate's threshold is widened
by a share of a jitter window fixed by a hash of its host and name: stable from run to run
(a run decides the same way as the last), different between certificates.

Pure functions. Unit tests: tests/unit/test_pki.py.
"""

from __future__ import annotations

import hashlib

from ansible.errors import AnsibleFilterError

DAY = 86400


def pki_renew_before_seconds(host, name, before_days, jitter_days=0):
    """Seconds before its end of validity at which `host`'s certificate `name` is renewed:
    `before_days` plus the certificate's share (0 to 1, from a hash) of `jitter_days`."""
    try:
        before, jitter = float(before_days), float(jitter_days)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"pki_renew_before_seconds: days must be numbers, got {before_days!r}, "
                                 f"{jitter_days!r}") from exc
    if before < 0 or jitter < 0:
        raise AnsibleFilterError(f"pki_renew_before_seconds: days must not be negative ({before:g}, {jitter:g})")
    digest = hashlib.sha256(f"{host}/{name}".encode()).digest()
    share = int.from_bytes(digest[:8], "big") / 2**64
    return int(before * DAY + share * jitter * DAY)


class FilterModule:
    def filters(self):
        return {"pki_renew_before_seconds": pki_renew_before_seconds}
