#!/usr/bin/env python3
"""Do wattrun and the comparison jobs agree?  Used by bench/compare_bench.sh
(four tools there: wattrun as the reference, DuckDB, Polars and pandas).

Usage: check_agreement.py REF_DIR NAME=DIR [NAME=DIR ...]
REF_DIR is wattrun's results directory; each NAME=DIR another tool's output.
Checks, against the reference:
  - runs_energy.csv: the same runs; per run the same status; for runs that
    every tool calls `ok`, energy relative difference <= 1e-6;
  - idle_power.csv: per node type the same idle_w (exact), nodes, readings;
  - node_power_dist.csv: per node the same count, and the largest relative
    difference of the quantile columns (reported, not a failure below 1e-9).
Prints counts and a few examples of every disagreement; exit status 1 if any.
"""
import csv
import sys

ENERGY_RTOL = 1e-6
EXAMPLES = 5


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(text):
    return float(text) if text not in ("", None) else None


def rel(a, b):
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


def main():
    ref_dir = sys.argv[1]
    others = [a.split("=", 1) for a in sys.argv[2:]]
    ref_runs = read_csv(f"{ref_dir}/runs_energy.csv")
    ref_by_id = {r["run_id"]: r for r in ref_runs}
    runs = {name: {r["run_id"]: r for r in read_csv(f"{d}/runs_energy.csv")} for name, d in others}
    failed = False

    # ---- runs: status ----
    print(f"runs: {len(ref_runs)} in wattrun's runs_energy.csv")
    for name, by_id in runs.items():
        missing = [k for k in ref_by_id if k not in by_id]
        extra = [k for k in by_id if k not in ref_by_id]
        diff = [k for k in ref_by_id if k in by_id and by_id[k]["status"] != ref_by_id[k]["status"]]
        line = f"  {name}: status differs for {len(diff)} runs"
        if missing or extra:
            line += f"; {len(missing)} runs missing, {len(extra)} extra"
        print(line)
        for k in diff[:EXAMPLES]:
            print(f"    {k} ({ref_by_id[k]['node']}): wattrun {ref_by_id[k]['status']}, {name} {by_id[k]['status']}")
        for k in missing[:EXAMPLES]:
            print(f"    missing in {name}: {k} (wattrun {ref_by_id[k]['status']})")
        failed |= bool(diff or missing or extra)

    # ---- runs: energy where every tool says ok ----
    all_ok = [k for k, r in ref_by_id.items()
              if r["status"] == "ok" and all(k in by_id and by_id[k]["status"] == "ok" for by_id in runs.values())]
    print(f"energy of the {len(all_ok)} runs all tools call ok (tolerance {ENERGY_RTOL:g} relative):")
    for name, by_id in runs.items():
        worst, bad = 0.0, []
        for k in all_ok:
            a, b = num(ref_by_id[k]["energy"]), num(by_id[k]["energy"])
            d = float("inf") if a is None or b is None else rel(a, b)
            worst = max(worst, d)
            if d > ENERGY_RTOL:
                bad.append((d, k, a, b))
        print(f"  {name}: {len(bad)} runs beyond tolerance; largest relative difference {worst:.3g}")
        for d, k, a, b in sorted(bad, reverse=True)[:EXAMPLES]:
            print(f"    {k} ({ref_by_id[k]['node']}): wattrun {a!r} J, {name} {b!r} J (relative {d:.3g})")
        # Samples of measured runs, a cheap check of the window logic.
        ns = [k for k in ref_by_id if k in by_id and ref_by_id[k]["samples"] and by_id[k]["samples"]
              and int(float(ref_by_id[k]["samples"])) != int(float(by_id[k]["samples"]))]
        if ns:
            print(f"  {name}: samples differ for {len(ns)} runs, e.g. " +
                  ", ".join(f"{k} {ref_by_id[k]['samples']} vs {by_id[k]['samples']}" for k in ns[:3]))
        failed |= bool(bad or ns)

    # ---- idle power ----
    ref_idle = {r["node_type"]: r for r in read_csv(f"{ref_dir}/idle_power.csv")}
    print("idle power per node type (exact):")
    for name, d in others:
        idle = {r["node_type"]: r for r in read_csv(f"{d}/idle_power.csv")}
        probs = []
        for t in sorted(set(ref_idle) | set(idle)):
            a, b = ref_idle.get(t), idle.get(t)
            if a is None or b is None:
                probs.append(f"{t}: only in {'wattrun' if b is None else name}")
                continue
            if num(a["idle_w"]) != num(b["idle_w"]):
                probs.append(f"{t}: idle_w wattrun {a['idle_w']}, {name} {b['idle_w']}")
            for col in ("nodes", "readings"):
                if int(float(a[col])) != int(float(b[col])):
                    probs.append(f"{t}: {col} wattrun {a[col]}, {name} {b[col]}")
        shown = ", ".join(f"{t} {idle[t]['idle_w']}" for t in sorted(idle))
        print(f"  {name}: {'agrees' if not probs else f'{len(probs)} differences'} ({shown})")
        for p in probs[:EXAMPLES * 2]:
            print(f"    {p}")
        failed |= bool(probs)

    # ---- per-node quantile table ----
    ref_dist = {r["node"]: r for r in read_csv(f"{ref_dir}/node_power_dist.csv")}
    print("per-node quantile table (count exact; quantiles: largest relative difference):")
    for name, d in others:
        dist = {r["node"]: r for r in read_csv(f"{d}/node_power_dist.csv")}
        cols = [c for c in next(iter(ref_dist.values())).keys() if c not in ("node", "node_type", "count")]
        worst, where, probs = 0.0, "", []
        for node in sorted(set(ref_dist) | set(dist)):
            a, b = ref_dist.get(node), dist.get(node)
            if a is None or b is None:
                probs.append(f"{node}: only in {'wattrun' if b is None else name}")
                continue
            if int(float(a["count"])) != int(float(b["count"])):
                probs.append(f"{node}: count wattrun {a['count']}, {name} {b['count']}")
            for c in cols:
                x, y = num(a[c]), num(b.get(c))
                dd = float("inf") if x is None or y is None else rel(x, y)
                if dd > worst:
                    worst, where = dd, f"{node} {c}: {a[c]} vs {b.get(c)}"
        if worst > 1e-9:
            probs.append(f"largest quantile difference {worst:.3g} ({where})")
        print(f"  {name}: {len(dist)} nodes, {len(probs)} problems; largest quantile difference {worst:.3g}"
              + (f" ({where})" if worst else ""))
        for p in probs[:EXAMPLES]:
            print(f"    {p}")
        failed |= bool(probs)

    print("AGREEMENT: " + ("NO (see above)" if failed else "yes"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
