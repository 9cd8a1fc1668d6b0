"""The postmortem's sections as HTML, from templates fed by `incident.report.views`.

`section(key, inc)` renders `templates/sections/<key>.html.j2` with the view
of that section; Jinja2's autoescape escapes every piece of text from the
incident file. A source's http(s) URL or ticket is a link a reader may follow
(`rel="noreferrer noopener"`; any other scheme stays text), and nothing in a
report is fetched from outside it. A section the incident has no data for renders as
nothing (`views.present` decides which appear).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from markupsafe import Markup

from incident.core.model import Incident
from incident.report.views import HEADINGS, SECTIONS, VIEWS, blameless, present, view_market

TEMPLATES = Path(__file__).resolve().parent / "templates"
KEYS = frozenset(["title", *HEADINGS])  # what `section` renders

__all__ = ["SECTIONS", "HEADINGS", "KEYS", "blameless", "present", "has_section", "section", "market_sections",
           "figure_bundle", "figure_title", "environment"]


@lru_cache(maxsize=1)
def environment():
    """The Jinja2 environment of the section templates (autoescape on, undefined names are errors)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "sections"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def has_section(inc: Incident, key: str) -> bool:
    return key in dict(present(inc)) or key == "title"


def render(template: str, inc: Incident, **view) -> Markup:
    """One template with the incident's citation numbers and quote languages."""
    numbers = {s.id: i for i, s in enumerate(inc.sources, 1)}

    def quote_language(ids) -> str | None:
        """The language of the first cited source that names one (for `<q lang=...>`)."""
        return next((inc.sources_by_id[i].language for i in ids
                     if i in inc.sources_by_id and inc.sources_by_id[i].language), None)

    html = environment().get_template(f"{template}.html.j2").render(
        source_numbers=numbers, quote_language=quote_language, **view
    )
    return Markup(html.strip())


def section(key: str, inc: Incident) -> Markup:
    """The HTML of section `key` ('title', 'summary', ... 'sources'), or nothing if the incident lacks it."""
    if not has_section(inc, key):
        return Markup("")
    if key == "market":
        return market_sections(inc)[0]
    return render(key, inc, **VIEWS[key](inc))


def market_sections(inc: Incident, study=None) -> tuple[Markup, Markup]:
    """The market section's heading and introduction, and its event-study part (shown after the figures)."""
    if inc.market is None:
        return Markup(""), Markup("")
    view = view_market(inc, study)
    return render("market", inc, **view), render("event-study", inc, **view)


def figure_bundle(fig, alt: str | None = None) -> tuple[dict, dict]:
    """A figure as an SVG display bundle with `alt`, else its title, as alternative text.

    SVG stays sharp on any screen and is a fraction of a PNG's size; text is
    kept as text (with a generic fallback font, so a reader's browser finds
    Chinese glyphs even where the figure was made without them). Saved here
    rather than by the inline backend so that the bytes are the same on every
    run (no date, fixed ids). A figure whose texts reach past its edges (a
    long title) is saved again with its edges moved out to hold them, as the
    inline backend would; any other is saved once, as it is.
    """
    import io
    import re

    import matplotlib as mpl

    buf = io.StringIO()
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": "incident"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
        if overflows(fig):  # measured after the save, which ran the figure's layout
            buf = io.StringIO()  # an explicit box: "tight" leaves an SVG's overflowing annotations out
            fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches=fig.get_tightbbox().padded(4 / 72))
    svg = re.sub(r"(font-family: [^;\"]+)", r"\1, sans-serif", buf.getvalue())
    svg = svg[svg.index("<svg"):]  # the XML declaration and doctype are the file's, not the page's
    alt = alt or figure_title(fig)
    return {"image/svg+xml": svg, "text/plain": alt}, {"image/svg+xml": {"alt": alt}}


def overflows(fig, slack: float = 1 / 72) -> bool:
    """Whether anything drawn in `fig` (as last laid out) reaches more than `slack` inches past its edges."""
    drawn = fig.get_tightbbox()
    return (drawn.x0 < -slack or drawn.y0 < -slack or drawn.x1 > fig.get_figwidth() + slack
            or drawn.y1 > fig.get_figheight() + slack)


def figure_title(fig) -> str:
    """What a figure shows, for its alternative text: its suptitle, its first Axes title, or its axis labels.

    Never the bare word "Figure": a screen reader would say nothing a reader
    could use. A figure without any of them is described by its axes' labels.
    """
    suptitle = fig.get_suptitle()
    titles = [t for ax in fig.axes for t in (ax.get_title(loc="left"), ax.get_title()) if t]
    if suptitle or titles:
        return suptitle or titles[0]
    labels = [t for ax in fig.axes for t in (ax.get_ylabel(), ax.get_xlabel()) if t]
    return f"Chart of {' against '.join(labels[:2])}" if labels else "Chart without a title or axis labels"
