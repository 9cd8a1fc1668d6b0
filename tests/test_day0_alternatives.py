"""Days 0 that are a judgement: alternatives stated in the incident file, studied beside the rule's day 0.

Real files: Atlassian's outage began before the open of 2022-04-05, its
public update came on 2022-04-12; Okta's admission about 366 customers came
after the close of 2022-03-22.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml

import incident
from conftest import ROOT
from incident.core.errors import IncidentError
from incident.market.dayzero import STATISTICS, day0_choices, day0_sensitivity
from incident.market.eventstudy import DEFAULT_WINDOWS, window_label
from incident.market.reaction import market_event_study
from incident.market.sessions import day_zero, session_of

ATLASSIAN = ROOT / "data" / "atlassian-2022"
OKTA = ROOT / "data" / "okta-2022"


def edited(tmp_path, folder, change):
    """A copy of the incident `folder` whose YAML `change(data)` edits; loaded (or its IncidentError raised)."""
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    path = copy / "incident.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return incident.load(copy)


def with_day0(day, reason="the alternative, as an override"):
    """An edit that makes `day` the file's day 0 override, without alternatives."""
    def change(data):
        data["market"].pop("day0_alternatives", None)
        data["market"]["day0"] = day
        data["market"]["day0_reason"] = reason
    return change


def load_problems(tmp_path, folder, change):
    with pytest.raises(IncidentError) as exc:
        edited(tmp_path, folder, change)
    return exc.value.problems


# -- the real files -----------------------------------------------------------------------------
@pytest.mark.parametrize("folder", [ATLASSIAN, OKTA])
def test_choices_are_the_rule_then_the_files_alternatives(folder):
    inc = incident.load(folder)
    choices = day0_choices(inc)
    assert choices.at[0, "day0"] == day_zero(inc) and choices.at[0, "choice"] == "rule"
    alts = inc.market.day0_alternatives
    assert len(alts) >= 1 and len(choices) == 1 + len(alts)
    for i, alt in enumerate(alts, start=1):
        assert choices.at[i, "day0"] == pd.Timestamp(alt.day) and choices.at[i, "choice"] == "alternative"
        assert choices.at[i, "reason"] == alt.reason
        assert choices.at[i, "sources"] == ", ".join(alt.sources)
    # the rule's sources are those of the milestone it placed
    start = inc.milestones_by_id[inc.market.event_start]
    assert choices.at[0, "sources"] == ", ".join(start.sources)


@pytest.mark.parametrize("folder", [ATLASSIAN, OKTA])
def test_alternatives_quote_only_what_the_file_already_quotes_from_their_sources(folder):
    """No new words put in a source's mouth: each alternative's quote is one the file already gives for a source it cites."""
    inc = incident.load(folder)
    facts = [*inc.milestones, *inc.notes, *inc.impact, *inc.claims]
    for alt in inc.market.day0_alternatives:
        assert alt.quote
        assert any(f.quote == alt.quote and set(f.sources) & set(alt.sources) for f in facts), alt.quote
        assert set(alt.sources) <= {s.id for s in inc.sources}
        assert str(alt.day) in alt.reason  # the reason dates what it speaks of


@pytest.mark.parametrize("folder", [ATLASSIAN, OKTA])
def test_sensitivity_layout_and_rule_column(folder):
    inc = incident.load(folder)
    table = day0_sensitivity(inc)
    days = [f"{d:%Y-%m-%d}" for d in day0_choices(inc)["day0"]]
    assert list(table.columns.names) == ["day0", "statistic"] and table.index.name == "window"
    assert list(table.columns) == [(d, s) for d in days for s in STATISTICS]
    assert list(table.index) == [window_label(w) for w in DEFAULT_WINDOWS]
    rule = market_event_study(inc).car
    pd.testing.assert_frame_equal(table[days[0]], rule[list(STATISTICS)], check_names=False)


@pytest.mark.parametrize("folder", [ATLASSIAN, OKTA])
def test_each_alternative_column_is_the_study_with_that_day_as_the_override(tmp_path, folder):
    """Computed the way a file with `market.day0: <alternative>` is studied: another path to the same numbers."""
    inc = incident.load(folder)
    table = day0_sensitivity(inc, windows=[(0, 0), (0, 4)])
    for alt in inc.market.day0_alternatives:
        other = edited(tmp_path / str(alt.day), folder, with_day0(alt.day))
        assert day_zero(other) == pd.Timestamp(alt.day)
        expected = market_event_study(other, windows=[(0, 0), (0, 4)]).car[list(STATISTICS)]
        pd.testing.assert_frame_equal(table[f"{alt.day}"], expected, check_names=False)
        assert (table[f"{alt.day}"]["car"] != table.iloc[:, 0]).all()  # another day: other numbers


def test_atlassian_alternative_reproduces_the_independent_check():
    """The issue's independent check: CAR[0,+4] goes from about -4.9% to about -0.3% with day 0 on 2022-04-12."""
    table = day0_sensitivity(incident.load(ATLASSIAN), windows=[(0, 4)])
    assert round(table.at["0..4", ("2022-04-05", "car")] * 100, 1) == -4.9
    assert round(table.at["0..4", ("2022-04-12", "car")] * 100, 1) == -0.3


def test_okta_alternative_is_the_session_after_the_after_hours_statement():
    inc = incident.load(OKTA)
    (alt,) = inc.market.day0_alternatives
    statement = inc.milestones_by_id["cso-statement"]
    assert alt.quote == statement.quote and "afterhours" in alt.quote
    # after the close of the statement's date, in New York: the next session is the alternative
    after_close = f"{statement.at}T16:00-04:00"
    assert session_of(after_close, inc.market.exchange) == pd.Timestamp(alt.day)
    assert pd.Timestamp(alt.day) == day_zero(inc) + pd.offsets.BDay(1)  # and it is day +1 of the rule


