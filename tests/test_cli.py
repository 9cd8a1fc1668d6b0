"""The command line: validate, summary --json, schema."""

import json

import pytest

from incident.cli import main

from conftest import ROOT, run_cli


def test_validate_default(capsys):
    assert main(["validate"]) == 0
    assert "weimob-2020" in capsys.readouterr().out


@pytest.fixture(scope="module")
def summary_json():
    result = run_cli("summary", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_summary_json_reproduces_the_key_figures(summary_json):
    s = summary_json
    assert s["id"] == "weimob-2020" and s["timezone"] == "Asia/Shanghai"
    assert s["compensated_hours"] == 206  # by the calendar; no source states a duration
    assert [p["name"] for p in s["phases"]][0] == "Full outage"
    assert s["phases"][0]["start"] == "2020-02-23T19:00+08:00"
    assert s["phases"][0]["end"] == "2020-02-25"  # a date stays a date
    assert s["phases"][4]["hours"] == 11 and s["phases"][4]["status"] == "planned"
    prov = s["provision"]
    assert prov["total"] == 150_000_000 and prov["currency"] == "CNY"
    parties = {p["party"]: p for p in prov["parties"]}
    assert parties["Sun Taoyong"]["amount"] == 35_000_000
    assert parties["Sun Taoyong"]["share"] == pytest.approx(0.2333, abs=1e-4)
    assert parties["Weimob Inc. (company)"]["amount"] == 100_000_000
    claims = {c["id"]: c for c in s["claims"]}
    assert claims["revenue-cagr"]["status"] == "consistent"
    assert "compensated-hours" not in claims and not any(c["stated"] == 182 for c in claims.values())
    status = {m["id"]: m["status"] for m in s["milestones"]}
    assert status["migration-start"] == status["data-online"] == "planned"
    assert status["data-recovered"] == "happened"
    unreported = [p for p in s["phases"] if p["status"] == "unreported"]
    assert [(p["start"], p["end"], p["hours"]) for p in unreported] == [
        ("2020-03-01T20:00+08:00", "2020-03-02T22:00+08:00", 26)]


def test_summary_text(capsys):
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    assert "206 hours" in out and "Sun Taoyong: 35,000,000 (23.3%)" in out
    assert "planned" in out and "no source reports" in out


def test_schema_is_json_schema_and_matches_the_model(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["type"] == "object"
    assert {"id", "title", "timezone", "sources"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
    assert "milestones" in schema["properties"]


def test_schema_validates_the_shipped_file_like_an_editor_would(capsys):
    jsonschema = pytest.importorskip("jsonschema")
    from incident.io.yamlfile import load_yaml

    from conftest import WEIMOB

    main(["schema"])
    schema = json.loads(capsys.readouterr().out)
    data, _ = load_yaml(WEIMOB / "incident.yaml")
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(data)) == []
    data["provision"]["total"] = "lots"
    data["urgency"] = "high"
    assert len(list(validator.iter_errors(data))) == 2


def test_format_doc_is_generated_from_the_model(capsys):
    from incident.core.formatdoc import BEGIN, END, markdown

    doc = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    shown = doc[doc.index(BEGIN):doc.index(END) + len(END)] + "\n"
    assert shown == markdown(), "docs/format.md is stale: paste `incident schema --markdown` between its markers"
    assert main(["schema", "--markdown"]) == 0
    assert capsys.readouterr().out == markdown()
    for field in ("action_items", "responders", "customer_impact", "contributing_factors", "severity"):
        assert f"| `{field}` |" in shown


def test_what_validates_also_summarises(tmp_path):
    """An event study the prices cannot support is caught by `validate`, as by `summary`: one line, exit 2."""
    import shutil

    from conftest import WEIMOB

    case = tmp_path / "weimob-2020"
    shutil.copytree(WEIMOB, case)
    text = (case / "incident.yaml").read_text(encoding="utf-8")
    (case / "incident.yaml").write_text(text.replace("  listing_date: 2019-01-15",
                                                     "  event_start: 2019-03-01 10:00\n  listing_date: 2019-01-15"),
                                        encoding="utf-8")
    for command in ("validate", "summary"):
        result = run_cli(command, case)
        assert result.returncode == 2, result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "market.event_start" in errors[0] and "Traceback" not in result.stderr
