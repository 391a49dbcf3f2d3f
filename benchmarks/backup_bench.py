#!/usr/bin/env python3
"""Backup and restore benchmark on the lab: for each database size, per repository, the
time of a full and an incremental pgBackRest backup, and the restore drill's RTO and RPO
taken while pgbench writes on the primary. Results go to benchmarks/results/backup.md
(and stdout).

    scripts/lab up                                   # the lab must be running
    .venv/bin/python benchmarks/backup_bench.py      # [--sizes 100,1000] [--load-seconds 150]

What it does, all against the lab's own containers:
  - on the primary, a database `edz_bench` filled by `pgbench -i` to about the size asked
    (pgbench scale = size / 15 MB), dropped at the end;
  - on each repository host in turn: `pgbackrest backup --type=full`, then 30 s of pgbench
    writes (bounded by -T and a timeout), then `--type=incr`, each timed (wall clock);
  - the restore drill (pgbackrest-drill.service on the inventory's drill host) started
    while pgbench writes for --load-seconds on the primary: its metrics give, per
    repository, the restore + recovery time until writable (RTO) and the gap between the
    drill's start and the newest restored transaction (RPO).
"""

from __future__ import annotations

import argparse
import re
import threading
import time

from _lab import ROOT, dexec, lab_inventory, machine, write_results

RESULTS = ROOT / "benchmarks/results/backup.md"
PROM = "/var/lib/prometheus/node-exporter/pgbackrest-drill.prom"
MB_PER_SCALE = 15


def as_postgres(host: str, command: str, timeout: int = 600) -> str:
    return dexec(host, f"runuser -u postgres -- {command}", timeout=timeout)


def timed(host: str, command: str, timeout: int) -> float:
    start = time.monotonic()
    as_postgres(host, command, timeout=timeout)
    return time.monotonic() - start


def pgbench(host: str, args: str, timeout: int) -> str:
    return as_postgres(host, f"/usr/lib/postgresql/15/bin/pgbench {args} edz_bench", timeout=timeout)


