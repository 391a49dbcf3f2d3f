from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from filter_plugins.pki import DAY, pki_renew_before_seconds


def test_without_jitter_the_threshold_is_the_configured_days():
    assert pki_renew_before_seconds("sp-web1", "nginx", 10) == 10 * DAY
    assert pki_renew_before_seconds("sp-web1", "nginx", 10, 0) == 10 * DAY


def test_the_threshold_is_stable_and_inside_the_window():
    first = pki_renew_before_seconds("sp-web1", "nginx", 10, 5)
    assert first == pki_renew_before_seconds("sp-web1", "nginx", 10, 5)  # every run decides alike
    assert 10 * DAY <= first < 15 * DAY


def test_certificates_issued_together_come_due_on_different_days():
    # A fleet's certificates: 20 hosts x 5 services, all issued in one run.
    names = ["nginx", "postgresql", "redis", "node-exporter", "prometheus"]
    thresholds = [pki_renew_before_seconds(f"host{i}", n, 10, 5) for i in range(20) for n in names]
    days = {t // DAY for t in thresholds}
    assert days == {10, 11, 12, 13, 14}  # every day of the window is used
    # No day of the window takes more than a third of the certificates.
    assert max(sum(1 for t in thresholds if t // DAY == d) for d in days) < len(thresholds) / 3
    # One host's certificates don't all fall on one day either.
    assert len({pki_renew_before_seconds("sp-db1", n, 10, 5) // DAY for n in names}) > 1


@pytest.mark.parametrize("args", [(10, -1), (-1, 5), ("ten", 5)])
def test_bad_days_are_refused(args):
    with pytest.raises(AnsibleFilterError, match="pki_renew_before_seconds"):
        pki_renew_before_seconds("h", "n", *args)
