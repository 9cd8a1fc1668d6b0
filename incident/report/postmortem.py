"""The postmortem's sections as HTML fragments, for the report notebook.

Each `section_*` function takes an incident and returns escaped HTML, or an
empty string when the incident has no data for it, so that the report leaves
the section out instead of printing an empty heading. Every piece of text from
an incident file goes through `markupsafe.escape`; URLs are shown as text,
never as links, so nothing in a report points outside it.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pandas as pd
from markupsafe import Markup, escape

from incident.analysis.claims import check_claims
from incident.analysis.costs import cash_example, provision_table, traffic_table
from incident.core.model import Fact, Incident
from incident.analysis.timeline import compensated_window, durations, format_hours, milestone_table, phase_table

# (anchor, heading) in report order; the notebook shows the ones present.
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
    ("sources", "Sources"),
]
HEADINGS = dict(SECTIONS)


def has_section(inc: Incident, key: str) -> bool:
    """Whether the incident has the data for section `key`."""
    comp = inc.compensation
    return {
        "summary": True,
        "impact": bool(inc.impact or inc.phases or inc.provision),
        "timeline": bool(inc.milestones),
        "root-cause": bool(inc.root_cause or _milestones(inc, "trigger")),
        "detection": bool(_milestones(inc, "impact", "detection")),
        "recovery": bool(_milestones(inc, "mitigation", "recovery")),
        "costs": bool(inc.provision or (comp and (comp.cash or comp.traffic))),
        "accountability": bool(inc.accountability and (inc.accountability.people or inc.accountability.notes)),
        "market": inc.market is not None,
        "financials": bool(inc.financials),
        "remediation": bool(inc.remediation),
        "lessons": bool(inc.lessons and (inc.lessons.went_well or inc.lessons.went_wrong or inc.lessons.got_lucky)),
        "claims": bool(inc.claims),
        "sources": True,
    }[key]


def present_sections(inc: Incident) -> list[tuple[str, str]]:
    return [(key, title) for key, title in SECTIONS if has_section(inc, key)]


# -- small building blocks -----------------------------------------------------
def cite(inc: Incident, ids) -> Markup:
    """Footnote marks linking to the numbered sources: [1][3]."""
    number = {s.id: i for i, s in enumerate(inc.sources, 1)}
    marks = "".join(
        f'<a class="cite" href="#source-{escape(sid)}" title="{escape(sid)}">[{number[sid]}]</a>'
        for sid in ids if sid in number
    )
    return Markup(f"<sup>{marks}</sup>") if marks else Markup("")


def fact_list(inc: Incident, facts: list[Fact]) -> Markup:
    items = "".join(f"<li>{escape(f.text)}{cite(inc, f.sources)}</li>" for f in facts)
    return Markup(f"<ul>{items}</ul>") if items else Markup("")


def table(columns: list[str], rows: list[list], classes: str = "") -> Markup:
    """An HTML table; cells are escaped unless already Markup."""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    cls = f' class="{escape(classes)}"' if classes else ""
    return Markup(f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def heading(key: str, title: str | None = None) -> Markup:
    return Markup(f'<h2 id="{escape(key)}">{escape(title or HEADINGS[key])}</h2>')


def money(amount: float, currency: str = "") -> str:
    return f"{currency} {amount:,.0f}".strip()


def _cell(v):
    if isinstance(v, Markup):
        return v
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    return str(v)


def _milestones(inc: Incident, *kinds: str):
    return [m for m in inc.milestones if m.kind in kinds]


def _milestone_rows(inc: Incident, kinds: tuple[str, ...] | None = None) -> list[list]:
    t = milestone_table(inc)
    by_id = inc.milestones_by_id
    rows = []
    for r in t.itertuples():
        if kinds and r.kind not in kinds:
            continue
        m = by_id[r.id]
        rows.append([r.when, r.kind, Markup(f"<strong>{escape(m.title)}</strong> {escape(m.description)}"), cite(inc, m.sources)])
    return rows


def figure_bundle(fig, dpi: int = 110) -> tuple[dict, dict]:
    """A figure as a PNG display bundle with its title as alternative text.

    Saved here rather than by the inline backend so that the bytes are the
    same on every run (no software or date metadata) and the image has alt
    text for screen readers.
    """
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    titles = [t for ax in fig.axes for t in (ax.get_title(loc="left"), ax.get_title()) if t]
    alt = titles[0] if titles else "Figure"
    data = {"image/png": base64.b64encode(buf.getvalue()).decode("ascii"), "text/plain": alt}
    return data, {"image/png": {"alt": alt}}


# -- the sections ----------------------------------------------------------------
def generated_date(inc: Incident) -> str:
    """SOURCE_DATE_EPOCH if set, else the latest date in the incident's data."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc).date().isoformat()
    dates = [s.date for s in inc.sources] + [inc.when(m.id).earliest.date().isoformat() for m in inc.milestones]
    return max(dates)


