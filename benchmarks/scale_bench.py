#!/usr/bin/env python3
"""How a run's cost grows with the number of hosts: playbooks/common.yml (the preflight,
pki and common: what every host of the fleet gets) on N fresh lab containers, for each N
of --sizes (default 6, 12, 24), a first converge and then a no-op converge. Results go to
benchmarks/results/scale.md (and stdout).

    .venv/bin/python benchmarks/scale_bench.py [--sizes 6,12,24] [--no-profile]

Per run: wall time, the controller's CPU seconds (ansible-playbook and every process it
waited for: workers, Mitogen's, ssh), the controller's peak memory (the resident memory
of ansible-playbook's whole process tree, sampled every 0.5 s), the hosts' own CPU
seconds (their containers' cgroups) and the changed tasks. At the largest N the no-op runs
a second time under cProfile: where the controller's main process spends its time.

The hosts are containers of their own (`scripts/lab` with EDZ_LAB_INVENTORY: label
org.editaliza.lab=scale, networks edz-scalea/edz-scaleb on 10.215.1.0/24 and
10.215.2.0/24, two regions), created fresh for each N and always removed at the end, also
on Ctrl-C or SIGTERM. Secrets and certificates come from the lab's Vault. The lab itself
(inventories/lab) is left alone. N beyond what the machine's free memory holds is refused
before anything is created.
"""

from __future__ import annotations

import argparse
import os
import pstats
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

from _lab import ROOT, lab_vault_env, machine, write_results

sys.path.insert(0, str(ROOT / "filter_plugins"))
from fleet import SERVICE_GROUPS  # the groups every inventory defines

RESULTS = ROOT / "benchmarks/results/scale.md"
WORK = ROOT / ".cache/scale"
INVENTORY = WORK / "hosts.yml"
# What one host needs while it is converged (systemd, sshd, the baseline's services,
# Mitogen's interpreter for the run), with room to spare, and what the controller and
# the machine keep for themselves: N is refused when N * HOST_MB + RESERVE_MB exceeds
# MemAvailable.
HOST_MB = 250
RESERVE_MB = 2048
MAX_HOSTS = 96  # two /24 networks, addresses .10 upwards
REGIONS = (("scalea", "edz-scalea", "10.215.1"), ("scaleb", "edz-scaleb", "10.215.2"))
RUN_TIMEOUT = 3600
LOGS = ROOT / ".cache/bench"


def available_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    raise SystemExit("no MemAvailable in /proc/meminfo")


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"--sizes: expected comma-separated host counts such as 6,12,24 (got {text!r})") from None
    if not sizes or any(n < 2 or n > MAX_HOSTS for n in sizes) or sizes != sorted(set(sizes)):
        raise SystemExit(f"--sizes: expected increasing host counts between 2 and {MAX_HOSTS} (got {text!r})")
    return sizes


