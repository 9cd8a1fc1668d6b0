"""The incident's key figures as one JSON-ready dict, and as plain text."""

from __future__ import annotations

import math

from incident.analysis.claims import check_claims
from incident.analysis.costs import provision_table
from incident.analysis.timeline import (
    compensated_window, duration_spans, format_hours, milestone_table, phase_table, range_unit, status_of,
    window_note,
)
from incident.core.model import Incident


def summary(inc: Incident, market: bool = True) -> dict:
    """Key figures: milestones, phases (and spans no source reports), durations, window, provision, claims."""
    out: dict = {"id": inc.id, "title": inc.title, "timezone": inc.timezone}
    if inc.compensation and inc.compensation.cash:
        cash = inc.compensation.cash
        start, end, hours = compensated_window(inc)
        out["compensated_window"] = {"start": start.iso(), "end": end.iso(), "end_status": status_of(inc, cash.window_end)}
        out["compensated_hours"] = hours
    out["milestones"] = [
        {"id": r.id, "at": inc.when(r.id).iso(), "kind": r.kind, "status": r.status, "title": r.title}
        for r in milestone_table(inc).itertuples()
    ]
    out["phases"] = [
        {
            "name": r.phase,
            "impact": r.impact,
            "status": r.status,
            "start": r.start_iso,  # as precise as the source: a date stays a date
            "end": r.end_iso,
            "hours": r.hours,
            "hours_min": r.hours_min,
            "hours_max": r.hours_max,
        }
        for r in phase_table(inc, gaps=True).itertuples()
    ]
    out["durations"] = {  # a span that measures nothing is here, with its hours None and the reason
        r["metric"]: {"from": r["from"], "to": r["to"], "hours_min": _num(r["hours_min"]),
                      "hours_max": _num(r["hours_max"]), "known": bool(r["known"]), "basis": r["basis"],
                      **({"start_note": r["start_note"]} if r["start_note"] else {}),
                      **({} if r["known"] else {"reason": r["reason"]})}
        for r in duration_spans(inc).to_dict("records")
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
        lines.append(f"compensated window: {w['start']} → {w['end']} = {data['compensated_hours']:g} hours"
                     f"{window_note(inc)}")
    if data["phases"]:
        lines.append("phases:")
        unit = range_unit((p["hours_min"], p["hours_max"]) for p in data["phases"])
        for p in data["phases"]:
            status = {"happened": "", "unreported": " (no source reports this span)"}.get(p["status"], f" ({p['status']})")
            name = "—" if p["status"] == "unreported" else p["name"]
            lines.append(f"  {name}: {p['start']} → {p['end']}, {format_hours(p['hours_min'], p['hours_max'], unit)}{status}")
    known = [d for d in data["durations"].values() if d["known"]]
    unit = range_unit((d["hours_min"], d["hours_max"]) for d in known)
    for metric, d in data["durations"].items():
        name = metric.replace("_", " ")
        if not d["known"]:
            lines.append(f"{name}: not known ({d['from']} → {d['to']}: {d['reason']})")
            continue
        basis = f"; {d['start_note']}" if d.get("start_note") else ""
        lines.append(f"{name}: {format_hours(d['hours_min'], d['hours_max'], unit)} ({d['from']} → {d['to']}{basis})")
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