def title_block(inc: Incident) -> Markup:
    """Title, organisation, dates, status, authors and the table of contents."""
    t = milestone_table(inc)
    span = ""
    if len(t):
        span = f"{t['when'].iloc[0]} → {t['when'].iloc[-1]} ({inc.timezone})"
    org = inc.organisation
    org_text = escape(org.name) + (Markup(f" ({escape(org.name_original)})") if org.name_original else "")
    toc = "".join(f'<li><a href="#{escape(k)}">{escape(title)}</a></li>' for k, title in present_sections(inc))
    facts = [
        ("Organisation", org_text),
        ("Dates", escape(span)),
        ("Status", escape(inc.status)),
        ("Authors", escape(", ".join(inc.authors)) if inc.authors else ""),
        ("Sources", escape(f"{len(inc.sources)} public sources, numbered at the end")),
        ("Generated", escape(generated_date(inc))),
    ]
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts if v)
    return Markup(
        f'<header class="title-block"><p class="kicker">Postmortem</p><h1>{escape(inc.title)}</h1>'
        f'<dl class="meta">{dl}</dl><nav class="toc"><h2>Contents</h2><ol>{toc}</ol></nav></header>'
    )


def section_summary(inc: Incident) -> Markup:
    out = heading("summary") + Markup(f"<p>{escape(inc.summary)}</p>")
    figures = key_figures(inc)
    if figures:
        out += Markup('<ul class="key-figures">') + Markup("").join(
            Markup(f"<li><span>{escape(k)}</span> <strong>{escape(v)}</strong></li>") for k, v in figures
        ) + Markup("</ul>")
    return out


def key_figures(inc: Incident) -> list[tuple[str, str]]:
    """The few numbers a reader looks for first, computed."""
    out = []
    d = durations(inc).set_index("metric")
    if "time_to_recover" in d.index:
        r = d.loc["time_to_recover"]
        out.append(("Time to full recovery", format_hours(r.hours_min, r.hours_max)))
    if inc.compensation and inc.compensation.cash:
        start, end, hours = compensated_window(inc)
        out.append(("Compensated failure time", f"{hours:g} hours ({start.label()} → {end.label()})"))
    if inc.provision:
        out.append(("Compensation provision", money(inc.provision.total, inc.provision.currency)))
    claims = check_claims(inc) if inc.claims else None
    if claims is not None:
        n = (claims["status"] == "mismatch").sum()
        out.append(("Source claims that the data contradict", f"{n} of {len(claims)}"))
    return out


def section_impact(inc: Incident) -> Markup:
    if not has_section(inc, "impact"):
        return Markup("")
    out = heading("impact") + fact_list(inc, inc.impact)
    d = durations(inc)
    if len(d):
        rows = [[r.metric.replace("_", " "), f"{r.from_when} → {r.to_when}", format_hours(r.hours_min, r.hours_max),
                 f"{r._2} → {r.to}"] for r in d.itertuples()]
        out += Markup("<h3>How long</h3>") + table(["measure", "from → to", "hours", "milestones"], rows)
        out += Markup(
            '<p class="note">Times known only to the day make a duration a range: '
            "the shortest and longest spans the sources allow.</p>"
        )
    if inc.provision:
        out += Markup("<h3>How much money</h3>") + Markup(
            f"<p>Compensation provision: <strong>{escape(money(inc.provision.total, inc.provision.currency))}</strong>"
            f"{cite(inc, inc.provision.sources)}.</p>"
        )
    return out


