"""How the library's objects show in a notebook: an incident as a card, a market study as its tests table.

Plain views (`card_view`) feed a template of `templates/sections/`
(autoescape on), so a title such as `<img src=x onerror=...>` is shown as
those characters. The model cannot import this module (core is below
report): the package registers these functions with IPython's display
formatter instead (`incident.load_ipython_extension`).
"""

from __future__ import annotations

from markupsafe import Markup

from incident.analysis.timeline import duration_spans, format_hours, ongoing_label, range_unit
from incident.core.model import Incident, duration_start
from incident.io.lint import warnings
from incident.market.study import MarketStudy
from incident.report.fragments import fragment, table

__all__ = ["card_view", "incident_card", "study_table"]


def card_view(inc: Incident) -> dict:
    """The card's data as plain text: title, dates, status, durations, counts, warnings."""
    start_id = duration_start(inc)
    start = inc.when(start_id).label() if start_id else "no impact or detection reported"
    recoveries = [inc.when(m.id) for m in inc.milestones if m.kind == "recovery" and m.status == "happened"]
    if inc.status == "ongoing":
        end = ongoing_label(inc)
    elif recoveries:
        end = max(recoveries, key=lambda w: w.bounds()[1]).label()
    else:
        end = "no recovery reported"
    spans = duration_spans(inc)
    unit = range_unit(zip(spans["hours_min"], spans["hours_max"])) if len(spans) else None
    durations = [
        {"name": r["metric"].replace("_", " "),
         "value": format_hours(r["hours_min"], r["hours_max"], unit) if r["known"] else "not known",
         "note": "" if r["known"] else r["reason"]}
        for r in spans.to_dict("records")
    ]
    counts = [(len(inc.milestones), "milestone"), (len(inc.phases), "phase"), (len(inc.sources), "source"),
              (len(inc.action_items), "action item")]
    return {
        "id": inc.id,
        "title": inc.title,
        "organisation": inc.organisation.name,
        "dates": f"{start} → {end}",
        "timezone": inc.timezone,
        "status": inc.status,
        "severity": inc.severity or "not rated",
        "durations": durations,
        "counts": [f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts],
        "warnings": [f"{p.path}: {p.message}" for p in warnings(inc)],
    }


def incident_card(inc: Incident) -> Markup:
    """The incident as a compact HTML card (IPython's text/html for an `Incident`)."""
    return fragment("incident-card", **card_view(inc))


def study_table(study: MarketStudy) -> Markup:
    """A market study as its table of tests, one row per window (IPython's text/html for a `MarketStudy`)."""
    from incident.market.study import TESTS
    from incident.report.study import tests

    columns = {"window": ("Window (sessions)", "text"), "n": ("Events", "count"), "caar": ("CAAR", "return"),
               **{t: (t, "written") for t in TESTS}}
    events = len(study.events)
    heading = (f"<p><strong>Market study</strong>: {events} events, {study.model} model, estimation "
               f"{study.estimation[0]}..{study.estimation[1]}</p>")
    return Markup(heading) + table(tests(study), columns)
