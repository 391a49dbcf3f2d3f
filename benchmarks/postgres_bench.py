#!/usr/bin/env python3
"""PostgreSQL benchmark on the lab: pgbench with a new connection per transaction (-C),
through pgbouncer and directly to the primary, alternating in one run, with the
cross-region replica's lag sampled while the load runs. Results go to
benchmarks/results/postgres.md (and stdout).

    scripts/lab up                                    # the lab must be running
    .venv/bin/python benchmarks/postgres_bench.py     # [--clients C] [--seconds T] [--rounds R]

What it does, all against the lab's own containers:
  - the client is the first app host (as the app would be); pgbench is unpacked there
    from Debian's postgresql-15 package (not installed: that would create a cluster) and
    removed at the end;
  - the app login's password (Vault) goes into a 0600 passfile in the client container
    through stdin, never onto a command line; the file is removed at the end;
  - `pgbench -i` builds its tables (scale --scale) in the app's database through the
    primary, and drops them at the end;
  - each round runs `pgbench -C -c C -j 2 -T T` (TPC-B-like, TLS) once through pgbouncer
    (port 6432) and once directly (5432), in alternating order, each bounded by T and a
    timeout. C stays within what the server admits directly: max_connections is sized for
    pgbouncer's pools (postgresql_sizing), and pgbouncer keeps its server connections
    open between runs, so the lab's server (25) refuses 16 direct clients;
  - meanwhile, every 0.5 s, pg_stat_replication on the primary: the replica's replay lag
    (seconds) and the WAL it has not replayed yet (bytes).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import threading
import time

from _lab import ROOT, dexec, lab_inventory, machine, vault_secret, write_results

RESULTS = ROOT / "benchmarks/results/postgres.md"
PASSFILE = "/root/.pgpass-bench"
BENCH_DIR = "/root/editaliza-pgbench"
PORTS = {"pgbouncer": 6432, "direct": 5432}


def conninfo(address: str, port: int, user: str) -> str:
    return f"host={address} port={port} dbname=editaliza user={user} sslmode=require passfile={PASSFILE}"


def parse(output: str) -> dict[str, float]:
    """tps, average latency and connection time from pgbench's report."""
    found = {}
    for key, pattern in (("tps", r"^tps = ([\d.]+)"), ("latency_ms", r"^latency average = ([\d.]+) ms"),
                         ("connect_ms", r"^average connection time = ([\d.]+) ms"),
                         ("transactions", r"^number of transactions actually processed: (\d+)"),
                         ("failed", r"^number of failed transactions: (\d+)")):
        match = re.search(pattern, output, re.MULTILINE)
        if match:
            found[key] = float(match.group(1))
    if "tps" not in found:
        raise SystemExit(f"pgbench printed no tps:\n{output[-2000:]}")
    return found


