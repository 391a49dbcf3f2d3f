"""Fixtures for the drift scenario: the control host."""

from __future__ import annotations

import pytest
import testinfra


@pytest.fixture(scope="session")
def host():
    return testinfra.get_host("docker://drift-ctl")
