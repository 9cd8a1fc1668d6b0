"""Every quote of the Weimob case is the source's own words, and the data say only what the sources say."""

from __future__ import annotations

import os
import re

import pytest

from incident.io.lint import warnings

from conftest import ROOT

S1_TEXT = ROOT.parent / "shared" / "sources" / "finet-2020-03-03.txt"


def squeeze(text: str) -> str:
    """Whitespace removed: the only difference a quote may have from its source."""
    return re.sub(r"\s+", "", text)


def quoted(inc, source_id: str):
    """(field, quote) for every milestone, claim and fact that quotes `source_id`."""
    items = [(f"milestones.{m.id}", m) for m in inc.milestones] + [(f"claims.{c.id}", c) for c in inc.claims]
    facts = [*inc.impact, *inc.root_cause, *inc.notes, *inc.organisation.facts]
    if inc.accountability:
        facts += inc.accountability.notes
    if inc.lessons:
        facts += [*inc.lessons.went_well, *inc.lessons.went_wrong, *inc.lessons.got_lucky]
    items += [(f"fact: {f.text[:40]}", f) for f in facts]
    return [(name, item.quote) for name, item in items if item.quote and source_id in item.sources]


@pytest.fixture(scope="module")
def s1_text():
    if not S1_TEXT.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{S1_TEXT} is missing: CI runs with ../shared beside the project")
        pytest.skip("the S1 text is in ../shared/sources (not shipped with the project)")
    return squeeze(S1_TEXT.read_text(encoding="utf-8"))


def test_every_s1_quote_is_found_verbatim(weimob, s1_text):
    quotes = quoted(weimob, "S1")
    assert len(quotes) >= 20  # every S1 claim and every S1 milestone time, at least
    missing = [name for name, q in quotes if squeeze(q) not in s1_text]
    assert missing == []


def test_every_s1_claim_and_s1_timed_milestone_quotes_s1(weimob):
    unquoted = [c.id for c in weimob.claims if "S1" in c.sources and not c.quote]
    assert unquoted == []
    timed_by_s1 = [m.id for m in weimob.milestones if m.sources == ["S1"] and not m.quote]
    assert timed_by_s1 == []


def test_a_quote_that_is_not_in_the_source_is_caught(s1_text):
    # the slip of the old fact sheet: S1 never states the window's length
    assert squeeze("7天14小時") not in s1_text and squeeze("182小時") not in s1_text
    assert squeeze("自2月23日晚7點至3月3日上午9點") in s1_text


def test_no_figure_is_attributed_to_a_source_that_does_not_state_it(weimob):
    # S1 gives +12.29% but no prices; the prices are S7's
    stock_up = weimob.milestones_by_id["stock-up"]
    assert "S7" in stock_up.sources
    claim = next(c for c in weimob.claims if c.id == "return-2020-03-02")
    assert "5.39" not in claim.statement and "4.80" not in claim.statement
    # the stock code is not in S1
    listing = [f for f in weimob.organisation.facts if "2013" in f.text and "code" in f.text.lower()]
    assert listing and all("S1" not in f.sources for f in listing)


def test_planned_is_not_shown_as_happened(weimob):
    m = weimob.milestones_by_id
    assert m["migration-start"].status == m["data-online"].status == "planned"
    assert "fully online" not in m["data-online"].title.lower()


def test_validation_warns_about_a_claim_without_a_quote(weimob):
    # S6 (the annual results) and S2 (the letter) are known from copies whose text the project lacks
    warned = {weimob.claims[int(p.path[7:-7])].id for p in warnings(weimob)}
    assert warned == {"revenue-lost-2020", "company-share"}
    unquoted = weimob.model_copy(update={"claims": [weimob.claims[0].model_copy(update={"quote": None})]})
    (problem,) = warnings(unquoted, "x.yaml")
    assert problem.path == "claims[0].quote" and "does not quote" in problem.message
