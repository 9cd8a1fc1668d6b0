"""The figures draw what the tables say: positions, sizes, values and text."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import warnings

import matplotlib as mpl
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text

import incident
from incident.analysis.costs import provision_table, sensitivity_table, traffic_table
from incident.market.eventstudy import returns
from incident.analysis.financials import financials_table
from incident.plots import (
    plot_compensation, plot_financials, plot_market, plot_provision, plot_timeline, style,
)
from incident.io.prices import market_prices
from incident.market.reaction import rebased_prices

from conftest import ROOT
from incident.analysis.timeline import compensated_window, format_hours, milestone_table, phase_table

PLOTS = [plot_timeline, plot_provision, plot_compensation, plot_market, plot_financials]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def timeline(weimob):
    ax = plot_timeline(weimob)
    ax.figure.canvas.draw()
    return ax


def with_gid(ax, prefix: str) -> dict:
    """Artists of `ax` by gid, for gids starting with `prefix`."""
    return {a.get_gid(): a for a in ax.findobj(lambda a: (a.get_gid() or "").startswith(prefix))}


def num(t) -> float:
    return float(mdates.date2num(pd.Timestamp(t).tz_convert("UTC").tz_localize(None).to_pydatetime()))


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.findobj(Text) if t.get_text()]


def overlapping(boxes) -> list:
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if box_a.overlaps(box_b)]


# -- timeline ---------------------------------------------------------------------
def test_timeline_one_band_per_phase_with_its_bounds(weimob, timeline):
    phases = phase_table(weimob)
    bands = with_gid(timeline, "phase:")
    cores = {k: v for k, v in bands.items() if not k.endswith(":uncertain")}
    assert len(cores) == len(phases)
    rows = set()
    for _, p in phases.iterrows():
        band = cores[f"phase:{p['id']}"]
        assert band.get_x() == pytest.approx(num(p["start_latest"]))
        assert band.get_width() == pytest.approx(num(p["end"]) - num(p["start_latest"]))
        rows.add(band.get_y())
        uncertain = timeline.findobj(lambda a: a.get_gid() == f"phase:{p['id']}:uncertain")
        expected = [(s, e) for s, e in ((p["start"], p["start_latest"]), (p["end"], p["end_latest"])) if e > s]
        np.testing.assert_allclose(
            sorted((a.get_x(), a.get_x() + a.get_width()) for a in uncertain),
            sorted((num(s), num(e)) for s, e in expected),
        )
    assert len(rows) == len(phases)  # one row each


def test_timeline_one_marker_per_milestone(weimob, timeline):
    milestones = milestone_table(weimob)
    markers = with_gid(timeline, "milestone:")
    assert set(markers) == {f"milestone:{i}" for i in milestones["id"]}
    labels = with_gid(timeline, "milestone-label:")
    for _, m in milestones.iterrows():
        marker = markers[f"milestone:{m['id']}"]
        label = labels[f"milestone-label:{m['id']}"].get_text()
        if m["precision"] == "day":  # a span over the whole local day, not a fake exact time
            assert isinstance(marker, Rectangle)
            assert marker.get_x() == pytest.approx(num(m["time"]))
            assert marker.get_x() + marker.get_width() == pytest.approx(num(m["time_latest"]))
            assert mdates.num2date(marker.get_x(), tz=weimob.tz).hour == 0
        else:
            assert isinstance(marker, Line2D)
            assert marker.get_xdata()[0] == pytest.approx(num(m["time"]))
            hollow = marker.get_markerfacecolor() == "white"
            assert hollow == (bool(m["approximate"]) or m["status"] != "happened")
        assert label.startswith("~") == bool(m["approximate"])


def test_timeline_labels_do_not_overlap(weimob, timeline):
    fig = timeline.figure
    labels = with_gid(timeline, "milestone-label:")
    markers = with_gid(timeline, "milestone:")
    boxes = [(k, a.get_window_extent()) for k, a in labels.items()]
    assert not overlapping(boxes)
    for name, box in boxes:  # no label covers another milestone's marker, and none leaves the figure
        for key, marker in markers.items():
            if key.split(":")[1] != name.split(":")[1]:
                assert not box.overlaps(marker.get_window_extent()), (name, key)
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1


def test_timeline_labels_do_not_overlap_in_a_small_grid_cell(weimob):
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), layout="constrained")
    ax = plot_timeline(weimob, ax=axes[0, 1])
    assert ax is axes[0, 1]
    fig.canvas.draw()
    boxes = [(k, a.get_window_extent()) for k, a in with_gid(ax, "milestone-label:").items()]
    assert not overlapping(boxes)
    assert all(ax.bbox.x0 - 1 <= box.x0 and box.x1 <= ax.bbox.x1 + 1 for _, box in boxes)


def test_timeline_shows_the_computed_compensated_window(weimob, timeline):
    start, end, hours = compensated_window(weimob)
    bracket = with_gid(timeline, "compensated-window")["compensated-window"]
    xs = bracket.get_xdata()
    assert (min(xs), max(xs)) == pytest.approx((num(start.earliest), num(end.earliest)))
    text = " ".join(with_gid(timeline, "compensated-window-label")["compensated-window-label"].get_text().split())
    assert f"{hours:,.0f} h ({format_hours(hours)})" in text and "(to the planned end of the go-live window)" in text
    assert "182" not in text and "states" not in text


def test_timeline_time_axis_is_in_the_incident_zone(weimob, timeline):
    ticks = timeline.xaxis.get_majorticklocs()
    assert all(mdates.num2date(t, tz=weimob.tz).hour == 0 for t in ticks)  # local midnights
    assert weimob.timezone in timeline.get_xlabel()


def test_timeline_of_60000_milestones_labels_the_important_and_marks_the_rest():
    """Issue 21: a label each made the figure place and measure 60,000 texts (the report timed out).

    Past MAX_LABELS, the most important milestones are labelled and the
    others are marks in one path: the figure's work is bounded, whatever the
    number of milestones.
    """
    from incident.core.model import Incident
    from incident.plots import timeline as tl

    base = incident.load(ROOT / "data" / "gitlab-2017")
    data = base.model_dump()
    data["milestones"] += [{"id": f"probe-{i}", "at": f"2017-02-01 {i // 60 % 24:02d}:{i % 60:02d}", "kind": "other",
                            "title": f"Health check {i} answered", "sources": ["S1"]} for i in range(60_000)]
    inc = Incident.model_validate(data)
    ax = plot_timeline(inc)
    ax.figure.canvas.draw()
    labels = with_gid(ax, "milestone-label:")
    assert len(labels) == tl.MAX_LABELS
    core = {m.id for m in base.milestones if m.kind in tl.KINDS[:6]}  # what the durations are made of
    assert core <= {k.split(":", 1)[1] for k in labels}
    assert len(texts(ax)) < tl.MAX_LABELS + 60  # the labels, the phases' and the axes' texts, the legend
    assert len(ax.get_children()) < 4 * tl.MAX_LABELS + 60
    marks = with_gid(ax, "milestone-marks")["milestone-marks"]
    assert 0 < len(marks.get_xdata()) <= 3 * (tl.MARKS + 1)  # one tick (and a pen-up) per shared place at most
    unlabelled = len(inc.milestones) - tl.MAX_LABELS
    assert f"{unlabelled:,} more milestones, without labels" in texts(ax.get_legend())
    assert not overlapping([(k, a.get_window_extent()) for k, a in labels.items()])


# -- costs ------------------------------------------------------------------------
def test_provision_bars_are_the_parts(weimob):
    table = provision_table(weimob)
    for source in (weimob, table):
        ax = plot_provision(source)
        bars = with_gid(ax, "provision:")
        for _, part in table.iterrows():
            assert bars[f"provision:{part['party']}"].get_width() == pytest.approx(part["amount"])
        assert bars["provision:total"].get_width() == pytest.approx(table.attrs["total"])
        # a waterfall: each part starts where the one before it ends, and they reach the total
        parts = sorted((b for k, b in bars.items() if k != "provision:total"), key=lambda b: b.get_x())
        for a, b in zip(parts, parts[1:]):
            assert b.get_x() == pytest.approx(a.get_x() + a.get_width())
        assert parts[-1].get_x() + parts[-1].get_width() == pytest.approx(table.attrs["total"])


def test_provision_amounts_are_labelled_in_millions(weimob):
    ax = plot_provision(weimob)
    shown = texts(ax)
    for amount in provision_table(weimob)["amount"]:
        assert any(t.startswith(f"{amount / 1e6:,.0f} M") for t in shown)


def test_heatmap_is_the_sensitivity_table(weimob):
    ax = plot_compensation(weimob)
    table = sensitivity_table(weimob)
    image = with_gid(ax, "sensitivity")["sensitivity"]
    np.testing.assert_allclose(np.asarray(image.get_array()), table.to_numpy())
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"{r:,.0f}" for r in table.index]
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"{m:.0%}" for m in table.columns]
    cells = {t.get_text() for t in ax.texts}
    assert all(f"{v:,.0f}" in cells for v in table.to_numpy().ravel())
    _, _, hours = compensated_window(weimob)
    assert f"× {hours:,.0f} h / 24" in with_gid(ax, "subtitle")["subtitle"].get_text()
    scheme = with_gid(ax, "traffic-scheme")["traffic-scheme"].get_text()
    for item in traffic_table(weimob)["item"]:
        assert style.renderable(item).split()[0] in scheme


# -- market -----------------------------------------------------------------------
def test_rebased_prices_are_100_on_the_last_close_before_the_incident(weimob):
    rebased = rebased_prices(weimob)
    base = rebased.attrs["base_date"]
    assert base == pd.Timestamp("2020-02-21")  # Friday; the outage began on Sunday evening
    assert rebased.loc[base].tolist() == pytest.approx([100.0, 100.0])
    stock, bench = market_prices(weimob)
    day = pd.Timestamp("2020-03-02")
    assert rebased.loc[day, weimob.market.ticker] == pytest.approx(stock.loc[day, "close"] / stock.loc[base, "close"] * 100)
    assert rebased.loc[day, weimob.market.benchmark] == pytest.approx(bench.loc[day, "close"] / bench.loc[base, "close"] * 100)
    assert rebased[weimob.market.benchmark].isna().sum() > 0  # vendor placeholders are left out


def test_market_figure_draws_the_rebased_series_and_the_market_day(weimob):
    ax = plot_market(weimob)
    rebased = rebased_prices(weimob)
    base = rebased.attrs["base_date"]
    for gid, column in (("stock", weimob.market.ticker), ("benchmark", weimob.market.benchmark)):
        line = with_gid(ax, gid)[gid]
        series = pd.Series(line.get_ydata(), index=pd.DatetimeIndex(line.get_xdata()))
        assert series.loc[base] == pytest.approx(100)
        pd.testing.assert_series_equal(series, rebased[column].dropna().loc[series.index], check_names=False,
                                       check_freq=False, check_index_type=False)
    move = with_gid(ax, "market-move:")["market-move:stock-up"]
    close = market_prices(weimob)[0]["close"]
    day = pd.Timestamp(move.xy[0])
    assert move.get_text().startswith(f"{returns(close).loc[day]:+.2%}")
    assert move.xy[1] == pytest.approx(rebased.loc[day, weimob.market.ticker])
    assert "+12.29%" in move.get_text()  # the day the source reports
    outage = with_gid(ax, "outage")["outage"]
    phases = phase_table(weimob)
    local = [t.tz_convert("Asia/Hong_Kong").tz_localize(None) for t in (phases["start"].min(), phases["end_latest"].max())]
    assert (outage.get_x(), outage.get_x() + outage.get_width()) == pytest.approx(tuple(mdates.date2num(local)))


# -- financials -------------------------------------------------------------------
def test_financial_bars_are_the_figures(weimob):
    ax = plot_financials(weimob)
    table = financials_table(weimob).set_index("id")
    bars = with_gid(ax, "financial:")
    shown = {k.split(":", 1)[1] for k in bars}
    # 2020, the incident's year, has revenue only: it is drawn, its adjusted EBITDA marked as not given
    assert {table.loc[i, "period"] for i in shown} == {"2015", "2018", "H1 2019", "2020"}
    assert {table.loc[i, "metric"] for i in shown} == {"revenue", "adjusted EBITDA"}
    for key, bar in bars.items():
        assert bar.get_height() == pytest.approx(table.loc[key.split(":", 1)[1], "value"])
    assert set(with_gid(ax, "not-given:")) == {"not-given:adjusted EBITDA:2020"}
    year = with_gid(ax, "incident-year")
    assert year["incident-year-label"].get_text() == "incident year 2020"
    revenue_2020 = bars["financial:revenue-2020"]
    ax.figure.canvas.draw()
    span = year["incident-year"].get_window_extent()
    assert span.x0 <= revenue_2020.get_window_extent().x0 <= revenue_2020.get_window_extent().x1 <= span.x1


# -- house style --------------------------------------------------------------------
@pytest.mark.parametrize("plot", PLOTS, ids=lambda p: p.__name__)
def test_plot_returns_the_given_axes_and_names_its_sources(weimob, plot):
    fig, axes = plt.subplots(1, 2, figsize=(14, 5))
    assert plot(weimob, ax=axes[1]) is axes[1]
    assert not axes[0].has_data()
    line = with_gid(axes[1], "source-line")["source-line"]
    assert line.get_text().startswith("Source")
    fig.canvas.draw()
    assert line.get_window_extent().y1 <= axes[1].xaxis.get_tightbbox().y0 + 1  # under the x labels


@pytest.mark.parametrize("folder, plot", [
    ("weimob-2020", plot_timeline), ("fastly-2021", plot_timeline), ("gitlab-2017", plot_timeline),  # 8 d, 3 h, 25 h
    ("weimob-2020", plot_market), ("fastly-2021", plot_market), ("weimob-2020", plot_provision),
], ids=lambda p: getattr(p, "__name__", p))
def test_house_layout_keeps_every_text_inside_the_figure_with_little_to_spare(folder, plot):
    """One measurement lays the figure out as constrained layout would: nothing cut, no wide empty margins."""
    from incident.plots import HouseLayout

    inc = incident.load(ROOT / "data" / folder)
    if plot is plot_timeline:
        fig = plot(inc).figure  # its own figure, at the height its lanes need
    else:
        fig, ax = plt.subplots(figsize=(9, 4), layout=HouseLayout())
        plot(inc, ax=ax)
    assert isinstance(fig.get_layout_engine(), HouseLayout)
    fig.canvas.draw()
    drawn, page = fig.get_tightbbox(), fig.bbox_inches
    assert page.x0 - 0.01 <= drawn.x0 and drawn.x1 <= page.x1 + 0.01
    assert page.y0 - 0.01 <= drawn.y0 and drawn.y1 <= page.y1 + 0.01
    assert drawn.x0 - page.x0 < 0.2 and page.y1 - drawn.y1 < 0.2 and drawn.y0 - page.y0 < 0.2  # inches to spare


def test_plots_leave_the_global_rcparams_alone(weimob):
    plt.figure()  # let pyplot settle its backend first
    before = {k: v for k, v in mpl.rcParams.items() if k != "backend"}
    for plot in PLOTS:
        plot(weimob)
    after = {k: v for k, v in mpl.rcParams.items() if k != "backend"}
    assert after == before


def test_importing_incident_does_not_import_matplotlib():
    code = "import sys, incident, incident.analysis.timeline, incident.analysis.costs; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- Chinese names ----------------------------------------------------------------
def _draw_collecting_glyph_warnings(axes) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for ax in axes:
            ax.figure.canvas.draw()
    return [str(w.message) for w in caught if "Glyph" in str(w.message) and "missing" in str(w.message)]


def _has_cjk(text: str) -> bool:
    return any(0x2E80 <= ord(c) <= 0x9FFF or 0xF900 <= ord(c) <= 0xFFEF for c in text)


def test_person_label():
    assert style.person_label("Sun Taoyong", None) == "Sun Taoyong"
    assert style.person_label("Sun Taoyong", float("nan")) == "Sun Taoyong"  # an empty table cell


def test_with_a_cjk_font_names_carry_the_chinese(weimob):
    if style.cjk_font() is None:
        pytest.skip("no CJK font installed (Debian: fonts-noto-cjk)")
    ax = plot_provision(weimob)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "Sun Taoyong (孫濤勇)" in labels[1]
    assert _draw_collecting_glyph_warnings([ax]) == []


def test_without_a_cjk_font_names_are_romanised_and_no_glyph_is_missing(weimob, monkeypatch):
    monkeypatch.setattr(style, "cjk_font", lambda: None)
    assert style.person_label("Sun Taoyong", "孫濤勇") == "Sun Taoyong"
    axes = [plot(weimob) for plot in PLOTS]
    assert _draw_collecting_glyph_warnings(axes) == []
    for ax in axes:
        assert not [t for t in texts(ax) if _has_cjk(t)]
    labels = [t.get_text() for t in axes[1].get_yticklabels()]
    assert labels[1].splitlines()[0] == "Sun Taoyong"
    assert "孫濤勇" in style.dropped_glyphs()  # so the report can say which font was missing
    assert style.dropped_glyphs() == []  # and asks once per figure
    assert "fonts-noto-cjk" in style.dropped_glyphs_note()


def test_cjk_text_in_a_users_axes_uses_the_house_fonts(weimob):
    """An Axes made outside the house style still gets fonts that have the glyphs."""
    fig, ax = plt.subplots()  # the user's defaults: DejaVu Sans only
    plot_provision(weimob, ax=ax)
    assert _draw_collecting_glyph_warnings([ax]) == []


def test_timeline_of_a_long_span_keeps_ticks_few(tmp_path):
    """A milestone years away (a typo in a year) must not ask for a tick a day."""
    import re

    from conftest import ROOT

    text = (ROOT / "tests" / "corpus" / "incident" / "_valid.yaml").read_text(encoding="utf-8")
    (tmp_path / "incident.yaml").write_text(re.sub(r"at: 2021-", "at: 2001-", text, count=1), encoding="utf-8")
    from incident import load

    inc = load(tmp_path)
    ax = plot_timeline(inc)
    ax.figure.canvas.draw()
    assert len(ax.get_xticks()) < 30
    plt.close(ax.figure)


def test_financials_figure_only_where_periods_are_shared(weimob):
    from incident.analysis.financials import shared_periods

    assert shared_periods(weimob) == ["2015", "2018", "H1 2019"]
    assert shared_periods(weimob, ("revenue", "operating profit")) == ["2020"]
    assert shared_periods(weimob, ("net result", "operating profit")) == []


# -- the time axis scales with the incident: minutes, hours, days ------------------------
def tick_labels(ax) -> list[str]:
    ax.figure.canvas.draw()
    return [t.get_text() for t in ax.get_xticklabels() if t.get_text()]


def tick_step_minutes(ax) -> float:
    ticks = ax.xaxis.get_majorticklocs()
    return float(np.median(np.diff(ticks))) * 24 * 60


def test_a_37_minute_incident_gets_minute_ticks_and_its_day_named(tmp_path):
    from incident.io.statuspage import import_statuspage

    (folder,) = [f for f in import_statuspage(ROOT / "data" / "samples" / "statuspage" /
                                              "githubstatus-incidents-2024-09-16.json", tmp_path)
                 if f.name.endswith("69sb0f8lydp4")]
    inc = incident.load(folder)
    ax = plot_timeline(inc)
    labels = tick_labels(ax)
    assert tick_step_minutes(ax) <= 10  # minute ticks, not one a day
    assert labels[0].splitlines()[1] == "Mon 16 Sep 2024"  # the start day is named
    assert all(re.fullmatch(r"\d\d:\d\d", label.splitlines()[0]) for label in labels)
    durations = [t.get_text() for t in ax.texts if re.search(r"\d (min|s)$", t.get_text())]
    assert durations and not any(".1 h" in d or "0.1" in d for d in durations)  # "22 min", not "0.4 h"


def test_a_three_hour_incident_gets_hour_ticks(tmp_path):
    inc = incident.load(ROOT / "data" / "fastly-2021")  # 09:47 → 12:35 UTC, 2021-06-08
    ax = plot_timeline(inc)
    labels = tick_labels(ax)
    assert 60 <= tick_step_minutes(ax) <= 6 * 60
    assert any("Tue 08 Jun 2021" in label for label in labels)
    days = [label.splitlines()[1] for label in labels if "\n" in label]
    assert len(set(days)) == len(days)  # each day named once, not two identical date ticks


def test_a_weeks_long_incident_gets_day_ticks(weimob, timeline):
    assert 24 * 60 <= tick_step_minutes(timeline) <= 3 * 24 * 60


def test_far_milestones_sit_at_the_edge_with_their_date():
    inc = incident.load(ROOT / "data" / "fastly-2021")
    ax = plot_timeline(inc)
    lo, hi = ax.get_xlim()
    latent = with_gid(ax, "milestone-label:")  # the May deployment is a month before the outage
    far = [t for t in latent.values() if t.get_text().startswith("2021-05-12")]
    assert far and hi - lo < 3  # the axis spans the outage day, not the month before it
