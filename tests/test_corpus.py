"""The corpus of bad inputs in tests/corpus: every case gets its clear message.

Each folder holds case files and an `expected.yaml` naming, per case, the
problems the CLI must print (field path, line where known, words of the
message). Every case must end with exit status 2, one stderr line per problem,
no traceback, nothing on stdout and nothing written. Files too big to keep in
the repository (over a size limit, an alias bomb) are made here.
"""

from __future__ import annotations

import shutil
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml

import incident
from incident.io import prices, statuspage, yamlfile
from incident.cli import main

from conftest import ROOT

CORPUS = Path(__file__).resolve().parent / "corpus"
MANIFEST = "expected.yaml"


def expectations(kind: str) -> dict[str, list[dict]]:
    return yaml.safe_load((CORPUS / kind / MANIFEST).read_text(encoding="utf-8"))


def params(kind: str):
    return [pytest.param(name, problems, id=name) for name, problems in sorted(expectations(kind).items())]


def command(kind: str, file: Path, out: Path) -> list[str]:
    """The CLI command that reads one file of this kind."""
    return {
        "incident": ["validate", str(file)],
        "prices": ["prices", str(file)],
        "statuspage": ["import", "statuspage", str(file), "-o", str(out)],
    }[kind]


def assert_rejected(status: int, out: str, err: str, file: Path, problems: list[dict]) -> None:
    """Exit 2, nothing on stdout, exactly the expected problem lines on stderr."""
    assert "Traceback" not in err, err
    assert status == 2, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == len(problems), lines
    unmatched = list(lines)
    for p in problems:
        where = f"{file}:{p['line']}" if p["line"] is not None else str(file)
        prefix = f"error: {where}:" + (f" {p['path']}:" if p["path"] else "") + " "
        hits = [ln for ln in unmatched if ln.startswith(prefix) and all(m in ln[len(prefix):] for m in p["message"])]
        assert hits, f"no line starts with {prefix!r} and says {p['message']}:\n" + "\n".join(lines)
        unmatched.remove(hits[0])


def run_case(kind: str, case: Path, tmp_path: Path, capsys) -> tuple[int, str, str, Path]:
    """Copy the case into an empty folder and run the CLI on it in-process."""
    file = tmp_path / case.name
    shutil.copyfile(case, file)
    status = main(command(kind, file, tmp_path / "out"))
    out, err = capsys.readouterr()
    return status, out, err, file


def assert_nothing_written(tmp_path: Path, file: Path) -> None:
    assert sorted(tmp_path.iterdir()) == [file]


@pytest.mark.parametrize("kind", ["incident", "prices", "statuspage"])
def test_every_case_has_an_expectation(kind):
    files = {p.name for p in (CORPUS / kind).iterdir() if p.name != MANIFEST and not p.name.startswith("_valid")}
    assert files == set(expectations(kind))


@pytest.mark.parametrize("kind,name", [("incident", "_valid.yaml"), ("prices", "_valid.csv"), ("statuspage", "_valid.json")])
def test_the_base_of_the_cases_is_valid(kind, name, tmp_path, capsys):
    status, out, err, _ = run_case(kind, CORPUS / kind / name, tmp_path, capsys)
    assert status == 0, err
    assert not [line for line in err.splitlines() if not line.startswith("warning: ")]  # style hints may come


@pytest.mark.parametrize("name,problems", params("incident"))
def test_bad_incident_file(name, problems, tmp_path, capsys):
    status, out, err, file = run_case("incident", CORPUS / "incident" / name, tmp_path, capsys)
    assert_rejected(status, out, err, file, problems)
    assert_nothing_written(tmp_path, file)


@pytest.mark.parametrize("name,problems", params("prices"))
def test_bad_price_file(name, problems, tmp_path, capsys):
    status, out, err, file = run_case("prices", CORPUS / "prices" / name, tmp_path, capsys)
    assert_rejected(status, out, err, file, problems)
    assert_nothing_written(tmp_path, file)


@pytest.mark.parametrize("name,problems", params("statuspage"))
def test_bad_statuspage_feed(name, problems, tmp_path, capsys):
    status, out, err, file = run_case("statuspage", CORPUS / "statuspage" / name, tmp_path, capsys)
    assert_rejected(status, out, err, file, problems)
    assert not (tmp_path / "out").exists()
    assert_nothing_written(tmp_path, file)