def check_memory(largest: int) -> None:
    need, free = largest * HOST_MB + RESERVE_MB, available_mb()
    if need > free:
        held = max(0, (free - RESERVE_MB) // HOST_MB)
        raise SystemExit(f"--sizes: {largest} hosts need about {need} MB ({HOST_MB} MB each and {RESERVE_MB} MB "
                         f"for the controller), this machine has {free} MB available: at most {held} hosts. "
                         "Nothing was created.")


def host_names(n: int) -> list[str]:
    return [f"scale-{i:02d}" for i in range(1, n + 1)]


def write_inventory(n: int) -> None:
    """N hosts alternating between the two regions, the lab's group variables, and the
    lab values that name the lab's own networks replaced by these."""
    WORK.mkdir(parents=True, exist_ok=True)
    group_vars = WORK / "group_vars"
    if not group_vars.exists():
        group_vars.mkdir()
        (group_vars / "all").symlink_to(ROOT / "inventories/lab/group_vars/all")
    lines = ["---", "# Written by benchmarks/scale_bench.py; removed with its hosts.", "all:", "  vars:",
             "    ansible_user: ops",
             '    ansible_ssh_private_key_file: "{{ inventory_dir }}/../../.lab/ssh/id_ed25519"',
             "    ansible_ssh_common_args: >-",
             "      -o UserKnownHostsFile={{ inventory_dir }}/../../.lab/known_hosts.scale"
             " -o StrictHostKeyChecking=yes",
             "  children:"]
    for r, (region, network, prefix) in enumerate(REGIONS):
        lines += [f"    region_{region}:", "      vars:", f"        lab_network: {network}",
                  f"        lab_subnet: {prefix}.0/24", "      hosts:"]
        for i, name in enumerate(host_names(n)):
            if i % len(REGIONS) == r:
                lines.append(f"        {name}: {{ansible_host: {prefix}.{10 + i}}}")
    # The service groups every inventory defines (the preflight refuses one without
    # them), empty: only the baseline every host gets is measured.
    lines += [f"    {group}:\n      hosts: {{}}" for group in SERVICE_GROUPS]
    INVENTORY.write_text("\n".join(lines) + "\n")
    (WORK / "overrides.yml").write_text("\n".join([
        "---",
        "# The lab's group_vars name the lab's networks; these hosts are on others.",
        f"common_admin_cidrs: [{', '.join(p + '.1/32' for _, _, p in REGIONS)}]",
        "common_public_cidrs: [10.215.0.0/16]",
        "# No monitoring hosts in this fleet: only common and pki are measured.",
        "fleet_require_monitoring: false",
        "fleet_require_logging: false",
    ]) + "\n")


def lab(*args: str) -> None:
    env = {**os.environ, "EDZ_LAB_INVENTORY": str(INVENTORY)}
    subprocess.run([str(ROOT / "scripts/lab"), *args], env=env, check=True, timeout=1800,
                   stdout=subprocess.DEVNULL)


def vault_env() -> dict[str, str]:
    """The lab's Vault, started if it is not running, as environment variables."""
    subprocess.run([str(ROOT / "scripts/vault"), "start", "lab"], check=True, timeout=300,
                   stdout=subprocess.DEVNULL)
    return lab_vault_env()


# Where the Docker engine keeps a container's CPU and memory counters, by cgroup layout:
# (CPU file, how to read seconds from it, memory file, how to read bytes from it).
CGROUP_LAYOUTS = (
    # cgroup v2, systemd's driver
    ("/sys/fs/cgroup/system.slice/docker-{id}.scope/cpu.stat", "usage_usec", 1e6,
     "/sys/fs/cgroup/system.slice/docker-{id}.scope/memory.current"),
    # cgroup v2, cgroupfs driver
    ("/sys/fs/cgroup/docker/{id}/cpu.stat", "usage_usec", 1e6, "/sys/fs/cgroup/docker/{id}/memory.current"),
    # cgroup v1 (cgroupfs driver): cpuacct.usage in nanoseconds
    ("/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage", None, 1e9,
     "/sys/fs/cgroup/memory/docker/{id}/memory.usage_in_bytes"),
)


def cgroup_files(names: list[str]) -> list[tuple[Path, str | None, float, Path]] | None:
    """Each container's CPU and memory counter files, in the first layout that has them
    all, or None (the figures are then "n/a")."""
    ids = []
    for host in names:
        cid = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", host], capture_output=True, text=True,
                             check=False).stdout.strip()
        if not cid:
            return None
        ids.append(cid)
    for cpu, key, scale, memory in CGROUP_LAYOUTS:
        files = [(Path(cpu.format(id=cid)), key, scale, Path(memory.format(id=cid))) for cid in ids]
        if all(c.exists() and m.exists() for c, _, _, m in files):
            return files
    return None


def _cpu_seconds(path: Path, key: str | None, scale: float) -> float:
    text = path.read_text()
    if key is None:
        return int(text) / scale
    return int(re.search(rf"^{key} (\d+)", text, re.MULTILINE).group(1)) / scale


def container_cpu_seconds(names: list[str]) -> float | None:
    """The hosts' CPU so far."""
    files = cgroup_files(names)
    return None if files is None else sum(_cpu_seconds(c, key, scale) for c, key, scale, _ in files)


