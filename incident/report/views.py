"""What each section of the postmortem shows, as plain data for its template.

One function per section, `view_<key>(inc)`, returns a dict: numbers already
computed, tables as DataFrames, text as the incident file gives it. The
templates in `templates/sections/` lay them out; escaping is the template
engine's job, so nothing here builds HTML. Whether a section appears at all
is decided in one place, `present`.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pandas as pd

from incident.analysis.claims import check_claims
from incident.analysis.costs import cash_example, display_name, provision_table, traffic_table
from incident.analysis.timeline import (
    IMPACT_METRIC, NOT_KNOWN, compensated_window, duration_spans, durations, format_hours, incident_start,
    milestone_table, phase_table, range_unit, window_note,
)
from incident.core.model import Incident
from incident.core.text import minus, number, percent, window_text

# (key, heading) in report order.
SECTIONS = [
    ("summary", "Summary"),
    ("impact", "Impact"),
    ("timeline", "Timeline"),
    ("root-cause", "Trigger and root cause"),
    ("detection", "Detection"),
    ("recovery", "Resolution and recovery"),
    ("costs", "Costs and compensation"),
    ("accountability", "Accountability"),
    ("market", "Market reaction"),
    ("financials", "Financial context"),
    ("remediation", "Action items and remediation"),
    ("lessons", "Lessons learned"),
    ("claims", "Claims check"),
    ("glossary", "Glossary"),
    ("sources", "Sources"),
]
HEADINGS = dict(SECTIONS)
METRIC_NAMES = {
    "time_to_detect": "Time to detect",
    "time_to_diagnose": "Time to diagnose",
    "time_to_mitigate": "Time to mitigate",
    "time_to_recover": "Time to recover",
    IMPACT_METRIC: "Customer impact",
}
HEADLINE_METRICS = ("time_to_detect", "time_to_mitigate", IMPACT_METRIC, "time_to_recover")


def present(inc: Incident) -> list[tuple[str, str]]:
    """The sections the incident has data for, in report order: the one place that decides."""
    comp = inc.compensation
    lessons = inc.lessons
    has = {
        "summary": True,
        "impact": bool(inc.impact or inc.phases or inc.provision or inc.customer_impact),
        "timeline": bool(inc.milestones),
        "root-cause": bool(inc.root_cause or inc.contributing_factors or _of_kind(inc, "trigger")),
        "detection": bool(_of_kind(inc, "impact", "detection")),
        "recovery": bool(_of_kind(inc, "diagnosis", "mitigation", "recovery") or inc.phases or inc.responders),
        "costs": bool(inc.provision or (comp and (comp.cash or comp.traffic))),
        "accountability": bool(inc.accountability and (inc.accountability.people or inc.accountability.notes)),
        "market": inc.market is not None,
        "financials": bool(inc.financials),
        "remediation": bool(inc.remediation or inc.action_items),
        "lessons": bool(lessons and (lessons.went_well or lessons.went_wrong or lessons.got_lucky)),
        "claims": bool(inc.claims),
        "glossary": True,
        "sources": True,
    }
    return [(key, title) for key, title in SECTIONS if has[key]]


def _of_kind(inc: Incident, *kinds: str) -> list:
    return [m for m in inc.milestones if m.kind in kinds]


# -- the title block and the summary ----------------------------------------------
def view_title(inc: Incident) -> dict:
    org = inc.organisation
    n = len(inc.sources)
    return {
        "title": inc.title,
        "organisation": display_name(org.name, org.name_original),
        "dates": incident_dates(inc),
        "status": inc.status,
        "severity": inc.severity,
        "authors": ", ".join(inc.authors),
        "sources": f"{n} source{'s' if n != 1 else ''}, numbered at the end",
        "as_of": as_of(inc),
        "contents": present(inc),
    }


def incident_dates(inc: Incident) -> str:
    """'~2020-02-23 19:00 → 2020-03-01 20:00 (Asia/Shanghai)': start to the last recovery that happened."""
    start = incident_start(inc)
    if start is None:
        return ""
    d = durations(inc).set_index("metric")
    end = d.loc["time_to_recover", "to_when"] if "time_to_recover" in d.index else "not recovered"
    return f"{inc.when(start).label()} → {end} ({inc.timezone})"


def generated_date() -> str | None:
    """The build date SOURCE_DATE_EPOCH gives (reproducible builds), or None: a report never prints its run's clock."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).date().isoformat() if epoch.isdigit() else None


