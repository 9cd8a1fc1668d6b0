"""Headline numbers an SRE can trust (issue 22): claims in their units, customer impact as its own figure,
spans that measure nothing reported as "not known", durations that keep their precision."""

from __future__ import annotations

import math

import pytest

import incident
from incident.analysis.claims import check_claims
from incident.analysis.timeline import duration_spans, durations, format_hours, range_unit
from incident.report.postmortem import section
from incident.report.summary import summary, summary_text
from incident.report.views import duration_rows, key_figures, phase_rows

from conftest import ROOT

OKTA, GITLAB, FASTLY = (ROOT / "data" / name for name in ("okta-2022", "gitlab-2017", "fastly-2021"))

CASE = """
id: case
title: A short outage
organisation: {name: Example}
summary: An outage of 27 minutes, recovered fully 70 minutes after it began.
timezone: Etc/UTC
sources:
  - {id: S1, title: Postmortem, publisher: Example, date: 2019-07-02}
milestones:
  - {id: start, at: "2019-07-02 13:42", kind: impact, title: Errors begin, sources: [S1]}
  - {id: paged, at: "2019-07-02 13:45", kind: detection, title: Paged, sources: [S1]}
  - {id: rolled-back, at: "2019-07-02 14:09", kind: mitigation, title: Rolled back, ends_impact: true,
     sources: [S1]}
  - {id: all-clear, at: "2019-07-02 14:52", kind: recovery, title: All services back, sources: [S1]}
claims:
  - id: impact-minutes
    statement: Customers saw errors for 27 minutes
    stated: 27
    unit: minutes
    check: {kind: duration, start: start, end: rolled-back}
    sources: [S1]
  - id: impact-hours
    statement: Customers saw errors for 0.45 hours
    stated: 0.45
    check: {kind: duration, start: start, end: rolled-back}
    sources: [S1]
  - id: recover-minutes
    statement: Fully recovered within 20 minutes
    stated: 20
    unit: min
    check: {kind: duration, start: start, end: all-clear}
    sources: [S1]
"""


@pytest.fixture
def case(write_incident):
    return incident.load(write_incident(CASE))


# -- 1. claims carry units ----------------------------------------------------------------
def test_a_claim_in_minutes_is_checked_and_shown_in_minutes(case):
    claims = check_claims(case).set_index("id")
    row = claims.loc["impact-minutes"]
    assert row.status == "consistent" and row.computed == pytest.approx(27)
    assert "= 27 minutes" in row.note
    assert claims.loc["impact-hours", "status"] == "consistent"  # no unit: hours, as before
    assert claims.loc["recover-minutes", "status"] == "mismatch"  # 70 min, not 20
    assert claims.loc["recover-minutes", "computed"] == pytest.approx(70)
    html = section("claims", case)
    assert "27 minutes" in html and "0.45 minutes" not in html and "1 of 3 do not hold" in html
    assert ("Source claims that the data contradict", "1 of 3") in key_figures(case)


# -- 2. customer impact is its own figure -----------------------------------------------------
def test_customer_impact_is_a_headline_beside_time_to_recover(case):
    d = durations(case).set_index("metric")
    assert d.loc["customer_impact", "to"] == "rolled-back" and d.loc["customer_impact", "hours"] == pytest.approx(27 / 60)
    assert d.loc["time_to_recover", "hours"] == pytest.approx(70 / 60)
    figures = dict(key_figures(case))
    assert figures["Customer impact"] == "27 min"
    assert figures["Time to detect"] == "3 min" and figures["Time to mitigate"] == "27 min"
    assert figures["Time to recover (last recovery reported)"] == "1 h 10 min"
    assert "customer impact: 27 min (start → rolled-back)" in summary_text(case).splitlines()
    assert "Customer impact" in section("summary", case)


@pytest.mark.parametrize("folder, end, text", [(GITLAB, "back-online", "24 h 14 min"), (FASTLY, "mitigated", "2 h 48 min")])
def test_shipped_data_marks_where_customer_impact_ended(folder, end, text):
    inc = incident.load(folder)
    d = durations(inc).set_index("metric")
    assert d.loc["customer_impact", "to"] == end
    assert dict(key_figures(inc))["Customer impact" + _note(inc)] == text


