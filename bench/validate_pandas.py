"""Check the 16 constraints of ValidateBenchmark with pandas, for a side-by-side timing.

Reads the NumPy column files that ValidateBenchmark writes, because pandas cannot read Parquet
without pyarrow or fastparquet and Debian 12 packages neither. Builds one DataFrame with the text
columns as categoricals. For each constraint it computes what Evergreen reports: the failing row
count and the first five failing rows (1-based) for row constraints, the statistic for column
constraints.

Usage: validate_pandas.py --columns FOLDER [--repeats 5]
"""

import argparse
import os
import time

import numpy as np
import pandas as pd

COLUMNS = [
    "date", "delay", "distance", "origin", "destination",
    "hour", "day_of_week", "month", "score", "category",
]
CATEGORIES = [f"C{i}" for i in range(12)]


def load(folder):
    """Return the DataFrame of the column files in folder."""
    data = {}
    for name in COLUMNS:
        values = np.load(os.path.join(folder, name + ".npy"))
        categories_file = os.path.join(folder, name + ".categories")
        if os.path.exists(categories_file):
            with open(categories_file, encoding="utf-8") as f:
                categories = f.read().splitlines()
            values = pd.Categorical.from_codes(values, categories=categories)
        data[name] = values
    return pd.DataFrame(data, copy=False)


def row_result(name, failing):
    """Summarize a row constraint from its boolean mask of failing rows."""
    failing = np.asarray(failing)
    count = int(np.count_nonzero(failing))
    examples = (np.flatnonzero(failing)[:5] + 1).tolist()
    return name, "passed" if count == 0 else "failed", f"{count} failing rows {examples}"


def column_result(name, observed, low, high):
    passed = low <= observed <= high
    return name, "passed" if passed else "failed", f"{observed:.6g}"


def check(df):
    """Evaluate the 16 constraints; a null value fails only notNull, as in Evergreen."""
    results = []
    delay = df["delay"]
    distance = df["distance"]
    hour = df["hour"]

    results.append(row_result("date notNull", df["date"].isna()))
    results.append(row_result("delay min", delay.notna() & (delay < -1200)))
    results.append(column_result("delay meanBetween", delay.mean(), -50, 50))
    results.append(row_result("delay max (warning)", delay.notna() & (delay > 1500)))

    results.append(row_result("distance notNull", distance.isna()))
    results.append(row_result("distance min", distance.notna() & (distance < 1)))
    results.append(row_result("distance max", distance.notna() & (distance > 6000)))

    origin_ok = df["origin"].str.fullmatch("[A-Z]{3}").fillna(False).astype(bool)
    results.append(row_result("origin pattern", df["origin"].notna() & ~origin_ok))
    results.append(
        column_result("destination distinctCountBetween", df["destination"].nunique(), 100, 1000)
    )
    results.append(row_result("hour min", hour.notna() & (hour < 0)))
    results.append(row_result("hour max", hour.notna() & (hour > 23)))

    day = df["day_of_week"]
    results.append(row_result("day_of_week allowedValues", day.notna() & ~day.isin(range(7))))
    results.append(column_result("month completeness", df["month"].notna().mean(), 1.0, 1.0))
    results.append(column_result("score stddevBetween", df["score"].std(), 0.25, 0.33))

    category = df["category"]
    results.append(
        row_result("category allowedValues", category.notna() & ~category.isin(CATEGORIES))
    )

    # A row where the condition is null fails, as in Evergreen's condition rule.
    same = (df["origin"] == df["destination"]) | df["origin"].isna() | df["destination"].isna()
    results.append(row_result("condition origin <> destination", same))
    return results


def cpu_ticks():
    """Return (busy ticks of the machine, ticks of this process) from /proc, or None."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
        busy = sum(int(fields[i]) for i in (1, 2, 3, 6, 7, 8))
        with open("/proc/self/stat", encoding="ascii") as f:
            line = f.read()
        own = line[line.rindex(")") + 2:].split(" ")
        return busy, int(own[11]) + int(own[12])
    except (OSError, ValueError, IndexError):
        return None


def other_cpus(before, after, seconds):
    """Return the CPUs that other processes kept busy, at 100 ticks per second (USER_HZ)."""
    if before is None or after is None or seconds <= 0:
        return float("nan")
    others = (after[0] - before[0]) - (after[1] - before[1])
    return max(0.0, others / 100 / seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", required=True, help="folder of the .npy column files")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats after a warm-up")
    args = parser.parse_args()
    print(f"pandas {pd.__version__}, numpy {np.__version__}")
    print("repeat\tload s\tcheck s\ttotal s\tfailed\tother CPUs")
    totals = []
    for repeat in range(args.repeats + 1):
        before = cpu_ticks()
        started = time.perf_counter()
        df = load(args.columns)
        loaded = time.perf_counter()
        results = check(df)
        done = time.perf_counter()
        after = cpu_ticks()
        failed = sum(1 for r in results if r[1] == "failed")
        label = "warm-up" if repeat == 0 else str(repeat)
        print(
            f"{label}\t{loaded - started:.3f}\t{done - loaded:.3f}\t{done - started:.3f}"
            f"\t{failed} of {len(results)}\t{other_cpus(before, after, done - started):.2f}"
        )
        if repeat == 0:
            for name, status, observed in results:
                print(f"  {status} {name}: observed {observed}")
        else:
            totals.append((done - started, done - loaded))
        del df
    totals.sort()
    checks = sorted(t[1] for t in totals)
    print(
        f"pandas total: min {totals[0][0]:.3f} s, median {totals[len(totals) // 2][0]:.3f} s,"
        f" max {totals[-1][0]:.3f} s; checks alone median {checks[len(checks) // 2]:.3f} s"
    )


if __name__ == "__main__":
    main()
