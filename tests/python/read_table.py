"""The README's snippet, run as a test: any results.h5 table into pandas.

Usage: python3 read_table.py RESULTS.h5 [GROUP]   (default runs_energy)
Checks the table's `columns` order, every column's `units` and
`description`, the root provenance attributes, and prints the head.
"""
import sys

import h5py
import pandas as pd

path, group = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "runs_energy")

# --- the README snippet, as printed there ---
with h5py.File(path, "r") as f:
    g = f[group]
    cols = g.attrs["columns"].split(",")
    df = pd.DataFrame({c: g[c].asstr()[:] if g[c].dtype.kind in "SO" else g[c][:] for c in cols})
    units = {c: g[c].attrs["units"] for c in cols}
# --- end of snippet ---

with h5py.File(path, "r") as f:
    for attr in ("wattrun_version", "created_utc", "command_line", "config_yaml"):
        assert attr in f.attrs, f"root attribute {attr} missing"
    missing = []
    f.visititems(lambda name, obj: missing.append(name) if isinstance(obj, h5py.Dataset)
                 and not ("units" in obj.attrs and "description" in obj.attrs) else None)
    assert not missing, f"datasets without units/description: {missing}"
assert list(df.columns) == cols and len(cols) >= 3, cols
text = df.select_dtypes(include="object")
assert text.empty or all(isinstance(v, str) for v in text.iloc[0]), "strings came back as bytes"
print(f"{group}: {len(df)} rows, {len(cols)} columns; units {dict(list(units.items())[:6])}")
print(df.head(3).to_string())
