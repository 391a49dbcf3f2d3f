from __future__ import annotations

import subprocess
import sys

from tests.helpers.scripts import ROOT, load_script

phase_times = load_script("scripts/phase_times.py")

OUTPUT = [
    "INFO     \x1b[32mapp\x1b[0m ➜ \x1b[33mcreate\x1b[0m: \x1b[36mExecuting\x1b[0m\n",
    "TASK [Create]\n",
    "INFO     app ➜ create: Executed: Successful\n",
    "INFO     app ➜ converge: Executing\n",
    "PLAY RECAP\n",
    "INFO     app ➜ verify: Executing Testinfra tests found in molecule/app/tests/...\n",
]


def run(lines, ticks):
    clock = iter(ticks).__next__
    gen = phase_times.steps_from(lines, clock)
    out = []
    while True:
        try:
            out.append(next(gen))
        except StopIteration as end:
            return out, end.value


def test_each_step_gets_the_time_until_the_next_one_starts():
    out, done = run(OUTPUT, [0, 2, 30, 95])
    assert done == [("create", 28), ("converge", 65)]
    assert phase_times.summary(done) == "create 28, converge 65"
    # Only the lines that start a step are prefixed; the rest pass through unchanged.
    assert out[0].startswith("[    2 s] INFO")
    assert out[1:3] == OUTPUT[1:3]
    assert out[3].startswith("[   30 s] INFO     app ➜ converge")


def test_the_script_copies_its_input_and_writes_the_summary(tmp_path):
    out = tmp_path / "steps"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts/phase_times.py"), str(out)], input="".join(OUTPUT),
                          capture_output=True, text=True, check=True)
    assert proc.stdout.count("\n") == len(OUTPUT)
    assert [part.split()[0] for part in out.read_text().strip().split(", ")] == ["create", "converge"]