def as_of(inc: Incident) -> tuple[str, str]:
    """('Generated', date) from SOURCE_DATE_EPOCH, else ('Latest source', its date)."""
    date = generated_date()
    if date is not None:
        return "Generated", date
    latest = max(inc.sources, key=lambda s: s.date)
    return "Latest source", f"{latest.date} ({latest.id})"


def view_summary(inc: Incident) -> dict:
    return {"summary": inc.summary, "key_figures": key_figures(inc)}


def key_figures(inc: Incident) -> list[tuple[str, str]]:
    """The few numbers a reader looks for first, computed."""
    out = []
    for name in HEADLINE_METRICS:
        value = metric(inc, name)
        if value is not None:
            label = METRIC_NAMES[name] + (" (last recovery reported)" if name == "time_to_recover" else "")
            out.append((label + _basis_note(inc, name), value))
    if inc.compensation and inc.compensation.cash:
        start, end, hours = compensated_window(inc)
        out.append(("Compensated failure time",
                    f"{hours:,.0f} hours ({format_hours(hours)}){window_note(inc)}"))
    if inc.provision:
        out.append(("Compensation provision", money(inc.provision.total, inc.provision.currency)))
    if inc.market is not None:
        out.append(("Share price beyond the market", market_in_words(inc)))
    if inc.claims:
        claims = check_claims(inc)
        n = int((claims["status"] == "mismatch").sum())
        out.append(("Source claims that the data contradict", f"{n} of {len(claims)}"))
    return out


HEADLINE_WINDOW = "0..4"  # the first week of sessions: declared here, not picked after seeing the results


def market_in_words(inc: Incident) -> str:
    """'−19.0% beyond the market over sessions [0,+4] (2020-02-24 → 2020-02-28), significant at 5%'."""
    from incident.market.reaction import market_event_study

    study = market_event_study(inc)
    row = study.car.loc[HEADLINE_WINDOW]
    verdict = "significant at 5%" if row.p < 0.05 else "not significant at 5%"
    return (f"{percent(row.car, 1, plus=True)} beyond the market over sessions {window_text(row.start, row.end)} "
            f"({row['first']:%Y-%m-%d} → {row['last']:%Y-%m-%d}), {verdict} (t = {number(row.t, '.2f')})")


# -- impact and time ----------------------------------------------------------------
def view_impact(inc: Incident) -> dict:
    return {
        "facts": inc.impact,
        "customer_impact": inc.customer_impact,
        "durations": duration_rows(inc),
        "provision": money(inc.provision.total, inc.provision.currency) if inc.provision else None,
        "provision_sources": inc.provision.sources if inc.provision else [],
    }


def duration_rows(inc: Incident) -> pd.DataFrame:
    """The standard durations and customer impact, one unit for the table's ranges; "not known" says why."""
    d = duration_spans(inc)
    unit = range_unit(zip(d["hours_min"], d["hours_max"]))
    return pd.DataFrame({
        "measure": [METRIC_NAMES[m] + _basis_note(inc, m) for m in d["metric"]],
        "from → to": d["from_when"] + " → " + d["to_when"],
        "duration": [format_hours(lo, hi, unit) if known else f"{NOT_KNOWN}: {reason}"
                     for lo, hi, known, reason in zip(d["hours_min"], d["hours_max"], d["known"], d["reason"])],
        "milestones": d["from"] + " → " + d["to"],
    }, columns=["measure", "from → to", "duration", "milestones"])


def _basis_note(inc: Incident, name: str) -> str:
    """' (counted from the first detection: ...)' when the start is not a plain report of the impact's start."""
    d = duration_spans(inc)
    row = d[d["metric"] == name]
    if row.empty or not row["known"].iloc[0] or not row["start_note"].iloc[0]:
        return ""
    return f" ({row['start_note'].iloc[0]})"


def milestone_rows(inc: Incident, kinds: tuple[str, ...] | None = None) -> list[dict]:
    """Milestones in time order, each with its status, quote and sources."""
    t = milestone_table(inc)
    if kinds:
        t = t[t["kind"].isin(kinds)]
    return [
        {"when": r.when, "kind": r.kind, "status": r.status, "title": r.title, "description": r.description,
         "quote": r.quote if isinstance(r.quote, str) else None, "sources": r.sources.split(", ")}
        for r in t.itertuples()
    ]


def view_timeline(inc: Incident) -> dict:
    return {"milestones": milestone_rows(inc)}


def view_root_cause(inc: Incident) -> dict:
    return {"triggers": milestone_rows(inc, ("trigger",)), "facts": inc.root_cause,
            "contributing": inc.contributing_factors}


