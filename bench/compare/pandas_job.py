#!/usr/bin/python3
"""The job of `wattrun run --no-fit --no-report` (spec sections 2.1-2.4 and 2.6),
done the way a user would do it with pandas in one process: the comparison
point of bench/compare_bench.sh. Not part of wattrun.

Usage: /usr/bin/python3 bench/compare/pandas_job.py --config configs/eagle.yaml --input FACILITY --output DIR
(Debian's python3-pandas.) Writes DIR/runs_energy.csv, DIR/idle_power.csv,
DIR/node_power_dist.csv and prints the time of each step on stderr.

What it does, and where it falls short of the spec:
- telemetry: every telemetry/**/*.csv[.gz] in sorted path order, read with
  pd.read_csv (timestamp and node as categories, so each distinct string is
  parsed once); rows with too many fields are skipped (on_bad_lines), watts
  that is not a number becomes NaN and the row is dropped: bad rows are not
  counted per reason. Files whose header lacks timestamp/node/watts, empty
  files and files that are not really gzip are skipped; a file that fails in
  the middle is skipped whole (wattrun keeps the rows before the damage).
- times: a trailing Z is dropped and the time read as local in the
  configured zone (tz_localize; nonexistent -> row dropped); an explicit
  offset is honoured; the repeated hour is resolved per node and local day by
  order (a pass ends where the local time goes back; first pass daylight).
- dedup on (node, instant), first in (sorted path, line) order kept (stable sort).
- runs -> sacct allocation lines (last line of a JobID wins) -> hostlist
  (expanded here) -> windows with one sampling interval of tolerance.
- energy: linear interpolation, ends interpolated or held (spec step 3).
- statuses of spec step 4; idle power = np.quantile (linear, type 7) pooled
  per node type; per-node quantile table with the BUTTER-E levels.
Not done: filters, standardization, overheads, model, quality.csv.
"""
import argparse
import csv
import os
import re
import sys
import time
import zlib

import numpy as np
import pandas as pd

NAT = np.iinfo(np.int64).min


def datetimes_to_ms(values):
    """Datetimes (naive or UTC; NaT allowed; possibly an empty object Index) -> int64 ms, NaT -> NAT."""
    idx = pd.DatetimeIndex(values)
    if idx.tz is not None:
        idx = idx.tz_convert(None)
    ms = idx.to_numpy().astype("datetime64[ms]").astype(np.int64)
    ms[np.asarray(idx.isna())] = NAT
    return ms


T0 = time.perf_counter()
_prev = [T0]


def step(name):
    t = time.perf_counter()
    print(f"  {name}: {t - _prev[0]:.2f} s", file=sys.stderr)
    _prev[0] = t


def read_config(path):
    """The few keys the job needs, read with regular expressions (no YAML package)."""
    text = re.sub(r"#.*$", "", open(path).read(), flags=re.M)

    def section(name):
        m = re.search(rf"^(\s*){name}:\s*\n([\s\S]*?)(?=^\1\S|\Z)", text, flags=re.M)
        return m.group(2) if m else ""

    def get(src, key, default=None):
        m = re.search(rf"\b{key}:\s*\"?([^\"\s,}}]+)\"?", src)
        return m.group(1) if m else default

    tel, sch = section("telemetry"), section("scheduler")
    types = []
    for m in re.finditer(r"name:\s*\"?([\w.-]+)\"?[\s\S]*?signature:\s*\{([^}]*)\}", section("node_types")):
        sig = m.group(2)
        types.append(dict(name=m.group(1), cpus=int(get(sig, "cpus")), memory=int(get(sig, "memory_mb")),
                          tmp_disk=int(get(sig, "tmp_disk_mb")), gres=get(sig, "gres", "(null)")))
    idle = re.search(r"idle:\s*\{[^}]*quantile:\s*([\d.eE+-]+)", text)
    return dict(tel_tz=get(tel, "timezone", "UTC"), ignore_z=get(tel, "ignore_z", "false") == "true",
                sched_tz=get(sch, "timezone", "UTC"), interval=float(get(text, "sampling_interval_s", "60")),
                idle_q=float(idle.group(1)) if idle else 0.02, types=types)