# -- cases made here rather than stored ----------------------------------------
def test_incident_file_over_the_size_limit_is_refused_unread(tmp_path, capsys):
    base = (CORPUS / "incident" / "_valid.yaml").read_text(encoding="utf-8")
    fact = "  - text: The same sentence, written again and again by a runaway export.\n    sources: [S1]\n"
    file = tmp_path / "huge.yaml"
    file.write_text(base + "notes:\n" + fact * (yamlfile.MAX_BYTES // len(fact) + 1), encoding="utf-8")
    started = time.perf_counter()
    status = main(["validate", str(file)])
    out, err = capsys.readouterr()
    assert time.perf_counter() - started < 0.5
    assert_rejected(status, out, err, file, [{"path": "", "line": None, "message": ["larger than the limit of 5,000,000 bytes"]}])


def billion_laughs(levels: int = 9, width: int = 10) -> str:
    """Each level lists the previous one `width` times: width**levels strings once expanded."""
    lines = ["l0: &l0 'lol'"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_alias_bomb_fails_fast_and_small(tmp_path, capsys):
    file = tmp_path / "bomb.yaml"
    file.write_text(billion_laughs(), encoding="utf-8")  # a billion strings if expanded
    tracemalloc.start()
    started = time.perf_counter()
    try:
        status = main(["validate", str(file)])
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    out, err = capsys.readouterr()
    assert seconds < 0.5
    assert peak < 5_000_000
    assert_rejected(status, out, err, file, [{"path": "", "line": 1, "message": ["anchors (&name) are not allowed"]}])


def test_price_file_over_the_size_limit_is_refused_unread(tmp_path, capsys):
    file = tmp_path / "huge.csv"
    with open(file, "wb") as fh:  # sparse: no disk used, no time spent
        fh.truncate(prices.MAX_BYTES + 1)
    status = main(["prices", str(file)])
    out, err = capsys.readouterr()
    assert_rejected(status, out, err, file, [{"path": "", "line": None, "message": ["the limit is 50,000,000"]}])


def test_price_field_over_the_csv_limit(tmp_path, capsys):
    file = tmp_path / "long-field.csv"
    file.write_text("date,open,high,low,close,volume\n2020-01-02," + "1" * 200_000 + ",1,1,1,1\n", encoding="utf-8")
    status = main(["prices", str(file)])
    out, err = capsys.readouterr()
    assert_rejected(status, out, err, file, [{"path": "", "line": 2, "message": ["not a readable CSV file", "field limit"]}])


def test_feed_over_the_size_limit_is_refused_unread(tmp_path, capsys):
    file = tmp_path / "huge.json"
    with open(file, "wb") as fh:
        fh.truncate(statuspage.MAX_FEED_BYTES + 1)
    status = main(["import", "statuspage", str(file), "-o", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert_rejected(status, out, err, file, [{"path": "", "line": None, "message": ["feed is larger than the limit of"]}])
    assert not (tmp_path / "out").exists()


def test_price_path_through_a_link_out_of_the_folder_is_refused(tmp_path):
    """A relative path can still leave the folder through a symbolic link."""
    folder = tmp_path / "case"
    shutil.copytree(ROOT / "data" / "weimob-2020", folder)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.move(folder / "prices", outside / "prices")
    (folder / "prices").symlink_to(outside / "prices")
    inc = incident.load(folder)  # the text of the path is fine
    with pytest.raises(incident.IncidentError, match="leads outside the incident folder"):
        prices.market_prices(inc)


# -- the installed command, in its own process ----------------------------------
REAL_COMMAND_CASES = [
    ("incident", "gbk-encoded.yaml"),
    ("incident", "python-object-apply.yaml"),
    ("incident", "date-february-30.yaml"),
    ("prices", "duplicate-date.csv"),
    ("statuspage", "not-a-feed.json"),
]


def incident_command() -> list[str]:
    script = Path(sys.executable).with_name("incident")
    return [str(script)] if script.exists() else [sys.executable, "-m", "incident.cli"]


@pytest.mark.parametrize("kind,name", REAL_COMMAND_CASES, ids=[n for _, n in REAL_COMMAND_CASES])
def test_real_command_in_its_own_process(kind, name, tmp_path):
    import subprocess

    file = tmp_path / name
    shutil.copyfile(CORPUS / kind / name, file)
    result = subprocess.run(
        incident_command() + command(kind, file, tmp_path / "out"),
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert_rejected(result.returncode, result.stdout, result.stderr, file, expectations(kind)[name])
    assert_nothing_written(tmp_path, file)