def section_timeline(inc: Incident) -> Markup:
    if not inc.milestones:
        return Markup("")
    return heading("timeline") + table(["when", "kind", "what", "sources"], _milestone_rows(inc), "timeline")


def phases_table(inc: Incident) -> Markup:
    t = phase_table(inc)
    if not len(t):
        return Markup("")
    rows = [[r.phase, r.impact.replace("_", " "), r.start_label, r.end_label, format_hours(r.hours_min, r.hours_max)]
            for r in t.itertuples()]
    return Markup("<h3>Phases</h3>") + table(["phase", "user impact", "start", "end", "duration"], rows)


def section_root_cause(inc: Incident) -> Markup:
    if not has_section(inc, "root-cause"):
        return Markup("")
    out = heading("root-cause")
    rows = _milestone_rows(inc, ("trigger",))
    if rows:
        out += Markup("<h3>Trigger</h3>") + table(["when", "kind", "what", "sources"], rows)
    if inc.root_cause:
        out += Markup("<h3>Root cause</h3>") + fact_list(inc, inc.root_cause)
    return out


def section_detection(inc: Incident) -> Markup:
    if not has_section(inc, "detection"):
        return Markup("")
    out = heading("detection") + table(["when", "kind", "what", "sources"], _milestone_rows(inc, ("impact", "detection")))
    d = durations(inc).set_index("metric")
    if "time_to_detect" in d.index:
        r = d.loc["time_to_detect"]
        out += Markup(f"<p>Time to detect: {escape(format_hours(r.hours_min, r.hours_max))}.</p>")
    return out


def section_recovery(inc: Incident) -> Markup:
    if not has_section(inc, "recovery"):
        return Markup("")
    return heading("recovery") + table(
        ["when", "kind", "what", "sources"], _milestone_rows(inc, ("diagnosis", "mitigation", "recovery"))
    ) + phases_table(inc)


def section_costs(inc: Incident) -> Markup:
    if not has_section(inc, "costs"):
        return Markup("")
    out = heading("costs")
    if inc.provision:
        t = provision_table(inc)
        cur = inc.provision.currency
        rows = [
            [r.label, r.role or ("computed remainder" if r.kind == "remainder" else ""), money(r.amount, cur),
             f"{r.share:.1%}", "" if pd.isna(r.share_of_named) else f"{r.share_of_named:.0%}",
             cite(inc, r.sources.split(", "))]
            for r in t.itertuples()
        ]
        rows.append([Markup("<strong>Total</strong>"), "", money(inc.provision.total, cur), "100.0%", "", cite(inc, inc.provision.sources)])
        out += Markup("<h3>The provision and who bears it</h3>")
        if inc.provision.description:
            out += Markup(f"<p>{escape(inc.provision.description)}</p>")
        out += table(["party", "role", "amount", "share of total", "share of named parts", "sources"], rows, "money")
    comp = inc.compensation
    if comp and comp.cash:
        cash = comp.cash
        ex = cash_example(inc)
        out += Markup("<h3>Cash scheme</h3>") + Markup(
            f"<p>{escape(cash.formula)}{cite(inc, cash.sources)}</p><ul>"
            f"<li>Revenue: {escape(cash.revenue_basis)}</li><li>Margin: {escape(cash.margin_basis)}</li>"
            f"<li>Failure time: {escape(ex['window_start'])} → {escape(ex['window_end'])} = "
            f"<strong>{ex['hours']:g} hours</strong> ({ex['days']:.2f} days) by the calendar</li></ul>"
        )
        if ex["amount"] is not None:
            worked = (
                f"<p class=\"worked\">Worked example (illustrative inputs): a merchant with an average daily revenue of "
                f"{escape(money(ex['daily_revenue'], ex['currency']))} and a margin of {ex['margin']:.0%} receives "
                f"{escape(money(ex['daily_revenue'], ex['currency']))} × {ex['margin']:.0%} × {ex['hours']:g} h / 24 = "
                f"<strong>{escape(money(ex['amount'], ex['currency']))}</strong>"
            )
            if ex.get("amount_at_stated_hours") is not None:
                worked += (
                    f"; with the source's stated {ex['stated_hours']:g} hours it would be "
                    f"{escape(money(ex['amount_at_stated_hours'], ex['currency']))}"
                )
            out += Markup(worked + ".</p>")
    if comp and comp.traffic:
        t = traffic_table(inc)
        rows = [[r.item, "" if pd.isna(r.quantity) else f"{r.quantity:,.0f}", r.unit or ""] for r in t.itertuples()]
        out += Markup("<h3>Traffic scheme</h3>") + table(["item", "quantity", "unit"], rows) + Markup(
            f"<p class=\"note\">Sources{cite(inc, comp.traffic.sources)}</p>"
        )
    return out