def metric(inc: Incident, name: str) -> str | None:
    """A standard duration as text ('29–53 h'), 'not known' when its span measures nothing (`duration_spans`
    says why), or None when the sources do not give its end."""
    d = duration_spans(inc).set_index("metric")
    if name not in d.index:
        return None
    return format_hours(d.loc[name, "hours_min"], d.loc[name, "hours_max"])


def metric_reason(inc: Incident, name: str) -> str | None:
    """Why a standard duration is not known, or None."""
    d = duration_spans(inc).set_index("metric")
    return d.loc[name, "reason"] if name in d.index and not d.loc[name, "known"] else None


def moments(inc: Incident, kinds: tuple[str, ...]) -> list[dict]:
    """The milestones of `kinds` as one line each (time and title): the timeline has the details."""
    return [{"when": m["when"], "title": m["title"], "status": m["status"], "sources": m["sources"]}
            for m in milestone_rows(inc, kinds)]


def view_detection(inc: Incident) -> dict:
    return {
        "time_to_detect": metric(inc, "time_to_detect"),
        "reason": metric_reason(inc, "time_to_detect"),
        "started": moments(inc, ("impact",))[:1],
        "detected": moments(inc, ("detection",)),
    }


def view_recovery(inc: Incident) -> dict:
    return {
        "metrics": [(METRIC_NAMES[m] + _basis_note(inc, m), text)
                    for m in ("time_to_diagnose", "time_to_mitigate", IMPACT_METRIC, "time_to_recover")
                    if (text := metric(inc, m))],
        # what was done: only what the sources report as done, never a plan or an estimate
        "steps": [m for m in moments(inc, ("diagnosis", "mitigation", "recovery")) if m["status"] == "happened"],
        "phases": phase_rows(inc),
        "responders": [{"name": display_name(r.name, r.name_original), "role": r.role, "sources": r.sources}
                       for r in inc.responders],
    }


def phase_rows(inc: Incident) -> pd.DataFrame:
    """Phases and the spans no source reports, with their status and duration."""
    t = phase_table(inc, gaps=True)
    unit = range_unit(zip(t["hours_min"], t["hours_max"]))
    return pd.DataFrame({
        "phase": t["phase"],
        "user impact": t["impact"].str.replace("_", " "),
        "status": t["status"].where(t["status"] != "happened", ""),
        "start": t["start_label"],
        "end": t["end_label"],
        "duration": [format_hours(lo, hi, unit) for lo, hi in zip(t["hours_min"], t["hours_max"])],
    })


# -- money ----------------------------------------------------------------------------
def text(value) -> str:
    """A table cell from a value that may be missing (None or NaN): '' rather than 'nan'."""
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def money(amount: float, currency: str = "") -> str:
    return f"{currency} {amount:,.0f}".strip()


def view_costs(inc: Incident) -> dict:
    out: dict = {"provision": None, "cash": None, "traffic": None}
    if inc.provision:
        t = provision_table(inc)
        cur = inc.provision.currency
        out["provision"] = {
            "description": inc.provision.description,
            "rows": [
                {"party": r.label, "role": text(r.role) or ("computed remainder" if r.kind == "remainder" else ""),
                 "amount": money(r.amount, cur), "share": f"{r.share:.1%}",
                 "share_of_named": "" if pd.isna(r.share_of_named) else f"{r.share_of_named:.0%}",
                 "sources": r.sources.split(", ")}
                for r in t.itertuples()
            ],
            "total": money(inc.provision.total, cur),
            "sources": inc.provision.sources,
        }
    comp = inc.compensation
    if comp and comp.cash:
        ex = cash_example(inc)
        out["cash"] = {"scheme": comp.cash, "example": ex, "hours": f"{ex['hours']:,.0f}",
                       "days": f"{ex['days']:.2f}", "duration": format_hours(ex["hours"])}
        if ex["amount"] is not None:
            out["cash"].update(revenue=money(ex["daily_revenue"], ex["currency"]), margin=f"{ex['margin']:.0%}",
                               amount=money(ex["amount"], ex["currency"]))
    if comp and comp.traffic:
        t = traffic_table(inc)
        out["traffic"] = {
            "rows": [{"item": r.item, "quantity": "" if pd.isna(r.quantity) else f"{r.quantity:,.0f}",
                      "unit": text(r.unit)} for r in t.itertuples()],
            "sources": comp.traffic.sources,
        }
    return out


