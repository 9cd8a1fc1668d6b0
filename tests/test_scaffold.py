"""`incident new`: a template that fails validation until its required values are filled."""

from __future__ import annotations

import re

import pytest

import incident
from conftest import run_cli
from incident.core.errors import IncidentError
from incident.core.model import Incident
from incident.io.scaffold import new_incident_text, write_new

FILLED = {"timezone": "Europe/Berlin", "date": "2024-05-01", "at": "2024-05-01 10:00"}


def fill(text: str) -> str:
    """Put a value in every `""  # required` placeholder, as a user would."""
    return re.sub(
        r'^(\s*)(\w+): ""(\s+# required.*)$',
        lambda m: f'{m[1]}{m[2]}: "{FILLED.get(m[2], "Filled in")}"{m[3]}',
        text,
        flags=re.M,
    )


def test_every_section_present_and_commented():
    text = new_incident_text("acme-2024")
    for section in Incident.model_fields:  # every field of the format, so a new one is not forgotten
        assert re.search(rf"^{section}:", text, re.M), section
    assert len(re.findall(r': ""\s+# required', text)) == 9
    assert text.startswith("# Incident file for acme-2024")


def test_as_generated_it_fails_with_a_message_per_field(tmp_path):
    path = write_new("acme-2024", tmp_path)
    assert path == tmp_path / "acme-2024" / "incident.yaml"
    with pytest.raises(IncidentError) as info:
        incident.load(path.parent)
    fields = {p.path for p in info.value.problems}
    assert fields == {"title", "organisation.name", "summary", "timezone", "sources[0].title",
                      "sources[0].publisher", "sources[0].date", "milestones[0].at", "milestones[0].title"}
    assert all(p.line for p in info.value.problems)


def test_filled_in_it_validates(tmp_path):
    path = write_new("acme-2024", tmp_path)
    path.write_text(fill(path.read_text(encoding="utf-8")), encoding="utf-8")
    inc = incident.load(path.parent)
    assert (inc.id, inc.timezone, inc.milestones[0].kind) == ("acme-2024", "Europe/Berlin", "impact")
    assert run_cli("validate", path.parent).returncode == 0


def test_never_overwrites_and_checks_the_id(tmp_path):
    path = write_new("acme-2024", tmp_path)
    path.write_text("# my work\n", encoding="utf-8")
    with pytest.raises(IncidentError, match="already exists"):
        write_new("acme-2024", tmp_path)
    assert path.read_text(encoding="utf-8") == "# my work\n"
    for bad in ("Acme_2024", "", "-x", "a" * 81):
        with pytest.raises(IncidentError, match="not an incident id"):
            write_new(bad, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acme-2024"]


def test_cli_new(tmp_path):
    done = run_cli("new", "acme-2024", "--data-dir", tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "acme-2024" / "incident.yaml").exists()
    done = run_cli("validate", tmp_path / "acme-2024")
    assert done.returncode == 2 and "title: String should have at least 1 character" in done.stderr
    assert run_cli("new", "acme-2024", "--data-dir", tmp_path).returncode == 2