def section_accountability(inc: Incident) -> Markup:
    if not has_section(inc, "accountability"):
        return Markup("")
    from incident.analysis.costs import display_name

    acc = inc.accountability
    rows = [
        [display_name(p.person, p.name_original), p.role or "", Markup("<br>").join(escape(f) for f in p.findings),
         cite(inc, p.sources)]
        for p in acc.people
    ]
    out = heading("accountability")
    if rows:
        out += table(["person", "role", "findings", "sources"], rows)
    return out + fact_list(inc, acc.notes)


def section_market_intro(inc: Incident) -> Markup:
    if inc.market is None:
        return Markup("")
    m = inc.market
    return heading("market") + Markup(
        f"<p>{escape(m.name or m.ticker)} ({escape(m.ticker)}, {escape(m.exchange)}) against {escape(m.benchmark)}, "
        f"daily closes{cite(inc, m.sources)}.</p>"
    )


def section_financials(inc: Incident) -> Markup:
    if not inc.financials:
        return Markup("")
    rows = [[f.metric, f.period, ("~" if f.approximate else "") + f"{f.value:,g}", f.unit, cite(inc, f.sources)]
            for f in inc.financials]
    return heading("financials") + table(["metric", "period", "value", "unit", "sources"], rows, "money")


def event_study_result(inc: Incident):
    """The market-model event study of the incident's stock (see `market`)."""
    from incident.market.reaction import market_event_study

    return market_event_study(inc)


def section_event_study(inc: Incident, result=None) -> Markup:
    """The event-study tables: the fit, CARs under three models, flagged bars."""
    if inc.market is None:
        return Markup("")
    from incident.market.eventstudy import MODELS
    from incident.market.reaction import excluded_bars, market_event_study
    from incident.io.prices import market_prices

    prices = market_prices(inc)
    result = result or market_event_study(inc, prices=prices)
    by_model = {
        m: (result if m == result.model else market_event_study(inc, model=m, prices=prices)).car for m in MODELS
    }
    m = inc.market
    out = Markup(
        f"<h3>Abnormal returns</h3><p>Day 0 is {escape(str(result.event_day.date()))}, the first {escape(m.exchange)} "
        f"session at or after the incident's start. A market model fitted on sessions "
        f"{result.estimation[0]}..{result.estimation[1]} ({escape(str(result.estimation_dates[0].date()))} → "
        f"{escape(str(result.estimation_dates[1].date()))}, {result.n} returns) gives α = {result.alpha:.4f} and "
        f"β = {result.beta:.2f} against {escape(m.benchmark)}. The cumulative abnormal return (CAR) is what the "
        "stock did beyond what the model expected from the market; t and p from the estimation residuals "
        "with the prediction-error correction (MacKinlay 1997).</p>"
    )
    rows = []
    for window in result.car.index:
        row = [window, f"{result.car.loc[window, 'first'].date()} → {result.car.loc[window, 'last'].date()}"]
        for model in MODELS:
            c = by_model[model].loc[window]
            row.append(f"{c.car:+.2%} (t = {c.t:.2f}, p = {c.p:.3f})")
        rows.append(row)
    out += table(["window (sessions)", "dates", *[f"CAR, {mm} model" for mm in MODELS]], rows, "money")
    flagged = excluded_bars(inc, prices)
    if len(flagged):
        items = "".join(
            f"<li>{escape(r.series)} {escape(str(r.date.date()))}: {escape(r.reason)}</li>" for r in flagged.itertuples()
        )
        out += Markup(
            f"<p class=\"note\">Vendor artefacts flagged and left out of every fit (the returns touching them "
            f"are not used):</p><ul class=\"note\">{items}</ul>"
        )
    from incident.analysis.price_claims import check_market_claim

    for c in (c for c in inc.claims if c.check.kind == "return"):
        r = check_market_claim(inc, c, prices)
        if r["computed"] is not None:
            out += Markup(
                f"<p>On {escape(c.check.date)} the stock closed <strong>{r['computed']:+.2f}%</strong> "
                f"({escape(r['note'])}).</p>"
            )
    return out


