"""Mitigation groups: rules published as data, every action of a record counted, unmatched texts shown.

Each rule of incident/io/mitigation_groups.csv is checked with a real
mitigation text of the ISSRE'22 data set (its `example`), and the misfilings
the issue found are checked one by one on the records that hold them.
"""

from __future__ import annotations

import argparse
import csv
import re
import tomllib
from fnmatch import fnmatch

import pytest

from conftest import ROOT
from incident.analysis.history import group_stats, group_values
from incident.cli.history import add_parser
from incident.core.errors import IncidentError
from incident.io.issre import (
    MITIGATION_FILE, MITIGATION_GROUPS, MITIGATION_RULES, OTHER_GROUP, mitigation_category, mitigation_groups,
    mitigation_rules, unmatched_actions,
)

with MITIGATION_FILE.open(encoding="utf-8", newline="") as fh:
    ROWS = list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def texts(issre):
    return {a for actions in issre["mitigation_actions"] for a in actions}


def test_the_rules_are_the_shipped_file():
    assert [tuple(r.values()) for r in ROWS] == [tuple(rule) for rule in MITIGATION_RULES]
    assert MITIGATION_GROUPS[-1] == OTHER_GROUP and len(set(MITIGATION_GROUPS)) == len(MITIGATION_GROUPS)


def test_the_file_is_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["incident"]
    relative = MITIGATION_FILE.relative_to(ROOT / "incident").as_posix()
    assert any(fnmatch(relative, p) for p in patterns), patterns


@pytest.mark.parametrize("row", range(len(ROWS)), ids=[f"{r['group']}: {r['example']}" for r in ROWS])
def test_each_rule_groups_its_real_example(row, texts):
    rule = ROWS[row]
    assert rule["example"] in texts  # a text of the data set, not made up
    assert re.search(rule["pattern"], rule["example"].lower())
    assert mitigation_category(rule["example"]) == rule["group"]  # no earlier rule takes it


@pytest.mark.parametrize("text, group", [
    ("pause rollout", "isolate or stop"),          # was 'fix or hotfix' through `roll(?:ed)? ?out`
    ("stop rollout", "isolate or stop"),
    ("stopped the rollout of the new configuration", "isolate or stop"),
    ("update config", "change configuration"),     # was 'fix or hotfix' through `update`
    ("update configuration", "change configuration"),
    ("remove the faulty router", "isolate or stop"),  # was 'reroute or fail over' through `route`
    ("remove faulty router", "isolate or stop"),
    ("take the faulty network device out of rotation", "isolate or stop"),
    ("restart servers", "restart or redeploy"),
    ("roll back the recent deployment", "rollback"),
    ("rolled out an update", "fix or hotfix"),
    ("Our DNS services automatically recovered themselves", "self-recovered"),  # was 'change configuration'
    ("shift load", "reroute or fail over"),
    ("took the faulty Azure Software Load balancer out of rotation", "isolate or stop"),
    ("block traffic", "reduce load"),              # was 'reroute or fail over' through `traffic`
    ("beginning power-cycling network switches", "restart or redeploy"),
])
def test_the_misfilings_found(text, group, texts):
    assert text in texts
    assert mitigation_category(text) == group


def test_a_record_counts_in_every_group_of_its_actions(issre):
    rows = issre.set_index("id")
    both = [rid for rid, actions in zip(issre["id"], issre["mitigation_actions"])
            if "stop rollout" in actions and "restart servers" in actions]
    assert both, "the record listing 'stop rollout' and 'restart servers'"
    groups = rows.loc[both[0], "mitigation"].split("+")
    assert {"isolate or stop", "restart or redeploy"} <= set(groups)
    assert groups == mitigation_groups(rows.loc[both[0], "mitigation_actions"])
    # each record once per distinct group of its actions; no action, '(unknown)'
    expected = sum(max(1, len({mitigation_category(a) for a in actions})) for actions in issre["mitigation_actions"])
    stats = group_stats(issre, "mitigation").query("stage == 'ttr'").set_index("group")
    assert stats["N"].sum() == expected > len(issre)
    ttr = rows.loc[both[0], "ttr"]  # the record's duration is a value of each of its groups
    values = group_values(issre, "mitigation", "ttr")
    assert all(ttr in set(values.loc[values["group"] == g, "value"]) for g in groups)
    assert stats.loc["isolate or stop", "N"] == sum("isolate or stop" in (m or "").split("+") for m in issre["mitigation"])
    assert stats.loc["(unknown)", "N"] == issre["mitigation"].isna().sum() == 1


def test_every_group_holds_real_records(issre):
    used = {g for m in issre["mitigation"].dropna() for g in m.split("+")}
    assert used == set(MITIGATION_GROUPS)


def test_unmatched_texts_are_the_other_group(issre, texts):
    unmatched = unmatched_actions(issre)
    assert set(unmatched.index) == {t for t in texts if mitigation_category(t) == OTHER_GROUP}
    assert len(unmatched) == 59 and unmatched.is_monotonic_decreasing
    assert unmatched["restore data"] == sum("restore data" in a for a in issre["mitigation_actions"]) == 2


def test_the_cli_shows_unmatched_texts(issre_dir, capsys):
    parser = argparse.ArgumentParser(prog="incident")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["history", str(issre_dir), "--show-unmatched"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "mitigation texts in no group ('other'): 59 texts" in out
    assert "     2  restore data" in out


def test_a_bad_rules_file_names_file_and_line(tmp_path):
    bad = tmp_path / "rules.csv"
    bad.write_text("group,pattern,example\nrollback,revert,revert change\nbroken,(unclosed,x\n")
    with pytest.raises(IncidentError) as exc:
        mitigation_rules(bad)
    (p,) = exc.value.problems
    assert p.file == str(bad) and p.line == 3 and "not a regular expression" in p.message
