"""The history statistics computed again with plain pandas and numpy: the oracle the engines must equal.

`incident.analysis.history_stats` writes each statistic once, in ibis, and every
engine runs that one expression; these tests compare its results with this
independent, deliberately naive computation (group by group, value by value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from incident.analysis.intervals import median_rank_interval

COLUMNS = ["group", "stage", "N", "n", "mean", "std", "median", "p90", "median_ci_low", "median_ci_high"]


def keyed(table: pd.DataFrame, by: str | None) -> tuple[pd.DataFrame, pd.Series]:
    """The rows (one per group a record is in) and their group label, as docs/history.md defines the groups."""
    if by is None:
        return table, pd.Series("all", index=table.index)
    if by in ("component", "mitigation"):
        split = (table["components"].map(lambda c: list(c) or ["(none)"]) if by == "component" else
                 table["mitigation"].map(lambda m: m.split("+") if isinstance(m, str) and m else ["(unknown)"]))
        rows = table.assign(_group=split).explode("_group", ignore_index=True)
        return rows, rows["_group"]
    start = table["start"].dt.tz_convert("UTC").dt.tz_localize(None)
    if by in ("quarter", "year"):
        label = start.dt.to_period("Q").astype(str) if by == "quarter" else start.dt.year.astype("Int64").astype(str)
        return table, label.where(start.notna(), "(unknown)")
    if by == "root-cause":
        l1, l2 = table["root_cause_l1"], table["root_cause_l2"]
        key = l1.where(l2.isna(), l1.astype(object) + " / " + l2.astype(object))
    else:
        key = table["root_cause_l1" if by == "root-cause-l1" else by]
    return table, key.astype(object).where(key.notna(), "(unknown)")


def reference(table: pd.DataFrame, by: str | None, stages, min_n: int = 10) -> pd.DataFrame:
    """Per group (sorted) and stage: N, n, mean, sample std, median, p90 (linear) and the rank CI of the median."""
    rows, key = keyed(table, by)
    out = []
    for name, group in rows.groupby(key.to_numpy(), sort=True):
        for stage in stages:
            known = np.sort(group[stage].dropna().to_numpy(dtype=float))
            n = len(known)
            low = high = np.nan
            if n >= min_n:
                lo, hi = median_rank_interval(n)
                low, high = known[lo - 1], known[hi - 1]
            out.append({"group": name, "stage": stage, "N": len(group), "n": n,
                        "mean": known.mean() if n else np.nan, "std": known.std(ddof=1) if n > 1 else np.nan,
                        "median": np.median(known) if n else np.nan,
                        "p90": np.percentile(known, 90) if n else np.nan, "median_ci_low": low, "median_ci_high": high})
    return pd.DataFrame(out, columns=COLUMNS)


def reference_stages(table: pd.DataFrame, stages) -> pd.DataFrame:
    """`reference` of the whole table, one row per stage, as `stage_stats` gives it (with the share known)."""
    out = reference(table, None, stages).drop(columns="group").set_index("stage")
    out.insert(2, "share_known", out["n"] / out["N"])
    return out