def section_remediation(inc: Incident) -> Markup:
    if not inc.remediation:
        return Markup("")
    rows = [[r.category, r.action, r.status.replace("_", " "), cite(inc, r.sources)] for r in inc.remediation]
    return heading("remediation") + table(["category", "action", "status", "sources"], rows)


def section_lessons(inc: Incident) -> Markup:
    if not has_section(inc, "lessons"):
        return Markup("")
    out = heading("lessons")
    for title, facts in (("What went well", inc.lessons.went_well), ("What went wrong", inc.lessons.went_wrong),
                         ("Where we got lucky", inc.lessons.got_lucky)):
        if facts:
            out += Markup(f"<h3>{title}</h3>") + fact_list(inc, facts)
    return out


def section_claims(inc: Incident) -> Markup:
    if not inc.claims:
        return Markup("")
    t = check_claims(inc)
    rows = []
    for r in t.itertuples():
        status = Markup(f'<span class="status {escape(r.status.replace(" ", "-"))}">{escape(r.status)}</span>')
        rows.append([Markup(f"{escape(r.statement)}{cite(inc, r.sources.split(', '))}"), _num(r.stated, r.unit),
                     _num(r.computed, r.unit), status, r.note])
    mismatches = int((t["status"] == "mismatch").sum())
    intro = (
        f"<p>Each figure a source states is recomputed from the data where possible. {mismatches} of {len(t)} "
        "do not hold; the tolerance is the rounding of the figures involved.</p>"
    )
    return heading("claims") + Markup(intro) + table(["claim", "stated", "computed", "status", "how"], rows, "claims")


def section_sources(inc: Incident) -> Markup:
    items = []
    for s in inc.sources:
        parts = [escape(s.title), escape(s.publisher)]
        if s.author:
            parts.append(escape(s.author))
        parts.append(escape(s.date))
        if s.url:
            parts.append(Markup(f'<span class="url">{escape(s.url)}</span>'))
        if s.locator:
            parts.append(escape(s.locator))
        if s.note:
            parts.append(Markup(f"<em>{escape(s.note)}</em>"))
        text = Markup("").join(p if i == 0 else (Markup(" ") if str(parts[i - 1]).endswith(".") else Markup(". ")) + p
                               for i, p in enumerate(parts))
        items.append(f'<li id="source-{escape(s.id)}"><span class="sid">{escape(s.id)}</span> {text}</li>')
    return heading("sources") + Markup(f'<ol class="sources">{"".join(items)}</ol>')


def _num(value, unit: str) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if unit == "percent":
        return f"{value:,.2f}%"
    if abs(value) >= 1000:
        return f"{value:,.0f} {unit}".strip()
    return f"{value:,.4g} {unit}".strip()
