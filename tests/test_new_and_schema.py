"""`incident --version`, `incident new` in the current folder, a readable field reference and messages."""

from __future__ import annotations

import pytest

import incident
from conftest import run_cli
from incident.core.errors import IncidentError
from incident.core.formatdoc import markdown
from incident.io.loader import validate


def test_version_prints_the_package_version():
    done = run_cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"incident {incident.__version__}"


def test_new_writes_into_the_current_folder(tmp_path):
    done = run_cli("new", "acme-2024", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = tmp_path / "acme-2024" / "incident.yaml"
    assert written.exists() and not (tmp_path / "data").exists()
    text = written.read_text(encoding="utf-8")
    assert "incident schema --markdown" in text and "docs/format.md" not in text
    assert "incident validate acme-2024" in text


def test_field_reference_types_are_readable():
    text = markdown()
    assert "<class" not in text and "typing." not in text
    assert "| `day0` | date (YYYY-MM-DD) or null |" in text
    assert "| `sources` | list of [Source](#source) | yes |" in text


def base(**changes) -> dict:
    data = {"id": "acme-2024", "title": "t", "organisation": {"name": "Acme"}, "summary": "s",
            "timezone": "Europe/Berlin", "sources": [{"id": "S1", "title": "t", "publisher": "p", "date": "2024-05-03"}],
            "milestones": [{"id": "start", "at": "2024-05-01 10:00", "kind": "impact", "title": "down",
                            "sources": ["S1"]}]}
    return {**data, **changes}


def messages(data) -> list[str]:
    with pytest.raises(IncidentError) as info:
        validate(data)
    return [f"{p.path}: {p.message}" for p in info.value.problems]


def test_unknown_keys_get_a_did_you_mean():
    data = base(milestone=[], organisation={"name": "Acme", "descripton": "x"})
    data["claims"] = [{"id": "c", "statement": "s", "check": {"kind": "duration", "start": "start", "edn": "x"},
                       "sources": ["S1"]}]
    found = messages(data)
    assert "milestone: unknown field; did you mean 'milestones'?" in found
    assert "organisation.descripton: unknown field; did you mean 'description'?" in found
    assert "claims[0].check.edn: unknown field; did you mean 'end'?" in found
    assert messages(base(zzz=1)) == ["zzz: unknown field"]


def test_dates_and_times_are_explained_by_example():
    data = base()
    data["milestones"][0]["at"] = "yesterday evening"
    data["sources"][0]["date"] = "3 May"
    found = messages(data)
    assert ("milestones[0].at: 'yesterday evening' does not have the expected form: a date or time, "
            "e.g. 2020-02-23 or 2020-02-23 18:56 (or 2020-02-23T18:56+08:00)") in found
    assert any(m.startswith("sources[0].date: '3 May' does not have the expected form: a date") for m in found)
    assert not any("\\d" in m or "^" in m for m in found)