LEVELS = [("p000001", 1e-6), ("p00001", 1e-5), ("p0001", 1e-4), ("p001", 1e-3)]
LEVELS += [(f"p{p}", p / 100) for p in range(1, 100)]
LEVELS += [("p999", 0.999), ("p9999", 0.9999), ("p99999", 0.99999), ("p999999", 0.999999)]


def expand_hostlist(expr):
    """Slurm hostlist: `r1i0n[1-3,5]`, `r1i[0-1]n[2,4]`, `a[001-003],b7`."""
    expr = (expr or "").strip()
    if not expr or expr in ("None assigned", "(null)"):
        return []
    items, depth, start = [], 0, 0
    for i, c in enumerate(expr):
        depth += (c == "[") - (c == "]")
        if c == "," and depth == 0:
            items.append(expr[start:i])
            start = i + 1
    items.append(expr[start:])
    out = []
    for item in items:
        names = [""]
        for prefix, ranges in re.findall(r"([^\[]*)(?:\[([^\]]*)\])?", item):
            if ranges == "" and prefix == "":
                continue
            parts = [prefix]
            if ranges:
                parts = []
                for r in ranges.split(","):
                    lo, _, hi = r.partition("-")
                    if not hi:
                        parts.append(prefix + lo)
                    else:
                        parts += [prefix + str(v).zfill(len(lo)) for v in range(int(lo), int(hi) + 1)]
            names = [n + p for n in names for p in parts]
        out += names
    return out


def local_to_utc(naive, zone):
    """Naive local DatetimeIndex -> (kind, early_ms, late_ms): kind 0 nonexistent
    or unparseable, 1 unique, 2 ambiguous (repeated hour)."""
    n = len(naive)
    early = naive.tz_localize(zone, ambiguous=np.ones(n, dtype=bool), nonexistent="NaT")
    late = naive.tz_localize(zone, ambiguous=np.zeros(n, dtype=bool), nonexistent="NaT")
    e = datetimes_to_ms(early)
    lt = datetimes_to_ms(late)
    kind = np.where(early.isna(), 0, np.where(e != lt, 2, 1))
    return kind, e, lt


