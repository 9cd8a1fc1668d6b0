"""Who bears the cost, and what merchants are paid: provision and schemes."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from incident.core.model import CashScheme, Incident
from incident.analysis.timeline import compensated_window, window_note


def provision_table(inc: Incident) -> pd.DataFrame:
    """Each party's part of the provision, the computed remainder included.

    `share` is the part of the total; `share_of_named` the part of what the
    named parties (for Weimob: the four executives) carry together.
    """
    prov = inc.provision
    if prov is None:
        raise ValueError(f"incident {inc.id!r} has no provision")
    named_total, remainder = prov.named_total, prov.remainder  # exact sums of the amounts as written
    rows = [
        {
            "party": p.party,
            "name_original": p.name_original,
            "label": display_name(p.party, p.name_original),
            "role": p.role,
            "kind": "named",
            "amount": p.amount,
            "sources": ", ".join(p.sources),
        }
        for p in prov.parties
    ]
    rows.append(
        {
            "party": prov.remainder_party,
            "name_original": None,
            "label": prov.remainder_party,
            "role": None,
            "kind": "remainder",
            "amount": remainder,
            "sources": ", ".join(prov.remainder_sources or prov.sources),
        }
    )
    table = pd.DataFrame(rows)
    table["share"] = table["amount"] / prov.total
    table["share_of_named"] = np.where(
        table["kind"] == "named", table["amount"] / named_total if named_total else np.nan, np.nan
    )
    table.attrs.update(total=prov.total, currency=prov.currency, named_total=named_total)
    return table


def display_name(romanised: str, original: str | None) -> str:
    """'Sun Taoyong (孫濤勇)', or the romanised name alone."""
    return f"{romanised} ({original})" if original else romanised


def cash_compensation(daily_revenue, margin, hours):
    """Cash scheme: average daily revenue × margin × failure time in days.

    Works on scalars and on numpy/pandas arrays (broadcast).
    """
    return np.multiply(np.multiply(daily_revenue, margin), np.divide(hours, 24.0))


def compensation_sensitivity(
    revenues: Sequence[float], margins: Sequence[float], hours: float
) -> pd.DataFrame:
    """Cash compensation over a grid: rows are daily revenues, columns margins."""
    rev = np.asarray(revenues, dtype=float)[:, None]
    mar = np.asarray(margins, dtype=float)[None, :]
    grid = cash_compensation(rev, mar, hours)
    return pd.DataFrame(
        grid,
        index=pd.Index(revenues, name="average daily revenue"),
        columns=pd.Index(margins, name="margin"),
    )


def cash_example(inc: Incident) -> dict:
    """The worked example of the cash scheme from the incident's own inputs."""
    cash = _cash(inc)
    start, end, hours = compensated_window(inc)
    out = {
        "window_start": start.label(),
        "window_end": end.label(),
        "window_note": window_note(inc),
        "hours": hours,
        "days": hours / 24,
        "currency": cash.currency,
        "daily_revenue": cash.example_daily_revenue,
        "margin": cash.example_margin,
        "amount": None,
    }
    if cash.example_daily_revenue is not None and cash.example_margin is not None:
        out["amount"] = float(cash_compensation(cash.example_daily_revenue, cash.example_margin, hours))
    return out


def _cash(inc: Incident) -> CashScheme:
    cash = inc.compensation.cash if inc.compensation else None
    if cash is None:
        raise ValueError(f"incident {inc.id!r} has no cash compensation scheme")
    return cash


def sensitivity_table(inc: Incident) -> pd.DataFrame:
    """The incident's own sensitivity grid over its compensated window."""
    cash = _cash(inc)
    _, _, hours = compensated_window(inc)
    return compensation_sensitivity(cash.sensitivity_revenues, cash.sensitivity_margins, hours)


def traffic_table(inc: Incident) -> pd.DataFrame:
    """The traffic scheme's items."""
    traffic = inc.compensation.traffic if inc.compensation else None
    if traffic is None:
        return pd.DataFrame(columns=["item", "quantity", "unit"])
    return pd.DataFrame([i.model_dump() for i in traffic.items], columns=["item", "quantity", "unit"])
