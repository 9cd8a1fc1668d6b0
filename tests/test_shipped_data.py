"""Every incident the project ships validates, draws its figures and renders its postmortem.

What validates must also render: an incident that the format accepts (no
phases, no provision, no market section, ...) gets each of its figures and
its report. The figures are drawn here as the report draws them, onto an Axes
of the report's size, so that a failing figure is found without a kernel.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pytest
from matplotlib.text import Text

import incident
from conftest import ROOT
from incident.cli import main

FOLDERS = sorted(p.parent for p in (ROOT / "data").glob("*/incident.yaml"))


def test_the_project_ships_its_incidents():
    assert len(FOLDERS) >= 8
    assert {"weimob-2020", "okta-2022", "equifax-2017", "gitlab-2017"} <= {f.name for f in FOLDERS}


def figures(inc) -> list[tuple]:
    """(plot, args, kwargs) of every figure the postmortem draws for `inc`, on the same conditions."""
    from incident.analysis.financials import financials_table
    from incident.plots import plot_compensation, plot_financials, plot_provision, plot_timeline
    from incident.report.postmortem import has_section

    drawn = []
    if has_section(inc, "timeline"):
        drawn.append((plot_timeline, (inc,), {}))
    if inc.provision:
        drawn.append((plot_provision, (inc,), {}))
    if inc.compensation and inc.compensation.cash and inc.compensation.cash.sensitivity_revenues:
        drawn.append((plot_compensation, (inc,), {}))
    if inc.market is not None:
        from incident.market.reaction import market_event_study
        from incident.market.sessions import session_table
        from incident.plots import plot_event_study, plot_market

        drawn.append((plot_market, (inc,), {}))
        drawn.append((plot_event_study, (market_event_study(inc),), {"milestones": session_table(inc), "sources": inc}))
    if financials_table(inc)["metric"].isin(["revenue", "adjusted EBITDA"]).any():
        drawn.append((plot_financials, (inc,), {}))
    return drawn


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_every_figure_of_a_shipped_incident_draws(folder):
    from incident.plots import HouseLayout

    assert matplotlib.get_backend().lower() == "agg"  # conftest: MPLBACKEND=Agg
    inc = incident.load(folder)
    drawn = figures(inc)
    assert drawn, "every shipped incident has at least its timeline"
    for plot, args, kwargs in drawn:
        fig, ax = plt.subplots(figsize=(9, 4.2), layout=HouseLayout())
        try:
            assert plot(*args, ax=ax, **kwargs) is ax, plot.__name__
            fig.canvas.draw()  # dates and units are converted only when drawn
            assert ax.has_data(), plot.__name__
        finally:
            plt.close(fig)


@pytest.mark.parametrize("folder", [f for f in FOLDERS if f.name in ("okta-2022", "equifax-2017")],
                         ids=lambda f: f.name)
def test_market_figure_without_phases_says_no_outage_is_shaded(folder):
    """A breach has milestones but no phases: nothing is shaded as an outage, and the figure says so."""
    from incident.plots import plot_market

    inc = incident.load(folder)
    assert not inc.phases and inc.market is not None
    fig, ax = plt.subplots(figsize=(9, 4.2))
    try:
        plot_market(inc, ax=ax)
        gids = {a.get_gid() for a in ax.findobj()}
        assert "outage" not in gids
        note = next(a for a in ax.findobj() if a.get_gid() == "no-outage")
        assert note.get_text() == "No phases recorded: no outage shaded"
        fig.canvas.draw()
        moves = sorted((a for a in ax.texts if (a.get_gid() or "").startswith("market-move:")),
                       key=lambda a: a.xy[0])
        assert len(moves) >= 2
        boxes = [Text.get_window_extent(m) for m in moves]  # the notes' text, without their arrows
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])  # stacked, not overprinted
        assert all(box.y1 <= ax.bbox.y1 + 1 for box in boxes)  # inside the axes
    finally:
        plt.close(fig)


@pytest.mark.slow
@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_every_shipped_incident_validates_and_renders(folder, tmp_path, capsys):
    from incident.report.render import render

    assert main(["validate", str(folder)]) == 0, capsys.readouterr().err
    out = render(folder, tmp_path / "x.html")  # raises if any section fails
    assert incident.load(folder).title.split()[0] in out.read_text(encoding="utf-8")
