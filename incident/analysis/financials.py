"""Financial figures as a table, and the growth arithmetic claims rest on."""

from __future__ import annotations

import pandas as pd

from incident.core.model import Incident


def financials_table(inc: Incident) -> pd.DataFrame:
    """Financial figures, one row each (metric, period, value, unit, sources)."""
    rows = [{**f.model_dump(exclude={"sources"}), "sources": ", ".join(f.sources)} for f in inc.financials]
    return pd.DataFrame(rows, columns=["id", "metric", "period", "value", "unit", "approximate", "note", "sources"])


def shared_periods(inc: Incident, metrics=("revenue", "adjusted EBITDA")) -> list[str]:
    """Periods for which the incident gives every one of `metrics`, in file order."""
    table = financials_table(inc)
    table = table[table["metric"].isin(metrics)]
    counts = table.groupby("period", sort=False)["metric"].nunique()
    return [p for p in counts.index if counts[p] == len(metrics)]


def cagr(start: float, end: float, years: float) -> float:
    """Compound annual growth rate from `start` to `end` over `years`."""
    if start <= 0 or end <= 0:
        raise ValueError("a growth rate needs two positive values")
    return (end / start) ** (1 / years) - 1


def growth(prior: float, current: float) -> float:
    """Simple growth from `prior` to `current` (0.979 for +97.9%)."""
    if prior == 0:
        raise ValueError("growth from zero is undefined")
    return current / prior - 1 if prior > 0 else (current - prior) / abs(prior)


def implied_prior(current: float, growth_rate: float) -> float:
    """The earlier value that `growth_rate` up to `current` implies."""
    return current / (1 + growth_rate)


def rounding_half_width(value: float) -> float:
    """Half a unit of the last digit a figure was written with (114 → 0.5)."""
    text = repr(float(value))
    if "e" in text or "E" in text:
        return 0.0
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    return 0.5 * 10 ** (-len(frac))
