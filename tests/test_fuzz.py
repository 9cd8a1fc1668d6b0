"""Fuzzing with hypothesis: valid incidents round-trip, broken ones fail cleanly.

- Generated valid incidents survive validate -> `writer.to_yaml` -> load
  unchanged.
- Random mutations of the Weimob incident (a value of another type, a key
  removed or renamed, a time moved past another, an id duplicated, ...) end
  in a valid incident or an `IncidentError` with a line for every problem,
  never another exception; a valid mutant's summary computes.
- The same mutants through the CLI exit 0 or 2, never with a traceback; so do
  random edits of the file's text.

Example counts: the "ci" profile (env CI set) runs 200 per test, the "dev"
profile 50; FUZZ_EXAMPLES=5000 runs that many, for a long run by hand:

    FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/test_fuzz.py
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import incident
from incident.cli import main
from incident.io.loader import validate
from incident.report.summary import summary
from incident.core.times import parse_when, zone
from incident.io.writer import to_yaml
from incident.io.yamlfile import load_yaml

from conftest import WEIMOB

settings.register_profile("ci", max_examples=200, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=50, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
_PROFILE = settings.get_profile("ci" if os.environ.get("CI") else "dev")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or _PROFILE.max_examples)
FUZZ = settings(_PROFILE, max_examples=EXAMPLES)
# a CLI run parses the whole Weimob file (~70 ms): a quarter of the examples
FUZZ_CLI = settings(_PROFILE, max_examples=max(EXAMPLES // 4, 10))

WEIMOB_FILE = WEIMOB / "incident.yaml"
WEIMOB_DATA, WEIMOB_LINES = load_yaml(WEIMOB_FILE)


# -- valid incidents ----------------------------------------------------------
ZONES = ["UTC", "Asia/Shanghai", "Europe/London", "America/Los_Angeles", "Australia/Lord_Howe", "Asia/Kathmandu"]
ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,12}", fullmatch=True)
# any text a person could type, including markup, quotes, YAML syntax and control characters
texts = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30)
plain = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
money = st.integers(0, 10**12).map(float) | st.floats(0, 1e12, allow_nan=False, allow_infinity=False)
numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def times(draw) -> str:
    """A time as authors write it: a date, to the minute or second, with or without an offset."""
    moment = draw(st.datetimes(datetime(1900, 1, 1), datetime(2100, 12, 31)))
    shape = draw(st.sampled_from(["date", "minute", "second", "fraction"]))
    sep = draw(st.sampled_from([" ", "T"]))
    text = {
        "date": moment.strftime("%Y-%m-%d"),
        "minute": moment.strftime(f"%Y-%m-%d{sep}%H:%M"),
        "second": moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S"),
        "fraction": moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S.%f")[: draw(st.integers(21, 26))],
    }[shape]
    if shape != "date" and draw(st.booleans()):
        minutes = draw(st.integers(-14 * 60, 14 * 60))
        sign = "-" if minutes < 0 else "+"
        text += draw(st.sampled_from(["Z", f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"]))
    return text


def not_before(tz, start, end) -> bool:
    """The loader's rule for a start and an end (milestone texts)."""
    s_lo, _ = parse_when(start["at"], tz, start.get("precision")).bounds()
    end_when = parse_when(end["at"], tz, end.get("precision"))
    _, e_hi = end_when.bounds()
    return not (e_hi < s_lo or (end_when.exact and parse_when(start["at"], tz, start.get("precision")).exact and e_hi == s_lo))


def not_before_the_start(tz, milestones):
    """The milestones without a detection, diagnosis, mitigation or recovery before the start (the loader's rule)."""
    def bounds(m):
        return parse_when(m["at"], tz, m.get("precision")).bounds()

    for kind in ("impact", "detection"):
        starts = [bounds(m)[0] for m in milestones if m["kind"] == kind]
        if starts:
            start = min(starts)
            ends = ("detection", "diagnosis", "mitigation", "recovery")
            return [m for m in milestones if m["kind"] not in ends or bounds(m)[1] >= start]
    return milestones


def source_refs(draw, source_ids):
    return draw(st.lists(st.sampled_from(source_ids), min_size=1, max_size=3))


def facts(draw, source_ids, max_size=3):
    return [{"text": draw(texts), "sources": source_refs(draw, source_ids)}
            for _ in range(draw(st.integers(0, max_size)))]


def optional(draw, key, strategy, out):
    if draw(st.booleans()):
        out[key] = draw(strategy)