class LagSampler(threading.Thread):
    """pg_stat_replication on the primary every 0.5 s until stopped (bounded by `limit` s)."""

    def __init__(self, primary: str, replica_slot: str, limit: float):
        super().__init__(daemon=True)
        self.primary, self.slot, self.limit = primary, replica_slot, limit
        self.samples: list[tuple[float, int]] = []
        self.missing = 0
        self.stop = threading.Event()

    def run(self):
        # The slot name is derived from the inventory name: letters, digits and "_" only.
        query = ("SELECT coalesce(extract(epoch FROM replay_lag), 0), "  # noqa: S608
                 "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) "
                 f"FROM pg_stat_replication WHERE application_name = '{self.slot}'")
        deadline = time.monotonic() + self.limit
        while not self.stop.is_set() and time.monotonic() < deadline:
            out = dexec(self.primary, f'runuser -u postgres -- psql -XAt -F " " -c "{query}"').strip()
            if out:
                lag, behind = out.split()
                self.samples.append((float(lag), int(float(behind))))
            else:
                self.missing += 1
            self.stop.wait(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="concurrent pgbench clients (default 8)")
    parser.add_argument("--seconds", type=int, default=20, help="length of each pgbench run (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each mode once per round (default 3)")
    parser.add_argument("--scale", type=int, default=5, help="pgbench scale factor (default 5)")
    args = parser.parse_args()
    if not (1 <= args.clients <= 64 and 1 <= args.seconds <= 120 and 1 <= args.rounds <= 10):
        raise SystemExit("bounded load only: clients 1..64, seconds 1..120, rounds 1..10")

    address, groups = lab_inventory()
    primary = next(h for h, hv in groups["postgres"].items() if hv.get("postgresql_role") == "primary")
    replica = next(h for h, hv in groups["postgres"].items() if hv.get("postgresql_role") == "replica")
    client = next(iter(groups["app"]))
    slot = "".join(c if c.isalnum() else "_" for c in replica.lower())
    app = vault_secret("editaliza/postgres/app")
    user = app["username"]

    # Debian ships pgbench in the server package, which would create a cluster on the app
    # host: unpack the binary from the package instead, run it against the client's libpq,
    # and remove it at the end.
    pgbench = f"{BENCH_DIR}/usr/lib/postgresql/15/bin/pgbench"
    print(f"unpacking pgbench on {client}", flush=True)
    dexec(client, "set -e; DEBIAN_FRONTEND=noninteractive apt-get install -y -q libpq5 >/dev/null; "
                  f"rm -rf {BENCH_DIR}; mkdir -p {BENCH_DIR}; cd {BENCH_DIR}; "
                  "apt-get download -q postgresql-15 >/dev/null 2>&1 || "
                  "{ apt-get update -q >/dev/null; apt-get download -q postgresql-15 >/dev/null; }; "
                  f"dpkg -x postgresql-15_*.deb {BENCH_DIR}; {pgbench} --version", timeout=600)

    lines = [f"{host}:{port}:*:{user}:{app['password']}" for host in (address[primary],) for port in PORTS.values()]
    dexec(client, f"umask 077; cat > {PASSFILE}", stdin="\n".join(lines) + "\n")
    runs = []
    try:
        direct = conninfo(address[primary], PORTS["direct"], user)
        dexec(client, f"timeout 300 {pgbench} -i -q -s {args.scale} '{direct}'", timeout=330)
        for round_no in range(args.rounds):
            order = list(PORTS) if round_no % 2 == 0 else list(reversed(PORTS))
            for mode in order:
                sampler = LagSampler(primary, slot, args.seconds + 30)
                sampler.start()
                started = time.monotonic()
                out = dexec(client,
                            f"timeout {args.seconds + 60} {pgbench} -C -n -c {args.clients} -j 2 -T {args.seconds} "
                            f"'{conninfo(address[primary], PORTS[mode], user)}' 2>&1",
                            timeout=args.seconds + 90)
                wall = time.monotonic() - started
                sampler.stop.set()
                sampler.join(timeout=10)
                result = parse(out)
                lags = [s[0] for s in sampler.samples]
                behind = [s[1] for s in sampler.samples]
                result.update(mode=mode, round=round_no + 1, wall_s=wall,
                              lag_max_s=max(lags, default=float("nan")), behind_max_b=max(behind, default=0),
                              samples=len(sampler.samples), missing=sampler.missing)
                runs.append(result)
                print(f"round {round_no + 1} {mode}: {result['tps']:.0f} tps, "
                      f"latency {result.get('latency_ms', 0):.1f} ms, connect {result.get('connect_ms', 0):.1f} ms; "
                      f"{replica} lag max {result['lag_max_s']:.3f} s,"
                      f" {result['behind_max_b']} B behind ({len(sampler.samples)} samples)", flush=True)
    finally:
        dexec(client, f"timeout 120 {pgbench} -i -I d '{conninfo(address[primary], PORTS['direct'], user)}' "
                      f">/dev/null 2>&1; rm -rf {PASSFILE} {BENCH_DIR}", timeout=150)

    def med(mode, key):
        return statistics.median(r[key] for r in runs if r["mode"] == mode and key in r)

    ratio = med("pgbouncer", "tps") / med("direct", "tps")
    out = [
        "# PostgreSQL benchmark (lab)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M:%S %Z')} by `benchmarks/postgres_bench.py --clients {args.clients} "
        f"--seconds {args.seconds} --rounds {args.rounds} --scale {args.scale}`.",
        f"Machine: {machine()}; the whole lab (6 containers) shares it, client and servers included.",
        f"Client {client} (app host) -> primary {primary} ({address[primary]}), TLS (sslmode=require), SCRAM, "
        f"pgbench -C (a new connection per transaction), TPC-B-like, {args.clients} clients, 2 threads. "
        f"pgbouncer: transaction pooling on the primary's host. Replica: {replica} (other region).",
        "",
        "| mode | median tps | median latency ms | median connect ms | max replay lag s | max WAL behind (bytes) |",
        "|---|---|---|---|---|---|",
    ]
    for mode in PORTS:
        mine = [r for r in runs if r["mode"] == mode]
        out.append(f"| {mode} | {med(mode, 'tps'):.0f} | {med(mode, 'latency_ms'):.1f} | "
                   f"{med(mode, 'connect_ms'):.1f} | {max(r['lag_max_s'] for r in mine):.3f} | "
                   f"{max(r['behind_max_b'] for r in mine)} |")
    out += ["", f"Ratio (pgbouncer / direct, median tps): {ratio:.2f}", "", "Runs:", ""]
    out += [f"- round {r['round']} {r['mode']}: {r['tps']:.1f} tps, {int(r.get('transactions', 0))} transactions, "
            f"{int(r.get('failed', 0))} failed, {r['wall_s']:.1f} s wall, lag samples {r['samples']} "
            f"(missing {r['missing']})" for r in runs]
    out.append("")
    write_results(RESULTS, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
