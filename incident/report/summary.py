"""The incident's key figures as one JSON-ready dict, and as plain text."""

from __future__ import annotations

import math

from incident.analysis.claims import check_claims
from incident.analysis.costs import provision_table
from incident.core.model import Incident
from incident.analysis.timeline import compensated_window, durations, format_hours, phase_table


def summary(inc: Incident, market: bool = True) -> dict:
    """Key figures: phases, durations, compensated window, provision, claims."""
    out: dict = {"id": inc.id, "title": inc.title, "timezone": inc.timezone}
    if inc.compensation and inc.compensation.cash:
        start, end, hours = compensated_window(inc)
        out["compensated_window"] = {"start": start.iso(), "end": end.iso()}
        out["compensated_hours"] = hours
    out["phases"] = [
        {
            "name": r.phase,
            "impact": r.impact,
            "start": inc.when(p.start).iso(),
            "end": inc.when(p.end).iso(),
            "hours": r.hours,
            "hours_min": r.hours_min,
            "hours_max": r.hours_max,
        }
        for p, r in zip(inc.phases, phase_table(inc).itertuples())
    ]
    out["durations"] = {
        r.metric: {"from": r._2, "to": r.to, "hours_min": r.hours_min, "hours_max": r.hours_max}
        for r in durations(inc).itertuples()
    }
    if inc.provision:
        table = provision_table(inc)
        out["provision"] = {
            "total": inc.provision.total,
            "currency": inc.provision.currency,
            "parties": [
                {"party": r.party, "kind": r.kind, "amount": r.amount, "share": r.share}
                for r in table.itertuples()
            ],
        }
    if inc.claims:
        out["claims"] = [
            {
                "id": r.id,
                "status": r.status,
                "stated": _num(r.stated),
                "computed": _num(r.computed),
                "tolerance": _num(r.tolerance),
                "note": r.note,
            }
            for r in check_claims(inc).itertuples()
        ]
    if market and inc.market is not None:
        from incident.market.reaction import market_summary  # prices, calendar and scipy load only here

        out["market"] = market_summary(inc)
    return out


def summary_text(inc: Incident) -> str:
    """A few lines a person reads in a terminal."""
    data = summary(inc)
    lines = [f"{inc.title} ({inc.id}), times in {inc.timezone}"]
    if "compensated_hours" in data:
        w = data["compensated_window"]
        lines.append(f"compensated window: {w['start']} → {w['end']} = {data['compensated_hours']:g} hours")
    if data["phases"]:
        lines.append("phases:")
        for p in data["phases"]:
            lines.append(f"  {p['name']}: {p['start']} → {p['end']}, {format_hours(p['hours_min'], p['hours_max'])}")
    for metric, d in data["durations"].items():
        lines.append(f"{metric.replace('_', ' ')}: {format_hours(d['hours_min'], d['hours_max'])} ({d['from']} → {d['to']})")
    if "provision" in data:
        prov = data["provision"]
        lines.append(f"provision: {prov['total']:,.0f} {prov['currency']}")
        for p in prov["parties"]:
            lines.append(f"  {p['party']}: {p['amount']:,.0f} ({p['share']:.1%})")
    for c in data.get("claims", []):
        lines.append(f"claim {c['id']}: {c['status']} — {c['note']}")
    if "market" in data:
        m = data["market"]
        cars = ", ".join(f"[{w}] {v:+.1%} (t {m['t'][w]:.2f})" for w, v in m["car"].items())
        lines.append(f"market: {m['ticker']} vs {m['benchmark']}, {m['model']} model, day 0 {m['event_day']}; CAR {cars}")
    return "\n".join(lines)


def _num(x):
    if x is None:
        return None
    try:
        return None if math.isnan(x) else float(x)
    except TypeError:
        return x
