"""Applying per-row results of a tool (verify, motion) to the manifest it read."""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["apply_updates", "tidy_extras"]


def apply_updates(df: pd.DataFrame, results: dict[int, dict[str, Any]]) -> pd.DataFrame:
    """A copy of ``df`` with ``results[position]`` (column -> value) written into row ``position``.

    Columns that do not exist yet are added (empty for rows without a value). Rows with an empty result are unchanged.
    """
    out = df.copy()
    updates = pd.DataFrame.from_dict({p: r for p, r in results.items() if r}, orient="index")
    for col in updates.columns:
        values = updates[col].dropna()
        if col not in out.columns:
            out[col] = pd.Series([None] * len(out), index=out.index, dtype=object)
        elif len(values) and out[col].dtype != object:
            out[col] = out[col].astype(object)  # take any type; write_manifest casts known columns back
        out.loc[out.index[values.index.to_numpy()], col] = values.to_numpy()
    return out


def tidy_extras(df: pd.DataFrame) -> pd.DataFrame:
    """Give extra (non-standard) object columns one type each, so Parquet can store them.

    A CSV manifest reads back as strings while new results are ints and bools: a column mixing ``"72"`` and ``72``
    becomes numeric, one of ``True``/``"False"`` becomes bool, anything else becomes text (missing = "").
    """
    from vidssl.data.manifest import COLUMNS

    out = df.copy()
    for col in out.columns:
        if col in COLUMNS or out[col].dtype != object:
            continue
        values = out[col]
        if values.map(lambda v: isinstance(v, str)).all():
            continue  # text as read from a CSV: leave ids like "0012" alone
        as_text = values.map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v))
        if as_text.isin(["True", "False", ""]).all() and as_text.ne("").any():
            out[col] = as_text.eq("True")
            continue
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().sum() == as_text.ne("").sum() and as_text.ne("").any():
            is_int = numeric.dropna().mod(1).eq(0).all()
            out[col] = numeric.fillna(0).astype("int64") if is_int else numeric
        else:
            out[col] = as_text
    return out