def drill_metrics(text: str) -> dict[tuple[str, str], float]:
    found = {}
    for name, repo, value in re.findall(r'^(pgbackrest_drill_\w+)\{stanza="main",repo="(\d+)"\} (\S+)$', text,
                                        re.MULTILINE):
        found[(name, repo)] = float(value)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000", help="database sizes in MB")
    parser.add_argument("--load-seconds", type=int, default=150,
                        help="pgbench writes this long from just before the drill (both repositories' restores)")
    args = parser.parse_args()
    _, groups = lab_inventory()
    hostvars: dict[str, dict] = {}
    for members in groups.values():
        for host, hv in members.items():
            hostvars.setdefault(host, {}).update(hv)
    primary = next(h for h, hv in groups["postgres"].items() if hv.get("postgresql_role") == "primary")
    drill_host = next(h for h, hv in groups["postgres"].items() if hv.get("pgbackrest_drill_enabled"))
    repos = sorted(groups["pgbackrest_repo"], key=lambda h: groups["pgbackrest_repo"][h]["pgbackrest_repo_index"])

    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        scale = max(1, round(size / MB_PER_SCALE))
        as_postgres(primary, "dropdb --if-exists edz_bench")
        as_postgres(primary, "createdb edz_bench")
        try:
            start = time.monotonic()
            pgbench(primary, f"-i -q -s {scale}", timeout=1800)
            load_time = time.monotonic() - start
            db_mb = int(as_postgres(primary, "psql -XAt -c \"SELECT pg_database_size('edz_bench') / 1048576\"")
                        .strip())
            backups = {}
            for repo_host in repos:
                full = timed(repo_host, "pgbackrest --stanza=main --type=full backup", timeout=3600)
                pgbench(primary, "-c 4 -j 2 -T 30", timeout=120)
                incr = timed(repo_host, "pgbackrest --stanza=main --type=incr backup", timeout=3600)
                backups[str(hostvars[repo_host]["pgbackrest_repo_index"])] = (repo_host, full, incr)
            # The drill while the primary takes writes: its RPO is what a restore at that
            # moment would lose.
            load = threading.Thread(target=pgbench, args=(primary, f"-c 4 -j 2 -T {args.load_seconds}"),
                                    kwargs={"timeout": args.load_seconds + 120})
            load.start()
            load_end = time.time() + args.load_seconds
            time.sleep(min(20, args.load_seconds / 3))
            drill_start = time.monotonic()
            dexec(drill_host, "systemctl start pgbackrest-drill.service", timeout=4 * 3600)
            drill_wall = time.monotonic() - drill_start
            load.join()
            metrics = drill_metrics(dexec(drill_host, f"cat {PROM}"))
            for repo, (repo_host, full, incr) in sorted(backups.items()):
                rows.append({
                    "size": size, "scale": scale, "db_mb": db_mb, "init": load_time, "repo": repo,
                    "repo_host": repo_host, "full": full, "incr": incr,
                    "ok": metrics.get(("pgbackrest_drill_success", repo)) == 1,
                    "rto": metrics.get(("pgbackrest_drill_restore_duration_seconds", repo)),
                    "rpo": metrics.get(("pgbackrest_drill_rpo_seconds", repo)),
                    "drill_wall": drill_wall,
                    # Whether pgbench still wrote when this repository's drill started.
                    "under_load": metrics.get(("pgbackrest_drill_last_run_timestamp_seconds", repo), 0) < load_end,
                })
        finally:
            as_postgres(primary, "dropdb --if-exists edz_bench")

    lines = [
        "# Backup and restore (benchmarks/backup_bench.py)",
        "",
        f"Machine: {machine()}. Lab: primary {primary}, drill on {drill_host}, repositories "
        + ", ".join(f"repo{hostvars[h]['pgbackrest_repo_index']} on {h}" for h in repos)
        + f". Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "Full and incremental backups are timed on the repository host (wall clock, zst level 3, "
        "2 processes, encrypted); the incremental follows 30 s of pgbench writes. RTO and RPO come "
        f"from the restore drill's metrics, the drill started while pgbench wrote for {args.load_seconds} s: "
        "RTO is restore plus recovery until the copy accepts writes (the drill's pg_amcheck comes after "
        "and is not counted); RPO is the drill's start minus the newest transaction the copy holds "
        "(0 when the copy holds transactions from after the drill's start: WAL archived while it restored). "
        "The repositories are drilled one after the other; \"writes on\" says whether pgbench was still "
        "writing when that repository's drill started (both hosts share the machine's 2 cores).",
        "",
        "| database | pgbench scale | size on disk | repo | full backup | incremental | drill passed | writes on "
        "| RTO | RPO |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rto = f"{r['rto']:.0f} s" if r["rto"] is not None else "-"
        rpo = f"{r['rpo']:.0f} s" if r["rpo"] is not None else "-"
        lines.append(f"| {r['size']} MB | {r['scale']} | {r['db_mb']} MB | repo{r['repo']} ({r['repo_host']}) | "
                     f"{r['full']:.1f} s | {r['incr']:.1f} s | {'yes' if r['ok'] else 'NO'} | "
                     f"{'yes' if r['under_load'] else 'no'} | {rto} | {rpo} |")
    sizes = sorted({r["size"] for r in rows})
    if len(sizes) > 1:
        small = [r for r in rows if r["size"] == sizes[0]]
        large = [r for r in rows if r["size"] == sizes[-1]]
        ratio = sum(r["full"] for r in large) / max(0.001, sum(r["full"] for r in small))
        lines += ["", f"Full backup time, {sizes[-1]} MB over {sizes[0]} MB (same run): {ratio:.1f}x."]
    lines += ["", "Whole drill (both repositories, with pg_amcheck) per size: "
              + ", ".join(f"{s} MB {next(r['drill_wall'] for r in rows if r['size'] == s):.0f} s" for s in sizes)
              + "."]
    write_results(RESULTS, [*lines, ""])
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