def view_accountability(inc: Incident) -> dict:
    acc = inc.accountability  # no section: no one held responsible and no notes, as `present` reads it
    return {
        "people": [{"name": display_name(p.person, p.name_original), "role": p.role or "", "findings": p.findings,
                    "sources": p.sources} for p in (acc.people if acc else [])],
        "notes": acc.notes if acc else [],
    }


def view_financials(inc: Incident) -> dict:
    return {"figures": [{"metric": f.metric, "period": f.period,
                         "value": ("~" if f.approximate else "") + f"{f.value:,g}", "unit": f.unit,
                         "sources": f.sources} for f in inc.financials]}


def view_remediation(inc: Incident) -> dict:
    items = inc.action_items
    counts = {s: sum(a.status == s for a in items) for s in ("open", "in_progress", "done", "wont_do")}
    parts = [f"{counts['open']} open", f"{counts['in_progress']} in progress", f"{counts['done']} done"]
    if counts["wont_do"]:
        parts.append(f"{counts['wont_do']} not to be done")
    return {"items": inc.remediation, "actions": items, "action_counts": ", ".join(parts)}


# Terms the report uses, defined once; a term is listed when its section is in the report.
GLOSSARY = [
    ("Milestone", None, "A moment a source reports, with the precision it gives: a date alone means the hour is unknown."),
    ("Planned, estimate", None, "What a source said would happen (a plan, a forecast), not what it reported as done; never counted in a duration."),
    ("Phase", "recovery", "A stretch of time at one level of user impact, between two milestones."),
    ("No source reports this span", "recovery", "Time inside the incident that no phase covers: shown, not dropped from the totals."),
    ("Time to detect, diagnose, mitigate, recover", "impact", "From the first impact milestone to the first detection, diagnosis or mitigation, and to the last recovery, among milestones that happened."),
    ("Customer impact", "impact", "From the first impact milestone to the one a source gives as the end of the impact (`ends_impact`); time to recover may run on long after."),
    ("Not known", "impact", "A duration whose span measures nothing: from a milestone to itself, or between two times read from one sentence of a source. Never written as 0."),
    ("Provision", "costs", "Money a company sets aside in its accounts for a cost it expects, here compensation."),
    ("Session", "market", "A day the exchange was open; event-study days are counted in sessions, not calendar days."),
    ("Day 0", "market", "The first session whose trading could react to the incident: news after the close or on a closed day moves to the next session."),
    ("Market model", "market", "Normal returns predicted from the benchmark's by a line fitted on an estimation window before the event."),
    ("Abnormal return (AR), CAR", "market", "The stock's return beyond the model's prediction; the cumulative abnormal return (CAR) adds them over a window such as [0,+4]."),
    ("Claim", "claims", "A figure a source states, recomputed from the data; consistent within the rounding of the figures involved, or a mismatch."),
]


def view_glossary(inc: Incident) -> dict:
    shown = {key for key, _ in present(inc)}
    return {"terms": [(term, text) for term, section, text in GLOSSARY if section is None or section in shown]}


def view_lessons(inc: Incident) -> dict:
    lessons = inc.lessons  # no section: no lessons, as `present` reads it
    groups = [] if lessons is None else [("What went well", lessons.went_well), ("What went wrong", lessons.went_wrong),
                                         ("Where we got lucky", lessons.got_lucky)]
    return {"groups": [(title, facts) for title, facts in groups if facts]}


# -- claims and sources --------------------------------------------------------------------
def view_claims(inc: Incident) -> dict:
    t = check_claims(inc)
    quotes = {c.id: c.quote for c in inc.claims}
    rows = [
        {"statement": r.statement, "quote": quotes[r.id], "sources": r.sources.split(", "),
         "stated": claim_figure(r.stated, r.unit), "computed": claim_figure(r.computed, r.unit), "status": r.status,
         "note": r.note}
        for r in t.itertuples()
    ]
    return {"rows": rows, "mismatches": int((t["status"] == "mismatch").sum()), "total": len(t)}


