#!/usr/bin/env python3
"""Independent check of wattrun's energy-counter results (issue 16 item 2).

Reads a generated facility's raw counter CSVs (timestamp,node,joules; UTC
times) and a results directory, recomputes by the README's rules, with no
wattrun code, and compares:
  - each run's energy (samples > 0) with C(u) - C(s) on its node;
  - each job's energy with the sum over its nodes and the intervals between
    the node's job starts/ends of C(b) - C(a) times w_j / max(C_h, sum w_k);
  - each node's quantile count (node_power_dist.csv count) with n - 1;
  - quality.csv's pass,counter_reset with the drops in the raw series.
The rules: the increment of (t_i, t_i+1] is C_i+1 - C_i, or C_i+1 when the
counter dropped (a reset); C linear inside an interval, held outside the
readings. Usage: energy_counter_check.py FACILITY_DIR RESULTS_DIR
"""
import bisect
import calendar
import csv
import gzip
import os
import re
import sys
import time

REL = 1e-9
failures = []


def fail(message):
    failures.append(message)
    if len(failures) <= 20:
        print("FAIL " + message)


def utc_seconds(text):
    text = text.strip().rstrip("Z").replace("T", " ")
    return calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M:%S"))


def read_nodes(facility):
    with open(os.path.join(facility, "nodes.csv"), newline="") as f:
        return {row["HOSTNAMES"]: float(row["CPUS"]) for row in csv.DictReader(f)}


def telemetry_lines(path):
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt", newline="") as f:
            return f.read().splitlines()
    except (OSError, EOFError, UnicodeDecodeError):
        return []  # the generator's corrupt_gzip file


def read_series(facility, cpus):
    """Per node: (times, joules), sorted by time, the first of each instant kept."""
    readings = {}
    root = os.path.join(facility, "telemetry")
    for folder, _, files in os.walk(root):
        for name in sorted(files):
            lines = telemetry_lines(os.path.join(folder, name))
            if not lines or lines[0] not in ("timestamp,node,joules", "node,timestamp,joules"):
                continue  # the generator's broken files (header only, bad header, ...)
            node_first = lines[0].startswith("node")
            for line in lines[1:]:
                fields = line.split(",")
                if len(fields) != 3:
                    continue
                node, stamp = (fields[0], fields[1]) if node_first else (fields[1], fields[0])
                if node not in cpus:
                    continue
                readings.setdefault(node, {}).setdefault(utc_seconds(stamp), float(fields[2]))
    series = {}
    for node, by_time in readings.items():
        times = sorted(by_time)
        series[node] = (times, [by_time[t] for t in times])
    return series


class Counter:
    """One node's counter by the rules: intervals, increments, resets."""

    def __init__(self, times, joules):
        self.t = times
        self.inc = []
        self.resets = 0
        for i in range(1, len(times)):
            drop = joules[i] < joules[i - 1]
            self.resets += drop
            self.inc.append(joules[i] if drop else joules[i] - joules[i - 1])

    def energy(self, s, u):
        """C(u) - C(s) with resets added back: whole intervals plus the shares at the ends."""
        t = self.t
        if len(t) < 2 or u <= s:
            return 0.0
        total = 0.0
        k = max(0, bisect.bisect_right(t, s) - 1)  # the interval holding s
        while k < len(self.inc) and t[k] < u:
            a, b = max(s, t[k]), min(u, t[k + 1])
            if b > a:
                length = t[k + 1] - t[k]
                total += self.inc[k] if b - a == length else self.inc[k] * (b - a) / length
            k += 1
        return total

    def interval_powers(self):
        return [self.inc[i] / (self.t[i + 1] - self.t[i]) for i in range(len(self.inc))]


def close(got, want):
    return abs(got - want) <= REL * max(abs(want), 1e3)


def expand_hostlist(text):
    """r1i0n[0-6],r103u[01-02] -> r1i0n0 ... r103u02 (Slurm's syntax, one bracket per name)."""
    names = []
    for part in re.findall(r"[^,\[]+(?:\[[^\]]*\])?[^,]*", text):
        m = re.fullmatch(r"([^\[]*)\[([^\]]*)\](.*)", part)
        if not m:
            names.append(part)
            continue
        prefix, ranges, suffix = m.groups()
        for r in ranges.split(","):
            lo, _, hi = r.partition("-")
            hi = hi or lo
            for v in range(int(lo), int(hi) + 1):
                names.append(prefix + str(v).zfill(len(lo)) + suffix)
    return list(dict.fromkeys(names))  # duplicates dropped


