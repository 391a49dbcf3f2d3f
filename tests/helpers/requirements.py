"""The pins of this repository's requirements files."""

from __future__ import annotations

import re
from pathlib import Path


def pins(path: Path) -> dict[str, str]:
    """name -> version of a requirements file, following its `-r` includes."""
    found = {}
    for line in path.read_text().splitlines():
        if include := re.match(r"^-r\s+(\S+)", line.strip()):
            found.update(pins(path.parent / include[1]))
        elif m := re.match(r"^([A-Za-z0-9_.\[\]-]+)==(\S+)", line.strip()):
            found[m[1].split("[")[0].lower()] = m[2]
    return found