def claim_figure(value, unit: str) -> str:
    """A figure for the claims table: '96.40%', '150,000,000 CNY', '—' for none."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if unit == "percent":
        return minus(f"{value:,.2f}%")
    if abs(value) >= 1000:
        return f"{value:,.0f} {unit}".strip()
    return f"{value:,.4g} {unit}".strip()


SOURCE_KINDS = {"public": "", "ticket": "ticket", "chat": "chat", "dashboard": "dashboard", "log": "log query",
                "document": "internal document", "person": "person"}


def view_sources(inc: Incident) -> dict:
    """Each source with its kind, and its URL and ticket as links where they are http(s); the unsourced items."""
    rows = []
    for s in inc.sources:
        href = link(s.url)
        rows.append({
            "source": s,
            "kind": SOURCE_KINDS[s.kind],
            "href": href,
            "ticket": s.ticket,
            "ticket_href": link(s.ticket) or href,  # a ticket id links to the source's URL, if it has one
        })
    missing = unsourced(inc)
    return {"sources": rows, "unsourced": missing, "unsourced_count": len(missing)}


def link(url: str | None) -> str | None:
    """`url` if it is an http or https address (a link a reader may follow; the report never fetches it), else None."""
    if not url:
        return None
    from urllib.parse import urlsplit

    text = url.strip()
    if any(c.isspace() or ord(c) < 32 for c in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    return text if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def unsourced(inc: Incident) -> list[str]:
    """What the report states without a source (the file allows it for action items and phases): counted and
    named, never hidden."""
    out = [f"action item: {a.action}" for a in inc.action_items if not a.sources]
    out += [f"phase: {p.name}" for p in inc.phases if not p.sources]
    return out


VIEWS = {
    "title": view_title, "summary": view_summary, "impact": view_impact, "timeline": view_timeline,
    "root-cause": view_root_cause, "detection": view_detection, "recovery": view_recovery, "costs": view_costs,
    "accountability": view_accountability, "financials": view_financials, "remediation": view_remediation,
    "lessons": view_lessons, "claims": view_claims, "glossary": view_glossary, "sources": view_sources,
}


# -- the market ---------------------------------------------------------------------------
def view_market(inc: Incident, study=None) -> dict:
    """The stock against its benchmark: the event-study fit, CARs under three models, flagged bars."""
    from incident.market.eventstudy import MODELS
    from incident.market.reaction import excluded_bars, market_event_study

    study = study or market_event_study(inc)
    by_model = {m: (study if m == study.model else market_event_study(inc, model=m)).car for m in MODELS}
    rows = []
    for window in study.car.index:
        c = study.car.loc[window]
        row = {"window (sessions)": window_text(c.start, c.end),
               "dates": f"{c['first']:%Y-%m-%d} → {c['last']:%Y-%m-%d}"}
        for model in MODELS:
            m = by_model[model].loc[window]
            row[f"CAR, {model} model"] = f"{percent(m.car, 2, plus=True)} (t = {number(m.t, '.2f')}, p = {m.p:.3f})"
        rows.append(row)
    dates = {c.id: c.check.date for c in inc.claims if c.check.kind == "return"}
    checked = check_claims(inc)  # checked once per incident, the return claims among them
    moves = [{"date": dates[r.id], "change": percent(r.computed / 100, 2, plus=True), "note": r.note}
             for r in checked.itertuples() if r.id in dates and pd.notna(r.computed)]
    m = inc.market
    return {
        "market": m,
        "study": study,
        "alpha": number(study.alpha, ".4f"),
        "beta": f"{study.beta:.2f}",
        "cars": pd.DataFrame(rows),
        "flagged": excluded_bars(inc),
        "moves": moves,
    }


# -- a blameless version, for internal use ------------------------------------------------
def blameless(inc: Incident) -> Incident:
    """The incident with people named by their role in the accountability, provision and responders.

    For a report that reviews what happened without pointing at persons. A
    person without a role becomes "person 1", "person 2"...; the remainder
    party of a provision (the company) keeps its name. Free text (summary,
    descriptions) is left as written: edit it in the file if it names people.
    """
    counter = iter(range(1, 10_000))

    def role(role: str | None) -> str:
        return role.split(";")[0].strip() if role else f"person {next(counter)}"

    update: dict = {}
    if inc.accountability:
        people = [p.model_copy(update={"person": role(p.role), "name_original": None}) for p in inc.accountability.people]
        update["accountability"] = inc.accountability.model_copy(update={"people": people})
    if inc.provision:
        by_name = {p.person: p.role for p in inc.accountability.people} if inc.accountability else {}
        parties = [p.model_copy(update={"party": role(p.role or by_name.get(p.party)), "name_original": None})
                   for p in inc.provision.parties]
        update["provision"] = inc.provision.model_copy(update={"parties": parties})
    if inc.responders:
        update["responders"] = [r.model_copy(update={"name": r.role, "name_original": None}) for r in inc.responders]
    anonymous = inc.model_copy(update=update)
    anonymous._folder = inc.folder
    return anonymous