@st.composite
def incidents(draw) -> dict:
    """Plain data of a valid incident, as read from YAML."""
    tz_name = draw(st.sampled_from(ZONES))
    tz = zone(tz_name)
    source_ids = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    sources = []
    for sid in source_ids:
        s = {"id": sid, "title": draw(texts), "publisher": draw(texts),
             "date": draw(st.sampled_from(["2020", "2020-02", "2020-02-23", "1999-12-31"]))}
        for key in ("author", "url", "locator", "note"):
            optional(draw, key, plain, s)
        sources.append(s)

    milestones = []
    for mid in draw(st.lists(ids, max_size=6, unique=True)):
        m = {"id": mid, "at": draw(times()),
             "kind": draw(st.sampled_from(["trigger", "impact", "detection", "diagnosis", "mitigation", "recovery",
                                           "communication", "market", "legal", "other"])),
             "title": draw(texts), "sources": source_refs(draw, source_ids)}
        try:
            shown = parse_when(m["at"], tz).precision
        except ValueError:  # a local time a DST change skips or repeats: rejected, tested in test_times.py
            continue
        coarser = ["second", "minute", "hour", "day"][["second", "minute", "hour", "day"].index(shown):]
        precision = draw(st.sampled_from([None, *coarser]))
        if precision is not None:
            try:
                parse_when(m["at"], tz, precision)
                m["precision"] = precision
            except ValueError:  # 'hour' for 10:05: not a valid combination
                pass
        optional(draw, "approximate", st.booleans(), m)
        optional(draw, "description", plain, m)
        milestones.append(m)

    milestones = not_before_the_start(tz, milestones)
    ordered_pairs = [(a, b) for a in milestones for b in milestones if not_before(tz, a, b)]
    phases = []
    for _ in range(draw(st.integers(0, 3))) if ordered_pairs else []:
        a, b = draw(st.sampled_from(ordered_pairs))
        p = {"name": draw(texts), "start": a["id"], "end": b["id"],
             "impact": draw(st.sampled_from(["major_outage", "partial_outage", "degraded_performance",
                                             "under_maintenance", "operational"]))}
        optional(draw, "component", plain, p)
        if draw(st.booleans()):
            p["sources"] = source_refs(draw, source_ids)
        phases.append(p)

    data = {
        "id": draw(st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)),
        "title": draw(texts),
        "organisation": {"name": draw(texts), "facts": facts(draw, source_ids)},
        "summary": draw(texts),
        "timezone": tz_name,
        "status": draw(st.sampled_from(["ongoing", "resolved"])),
        "authors": draw(st.lists(plain, max_size=2)),
        "sources": sources,
        "milestones": milestones,
        "phases": phases,
        "impact": facts(draw, source_ids),
        "root_cause": facts(draw, source_ids),
    }

    if draw(st.booleans()):
        total = draw(st.integers(1, 10**12))
        amounts = draw(st.lists(st.integers(0, total), max_size=4))
        amounts = [a // max(len(amounts), 1) for a in amounts]  # their sum stays within the total
        data["provision"] = {
            "total": float(total), "currency": draw(st.from_regex(r"[A-Z]{3}", fullmatch=True)),
            "parties": [{"party": draw(texts), "role": draw(plain), "amount": float(a),
                         "sources": source_refs(draw, source_ids)} for a in amounts],
            "remainder_party": draw(texts), "sources": source_refs(draw, source_ids),
        }
    exact_pairs = [(a, b) for a, b in ordered_pairs
                   if parse_when(a["at"], tz, a.get("precision")).exact and parse_when(b["at"], tz, b.get("precision")).exact]
    if exact_pairs and draw(st.booleans()):
        a, b = draw(st.sampled_from(exact_pairs))  # the payout counts hours: a window to the minute
        data["compensation"] = {"cash": {
            "formula": draw(texts), "window_start": a["id"], "window_end": b["id"],
            "revenue_basis": draw(texts), "margin_basis": draw(texts),
            "example_daily_revenue": draw(money), "example_margin": draw(st.floats(0, 1)),
            "sources": source_refs(draw, source_ids)}}
    data["accountability"] = {"people": [
        {"person": draw(texts), "findings": draw(st.lists(texts, max_size=2)), "sources": source_refs(draw, source_ids)}
        for _ in range(draw(st.integers(0, 2)))], "notes": facts(draw, source_ids, 1)}
    data["remediation"] = [
        {"category": draw(texts), "action": draw(texts),
         "status": draw(st.sampled_from(["planned", "in_progress", "done", "unknown"])),
         "sources": source_refs(draw, source_ids)}
        for _ in range(draw(st.integers(0, 2)))]
    data["lessons"] = {"went_well": facts(draw, source_ids, 1), "went_wrong": facts(draw, source_ids, 1)}

    figure_ids = draw(st.lists(ids, max_size=3, unique=True))
    data["financials"] = [
        {"id": fid, "metric": draw(texts), "period": draw(texts), "value": draw(numbers), "unit": draw(texts),
         "sources": source_refs(draw, source_ids)} for fid in figure_ids]
    claims = []
    claim_ids = draw(st.lists(ids, max_size=3, unique=True))
    for cid in claim_ids:
        kinds = ["provision"] if "provision" in data else []
        positive = [f["id"] for f in data["financials"] if f["value"] > 0]  # a compound rate needs them
        kinds += ["growth", "difference"] if figure_ids else []
        kinds += ["cagr"] if positive else []
        kinds += ["duration"] if ordered_pairs else []
        if not kinds:
            break
        kind = draw(st.sampled_from(kinds))
        if kind == "cagr":
            check = {"kind": kind, "start": draw(st.sampled_from(positive)), "end": draw(st.sampled_from(positive)),
                     "years": draw(st.floats(0.5, 50))}
        elif kind == "growth":
            check = {"kind": kind, "current": draw(st.sampled_from(figure_ids)), "prior_label": draw(plain)}
        elif kind == "difference":
            check = {"kind": kind, "minuend": draw(st.sampled_from(figure_ids)),
                     "subtrahend": draw(st.sampled_from(figure_ids))}
        elif kind == "duration":
            a, b = draw(st.sampled_from(ordered_pairs))
            check = {"kind": kind, "start": a["id"], "end": b["id"]}
        else:
            check = {"kind": kind, "part": draw(st.sampled_from(["named", "remainder"]))}
        claim = {"id": cid, "statement": draw(texts), "unit": draw(plain), "check": check,
                 "sources": source_refs(draw, source_ids)}
        optional(draw, "stated", numbers, claim)
        if kind == "growth" and claim.get("stated", 0) <= -100:  # a fall of 100% implies no earlier value
            claim.pop("stated")
        claims.append(claim)
    data["claims"] = claims
    data["notes"] = facts(draw, source_ids, 2)
    return data


@FUZZ
@given(incidents())
def test_valid_incidents_round_trip(data):
    inc = validate(data, "<generated>")
    text = to_yaml(inc)
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "incident.yaml"
        file.write_text(text, encoding="utf-8")
        again = incident.load(file)
    assert again.model_dump() == inc.model_dump()
    assert to_yaml(again) == text


def test_the_weimob_incident_round_trips(tmp_path):
    from incident.io.writer import dump

    inc = incident.load(WEIMOB)
    again = incident.load(dump(inc, tmp_path))
    assert again.model_dump() == inc.model_dump()
    assert [p.name for p in tmp_path.iterdir()] == ["incident.yaml"]


# -- mutations of the Weimob incident -------------------------------------------
def paths(value, path=()):
    """Every path into plain data, containers included."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from paths(item, path + (i,))


ALL_PATHS = list(paths(WEIMOB_DATA))[1:]
KEY_PATHS = [p for p in ALL_PATHS if isinstance(p[-1], str)]
ITEM_PATHS = [p for p in ALL_PATHS if isinstance(p[-1], int)]
TIME_PATHS = [p for p in ALL_PATHS if p[-1] in ("at", "start", "end", "window_start", "window_end", "event_start")]
ID_LISTS = [(name,) for name in ("sources", "milestones", "phases", "financials", "claims")]

other_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(10**30), 10**30),
    st.floats(), st.text(max_size=10), st.sampled_from(["", "2020-02-30", "25:00", "S9", "yes", "<script>"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def get(data, path):
    for part in path:
        data = data[part]
    return data


@st.composite
def mutation(draw, data):
    """Apply one random change to `data` in place; return what it did, for the report."""
    kind = draw(st.sampled_from(["replace", "delete", "rename", "retime", "duplicate-id", "add-key", "swap"]))
    if kind == "replace":
        path = draw(st.sampled_from(ALL_PATHS))
        get(data, path[:-1])[path[-1]] = draw(other_values)
    elif kind == "delete":
        path = draw(st.sampled_from(ALL_PATHS))
        del get(data, path[:-1])[path[-1]]
    elif kind == "rename":
        path = draw(st.sampled_from(KEY_PATHS))
        parent = get(data, path[:-1])
        new = draw(st.sampled_from([path[-1] + "s", path[-1].upper(), path[-1][:-1] or "x"]) | st.text(max_size=8))
        parent[new] = parent.pop(path[-1])
    elif kind == "retime":
        path = draw(st.sampled_from(TIME_PATHS))
        parent = get(data, path[:-1])
        try:
            base = datetime.fromisoformat(str(parent[path[-1]])[:16])
        except ValueError:  # a milestone id: move it to another milestone or a time
            base = datetime(2020, 2, 23, 19)
        shift = timedelta(minutes=draw(st.integers(-20 * 24 * 60, 20 * 24 * 60)))
        fmt = draw(st.sampled_from(["%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S+08:00"]))
        parent[path[-1]] = (base + shift).strftime(fmt)
    elif kind == "duplicate-id":
        (name,) = draw(st.sampled_from(ID_LISTS))
        items = data.get(name)
        if isinstance(items, list) and len(items) >= 2:
            i, j = draw(st.lists(st.integers(0, len(items) - 1), min_size=2, max_size=2, unique=True))
            if isinstance(items[i], dict) and isinstance(items[j], dict):
                items[j]["id"] = items[i].get("id")
    elif kind == "add-key":
        path = draw(st.sampled_from([()] + [p for p in ALL_PATHS if isinstance(get(WEIMOB_DATA, p), dict)]))
        get(data, path)[draw(st.text(min_size=1, max_size=8))] = draw(other_values)
    else:
        a, b = draw(st.sampled_from(ITEM_PATHS)), draw(st.sampled_from(ITEM_PATHS))
        pa, pb = get(data, a[:-1]), get(data, b[:-1])
        pa[a[-1]], pb[b[-1]] = pb[b[-1]], pa[a[-1]]
    return kind


@st.composite
def mutants(draw) -> dict:
    data = copy.deepcopy(WEIMOB_DATA)
    for _ in range(draw(st.integers(1, 3))):
        try:
            draw(mutation(data))
        except (KeyError, IndexError, TypeError, AttributeError):
            # an earlier change removed or retyped what this one aimed at
            pass
    return data


def check_mutant(data) -> str:
    """'valid' or 'invalid'; anything but an IncidentError propagates."""
    try:
        inc = validate(data, str(WEIMOB_FILE), WEIMOB_LINES)
    except incident.IncidentError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.file == str(WEIMOB_FILE) and p.message and p.line is not None, p
        return "invalid"
    inc._folder = WEIMOB  # as `load` sets it: the price files are found
    try:
        summary(inc, market=False)  # a valid incident computes, or its price files are refused
    except incident.IncidentError:
        return "valid, bad price data"
    return "valid"


@FUZZ
@given(mutants())
def test_mutated_weimob_gives_a_validation_error_or_a_valid_incident(data):
    check_mutant(data)


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(args)
    return status, out.getvalue(), err.getvalue()


@FUZZ_CLI
@given(mutants())
def test_cli_answers_mutants_with_0_or_2_and_no_traceback(data):
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "incident.yaml"
        shutil.copytree(WEIMOB_FILE.parent / "prices", Path(folder) / "prices")  # validate reads the price files too
        # safe_dump can write what a person would not (tuples never; odd floats, keys): all of it must be handled
        file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        status, out, err = run_cli(["validate", str(file)])
    assert status in (0, 2)
    assert "Traceback" not in err
    if status == 2:
        assert err and all(line.startswith(f"error: {file}") for line in err.splitlines())


WEIMOB_TEXT = WEIMOB_FILE.read_text(encoding="utf-8")


@st.composite
def text_edits(draw) -> str:
    """The Weimob file's text with a span cut, junk inserted, or a line re-indented."""
    text = WEIMOB_TEXT
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["cut", "insert", "indent"]))
        if edit == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 200)):]
        elif edit == "insert":
            junk = draw(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=8)
                        | st.sampled_from(["&a ", "*a", "!!python/object:os.system ", "<<: ", "- ", ": ", "\t",
                                           "{", "[", "'", '"', "\n---\n", "%YAML 1.2\n", "? ", "|\n", "\x00", "\ufeff"]))
            text = text[:at] + junk + text[at:]
        else:
            start = text.rfind("\n", 0, at) + 1
            text = text[:start] + " " * draw(st.integers(1, 3)) + text[start:]
    return text


@FUZZ_CLI
@given(text_edits())
def test_cli_answers_text_edits_with_0_or_2_and_no_traceback(text):
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "incident.yaml"
        file.write_text(text, encoding="utf-8")
        status, out, err = run_cli(["validate", str(file)])
    assert status in (0, 2)
    assert "Traceback" not in err


# -- a long run by hand, with counts -----------------------------------------------
@pytest.mark.skipif(not os.environ.get("FUZZ_REPORT"), reason="set FUZZ_REPORT=N for a counted run of N mutants")
def test_counted_mutation_run():
    """FUZZ_REPORT=3000 pytest -s -k counted: how many mutants were valid and invalid."""
    from collections import Counter

    counts: Counter = Counter()

    @settings(_PROFILE, max_examples=int(os.environ["FUZZ_REPORT"]), database=None)
    @given(mutants())
    def run(data):
        counts[check_mutant(data)] += 1

    run()
    print(f"\n{sum(counts.values())} mutants: {dict(counts)}; no exception other than IncidentError")