OFFSET = re.compile(r"[+-]\d\d:?\d\d$")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    a = ap.parse_args()
    cfg = read_config(a.config)
    fac = os.path.abspath(a.input)
    out_dir = os.path.abspath(a.output)
    os.makedirs(out_dir, exist_ok=True)
    tol_ms = int(cfg["interval"] * 1000)

    # ---------- nodes ----------
    nd = pd.read_csv(os.path.join(fac, "nodes.csv"), dtype=str, keep_default_na=False)
    nodes = {}  # name -> (id, type)
    for h, cpus, mem, tmp, gres in zip(nd["HOSTNAMES"], nd["CPUS"], nd["MEMORY"], nd["TMP_DISK"], nd["GRES"]):
        try:
            sig = (int(cpus), int(mem), int(tmp), gres.strip())
        except ValueError:
            continue
        ty = next((t["name"] for t in cfg["types"]
                   if (t["cpus"], t["memory"], t["tmp_disk"], t["gres"]) == sig), "")
        for name in expand_hostlist(h):
            nodes.setdefault(name, (len(nodes), ty))
    node_names = np.array(list(nodes), dtype=object)
    node_types = np.array([t for _, t in nodes.values()], dtype=object)
    step("nodes")

    # ---------- telemetry ----------
    files = []
    for root, _, names in os.walk(os.path.join(fac, "telemetry")):
        files += [os.path.join(root, n) for n in names if n.endswith(".csv") or n.endswith(".csv.gz")]
    files.sort()
    skipped, frames = [], []
    for f in files:
        try:
            with open(f, "rb") as fh:
                head = fh.read(65536)
            if f.endswith(".gz"):
                head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head)
        except (OSError, zlib.error) as e:
            skipped.append(f"{f} ({e})")
            continue
        cols = [c.strip().strip('"') for c in head.decode("utf-8", "replace").split("\n")[0].rstrip("\r").split(",")]
        if not all(c in cols for c in ("timestamp", "node", "watts")):
            skipped.append(f"{f} (header {cols[:3]})")
            continue
        kw = dict(usecols=["timestamp", "node", "watts"], on_bad_lines="skip", engine="c",
                  dtype={"timestamp": "category", "node": "category", "watts": "float64"})
        try:
            try:
                df = pd.read_csv(f, **kw)
            except ValueError:  # a watts field that is not a number: read it as text
                kw["dtype"] = {"timestamp": "category", "node": "category", "watts": str}
                df = pd.read_csv(f, **kw)
                df["watts"] = pd.to_numeric(df["watts"], errors="coerce")
        except Exception as e:  # damaged gzip and the like: skip the file
            skipped.append(f"{f} ({str(e).splitlines()[0][:80]})")
            continue
        frames.append(df)
    step("read telemetry")

    # Per file: category codes -> node ids and local/absolute times (parsed
    # once per distinct string); then one array per column in file order.
    node_id_parts, local_parts, abs_parts, watts_parts = [], [], [], []
    for df in frames:
        ncat = df["node"].cat
        nid_of_cat = np.array([nodes.get(str(c), (-1,))[0] for c in ncat.categories], dtype=np.int64)
        codes = ncat.codes.to_numpy()
        node_id_parts.append(np.where(codes >= 0, nid_of_cat[codes], -1))
        tcat = df["timestamp"].cat
        texts = pd.Index(tcat.categories.astype(str))
        has_off = np.asarray(texts.str.contains(OFFSET), dtype=bool)
        if not cfg["ignore_z"]:
            has_off |= np.asarray(texts.str.endswith("Z"), dtype=bool)
        stripped = texts.str.replace(r"Z$", "", regex=True) if cfg["ignore_z"] else texts
        loc_ms = datetimes_to_ms(pd.to_datetime(stripped.where(~has_off), errors="coerce"))
        ab_ms = datetimes_to_ms(pd.to_datetime(texts.where(has_off), errors="coerce", utc=True))
        codes = tcat.codes.to_numpy()
        safe = np.maximum(codes, 0)
        if len(texts) == 0:
            loc_ms = ab_ms = np.full(1, NAT)
        local_parts.append(np.where(codes >= 0, loc_ms[safe], NAT))
        abs_parts.append(np.where(codes >= 0, ab_ms[safe], NAT))
        watts_parts.append(df["watts"].to_numpy(dtype=np.float64))
    del frames
    nid = np.concatenate(node_id_parts) if node_id_parts else np.zeros(0, np.int64)
    L = np.concatenate(local_parts) if local_parts else np.zeros(0, np.int64)
    ABS = np.concatenate(abs_parts) if abs_parts else np.zeros(0, np.int64)
    W = np.concatenate(watts_parts) if watts_parts else np.zeros(0)
    valid = (nid >= 0) & (W >= 0) & ((L != NAT) | (ABS != NAT))  # NaN watts compare False
    nid, L, ABS, W = nid[valid], L[valid], ABS[valid], W[valid]
    step("parse telemetry")

    # Local wall times -> instants, once per distinct value.
    uL, inv = np.unique(L, return_inverse=True)
    has_local = uL != NAT
    kind = np.zeros(len(uL), dtype=np.int64)
    early = np.full(len(uL), NAT)
    late = np.full(len(uL), NAT)
    k_, e_, l_ = local_to_utc(pd.DatetimeIndex(uL[has_local] * 1_000_000), cfg["tel_tz"])
    kind[has_local], early[has_local], late[has_local] = k_, e_, l_
    T = np.where(ABS != NAT, ABS, np.where(kind[inv] >= 1, early[inv], NAT))
    amb = np.flatnonzero((ABS == NAT) & (kind[inv] == 2))
    if len(amb):  # the repeated hour, by order, per node and local day
        a_df = pd.DataFrame({"nid": nid[amb], "day": L[amb] // 86_400_000, "L": L[amb]})
        prev = a_df.groupby(["nid", "day"], sort=False)["L"].shift()
        back = (a_df["L"] < prev).astype(np.int64)
        passes = back.groupby([a_df["nid"], a_df["day"]], sort=False).cumsum().to_numpy()
        T[amb] = np.where(passes % 2 == 0, early[inv[amb]], late[inv[amb]])
    keep = T != NAT
    nid, T, W = nid[keep], T[keep], W[keep]
    step("local times")

    # Dedup on (node, instant): a stable sort keeps file order among equal keys.
    base = T.min() if len(T) else 0
    key = (nid << 42) | (T - base)
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    sel = order[first]
    nid, T, W, key = nid[sel], T[sel], W[sel], key[first]
    node_start = np.searchsorted(nid, np.arange(len(nodes) + 1))
    step("dedup + sort")

    # ---------- runs, sacct ----------
    runs = pd.read_csv(os.path.join(fac, "runs.csv"), dtype=str, keep_default_na=False, on_bad_lines="skip")
    s_utc = pd.to_datetime(runs["start_time"].str.strip(), errors="coerce", utc=True)
    u_utc = pd.to_datetime(runs["update_time"].str.strip(), errors="coerce", utc=True)
    s_ms = np.where(s_utc.isna(), NAT, s_utc.dt.tz_convert(None).to_numpy().view("i8") // 1_000_000)
    u_ms = np.where(u_utc.isna(), NAT, u_utc.dt.tz_convert(None).to_numpy().view("i8") // 1_000_000)

    def count_ok(col):
        x = pd.to_numeric(runs[col].str.strip(), errors="coerce").to_numpy(dtype=float)
        return (~np.isnan(x)) & (x >= 0) & (np.floor(x) == x)

    nums_ok = count_ok("size") & count_ok("depth") & count_ok("batch_size") & \
        ~np.isnan(pd.to_numeric(runs["learning_rate"].str.strip(), errors="coerce").to_numpy(dtype=float))
    bool_of = {"True": True, "False": False, "true": True, "false": False, "1": True, "0": False}

    jobs = {}
    sacct_files = sorted(os.path.join(r, n) for r, _, ns in os.walk(os.path.join(fac, "sacct")) for n in ns if n.endswith(".txt"))
    if sacct_files:
        sa = pd.concat([pd.read_csv(f, sep="|", dtype=str, keep_default_na=False, on_bad_lines="skip",
                                    quoting=csv.QUOTE_NONE, engine="c") for f in sacct_files], ignore_index=True)
        sa = sa[(sa["JobID"].str.strip() != "JobID") & ~sa["JobID"].str.contains(".", regex=False)]
        st, en = sa["Start"].str.strip(), sa["End"].str.strip()
        conv = []
        for col in (st, en):
            naive = pd.to_datetime(col.where(~col.isin(["Unknown", "None"])), errors="coerce")
            ok = ~naive.isna().to_numpy()
            k = np.zeros(len(col), np.int64)
            e = np.full(len(col), NAT)
            lt = np.full(len(col), NAT)
            if ok.any():
                k[ok], e[ok], lt[ok] = local_to_utc(pd.DatetimeIndex(naive[ok]), cfg["sched_tz"])
            conv.append((k, e, lt))
        (sk, se, _), (ek, ee, el) = conv
        for i, (job, nl, s_txt, e_txt) in enumerate(zip(sa["JobID"].str.strip(), sa["NodeList"], st, en)):
            has_start = s_txt not in ("Unknown", "None")
            running = e_txt in ("Unknown", "None")
            if (has_start and sk[i] == 0) or (not running and ek[i] == 0):
                continue  # bad or nonexistent time
            start = int(se[i]) if has_start else None
            end = None
            if not running:
                end = int(ee[i])
                if has_start and end < start:
                    end = int(el[i])
                if has_start and end < start:
                    continue  # negative window
            jobs[job] = dict(nl=nl, has_start=has_start, start=start, end=end, hosts=None)
    step("runs + sacct")

    # ---------- join, statuses, energies ----------
    rows = []
    for i in range(len(runs)):
        rid, job_id, host = runs["run_id"].iat[i], runs["slurm_job_id"].iat[i], runs["host_name"].iat[i].strip()
        o = dict(run_id=rid, slurm_job_id=job_id, node=host, node_type="", is_gpu="", status="",
                 run_time=None, samples=None, energy=None)
        rows.append(o)
        g = runs["is_gpu"].iat[i].strip()
        if s_ms[i] == NAT or u_ms[i] == NAT or not nums_ok[i] or g not in bool_of:
            o["status"] = "bad_run_row"
            continue
        o["is_gpu"] = "True" if bool_of[g] else "False"
        s, u = int(s_ms[i]), int(u_ms[i])
        if u < s:
            o["status"] = "bad_window"
            continue
        o["run_time"] = (u - s) / 1000
        n = nodes.get(host)
        if n is None or not n[1]:
            o["status"] = "unknown_node"
            continue
        o["node_type"] = n[1]
        job = jobs.get(job_id)
        if job is None:
            o["status"] = "no_job"
            continue
        if job["hosts"] is None:
            job["hosts"] = set(expand_hostlist(job["nl"]))
        if host not in job["hosts"]:
            o["status"] = "host_not_in_job"
            continue
        if not job["has_start"] or s < job["start"] - tol_ms or (job["end"] is not None and u > job["end"] + tol_ms):
            o["status"] = "outside_job_window"
            continue
        if job["end"] is None:
            o["status"] = "job_running"
            continue
        # Telemetry of the node: T/W[ns:ne] sorted by time.
        ns, ne = node_start[n[0]], node_start[n[0] + 1]
        lo = ns + np.searchsorted(T[ns:ne], s, "left")   # first sample >= s
        hi = ns + np.searchsorted(T[ns:ne], u, "right")  # one past the last sample <= u
        o["samples"] = int(hi - lo)
        if hi == lo:
            o["status"] = "missing_all"
            continue
        t, w = T[lo:hi], W[lo:hi]
        e = float(np.sum((t[1:] - t[:-1]) / 1000.0 * (w[1:] + w[:-1]) / 2)) if hi - lo > 1 else 0.0
        if lo > ns:  # interpolate at s, else hold the first value
            t0, w0 = T[lo - 1], W[lo - 1]
            ws = w0 + (w[0] - w0) * ((s - t0) / (t[0] - t0))
            e += (t[0] - s) / 1000.0 * (ws + w[0]) / 2
        else:
            e += (t[0] - s) / 1000.0 * w[0]
        if hi < ne:
            t1, w1 = T[hi], W[hi]
            wu = w[-1] + (w1 - w[-1]) * ((u - t[-1]) / (t1 - t[-1]))
            e += (u - t[-1]) / 1000.0 * (w[-1] + wu) / 2
        else:
            e += (u - t[-1]) / 1000.0 * w[-1]
        o["energy"] = e
        if hi - lo < (u - s) / 1000 / cfg["interval"] - 1:
            o["status"] = "missing_some"
        elif np.any(w == 0):
            o["status"] = "zero_watts"
        else:
            o["status"] = "ok"
    step("join + energies")

    # ---------- idle power, per-node quantiles ----------
    levels = np.array([v for _, v in LEVELS])
    dist_rows, by_type = [], {}
    for name, (i, ty) in nodes.items():
        x = W[node_start[i]:node_start[i + 1]]
        if len(x) == 0:
            continue
        q = np.quantile(x, levels)
        dist_rows.append([name, len(x), x.min(), *q, x.max(), ty])
        if ty:
            by_type.setdefault(ty, []).append(x)
    dist = pd.DataFrame(dist_rows, columns=["node", "count", "min", *[c for c, _ in LEVELS], "max", "node_type"])
    dist.sort_values("node").to_csv(os.path.join(out_dir, "node_power_dist.csv"), index=False, float_format="%.17g")
    idle = pd.DataFrame([[ty, len(xs), sum(len(x) for x in xs), np.quantile(np.concatenate(xs), cfg["idle_q"])]
                         for ty, xs in sorted(by_type.items())], columns=["node_type", "nodes", "readings", "idle_w"])
    idle.to_csv(os.path.join(out_dir, "idle_power.csv"), index=False, float_format="%.17g")
    step("quantiles")

    re_df = pd.DataFrame(rows)
    measured = re_df["status"].isin(["ok", "missing_some", "zero_watts"])
    re_df.loc[~measured, "energy"] = None
    re_df.to_csv(os.path.join(out_dir, "runs_energy.csv"), index=False, float_format="%.17g")
    step("write")
    counts = re_df["status"].value_counts()
    print(f"pandas_job: {len(re_df)} runs ({', '.join(f'{k} {v}' for k, v in counts.items())}), {len(W)} readings, "
          f"{len(skipped)} telemetry files skipped, {time.perf_counter() - T0:.2f} s", file=sys.stderr)
    for s in skipped:
        print(f"  skipped: {s}", file=sys.stderr)


if __name__ == "__main__":
    main()
