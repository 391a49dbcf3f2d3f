#!/usr/bin/env python3
"""Copy Molecule's output from stdin to stdout, and write how long each step took.

    molecule test ... 2>&1 | phase_times.py OUT

Molecule says when a step (create, converge, idempotence, verify, ...) starts
("<scenario> ➜ <step>: Executing") and not how long it took. Each such line is prefixed
with the seconds since the start, and OUT gets one line, "<step> <seconds>, ..." in order,
for the suite's times table (scripts/test): where a scenario's time goes.
"""

from __future__ import annotations

import re
import sys
import time

# "<scenario> ➜ <step>: Executing" (colours around the words), not "Executing Testinfra ...".
STEP = re.compile(r"➜\s*(?:\x1b\[[0-9;]*m)*([a-z_]+)(?:\x1b\[[0-9;]*m)*: (?:\x1b\[[0-9;]*m)*Executing"
                  r"(?:\x1b\[[0-9;]*m)*\s*$")


def steps_from(lines, clock=time.monotonic):
    """Yield each line (prefixed where a step starts); return [(step, seconds)]."""
    start = clock()
    current, since, done = None, start, []
    for line in lines:
        match = STEP.search(line)
        if match:
            now = clock()
            if current:
                done.append((current, now - since))
            current, since = match.group(1), now
            line = f"[{now - start:5.0f} s] {line}"
        yield line
    if current:
        done.append((current, clock() - since))
    return done


def summary(done):
    return ", ".join(f"{step} {seconds:.0f}" for step, seconds in done)


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    lines = steps_from(sys.stdin)
    while True:
        try:
            sys.stdout.write(next(lines))
        except StopIteration as end:
            done = end.value or []
            break
    with open(argv[0], "w", encoding="utf-8") as out:
        out.write(summary(done) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