def _note(inc) -> str:
    note = duration_spans(inc).set_index("metric").loc["customer_impact", "start_note"]
    return f" ({note})" if note else ""


def test_customer_impact_needs_an_impact_start(write_incident):
    text = CASE.replace("kind: impact, title: Errors begin", "kind: other, title: Errors begin")
    inc = incident.load(write_incident(text))
    spans = duration_spans(inc).set_index("metric")
    assert not spans.loc["customer_impact", "known"]
    assert "no source says when the impact began" in spans.loc["customer_impact", "reason"]
    assert "customer_impact" not in durations(inc)["metric"].tolist()


# -- 3. a span that measures nothing is "not known" ---------------------------------------------
def test_okta_time_to_detect_is_not_known_not_zero_to_a_day():
    inc = incident.load(OKTA)
    spans = duration_spans(inc).set_index("metric")
    detect = spans.loc["time_to_detect"]
    assert not detect.known and math.isnan(detect.hours_min)
    assert "to itself" in detect.reason
    assert "time_to_detect" not in durations(inc)["metric"].tolist()
    lines = summary_text(inc).splitlines()
    assert not any("mfa-alert → mfa-alert)" in line and "0–24 h" in line for line in lines)
    assert any(line.startswith("time to detect: not known") for line in lines)
    # what is counted from the detection says so
    diagnose = next(line for line in lines if line.startswith("time to diagnose"))
    assert "counted from the first detection" in diagnose
    assert summary(inc, market=False)["durations"]["time_to_detect"]["hours_min"] is None
    html = section("detection", inc)
    assert "not known" in html and "to itself" in html


def test_gitlab_time_to_detect_is_not_known_not_zero_seconds():
    inc = incident.load(GITLAB)
    spans = duration_spans(inc).set_index("metric")
    detect = spans.loc["time_to_detect"]
    assert not detect.known and "same sentence of S2" in detect.reason
    text = summary_text(inc)
    assert "time to detect: 0 s" not in text and "time to detect: not known" in text
    assert "read from S2's report of the detection (spam-detected)" in spans.loc["time_to_recover", "start_note"]
    rows = duration_rows(inc).set_index("measure")
    assert rows.loc["Time to detect", "duration"].startswith("not known: ")


def test_a_span_between_two_milestones_is_refused_only_when_they_share_a_sentence(write_incident):
    quoted = CASE.replace(
        "kind: impact, title: Errors begin, sources: [S1]",
        "kind: impact, title: Errors begin, quote: 'at 13:42 we saw errors rise', sources: [S1]",
    ).replace(
        "kind: detection, title: Paged, sources: [S1]",
        "kind: detection, title: Paged, quote: 'Paged at 13:45 by the error alert', sources: [S1]",
    )
    d = durations(incident.load(write_incident(quoted))).set_index("metric")
    assert d.loc["time_to_detect", "hours"] == pytest.approx(3 / 60)  # different sentences: a duration


# -- 4. durations keep their precision -------------------------------------------------------------
def test_durations_keep_their_minutes():
    assert format_hours(24 + 14 / 60) == "24 h 14 min"  # not "1 d"
    assert format_hours(50 + 5 / 60) == "2 d 2 h 05 min"
    assert format_hours(169) == "7 d 1 h"
    assert format_hours(math.nan) == "not known"


def test_one_unit_for_the_ranges_of_a_table():
    assert format_hours(44, 68) == "44–68 h" and format_hours(48, 96) == "2–4 d"
    unit = range_unit([(44, 68), (48, 96), (3, 3)])
    assert unit == "h" and format_hours(48, 96, unit) == "48–96 h"
    assert range_unit([(3, 3)]) is None


def test_weimob_phases_share_one_unit(weimob):
    durations_shown = phase_rows(weimob)["duration"].tolist()
    ranges = [d for d in durations_shown if "–" in d]
    assert ranges and all(d.endswith(" h") for d in ranges), durations_shown
