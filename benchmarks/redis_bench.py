#!/usr/bin/env python3
"""Redis benchmark on the lab: the cache instance through the app user's ACL rules and
through an unrestricted user, side by side in one run, with redis-cli --latency probing
while the load runs. Results go to benchmarks/results/redis.md (and stdout).

    scripts/lab up                                  # the lab must be running
    .venv/bin/python benchmarks/redis_bench.py      # [--requests N] [--clients C] [--rounds R]

What it does, all against the lab's own containers:
  - finds the cache primary through Sentinel (on the Sentinel-only host);
  - creates two throwaway ACL users on that primary (random passwords, deleted at the
    end): `bench-acl` with the app user's rules (roles/redis/defaults: redis_app_acl) and
    `bench-all` with `+@all`. The fleet's own passwords are never put on a command line;
    the throwaway ones are, for redis-benchmark (it has no other way to take them);
  - runs redis-benchmark (SET, GET; TLS; from the Sentinel-only host, as a client in the
    same region would) alternately as each user, R rounds each, each bounded in requests
    and in time;
  - during the first LATENCY_WINDOW seconds of each benchmark, `redis-cli --latency`
    (PING round trips: min, max, avg; it reports no percentiles, so p50/p99 come from
    redis-benchmark's own histogram).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import secrets
import statistics
import subprocess
import sys
import time

import yaml
from _lab import ROOT, dexec, lab_inventory, machine, vault_secret, write_results

RESULTS = ROOT / "benchmarks/results/redis.md"
CA = "/etc/ssl/editaliza/ca.crt"
TIMEOUT = 180  # seconds, per benchmark process
LATENCY_WINDOW = 8  # seconds of PING probing, from the start of each benchmark


def lab_topology():
    address, groups = lab_inventory()
    redis = list(groups["redis"])
    client = next(iter(groups["redis_sentinel"]))
    return address, redis, client


def app_acl() -> str:
    defaults = yaml.safe_load((ROOT / "roles/redis/defaults/main.yml").read_text())
    return defaults["redis_app_acl"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=150000, help="requests per test (default 150000)")
    parser.add_argument("--clients", type=int, default=20, help="parallel connections (default 20)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per user (default 4)")
    args = parser.parse_args()

    address, redis_hosts, client = lab_topology()
    sentinel_pw = vault_secret("editaliza/redis/sentinel")["password"]
    admin = vault_secret("editaliza/redis/admin")
    master = json.loads(dexec(
        client,
        f"redis-cli -h 127.0.0.1 -p 26379 --tls --cacert {CA} --askpass --no-auth-warning --json "
        "SENTINEL GET-MASTER-ADDR-BY-NAME editaliza-cache",
        stdin=sentinel_pw + "\n"))
    master_ip, port = master[0], int(master[1])
    primary = next(h for h in redis_hosts if address[h] == master_ip)

    users = {"bench-acl": app_acl(), "bench-all": "~* &* +@all"}
    passwords = {u: secrets.token_hex(16) for u in users}

    def admin_lines(lines: list[str]) -> str:
        text = "\n".join([f'AUTH "{admin["username"]}" "{admin["password"]}"', *lines]) + "\n"
        return dexec(primary, "redis-cli -s /run/redis-cache/redis.sock --no-auth-warning", stdin=text)

    admin_lines([f"ACL SETUSER {u} reset on >{passwords[u]} {rules}" for u, rules in users.items()])
    runs = []
    try:
        base = f"-h {master_ip} -p {port} --tls --cacert {CA}"
        for round_no in range(args.rounds):
            for user in users:
                # --latency --raw: PING round trips for LATENCY_WINDOW s, then one line.
                latency = subprocess.Popen(
                    ["docker", "exec", "-i", client, "bash", "-c",
                     f"timeout 60 redis-cli {base} --user {user} --askpass --no-auth-warning "
                     f"--latency -i {LATENCY_WINDOW} --raw"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                latency.stdin.write(passwords[user] + "\n")
                latency.stdin.flush()
                started = time.monotonic()
                out = dexec(client,
                            f"timeout {TIMEOUT} redis-benchmark {base} --user {user} -a {passwords[user]} "
                            f"-t set,get -n {args.requests} -c {args.clients} -r 100000 --csv",
                            timeout=TIMEOUT + 30)
                wall = time.monotonic() - started
                lat_out, _ = latency.communicate(timeout=70)
                rows = list(csv.DictReader(io.StringIO(out)))
                probe = lat_out.strip().splitlines()[-1] if lat_out.strip() else "no output"
                if wall < LATENCY_WINDOW:
                    probe += f" (the load lasted {wall:.1f} s, less than the probe's {LATENCY_WINDOW} s)"
                runs.append({"round": round_no + 1, "user": user, "wall_s": wall, "rows": rows, "latency": probe})
                print(f"round {round_no + 1} {user}: " + ", ".join(
                    f"{r['test']} {float(r['rps']):.0f} rps p99 {r['p99_latency_ms']} ms" for r in rows),
                    f"| --latency (min max avg samples): {runs[-1]['latency']}", flush=True)
    finally:
        admin_lines([f"ACL DELUSER {u}" for u in users])

    def median(user, test, field):
        return statistics.median(float(r[field]) for run in runs if run["user"] == user
                                 for r in run["rows"] if r["test"] == test)

    lines = [
        "# Redis benchmark (lab)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M:%S %Z')} by `benchmarks/redis_bench.py --requests {args.requests} "
        f"--clients {args.clients} --rounds {args.rounds}`.",
        f"Machine: {machine()}; the whole lab (6 containers) shares it, client and server included.",
        f"Target: the cache instance's primary {primary} ({master_ip}:{port}), TLS, from {client} "
        "(same region). redis-benchmark -t set,get, random keys over 100000.",
        "",
        "| test | user | median rps | median p50 ms | median p99 ms |",
        "|---|---|---|---|---|",
    ]
    for test in ("SET", "GET"):
        for user in users:
            lines.append(f"| {test} | {user} | {median(user, test, 'rps'):.0f} | "
                         f"{median(user, test, 'p50_latency_ms'):.3f} | {median(user, test, 'p99_latency_ms'):.3f} |")
    lines += ["", "Ratio (bench-acl / bench-all, median rps): " + ", ".join(
        f"{test} {median('bench-acl', test, 'rps') / median('bench-all', test, 'rps'):.2f}" for test in ("SET", "GET")),
        "",
        "`redis-cli --latency` (PING round trips from the same client host while each benchmark ran; "
        "min max avg in ms, then samples):",
        ""]
    lines += [f"- round {run['round']} {run['user']} (load {run['wall_s']:.1f} s): {run['latency']}" for run in runs]
    lines += ["", "Users: bench-acl has the app user's rules (`" + users["bench-acl"] + "`); bench-all has `+@all`.",
              "Both are created for the run and deleted after it.", ""]
    write_results(RESULTS, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
