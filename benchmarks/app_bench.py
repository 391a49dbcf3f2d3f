#!/usr/bin/env python3
"""App tier benchmark on the lab: wrk through São Paulo's load balancer and directly to
one app instance, a proxy-cache HIT against a MISS, and the gzip ratio of a JSON
response. Results go to benchmarks/results/app.md (and stdout).

    scripts/lab up                                  # the lab must be running
    .venv/bin/python benchmarks/app_bench.py        # [--connections C] [--seconds T] [--rounds R]

What it does, all against the lab's own containers:
  - the client is sp-mon1 (a monitoring host: the firewall lets it reach the load
    balancer's 443 and the instances' ports). wrk and LuaJIT are unpacked there from
    Debian's packages (not installed) and removed at the end;
  - each round runs, in alternating order, `wrk --latency -c C -t 2 -d T` against
      lb:     https://sp-web1/            (TLS, HTTP/1.1 keepalive, through Nginx)
      direct: http://sp-web1:8080/        (one instance, no proxy)
    and, for the cache,
      hit:    https://sp-web1/static/app.css            (the same URL: served by Nginx)
      miss:   https://sp-web1/static/app.css?r=<random> (every request a new cache key)
    each bounded by T seconds and a timeout;
  - gzip: /api/plans fetched once with and once without Accept-Encoding: gzip.
The roadmap's claims checked here: API p99 under 100 ms, cache hits ~70% faster, gzip
60-80% smaller. Figures are medians over the rounds; ratios compare runs of one round.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys

from _lab import ROOT, dexec, lab_inventory, machine, write_results

RESULTS = ROOT / "benchmarks/results/app.md"
CLIENT = "sp-mon1"
TARGET = "sp-web1"
WORKDIR = "/root/editaliza-wrk"
MISS_SCRIPT = ('math.randomseed(os.time())\n'
               'request = function() return wrk.format("GET", "/static/app.css?r=" .. math.random(1, 1e9)) end\n')


def unit_ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse(output: str) -> dict[str, float]:
    """Requests/s, p50 and p99 latency (ms), errors and non-2xx responses from wrk --latency."""
    found = {}
    match = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    if not match:
        raise SystemExit(f"wrk printed no Requests/sec:\n{output[-2000:]}")
    found["rps"] = float(match.group(1))
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        found[f"p{pct}_ms"] = unit_ms(*match.groups()) if match else float("nan")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    found["errors"] = sum(int(x) for x in errors.groups()) if errors else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    found["non2xx"] = int(non2xx.group(1)) if non2xx else 0
    found["requests"] = int(re.search(r"(\d+) requests in", output).group(1))
    return found


def prepare_client() -> None:
    dexec(CLIENT, f"""set -e
