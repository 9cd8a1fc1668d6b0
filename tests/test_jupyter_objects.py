"""Notebook objects: an incident as an escaped card, a short repr, the flat API, an ongoing incident."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.formatters import DisplayFormatter

import incident
from conftest import ROOT
from incident.core.errors import IncidentError
from incident.io.loader import validate
from incident.report.display import card_view, incident_card

HOSTILE = "<img src=x onerror=alert(1)>"


def ongoing(**changes) -> dict:
    data = {
        "id": "acme-2024", "title": HOSTILE, "organisation": {"name": "Acme <b>Inc</b>"}, "summary": "s",
        "timezone": "Europe/Berlin", "status": "ongoing", "severity": "SEV1 <script>",
        "sources": [{"id": "S1", "title": "t", "publisher": "p", "date": "2024-05-03"}],
        "milestones": [
            {"id": "start", "at": "2024-05-01 10:00", "kind": "impact", "title": "down", "sources": ["S1"]},
            {"id": "seen", "at": "2024-05-01 10:20", "kind": "detection", "title": "paged", "sources": ["S1"]},
        ],
        "phases": [{"name": "Outage", "start": "start", "impact": "major_outage"}],
    }
    return {**data, **changes}


class Shell:
    """What `load_ipython_extension` needs of an IPython shell."""

    def __init__(self):
        self.display_formatter = DisplayFormatter()


def test_card_escapes_every_text_and_shows_the_facts():
    inc = validate(ongoing())
    html = str(incident_card(inc))
    assert HOSTILE not in html and "<script>" not in html and "<b>Inc" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "ongoing (as of 2024-05-03)" in html and "Europe/Berlin" in html
    assert "time to detect" in html and "20 min" in html
    assert "2 milestones" in html and "1 phase " in html and "1 source " in html and "0 action items" in html


def test_registered_formatter_shows_an_incident_as_its_card(weimob):
    shell = Shell()
    incident.load_ipython_extension(shell)
    data, _ = shell.display_formatter.format(weimob)
    assert data["text/html"] == str(incident_card(weimob))
    assert "Weimob SaaS production data deleted by an insider" in data["text/html"]
    assert "does not quote its source" in data["text/html"]  # the lint warnings are on the card
    assert data["text/plain"] == repr(weimob)


def test_card_view_of_weimob(weimob):
    view = card_view(weimob)
    assert view["dates"] == "~2020-02-23 19:00 → 2020-03-01 20:00" and view["timezone"] == "Asia/Shanghai"
    assert [d["name"] for d in view["durations"]][:4] == ["time to detect", "time to diagnose", "time to mitigate",
                                                          "time to recover"]
    assert view["counts"][0] == "15 milestones"


def test_repr_is_one_short_line(weimob):
    assert repr(weimob) == ("<Incident weimob-2020: Weimob SaaS production data deleted by an insider, "
                            "2020-02-23 → 2020-03-01, 15 milestones>")
    assert repr(validate(ongoing())) == f"<Incident acme-2024: {HOSTILE}, 2024-05-01 → ongoing, 2 milestones>"
    long = validate(ongoing(title="x" * 500))
    assert len(repr(long)) < 140 and "\n" not in repr(long)


def test_an_ongoing_incident_validates_and_shows_ongoing():
    inc = validate(ongoing())
    table = incident.phase_table(inc)
    assert table["end_label"].tolist() == ["ongoing (as of 2024-05-03)"]
    assert table["hours_min"].iloc[0] > 0
    from incident.report.summary import summary_text

    assert "Outage: 2024-05-01T10:00+02:00 → ongoing (as of 2024-05-03)" in summary_text(inc)


def test_an_open_phase_is_refused_unless_ongoing():
    with pytest.raises(IncidentError) as info:
        validate(ongoing(status="resolved"))
    assert [str(p) for p in info.value.problems] == [
        "<data>: phases[0].end: has no end; only an ongoing incident (status: ongoing) may leave a phase open"]


def test_the_flat_api_is_listed_and_lazy():
    for name in ("load", "phase_table", "durations", "plot_timeline", "history", "market_study", "history_summary"):
        assert name in incident.__all__ and callable(getattr(incident, name))
    assert incident.history.__name__ == "history_table" and incident.market_study.__name__ == "incidents_study"
    documented = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert all(f"`{name}" in documented for name in incident.__all__)
    code = "import sys, incident; print(' '.join(m for m in ('pandas', 'IPython', 'matplotlib') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == ""


def test_the_package_ships_its_type_marker():
    assert (Path(incident.__file__).parent / "py.typed").exists()
    assert '"py.typed"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_an_ongoing_incident_compares_and_draws():
    import matplotlib

    matplotlib.use("agg")
    from incident.analysis.compare import compare_table
    from incident.plots import plot_timeline

    inc = validate(ongoing(title="Acme down"))
    table = compare_table(inc, inc)
    assert len(table) > 0
    ax = plot_timeline(inc)
    assert ax.figure is not None
