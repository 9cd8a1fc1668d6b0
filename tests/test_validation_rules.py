"""What validates must report (issue 21): every rule in the models, one line naming the field, exit 2.

The rules that span fields live in the pydantic models, so that
`Incident.model_validate` from code applies them as `incident.load` does; the
checks that need the price files and the calendar are `check_market`, which
`incident validate` runs (and the report before any notebook).
"""

from __future__ import annotations

import os
import shutil

import pytest
import yaml
from pydantic import ValidationError

import incident
from conftest import ROOT, WEIMOB, run_cli
from incident.core.model import Incident
from incident.io.yamlfile import load_yaml
from incident.market.checks import check_market


def weimob_data() -> dict:
    return yaml.safe_load((WEIMOB / "incident.yaml").read_text(encoding="utf-8"))


def write_folder(tmp_path, data: dict | None = None, text: str | None = None, name: str = "case"):
    """A copy of the Weimob folder (prices included) with `data` or `text` as its incident.yaml."""
    folder = tmp_path / name
    shutil.copytree(WEIMOB, folder)
    if text is None:
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    (folder / "incident.yaml").write_text(text, encoding="utf-8")
    return folder


def one_error_line(result, field: str, words: str) -> str:
    """The command failed with status 2 and one `error:` line naming the field; no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert (not field or f" {field}:" in errors[0]) and words in errors[0], errors[0]
    return errors[0]


def _listing(d):
    d["market"]["listing_date"] = "2019-02-30"


def _same_ticker(d):
    d["market"]["benchmark"] = " 2013.hk"


def _same_price_file(d):
    d["market"]["benchmark_prices"] = "./" + d["market"]["prices"]


def _day0(d):
    d["market"].update(day0="2020-02-30", day0_reason="the market learned of it later")


def _due(d):
    d["action_items"] = [{"action": "back up the database", "type": "prevent", "due": "2020-13-45"}]


def _price_claim(d):
    d["claims"].append({"id": "old-close", "statement": "closed at 3.10", "stated": 3.1,
                        "check": {"kind": "price", "date": "2017-02-30"}, "sources": ["S7"]})


def _github_style_time(d):  # as GitHub and Statuspage write times: ISO 8601 with Z and milliseconds
    d["milestones"][0]["at"] = "2020-02-30T11:00:00.000Z"


def _source_date(d):
    d["sources"][0]["date"] = "2020-02-31"


# (name, how to break the Weimob data, field, words of the message)
MODEL_CASES = [
    ("listing-date", _listing, "market.listing_date", "'2019-02-30' is not a real date"),
    ("ticker-is-benchmark", _same_ticker, "market.benchmark", "is the stock itself"),
    ("benchmark-file-is-the-stock's", _same_price_file, "market.benchmark_prices", "the stock's own price file"),
    ("day0-impossible", _day0, "market.day0", "2020-02-30"),
    ("due-impossible", _due, "action_items[0].due", "'2020-13-45' is not a real date"),
    ("price-claim-date", _price_claim, "claims[9].check.date", "'2017-02-30' is not a real date"),
    ("github-style-time", _github_style_time, "milestones[0].at", "'2020-02-30' is not a real date"),
    ("source-date", _source_date, "sources[0].date", "'2020-02-31' is not a real date"),
]


@pytest.mark.parametrize("name,mutate,field,words", MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_load_and_model_validate_refuse_it(name, mutate, field, words, tmp_path):
    data = weimob_data()
    mutate(data)
    folder = write_folder(tmp_path, data)
    with pytest.raises(incident.IncidentError) as caught:
        incident.load(folder)  # what `incident report` checks before it runs anything
    assert [(p.path, words in p.message) for p in caught.value.problems] == [(field, True)]
    assert caught.value.problems[0].line is not None
    with pytest.raises(ValidationError) as caught:  # from code, without the loader: the same rules
        Incident.model_validate(load_yaml(folder / "incident.yaml")[0])
    assert words in str(caught.value)


@pytest.mark.parametrize("name,mutate,field,words", MODEL_CASES[:2], ids=[c[0] for c in MODEL_CASES[:2]])
def test_validate_gives_one_line_and_exit_2(name, mutate, field, words, tmp_path):
    data = weimob_data()
    mutate(data)
    one_error_line(run_cli("validate", write_folder(tmp_path, data)), field, words)


def test_cross_field_rules_apply_to_model_validate_from_code():
    data = load_yaml(WEIMOB / "incident.yaml")[0]
    assert Incident.model_validate(data).id == "weimob-2020"
    data["milestones"][0]["sources"] = ["S99"]
    with pytest.raises(ValidationError, match=r"milestones\[0\]\.sources\[0\]: unknown source 'S99'"):
        Incident.model_validate(data)
    data = load_yaml(WEIMOB / "incident.yaml")[0]
    data["provision"]["total"] = 1.0
    with pytest.raises(ValidationError, match="parties: named parts add up to 50,000,000, more than the total 1"):
        Incident.model_validate(data)


def test_broken_price_file_is_caught_before_the_report(tmp_path):
    folder = write_folder(tmp_path, weimob_data())
    prices = folder / weimob_data()["market"]["prices"]
    lines = prices.read_text(encoding="utf-8").splitlines()
    prices.write_text("\n".join(lines[:200] + ["2019-11-01,abc"] + lines[200:]) + "\n", encoding="utf-8")
    inc = incident.load(folder)  # the incident file itself is fine
    with pytest.raises(incident.IncidentError) as caught:
        check_market(inc)
    assert caught.value.problems[0].file == str(prices)
    line = one_error_line(run_cli("validate", folder), "", "")
    assert str(prices) in line


def test_day0_outside_the_prices_is_caught_before_the_report(tmp_path):
    data = weimob_data()
    data["market"].update(day0="2018-06-01", day0_reason="a test")
    inc = incident.load(write_folder(tmp_path, data))
    with pytest.raises(incident.IncidentError) as caught:
        check_market(inc)
    assert caught.value.problems[0].path == "market.day0"
    one_error_line(run_cli("validate", inc.folder), "market.day0", "2018-06-01")


def test_check_market_passes_the_shipped_incident_and_skips_one_without_market(tmp_path):
    check_market(incident.load(WEIMOB))
    check_market(incident.load(ROOT / "data" / "gitlab-2017"))


# -- YAML 1.1 numbers ------------------------------------------------------------------
@pytest.mark.parametrize("written,words", [("1:30", "base-60"), ("010", "leading zero"), ("-07", "leading zero"),
                                            ("1:30:05.5", "base-60")])
def test_yaml_11_numbers_are_refused_with_a_hint_to_quote(written, words, weimob_text, write_incident):
    folder = write_incident(weimob_text.replace("total: 150000000", f"total: {written}", 1))
    with pytest.raises(incident.IncidentError) as caught:
        incident.load(folder)
    [problem] = caught.value.problems
    assert problem.path == "provision.total" and words in problem.message and "quote" in problem.message
    one_error_line(run_cli("validate", folder), "provision.total", words)


def test_quoted_and_ordinary_numbers_still_read(weimob_text, write_incident):
    text = weimob_text.replace("status: resolved", "status: resolved\nseverity: \"010\"", 1)
    text = text.replace('authors: ["incident project (from the public sources listed)"]', "authors: ['1:30']", 1)
    inc = incident.load(write_incident(text.replace("total: 150000000", "total: 150000000.0", 1)))
    assert inc.severity == "010" and inc.authors == ["1:30"] and inc.provision.total == 150_000_000


# -- money is decimal ------------------------------------------------------------------
def _provision(total, *amounts) -> dict:
    data = weimob_data()
    parties = data["provision"]["parties"]
    data["provision"].update(total=total, parties=[dict(parties[i], amount=a) for i, a in enumerate(amounts)])
    data["claims"] = [c for c in data["claims"] if c["check"]["kind"] != "provision"]
    return data


def test_parts_that_add_up_exactly_to_the_total_are_accepted(tmp_path):
    from incident.analysis.costs import provision_table

    inc = incident.load(write_folder(tmp_path, _provision(0.3, 0.1, 0.2)))
    assert inc.provision.named_total == 0.3 and inc.provision.remainder == 0.0
    table = provision_table(inc)
    assert table["amount"].tolist() == [0.1, 0.2, 0.0]


def test_parts_over_the_total_name_both_sums_exactly(tmp_path):
    with pytest.raises(incident.IncidentError) as caught:
        incident.load(write_folder(tmp_path, _provision(0.3, 0.1, 0.21)))
    [problem] = caught.value.problems
    assert problem.path == "provision.parties"
    assert problem.message == "named parts add up to 0.31, more than the total 0.3"


def test_provision_claims_are_exact_too(tmp_path):
    from incident.analysis.claims import check_claims

    data = _provision(0.3, 0.1, 0.1)
    data["claims"].append({"id": "rest", "statement": "the company bears 0.1", "stated": 0.1, "unit": "CNY",
                           "check": {"kind": "provision", "part": "remainder"}, "sources": ["S1"]})
    row = check_claims(incident.load(write_folder(tmp_path, data))).set_index("id").loc["rest"]
    assert row.computed == 0.1 and row.status == "consistent" and "0.1 CNY" in row.note


# -- the folder index ------------------------------------------------------------------
def test_the_folder_index_sees_a_same_size_rewrite_with_its_mtime_restored(tmp_path):
    pytest.importorskip("pyarrow")
    from incident.analysis.history import history_table

    folder = tmp_path / "history"
    for name in ("weimob-2020", "gitlab-2017"):
        shutil.copytree(ROOT / "data" / name, folder / name)
    file = folder / "gitlab-2017" / "incident.yaml"
    first = history_table(folder).set_index("id")
    text = file.read_text(encoding="utf-8")
    old_title = first.loc["gitlab-2017", "title"]
    new_title = old_title[::-1]  # same length, same size in bytes (ASCII)
    assert len(new_title.encode()) == len(old_title.encode()) and new_title != old_title
    st = file.stat()
    with open(file, "r+", encoding="utf-8") as stream:  # in place: same inode, same size
        stream.write(text.replace(old_title, new_title, 1))
    os.utime(file, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert file.stat().st_size == st.st_size and file.stat().st_mtime_ns == st.st_mtime_ns
    assert history_table(folder).set_index("id").loc["gitlab-2017", "title"] == new_title


@pytest.mark.parametrize("command", ["summary", "validate"])
def test_constant_stock_prices_are_one_line_in_summary_and_validate(tmp_path, command):
    folder = write_folder(tmp_path, weimob_data())
    prices = folder / weimob_data()["market"]["prices"]
    lines = prices.read_text(encoding="utf-8").splitlines()
    rows = [line.split(",") for line in lines[1:]]
    prices.write_text("\n".join([lines[0]] + [",".join([r[0], "5.00", "5.00", "5.00", "5.00", r[5]]) for r in rows])
                      + "\n", encoding="utf-8")
    one_error_line(run_cli(command, folder), "market.prices", "do not vary")


def test_day0_on_a_closed_day_is_named(tmp_path):
    data = weimob_data()
    data["market"].update(day0="2020-02-23", day0_reason="a Sunday, on purpose")
    one_error_line(run_cli("validate", write_folder(tmp_path, data)), "market.day0", "is not a XHKG session")


def _claim(data: dict, kind: str) -> int:
    return next(i for i, c in enumerate(data["claims"]) if c["check"]["kind"] == kind)


@pytest.mark.parametrize("case", ["cagr-from-zero", "growth-from-zero", "fall-of-100"])
def test_a_growth_claim_that_cannot_be_computed_is_a_validation_error(tmp_path, case):
    """Found by the fuzzer: a CAGR over a figure of 0 raised ValueError from inside the claims check."""
    data = weimob_data()
    if case == "cagr-from-zero":
        i = _claim(data, "cagr")
        figure = data["claims"][i]["check"]["start"]
        next(f for f in data["financials"] if f["id"] == figure)["value"] = 0
        field, words = f"claims[{i}].check.start", "a compound growth rate needs positive values"
    elif case == "growth-from-zero":
        i = _claim(data, "growth")
        data["claims"][i]["check"]["prior"] = data["claims"][i]["check"]["current"]
        next(f for f in data["financials"] if f["id"] == data["claims"][i]["check"]["current"])["value"] = 0
        field, words = f"claims[{i}].check.prior", "growth from zero is undefined"
    else:
        i = _claim(data, "growth")
        data["claims"][i]["stated"] = -100
        field, words = f"claims[{i}].stated", "leaves no earlier value to infer"
    one_error_line(run_cli("validate", write_folder(tmp_path, data)), field, words)
