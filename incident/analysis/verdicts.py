"""Verdicts on a stated figure: consistent, mismatch, or cannot check.

The tolerance is not a fudge factor: it is the rounding of the figures
involved (a revenue written as 114 million may be anything in [113.5, 114.5)),
so a claim is *consistent* when the stated value, within its own rounding,
can come from the inputs within theirs; a *mismatch* otherwise; *cannot
check* when the data to recompute it is missing.
"""

from __future__ import annotations

from incident.analysis.financials import rounding_half_width

CONSISTENT, MISMATCH, CANNOT_CHECK = "consistent", "mismatch", "cannot check"


def judge(stated: float | None, low: float, high: float, stated_half: float | None = None) -> tuple[str, float]:
    """Status of a stated value against a computed range, and the tolerance used."""
    if stated is None:
        return CANNOT_CHECK, 0.0
    half = rounding_half_width(stated) if stated_half is None else stated_half
    ok = stated + half >= low - 1e-12 and stated - half <= high + 1e-12
    return (CONSISTENT if ok else MISMATCH), half + (high - low) / 2


def verdict(computed, low, high, status, tolerance, note="") -> dict:
    """One claim's result, as the claims table holds it."""
    return {"computed": computed, "low": low, "high": high, "tolerance": tolerance, "status": status, "note": note}