def test_sensitivity_other_model_and_estimation():
    inc = incident.load(OKTA)
    table = day0_sensitivity(inc, windows=[(0, 1)], model="market-adjusted", estimation=(-60, -2))
    rule = market_event_study(inc, model="market-adjusted", estimation=(-60, -2), windows=[(0, 1)]).car
    assert table.iloc[0, 0] == pytest.approx(rule.at["0..1", "car"], rel=1e-12)


# -- what the file may not say ---------------------------------------------------------------------
def alternatives(*items):
    def change(data):
        data["market"]["day0_alternatives"] = list(items)
    return change


def test_unknown_source_is_refused_at_its_field(tmp_path):
    (p,) = load_problems(tmp_path, ATLASSIAN, alternatives(
        {"day": "2022-04-12", "reason": "a reason", "sources": ["S99"]}))
    assert p.path == "market.day0_alternatives[0].sources[0]" and "unknown source 'S99'" in p.message


@pytest.mark.parametrize("day", ["2022-02-30", "next week"])
def test_a_day_that_is_no_date_is_refused(tmp_path, day):
    found = load_problems(tmp_path, ATLASSIAN, alternatives({"day": day, "reason": "r", "sources": ["S3"]}))
    assert [p.path for p in found] == ["market.day0_alternatives[0].day"]


def test_reason_and_sources_are_required(tmp_path):
    found = load_problems(tmp_path, ATLASSIAN, alternatives({"day": "2022-04-12"}))
    assert {p.path for p in found} == {"market.day0_alternatives[0].reason", "market.day0_alternatives[0].sources"}


def test_a_day_given_twice_or_equal_to_the_override_is_refused(tmp_path):
    alt = {"day": "2022-04-12", "reason": "r", "sources": ["S3"]}
    (p,) = load_problems(tmp_path / "twice", ATLASSIAN, alternatives(alt, {**alt, "sources": ["S3"]}))  # no YAML anchor
    assert p.path == "market.day0_alternatives[1].day" and "given twice" in p.message

    def override_too(data):
        alternatives(alt)(data)
        data["market"]["day0"], data["market"]["day0_reason"] = "2022-04-12", "r"
    (p,) = load_problems(tmp_path / "override", ATLASSIAN, override_too)
    assert p.path == "market.day0_alternatives[0].day" and "is day0 itself" in p.message


def test_a_closed_day_or_the_rules_own_day_is_refused_when_studied(tmp_path):
    good_friday = edited(tmp_path / "closed", ATLASSIAN, alternatives(
        {"day": "2022-04-15", "reason": "r", "sources": ["S3"]}))
    with pytest.raises(IncidentError) as exc:
        day0_sensitivity(good_friday)
    (p,) = exc.value.problems
    assert p.path == "market.day0_alternatives[0].day" and "2022-04-15 is not a XNYS session" in p.message

    same = edited(tmp_path / "same", ATLASSIAN, alternatives({"day": "2022-04-05", "reason": "r", "sources": ["S1"]}))
    with pytest.raises(IncidentError, match="is day 0 already"):
        day0_choices(same)


def test_an_alternative_the_prices_cannot_study_names_its_field(tmp_path):
    early = edited(tmp_path, ATLASSIAN, alternatives({"day": "2021-03-02", "reason": "r", "sources": ["S3"]}))
    with pytest.raises(IncidentError) as exc:
        day0_sensitivity(early)
    (p,) = exc.value.problems
    assert p.path == "market.day0_alternatives[0].day" and "2021-03-02" in p.message


def test_a_file_without_alternatives_has_only_the_rule(tmp_path):
    inc = edited(tmp_path, OKTA, lambda data: data["market"].pop("day0_alternatives"))
    assert list(day0_choices(inc)["choice"]) == ["rule"]
    assert list(day0_sensitivity(inc).columns.get_level_values("day0").unique()) == [f"{day_zero(inc):%Y-%m-%d}"]


def test_market_study_shows_each_alternative_beside_the_rule():
    """`market-study --day0-alternatives`: the JSON holds day0_sensitivity's numbers; the text, the CARs."""
    import json

    from conftest import ROOT, run_cli
    from incident.market.dayzero import day0_sensitivity

    paths = [ROOT / "data" / "atlassian-2022", ROOT / "data" / "okta-2022"]
    done = run_cli("market-study", *paths, "--day0-alternatives", "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)["day0_alternatives"]
    for path in paths:
        inc = incident.load(path)
        table = day0_sensitivity(inc, windows=[(0, 0), (0, 1), (0, 4), (-1, 1)])
        assert set(shown[inc.id]) == set(table.columns.get_level_values("day0"))
        for (day, stat), column in table.items():
            assert [shown[inc.id][day][w][stat] for w in table.index] == pytest.approx(list(column), rel=1e-12)
    text = run_cli("market-study", *paths, "--day0-alternatives")
    assert "atlassian-2022: CAR at each day 0" in text.stdout and "2022-04-12" in text.stdout


def test_readme_states_the_sensitivity_as_computed():
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())

    def car(name: str, window: tuple[int, int]) -> list[str]:
        table = day0_sensitivity(incident.load(ROOT / "data" / name), windows=[window])
        return [f"{v:.2%}".replace("-", "−") for v in table.xs("car", axis=1, level="statistic").iloc[0]]

    rule, alternative = car("atlassian-2022", (0, 4))
    assert f"CAR[0,+4] moves from {rule} at its rule's day 0 (2022-04-05) to {alternative} at its public update of 2022-04-12" in readme
    rule, alternative = car("okta-2022", (0, 0))
    assert f"CAR[0,0] from {rule} to {alternative} the session after" in readme