def container_memory_mb(names: list[str]) -> float | None:
    """The hosts' memory now (page cache included)."""
    files = cgroup_files(names)
    return None if files is None else sum(int(m.read_text()) for *_, m in files) / 1024 / 1024


def tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * page_kb
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / 1024


def run(n: int, label: str, env: dict[str, str], profile: Path | None = None) -> dict:
    names = host_names(n)
    command = [str(ROOT / ".venv/bin/ansible-playbook"), "-i", str(INVENTORY), "playbooks/common.yml",
               "-e", f"@{WORK / 'overrides.yml'}"]
    if profile:
        command = [sys.executable, "-m", "cProfile", "-o", str(profile), *command]
    log = LOGS / f"scale-{n}-{label.replace(', ', '-')}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    hosts_before = container_cpu_seconds(names)
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak = [0.0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.5):
                peak[0] = max(peak[0], tree_rss_mb(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            rc = proc.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = -1
        finally:
            done.set()
            sampler.join()
    wall = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    hosts_after = container_cpu_seconds(names)
    text = log.read_text()
    changed = sum(int(c) for c in re.findall(r"^\S+\s+: ok=\d+\s+changed=(\d+)", text, re.MULTILINE))
    result = {
        "n": n, "label": label, "rc": rc, "wall": wall, "changed": changed, "peak_mb": peak[0],
        "cpu": (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime),
        "hosts_cpu": None if hosts_before is None or hosts_after is None else hosts_after - hosts_before,
        "hosts_mb": container_memory_mb(names),
        "log": log,
    }
    print(f"N={n} {label}: exit {rc}, {wall:.0f} s wall, controller {result['cpu']:.0f} CPU s, "
          f"peak {peak[0]:.0f} MB, changed {changed}", flush=True)
    if rc != 0:
        raise SystemExit(f"N={n} {label}: ansible-playbook exited {rc}; see {log}")
    return result


def profile_summary(path: Path) -> list[str]:
    """Where the main process's time went: waiting on workers, forking them, merging
    variables, and the heaviest functions by their own time."""
    stats = pstats.Stats(str(path))
    total = stats.total_tt
    wanted = {"waiting for workers (sleep)": "built-in method time.sleep",
              "forking a worker per task and host": "built-in method posix.fork"}
    lines = [f"Main process under cProfile: {total:.0f} s (profiling slows it; read the shares, not the seconds)."]
    by_name = {}
    for (file, line, func), (_cc, _nc, tt, ct, _callers) in stats.stats.items():
        key = f"{Path(file).name}:{line}({func})" if file != "~" else func
        by_name[key] = (tt, ct)
    for label, key in wanted.items():
        tt = next((v[0] for k, v in by_name.items() if key in k), 0.0)
        lines.append(f"- {label}: {tt:.0f} s ({100 * tt / total:.0f}%)")
    for label, suffix in (("variables for each task and host (VariableManager.get_vars)", "manager.py:144(get_vars)"),
                          ("queueing each task on each host", "__init__.py:329(_queue_task)"),
                          ("reading results", "__init__.py:533(_process_pending_results)")):
        ct = next((v[1] for k, v in by_name.items() if k.endswith(suffix)), 0.0)
        lines.append(f"- {label}: {ct:.0f} s cumulative ({100 * ct / total:.0f}%)")
    lines.append("- heaviest by own time:")
    top = sorted(by_name.items(), key=lambda kv: -kv[1][0])[:8]
    lines += [f"  - {k}: {v[0]:.1f} s" for k, v in top]
    return lines


def chart(results: list[dict]) -> list[str]:
    """Wall seconds against N, first converge (#) and no-op (=), one row per N."""
    widest = max(r["wall"] for r in results)
    rows = ["```", "N    wall seconds (# first converge, = no-op)"]
    for n in sorted({r["n"] for r in results}):
        for r in (x for x in results if x["n"] == n and x["label"] in ("first", "no-op")):
            bar = ("#" if r["label"] == "first" else "=") * max(1, round(60 * r["wall"] / widest))
            rows.append(f"{n:<4} {bar} {r['wall']:.0f}")
    return [*rows, "```"]


def report(sizes: list[int], results: list[dict], profile: list[str]) -> None:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=False).stdout.strip() or "unknown"
    lines = ["# Cost of a run against the number of hosts (lab containers)", "",
             f"Run {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC by `benchmarks/scale_bench.py "
             f"--sizes {','.join(map(str, sizes))}`, commit {head}.",
             f"Machine: {machine()}; the hosts are containers on the same machine as the controller.",
             "Playbook: `playbooks/common.yml` (preflight, pki, common) with the repository's ansible.cfg "
             "(Mitogen, 25 forks), fresh hosts for each N, a fact cache of the bench's own.", "",
             "| N | run | wall s | controller CPU s | controller peak MB | hosts' CPU s | hosts' MB after, per host "
             "| changed |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        hosts_cpu = "n/a" if r["hosts_cpu"] is None else f"{r['hosts_cpu']:.0f}"
        per_host = "n/a" if r["hosts_mb"] is None else f"{r['hosts_mb'] / r['n']:.0f}"
        lines.append(f"| {r['n']} | {r['label']} | {r['wall']:.0f} | {r['cpu']:.0f} | {r['peak_mb']:.0f} | "
                     f"{hosts_cpu} | {per_host} | {r['changed']} |")
    noop = {r["n"]: r for r in results if r["label"] == "no-op"}
    first = {r["n"]: r for r in results if r["label"] == "first"}
    lines += ["", "Marginal cost per added host (between consecutive N):", ""]
    for a, b in pairwise(sizes):
        def per(runs: dict, key: str, a: int = a, b: int = b) -> float:
            return (runs[b][key] - runs[a][key]) / (b - a)
        lines.append(f"- {a} -> {b}: no-op {per(noop, 'wall'):.1f} s wall and {per(noop, 'cpu'):.1f} controller "
                     f"CPU s per host; first converge {per(first, 'wall'):.1f} s wall and "
                     f"{per(first, 'cpu'):.1f} CPU s per host")
    if 6 in noop and 24 in noop:
        ratio = noop[24]["wall"] / noop[6]["wall"]
        lines += ["", f"No-op wall time at 24 hosts / at 6 hosts: **{ratio:.2f}** (aim: at most 2.5)."]
    elif len(sizes) > 1:
        ratio = noop[sizes[-1]]["wall"] / noop[sizes[0]]["wall"]
        lines += ["", f"No-op wall time at {sizes[-1]} hosts / at {sizes[0]} hosts: **{ratio:.2f}**."]
    lines += ["", *chart(results)]
    if profile:
        lines += ["", f"Where the controller's time goes at {sizes[-1]} hosts (the no-op again, under cProfile):",
                  "", *profile]
    lines += ["", f"Logs: `{LOGS.relative_to(ROOT)}/scale-*.log` (not kept in the repository)."]
    write_results(RESULTS, lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="6,12,24", help="host counts, increasing (default 6,12,24)")
    parser.add_argument("--no-profile", action="store_true", help="no profiled no-op at the largest N")
    args = parser.parse_args()
    sizes = parse_sizes(args.sizes)
    check_memory(sizes[-1])
    if shutil.which("docker") is None:
        raise SystemExit("docker is needed (scripts/setup installs and starts it)")

    def stop(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    env = {**os.environ, **vault_env(), "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(WORK / "facts")}
    results: list[dict] = []
    profile: list[str] = []
    try:
        for n in sizes:
            write_inventory(n)
            lab("down")
            shutil.rmtree(WORK / "facts", ignore_errors=True)
            lab("create")
            results.append(run(n, "first", env))
            results.append(run(n, "no-op", env))
            if n == sizes[-1] and not args.no_profile:
                prof = WORK / f"noop-{n}.prof"
                run(n, "no-op, profiled", env, profile=prof)
                profile = profile_summary(prof)
    finally:
        print("removing the bench's hosts", flush=True)
        if INVENTORY.exists():
            lab("down")
        shutil.rmtree(WORK, ignore_errors=True)
    report(sizes, results, profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
