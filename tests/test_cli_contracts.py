"""The command line's contracts: one output rule, arguments as documented, standard output that can fail, error lines that stay one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, WEIMOB, one_line, run_cli

ISSRE = ROOT / "data" / "history" / "issre22"
GITHUB = ROOT / "data" / "history" / "github-status" / "incidents.jsonl"
PRICES = WEIMOB / "prices"
POSIX = os.name == "posix"


def test_report_history_by_takes_only_its_choices():
    done = run_cli("report", "--history", ISSRE, "--by", "nonsense")
    assert done.returncode == 2 and "invalid choice: 'nonsense'" in done.stderr


def test_windows_that_begin_with_a_minus_are_accepted():
    stock, bench = sorted(PRICES.glob("weimob-*.csv"))[0], sorted(PRICES.glob("hang-seng-*.csv"))[0]
    done = run_cli("event-study", stock, bench, "--day0", "2020-02-24", "--calendar", "XHKG",
                   "--estimation", "-120:-11", "--window", "-1:1")
    assert done.returncode == 0, done.stderr
    assert "estimation -120..-11" in done.stdout and "   -1..1 " in done.stdout


@pytest.mark.parametrize("target,words", [
    ("a-folder", ["is a folder; give a file name for the saved history"]),
    ("/proc/history.parquet", ["/proc: cannot write in the folder for the saved history"]),
])
def test_history_save_follows_the_output_rule(tmp_path, target, words):
    if target.startswith("/proc") and not Path("/proc").is_dir():
        pytest.skip("no /proc here")
    if target == "a-folder":
        (tmp_path / target).mkdir()
        target = str(tmp_path / target)
    one_line(run_cli("history", ISSRE, "--save", target), *words)


def test_history_save_never_replaces_its_input(tmp_path):
    source = tmp_path / "incidents.jsonl"
    shutil.copy(GITHUB, source)
    link = tmp_path / "another-name.jsonl"
    try:
        link.symlink_to(source)
    except OSError:
        pytest.skip("no symbolic links here")
    before = source.read_bytes()
    one_line(run_cli("history", source, "--save", link), "is the input", "--save would replace it")
    assert source.read_bytes() == before


@pytest.mark.skipif(not POSIX, reason="closes a file descriptor with the shell")
def test_closed_standard_output_is_an_error():
    done = subprocess.run(["sh", "-c", f'"{sys.executable}" -m incident.cli schema >&-'], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.strip() == "error: standard output is closed; nothing would be written"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_standard_output_on_a_full_device_is_one_line():
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "incident.cli", "schema"], cwd=ROOT, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: cannot write the standard output: No space left on device"


@pytest.mark.skipif(not POSIX, reason="names with control characters")
def test_error_lines_escape_control_characters_and_newlines(tmp_path):
    folder = tmp_path / "bad\x1b]0;owned\x07\u202emid\nline"
    folder.mkdir()
    line = one_line(run_cli("validate", folder), "no such file")
    assert "\x1b" not in line and "\u202e" not in line and "\x07" not in line
    assert "\\x1b]0;owned\\x07\\u202emid\\nline" in line


def test_an_incident_file_linking_out_of_its_folder_is_refused_unread(tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("id: the-secret-line\n", encoding="utf-8")
    folder = tmp_path / "case"
    folder.mkdir()
    try:
        (folder / "incident.yaml").symlink_to(secret)
    except OSError:
        pytest.skip("no symbolic links here")
    line = one_line(run_cli("validate", folder), "is a symbolic link to a file outside its folder")
    assert "the-secret-line" not in line


def test_history_save_on_a_full_disk_is_one_line(tmp_path, monkeypatch, capsys):
    import errno

    from incident.cli import main
    from incident.io import files

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "atomic_write", full)
    monkeypatch.setattr("incident.io.history_parquet.atomic_write", full)
    out = tmp_path / "history.parquet"
    assert main(["history", str(ISSRE), "--save", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {out}: cannot write the saved history: No space left on device"
    assert not out.exists()


def test_an_unreadable_incident_folder_in_a_history_is_named_not_skipped(tmp_path, monkeypatch):
    import errno

    from incident.analysis.history import incident_folders
    from incident.core.errors import IncidentError

    for name in ("a-case", "b-locked"):
        shutil.copytree(ROOT / "data" / "gitlab-2017", tmp_path / name)
    real = os.stat

    def locked(path, *args, **kwargs):  # root reads every folder: the refusal is simulated
        if "b-locked" in str(path):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", locked)
    with pytest.raises(IncidentError, match="b-locked: cannot read the folder: Permission denied"):
        incident_folders(tmp_path)
    monkeypatch.undo()
    assert [p.name for p in incident_folders(tmp_path)] == ["a-case", "b-locked"]


def test_study_report_refuses_a_broken_price_file_before_anything_runs(tmp_path, monkeypatch, capsys):
    from incident.cli import main
    from incident.report import render

    folder = tmp_path / "fastly-2021"
    shutil.copytree(ROOT / "data" / "fastly-2021", folder)
    price = sorted((folder / "prices").glob("*.csv"))[0]
    price.write_text("date,close\n2021-06-01,not a number\n", encoding="utf-8")

    def nothing_may_run(*args, **kwargs):
        raise AssertionError("nothing may run")

    monkeypatch.setattr(render, "execute", nothing_may_run)  # the kernels start meanwhile, and are stopped
    assert main(["report", "--study", str(folder), str(WEIMOB), "-o", str(tmp_path / "study.html")]) == 2
    assert "error: " in capsys.readouterr().err
    assert not (tmp_path / "study.html").exists()


FIXTURES = ROOT / "tests" / "fixtures"


@pytest.mark.parametrize("kind,source,extra", [
    ("pagerduty", FIXTURES / "pagerduty" / "incidents.json", ["--log-entries", FIXTURES / "pagerduty" / "log_entries.json"]),
    ("csv", FIXTURES / "csv" / "incidents.csv", []),
])
def test_import_commands_write_incidents_that_validate_and_histories_read_them(tmp_path, kind, source, extra):
    out = tmp_path / "out"
    done = run_cli("import", kind, source, *extra, "-o", out)
    assert done.returncode == 0, done.stderr
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert folders and done.stdout.strip().endswith(f"imported from {source}")
    checked = run_cli("validate", *folders)
    assert checked.returncode == 0, checked.stderr
    history = run_cli("history", source, "--json")  # the format detected from the content
    assert history.returncode == 0, history.stderr
    import json

    assert json.loads(history.stdout)["n"] == len(folders)
