"""Summarize serving.tsv from bench/run-serving.sh as Markdown tables with ratios and targets.

Each figure is the median over the repeats, with the range of the repeats and the range of the
1-minute load average during them, because the machine may be shared.

Usage: summarize.py serving.tsv
"""

import csv
import statistics
import sys
from collections import defaultdict

NAMES = {
    "evergreen": "Evergreen (V2 REST)",
    "mlflow": "Flask + gunicorn (MLflow /invocations)",
    "v2": "FastAPI + uvicorn (V2 REST)",
    "grpc": "Evergreen (V2 gRPC)",
}
THROUGHPUT_TARGET = 10.0
P99_TARGET = 0.2


def number(text):
    return float(text) if text not in ("", None) else float("nan")


def spread(values, digits):
    """Format the median of values and their range."""
    values = [v for v in values if v == v]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def load_range(lines):
    values = [number(line[key]) for line in lines for key in ("load1_before", "load1_after")]
    return f"{min(values):.2f}-{max(values):.2f}"


def median(lines, key):
    values = [number(line[key]) for line in lines]
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def ratio(a, b):
    return a / b if b and b == b and a == a else float("nan")


def main(path):
    with open(path, encoding="utf-8") as file:
        lines = list(csv.DictReader(file, delimiter="\t"))
    groups = defaultdict(list)
    for line in lines:
        groups[line["phase"], line["server"], line["rows"]].append(line)

    print("Maximum throughput, wrk (requests/s, median of repeats and range):\n")
    print("| server | rows | requests/s | failed | load average | other CPUs |")
    print("| --- | --- | --- | --- | --- | --- |")
    for rows in ("1", "100"):
        for server, title in NAMES.items():
            runs = groups.get(("throughput", server, rows), [])
            if runs:
                failed = sum(int(line["failed"]) for line in runs)
                print(f"| {title} | {rows} | {spread([number(l['req_per_s']) for l in runs], 0)}"
                      f" | {failed} | {load_range(runs)} |"
                      f" {spread([number(l['other_cpus']) for l in runs], 2)} |")

    rates = defaultdict(set)
    for line in lines:
        if line["phase"] == "latency":
            rates[line["rows"]].add(int(line["rate"]))
    latency = defaultdict(list)
    for line in lines:
        if line["phase"] == "latency":
            latency[line["server"], line["rows"], int(line["rate"])].append(line)

    print("\nLatency at fixed rates, InferLoad for HTTP and GrpcPreciseLoad for gRPC"
          " (ms, median of repeats and range):\n")
    print("| server | rows | rate | achieved | p50 | p99 | failed | load average | other CPUs |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for rows in ("1", "100"):
        for rate in sorted(rates[rows]):
            for server, title in NAMES.items():
                runs = latency.get((server, rows, rate), [])
                if runs:
                    failed = sum(int(line["failed"]) for line in runs)
                    print(f"| {title} | {rows} | {rate}"
                          f" | {spread([number(l['req_per_s']) for l in runs], 0)}"
                          f" | {spread([number(l['p50_ms']) for l in runs], 3)}"
                          f" | {spread([number(l['p99_ms']) for l in runs], 3)} | {failed}"
                          f" | {load_range(runs)}"
                          f" | {spread([number(l['other_cpus']) for l in runs], 2)} |")

    print("\nThroughput ratios Evergreen / reference (medians):\n")
    print("| rows | Evergreen | reference | throughput ratio |")
    print("| --- | --- | --- | --- |")
    for rows, evergreen, server in [(r, e, s) for r in ("1", "100") for e in ("evergreen", "grpc")
                                    for s in ("mlflow", "v2")]:
        tp = ratio(median(groups.get(("throughput", evergreen, rows), []), "req_per_s"),
                   median(groups.get(("throughput", server, rows), []), "req_per_s"))
        print(f"| {rows} | {NAMES[evergreen]} | {NAMES[server]} | {tp:.2f} |")

    print("\nLatency ratios Evergreen / reference at the same rate (medians):\n")
    print("| rows | rate | Evergreen | reference | p50 ratio | p99 ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for rows in ("1", "100"):
        for rate in sorted(rates[rows]):
            for evergreen in ("evergreen", "grpc"):
                for server in ("mlflow", "v2"):
                    mine = latency.get((evergreen, rows, rate), [])
                    theirs = latency.get((server, rows, rate), [])
                    if not mine or not theirs:
                        continue
                    p50 = ratio(median(mine, "p50_ms"), median(theirs, "p50_ms"))
                    p99 = ratio(median(mine, "p99_ms"), median(theirs, "p99_ms"))
                    print(f"| {rows} | {rate} | {NAMES[evergreen]} | {NAMES[server]}"
                          f" | {p50:.3f} | {p99:.3f} |")

    tp = ratio(median(groups.get(("throughput", "evergreen", "1"), []), "req_per_s"),
               median(groups.get(("throughput", "v2", "1"), []), "req_per_s"))
    print(f"\nTarget: single-row throughput at least {THROUGHPUT_TARGET:.0f} times FastAPI's:"
          f" {tp:.2f} times, {'met' if tp >= THROUGHPUT_TARGET else 'NOT met'}")
    compared = []
    for rate in sorted(rates["1"]):
        mine = latency.get(("evergreen", "1", rate), [])
        theirs = latency.get(("v2", "1", rate), [])
        if mine and theirs:
            compared.append((rate, ratio(median(mine, "p99_ms"), median(theirs, "p99_ms"))))
    for rate, p99 in compared:
        print(f"Target: single-row p99 at most {P99_TARGET} of FastAPI's at {rate} requests/s:"
              f" {p99:.3f}, {'met' if p99 <= P99_TARGET else 'NOT met'}")
    if not compared:
        print("Target: single-row p99 not compared: no rate with both Evergreen and FastAPI")
    failed = sum(int(line["failed"]) for line in lines)
    print(f"Failed or missing responses over all runs: {failed}")


if __name__ == "__main__":
    main(sys.argv[1])