def read_sacct_counts(facility):
    """JobID -> the CPU count of its first allocation line (cpu= of AllocTRES, else AllocCPUS), or None."""
    counts = {}
    root = os.path.join(facility, "sacct")
    for name in sorted(os.listdir(root)):
        with open(os.path.join(root, name), newline="") as f:
            rows = list(csv.reader(f, delimiter="|"))
        header = rows[0]
        for row in rows[1:]:
            if len(row) != len(header):
                continue
            rec = dict(zip(header, row))
            job = rec["JobID"]
            if "." in job or job in counts:
                continue
            count = None
            m = re.search(r"(?:^|,)cpu=(\d+)", rec.get("AllocTRES", ""))
            if m and int(m.group(1)) > 0:
                count = int(m.group(1))
            elif rec.get("AllocCPUS", "").isdigit() and int(rec["AllocCPUS"]) > 0:
                count = int(rec["AllocCPUS"])
            counts[job] = count
    return counts


def check_runs(results, counters):
    checked = 0
    with open(os.path.join(results, "runs_energy.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if not row["samples"] or int(row["samples"]) == 0 or not row["energy"]:
                continue
            want = counters[row["node"]].energy(utc_seconds(row["start_time"]), utc_seconds(row["end_time"]))
            if not close(float(row["energy"]), want):
                fail(f"run {row['run_id']}: energy {row['energy']}, the rules give {want!r}")
            checked += 1
    return checked


def check_jobs(results, facility, cpus, counters):
    counts = read_sacct_counts(facility)
    jobs = []
    with open(os.path.join(results, "jobs_energy.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if row["status"] == "not_started" or not row["energy"]:
                continue
            nodes = expand_hostlist(row["node_list"])
            count = counts.get(row["job_id"])
            weights = {h: (count / len(nodes) if count else cpus[h]) for h in nodes if h in cpus}
            jobs.append((row, utc_seconds(row["start"]), utc_seconds(row["end"]), weights))
    on_node = {}
    for j, (_, s, e, weights) in enumerate(jobs):
        for h, w in weights.items():
            on_node.setdefault(h, []).append((s, e, w, j))
    checked = 0
    for j, (row, s, e, weights) in enumerate(jobs):
        want = 0.0
        for h, w in weights.items():
            if h not in counters:
                continue
            others = [o for o in on_node[h] if o[0] < e and o[1] > s]
            points = sorted({s, e} | {p for o in others for p in (o[0], o[1]) if s < p < e})
            for a, b in zip(points, points[1:]):
                active = sum(o[2] for o in others if o[0] <= a and o[1] >= b)
                want += counters[h].energy(a, b) * w / max(cpus[h], active)
        if not close(float(row["energy"]), want):
            fail(f"job {row['job_id']}: energy {row['energy']}, the rules give {want!r}")
        checked += 1
    return checked


def check_nodes_and_resets(results, counters):
    with open(os.path.join(results, "node_power_dist.csv"), newline="") as f:
        for row in csv.DictReader(f):
            c = counters.get(row["node"])
            if c is None:
                continue
            powers = c.interval_powers()
            if int(row["count"]) != len(powers):
                fail(f"node {row['node']}: {row['count']} quantile values, {len(powers)} intervals")
            elif powers and not (close(float(row["min"]), min(powers)) and close(float(row["max"]), max(powers))):
                fail(f"node {row['node']}: min/max {row['min']}/{row['max']}, intervals {min(powers)}/{max(powers)}")
    resets = sum(c.resets for c in counters.values())
    with open(os.path.join(results, "quality.csv"), newline="") as f:
        rows = {(r["stage"], r["reason"]): int(r["count"]) for r in csv.DictReader(f)}
    if rows.get(("pass", "counter_reset")) != resets:
        fail(f"quality.csv pass,counter_reset is {rows.get(('pass', 'counter_reset'))}, the raw series drop {resets} times")
    if resets == 0:
        fail("the generator made no counter reset")
    return resets


def main():
    facility, results = sys.argv[1], sys.argv[2]
    cpus = read_nodes(facility)
    counters = {h: Counter(*ts) for h, ts in read_series(facility, cpus).items()}
    runs = check_runs(results, counters)
    jobs = check_jobs(results, facility, cpus, counters)
    resets = check_nodes_and_resets(results, counters)
    if runs < 10 or jobs < 50:
        fail(f"only {runs} runs and {jobs} jobs checked: the facility is too small to show anything")
    if failures:
        print(f"energy counter check: {len(failures)} failures")
        return 1
    print(f"energy counter check: {runs} runs, {jobs} jobs, {len(counters)} nodes, {resets} resets as the rules give")
    return 0


if __name__ == "__main__":
    sys.exit(main())
