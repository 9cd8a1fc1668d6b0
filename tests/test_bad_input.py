"""Bad incident files: one clear line per problem, exit 2, no traceback, fast."""

import re
import time

import pytest

import incident
from incident.cli import main

from conftest import run_cli

# (name, how to break the Weimob file, what the message must say, field path)
CASES = [
    ("yaml-syntax", lambda t: t.replace("title: Weimob SaaS", "title: [Weimob SaaS", 1), "YAML syntax", None),
    ("unknown-field", lambda t: t.replace("status: resolved", "status: resolved\nurgency: high", 1), "unknown field", "urgency"),
    ("wrong-type", lambda t: t.replace("total: 150000000", "total: lots", 1), "valid number", "provision.total"),
    ("missing-field", lambda t: t.replace("    kind: trigger\n", "", 1), "missing required field", "milestones[0].kind"),
    ("end-before-start", lambda t: t.replace("    end: data-online\n", "    end: 2020-03-01 09:00\n", 1), "before it starts", "phases[3].end"),
    ("parties-above-total", lambda t: t.replace("total: 150000000", "total: 40000000", 1), "more than the total", "provision.parties"),
    ("unknown-milestone", lambda t: t.replace("    end: new-users-back\n", "    end: users-back\n", 1), "neither a known milestone id", "phases[0].end"),
    ("unknown-source", lambda t: t.replace("    sources: [S4]\n", "    sources: [S9]\n", 1), "unknown source 'S9'", "milestones[0].sources[0]"),
    ("unknown-timezone", lambda t: t.replace("timezone: Asia/Shanghai", "timezone: Asia/Beijing", 1), "unknown time zone", "timezone"),
    ("impossible-date", lambda t: t.replace("at: 2020-02-24\n", "at: 2020-02-30\n", 1), "not a real date", "milestones[3].at"),
    ("impossible-hour", lambda t: t.replace("at: 2020-03-01 20:00", "at: 2020-03-01 25:00", 1), "not a real time", "milestones[9].at"),
    ("python-tag", lambda t: re.sub(r"(?m)^title: .*$", "title: !!python/object/apply:os.system ['echo pwned']", t, count=1),
     "not allowed", "title"),
    ("duplicate-key", lambda t: t.replace("status: resolved", "status: resolved\nstatus: ongoing", 1), "duplicate key", "status"),
    ("tag-of-another-value", lambda t: t.replace("status: resolved", "status: !!bool maybe", 1), "as bool", "status"),
    ("tag-of-nothing", lambda t: t.replace("status: resolved", "status: !!int", 1), "cannot read value ''", "status"),
    ("list-not-mapping", lambda t: t.replace("lessons:\n  went_well:", "lessons:\n- went_well:", 1), "valid dictionary", "lessons"),
]


@pytest.mark.parametrize("name,mutate,message,path", CASES, ids=[c[0] for c in CASES])
def test_bad_incident_rejected_with_file_path_and_line(name, mutate, message, path, weimob_text, write_incident, capsys):
    folder = write_incident(mutate(weimob_text))
    with pytest.raises(incident.IncidentError) as info:
        incident.load(folder)
    problems = info.value.problems
    assert all(p.file.endswith("incident.yaml") for p in problems)
    if message:
        assert any(message in p.message or message in str(p) for p in problems), problems
    if path:
        assert any(p.path == path for p in problems), [p.path for p in problems]
    assert all(p.line is not None for p in problems), problems
    # the CLI: one line per problem, status 2, no traceback
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == len(problems)
    assert str(folder / "incident.yaml") in err


def test_error_line_points_at_the_field(weimob_text, write_incident):
    folder = write_incident(weimob_text.replace("total: 150000000", "total: lots", 1))
    with pytest.raises(incident.IncidentError) as info:
        incident.load(folder)
    (p,) = info.value.problems
    line = weimob_text.splitlines()[p.line - 1]
    assert line.strip().startswith("total:")


def test_non_utf8_file_names_the_encoding(weimob_text, write_incident):
    folder = write_incident(weimob_text.encode("gbk", errors="replace"))
    with pytest.raises(incident.IncidentError) as info:
        incident.load(folder)
    msg = str(info.value)
    assert "UTF-8" in msg and "GBK" in msg


def test_empty_file(write_incident):
    with pytest.raises(incident.IncidentError, match="empty"):
        incident.load(write_incident(""))


def test_missing_folder(tmp_path):
    with pytest.raises(incident.IncidentError, match="no such file"):
        incident.load(tmp_path / "nowhere")


BOMB = "a: &a ['x','x','x','x','x','x','x','x','x']\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
    for i in range(8)
)


def test_alias_bomb_fails_fast(write_incident):
    folder = write_incident(BOMB)
    started = time.perf_counter()
    with pytest.raises(incident.IncidentError, match="anchors"):
        incident.load(folder)
    assert time.perf_counter() - started < 1.0


def test_cli_exit_status_and_no_traceback_in_a_real_process(weimob_text, write_incident):
    folder = write_incident(weimob_text.replace("timezone: Asia/Shanghai", "timezone: Mars/Olympus", 1))
    started = time.perf_counter()
    result = run_cli("validate", folder)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "timezone: unknown time zone 'Mars/Olympus'" in result.stderr
    assert result.stdout == ""
    assert time.perf_counter() - started < 10  # a whole interpreter start; the check itself is ms


def test_several_problems_reported_together(weimob_text, write_incident):
    text = weimob_text.replace("total: 150000000", "total: lots", 1).replace("status: resolved", "status: done", 1)
    with pytest.raises(incident.IncidentError) as info:
        incident.load(write_incident(text))
    assert {p.path for p in info.value.problems} >= {"provision.total", "status"}
