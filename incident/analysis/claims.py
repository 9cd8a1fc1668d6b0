"""Check what sources state against what the toolkit computes.

Each claim is recomputed from the incident's own data where possible (see
`incident.analysis.verdicts` for what "consistent" means); claims about the
share price are checked against the price files in
`incident.analysis.price_claims`.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd

from incident.analysis import price_claims
from incident.analysis.financials import cagr, growth, implied_prior, rounding_half_width
from incident.analysis.timeline import window_hours
from incident.analysis.verdicts import CANNOT_CHECK, MISMATCH, judge
from incident.analysis.verdicts import verdict as _result
from incident.core.model import CagrCheck, Claim, DifferenceCheck, DurationCheck, GrowthCheck, Incident, ProvisionCheck
COLUMNS = [
    "id", "statement", "kind", "stated", "unit", "computed", "low", "high", "tolerance", "status", "note", "implied", "sources",
]


def check_claims(inc: Incident) -> pd.DataFrame:
    """One row per claim: stated, computed (with its range), status, note (checked once per incident)."""
    return inc.memo("claims", lambda: _check_claims(inc))


def _check_claims(inc: Incident) -> pd.DataFrame:
    rows = []
    prices = None
    for claim in inc.claims:
        if claim.check.kind in price_claims.KINDS:
            prices = prices or price_claims.market_prices(inc)  # read once for all market claims
            result = price_claims.check_market_claim(inc, claim, prices)
        else:
            result = _CHECKS[claim.check.kind](inc, claim)
        rows.append(
            {
                "id": claim.id,
                "statement": claim.statement,
                "kind": claim.check.kind,
                "stated": claim.stated,
                "unit": claim.unit,
                **result,
                "sources": ", ".join(claim.sources),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _bounds(value: float) -> tuple[float, float]:
    h = rounding_half_width(value)
    return value - h, value + h


def _check_cagr(inc: Incident, claim: Claim) -> dict:
    c = claim.check
    assert isinstance(c, CagrCheck)  # _CHECKS sends each claim here by its kind
    a, b = inc.figure(c.start), inc.figure(c.end)
    (a_lo, a_hi), (b_lo, b_hi) = _bounds(a.value), _bounds(b.value)
    computed = cagr(a.value, b.value, c.years) * 100
    low, high = cagr(a_hi, b_lo, c.years) * 100, cagr(a_lo, b_hi, c.years) * 100
    status, tol = judge(claim.stated, low, high)
    note = (
        f"({b.value:g}/{a.value:g})^(1/{c.years:g}) − 1 = {computed:.2f}%; "
        f"with the inputs' rounding {low:.2f}–{high:.2f}%"
    )
    return _result(computed, low, high, status, tol, note)


def _check_growth(inc: Incident, claim: Claim) -> dict:
    c = claim.check
    assert isinstance(c, GrowthCheck)  # _CHECKS sends each claim here by its kind
    cur = inc.figure(c.current)
    if c.prior is not None:
        prior = inc.figure(c.prior)
        (p_lo, p_hi), (c_lo, c_hi) = _bounds(prior.value), _bounds(cur.value)
        computed = growth(prior.value, cur.value) * 100
        ends = [growth(p, q) * 100 for p in (p_lo, p_hi) for q in (c_lo, c_hi)]
        status, tol = judge(claim.stated, min(ends), max(ends))
        return _result(computed, min(ends), max(ends), status, tol, f"{prior.value:g} → {cur.value:g}")
    if claim.stated is None:
        return _result(None, None, None, CANNOT_CHECK, 0.0, "no stated rate and no earlier figure")
    implied = implied_prior(cur.value, claim.stated / 100)
    label = c.prior_label or "the earlier value"
    note = (
        f"no {label} in the sources to recompute it; the claim implies {label} ≈ "
        f"{implied:,.0f} {cur.unit} ({cur.value:g} / {1 + claim.stated / 100:.3f})"
    )
    out = _result(None, None, None, CANNOT_CHECK, 0.0, note)
    out["implied"] = implied
    return out


def _check_difference(inc: Incident, claim: Claim) -> dict:
    c = claim.check
    assert isinstance(c, DifferenceCheck)  # _CHECKS sends each claim here by its kind
    a, b = inc.figure(c.minuend), inc.figure(c.subtrahend)
    computed = a.value - b.value
    ha, hb = rounding_half_width(a.value), rounding_half_width(b.value)
    low, high = computed - ha - hb, computed + ha + hb
    status, tol = judge(claim.stated, low, high)
    return _result(computed, low, high, status, tol, f"{a.value:g} − {b.value:g} = {computed:.2f}")


# A duration claim's unit, as a file may write it, and hours in one of it.
DURATION_UNITS = {
    "seconds": 1 / 3600, "second": 1 / 3600, "s": 1 / 3600, "sec": 1 / 3600,
    "minutes": 1 / 60, "minute": 1 / 60, "min": 1 / 60, "mins": 1 / 60,
    "hours": 1.0, "hour": 1.0, "h": 1.0, "hrs": 1.0, "hr": 1.0,
    "days": 24.0, "day": 24.0, "d": 24.0,
    "weeks": 168.0, "week": 168.0,
}


def duration_unit(unit: str) -> tuple[str, float, bool]:
    """(the unit's name, hours in one, whether the file named it) for a duration claim; hours when it names none."""
    key = unit.strip().casefold()
    if key in DURATION_UNITS:
        return unit.strip(), DURATION_UNITS[key], True
    return "hours", 1.0, False


def _check_duration(inc: Incident, claim: Claim) -> dict:
    """The span in the claim's own unit ("27 minutes" is checked as 27 minutes, not as 27 hours)."""
    c = claim.check
    assert isinstance(c, DurationCheck)  # _CHECKS sends each claim here by its kind
    start, end = inc.when(c.start), inc.when(c.end)
    try:
        hours = window_hours(start, end)
    except ValueError as exc:
        return _result(None, None, None, CANNOT_CHECK, 0.0, str(exc))
    unit, per, named = duration_unit(claim.unit)
    value = hours / per
    status, tol = judge(claim.stated, value, value)
    days, rest = divmod(hours, 24)
    note = f"{start.label()} → {end.label()} = {value:,.4g} {unit}"
    if per != 1.0:
        note += f" ({hours:g} h)"
    elif hours >= 24:
        note += f" ({days:.0f} days {rest:g} hours)"
    if not named and claim.unit.strip():
        note += f"; {claim.unit.strip()!r} is not a unit of time: read as hours"
    if status == MISMATCH and claim.stated is not None and abs(claim.stated * per - (hours - 24)) < 1e-9:
        leap = _leap_day_between(start.earliest, end.earliest)
        if leap:
            note += f"; the stated figure is one day short, as if {leap} (a leap day) were not counted"
    return _result(value, value, value, status, tol, note)


def _leap_day_between(start, end) -> str | None:
    """'29 February 2020' if such a day falls inside [start, end)."""
    for year in range(start.year, end.year + 1):
        if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
            day = start.replace(year=year, month=2, day=29, hour=12, minute=0, second=0, microsecond=0)
            if start <= day < end:
                return f"29 February {year}"
    return None


def _check_provision(inc: Incident, claim: Claim) -> dict:
    c = claim.check
    assert isinstance(c, ProvisionCheck)  # _CHECKS sends each claim here by its kind
    prov = inc.provision
    if prov is None:  # validation refuses a provision claim without a provision section: an unchecked incident
        raise ValueError(f"incident {inc.id!r} has no provision")
    named = prov.named_total
    computed = named if c.part == "named" else prov.remainder
    status, tol = judge(claim.stated, computed, computed, stated_half=0.0)
    what = "sum of the named parts" if c.part == "named" else "total minus the named parts"
    amount = f"{computed:,.0f}" if computed == int(computed) else f"{computed:,}"  # 0.3 stays 0.3, not 0
    return _result(computed, computed, computed, status, tol, f"{what}: {amount} {prov.currency}")


_CHECKS: dict[str, Callable[[Incident, Claim], dict]] = {
    "cagr": _check_cagr,
    "growth": _check_growth,
    "difference": _check_difference,
    "duration": _check_duration,
    "provision": _check_provision,
}
