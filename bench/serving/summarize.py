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

    print("\nLatency at a fixed rate, InferLoad (ms, median of repeats and range):\n")
    print("| server | rows | rate | achieved | p50 | p99 | failed | load average | other CPUs |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for rows in ("1", "100"):
        for server, title in NAMES.items():
            runs = groups.get(("latency", server, rows), [])
            if runs:
                failed = sum(int(line["failed"]) for line in runs)
                rate = runs[0].get("rate", "")
                print(f"| {title} | {rows} | {rate} | {spread([number(l['req_per_s']) for l in runs], 0)}"
                      f" | {spread([number(l['p50_ms']) for l in runs], 3)}"
                      f" | {spread([number(l['p99_ms']) for l in runs], 3)} | {failed}"
                      f" | {load_range(runs)} | {spread([number(l['other_cpus']) for l in runs], 2)} |")

    print("\nRatios Evergreen / reference (medians):\n")
    print("| rows | Evergreen | reference | throughput ratio | p50 ratio | p99 ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for rows, evergreen, server in [(r, e, s) for r in ("1", "100") for e in ("evergreen", "grpc")
                                    for s in ("mlflow", "v2")]:
        evergreen_tp = median(groups.get(("throughput", evergreen, rows), []), "req_per_s")
        evergreen_latency = groups.get(("latency", evergreen, rows), [])
        reference_latency = groups.get(("latency", server, rows), [])
        tp = ratio(evergreen_tp, median(groups.get(("throughput", server, rows), []),
                                        "req_per_s"))
        p50 = ratio(median(evergreen_latency, "p50_ms"), median(reference_latency, "p50_ms"))
        p99 = ratio(median(evergreen_latency, "p99_ms"), median(reference_latency, "p99_ms"))
        print(f"| {rows} | {NAMES[evergreen]} | {NAMES[server]} | {tp:.2f} | {p50:.3f}"
              f" | {p99:.3f} |")

    tp = ratio(median(groups.get(("throughput", "evergreen", "1"), []), "req_per_s"),
               median(groups.get(("throughput", "v2", "1"), []), "req_per_s"))
    p99 = ratio(median(groups.get(("latency", "evergreen", "1"), []), "p99_ms"),
                median(groups.get(("latency", "v2", "1"), []), "p99_ms"))
    print(f"\nTarget: single-row throughput at least {THROUGHPUT_TARGET:.0f} times FastAPI's:"
          f" {tp:.2f} times, {'met' if tp >= THROUGHPUT_TARGET else 'NOT met'}")
    print(f"Target: single-row p99 at most {P99_TARGET} of FastAPI's at the same rate:"
          f" {p99:.3f}, {'met' if p99 <= P99_TARGET else 'NOT met'}")
    failed = sum(int(line["failed"]) for line in lines)
    print(f"Failed or missing responses over all runs: {failed}")


if __name__ == "__main__":
    main(sys.argv[1])