rm -rf {WORKDIR} && mkdir -p {WORKDIR}/debs && cd {WORKDIR}/debs
debs="wrk libluajit-5.1-2 libluajit-5.1-common"
apt-get download -q $debs >/dev/null 2>&1 || {{ apt-get update -qq && apt-get download -q $debs >/dev/null; }}
for deb in *.deb; do dpkg-deb -x "$deb" {WORKDIR}/root; done
cat >{WORKDIR}/miss.lua""", stdin=MISS_SCRIPT, timeout=180)


def wrk(url: str, connections: int, seconds: int, script: str | None = None, host_header: str = "") -> dict:
    lib = f"{WORKDIR}/root/usr/lib/x86_64-linux-gnu"
    args = f"--latency -c {connections} -t 2 -d {seconds}s --timeout 5s"
    if script:
        args += f" -s {WORKDIR}/{script}"
    if host_header:
        args += f" -H 'Host: {host_header}'"
    out = dexec(CLIENT, f"LD_LIBRARY_PATH={lib} {WORKDIR}/root/usr/bin/wrk {args} {url}", timeout=seconds + 60)
    return parse(out)


def gzip_sizes(lb: str) -> tuple[int, int]:
    sizes = []
    for enc in ("identity", "gzip"):
        out = dexec(CLIENT, f"curl -sk -o /dev/null -w '%{{size_download}}' -H 'Accept-Encoding: {enc}' "
                            f"-H 'Host: www.editaliza.lab' https://{lb}/api/plans")
        sizes.append(int(out))
    return sizes[0], sizes[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    if not (1 <= opts.connections <= 256 and 1 <= opts.seconds <= 120 and 1 <= opts.rounds <= 10):
        raise SystemExit("bounded runs only: connections 1-256, seconds 1-120, rounds 1-10")

    address, _ = lab_inventory()
    lb = address[TARGET]
    cases = {
        "lb": (f"https://{lb}/", None),
        "direct": (f"http://{lb}:8080/", None),
        "hit": (f"https://{lb}/static/app.css", None),
        "miss": (f"https://{lb}/static/app.css", "miss.lua"),
    }
    prepare_client()
    runs: dict[str, list[dict]] = {k: [] for k in cases}
    try:
        for r in range(opts.rounds):
            order = list(cases) if r % 2 == 0 else list(reversed(cases))
            for name in order:
                url, script = cases[name]
                result = wrk(url, opts.connections, opts.seconds, script, "www.editaliza.lab")
                runs[name].append(result)
                print(f"round {r + 1} {name:6}: {result['rps']:8.0f} req/s  p50 {result['p50_ms']:6.2f} ms  "
                      f"p99 {result['p99_ms']:6.2f} ms  errors {result['errors']}  non-2xx {result['non2xx']}",
                      file=sys.stderr)
        plain, zipped = gzip_sizes(lb)
    finally:
        dexec(CLIENT, f"rm -rf {WORKDIR}")

    def med(name, key):
        return statistics.median(x[key] for x in runs[name])

    def ratios(a, b, key):
        return [x[key] / y[key] for x, y in zip(runs[a], runs[b], strict=True)]

    lines = [
        "# App tier benchmark (lab)",
        "",
        f"Run by `benchmarks/app_bench.py --connections {opts.connections} --seconds {opts.seconds} "
        f"--rounds {opts.rounds}` on {machine()}.",
        f"Client {CLIENT}, target {TARGET} (load balancer and app host in one container, as the lab has them).",
        "Medians over the rounds; the cases alternate order each round.",
        "",
        "| case | req/s | p50 ms | p99 ms | socket errors | non-2xx |",
        "|---|---|---|---|---|---|",
    ]
    for name in cases:
        lines.append(f"| {name} | {med(name, 'rps'):.0f} | {med(name, 'p50_ms'):.2f} | {med(name, 'p99_ms'):.2f} | "
                     f"{sum(x['errors'] for x in runs[name])} | {sum(x['non2xx'] for x in runs[name])} |")
    hit_vs_miss = statistics.median(ratios("hit", "miss", "p50_ms"))
    lb_vs_direct = statistics.median(ratios("lb", "direct", "rps"))
    lines += [
        "",
        f"- Through the load balancer / direct to one instance, req/s: {lb_vs_direct:.2f} (per-round ratios "
        f"{', '.join(f'{x:.2f}' for x in ratios('lb', 'direct', 'rps'))}). The load balancer spreads over "
        "two instances and adds TLS.",
        f"- p99 through the load balancer: {med('lb', 'p99_ms'):.1f} ms (roadmap target: under 100 ms).",
        f"- Cache HIT p50 / MISS p50: {hit_vs_miss:.2f}, i.e. {100 * (1 - hit_vs_miss):.0f}% lower latency "
        "on a hit (roadmap claim: 70%).",
        f"- gzip on /api/plans: {plain} -> {zipped} bytes, {100 * (1 - zipped / plain):.0f}% smaller "
        "(roadmap claim: 60-80%).",
        "",
    ]
    write_results(RESULTS, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
