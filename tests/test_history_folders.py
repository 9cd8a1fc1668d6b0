"""Folders of feed files as history sources (issue 24): each file read in its detected format; a folder
holding incident folders reads those only and counts the feed files beside them."""

from __future__ import annotations

import json
import shutil

import pandas as pd

from conftest import ROOT, one_line, run_cli
from incident.analysis.history import combine, feed_files, history_table

SAMPLES = ROOT / "data" / "samples" / "statuspage"
FEED = SAMPLES / "githubstatus-incidents-2024-09-16.json"


def test_the_shipped_github_folder_reads_as_its_file(github_file):
    folder = github_file.parent
    assert feed_files(folder) == [github_file]  # README.md and LICENSE are not history
    pd.testing.assert_frame_equal(history_table(folder), history_table(github_file))
    by_folder = run_cli("history", folder, "--json")
    assert by_folder.returncode == 0, by_folder.stderr
    assert json.loads(by_folder.stdout) == json.loads(run_cli("history", github_file, "--json").stdout)


def test_a_folder_of_feeds_of_two_formats(tmp_path, github_file):
    shutil.copy(github_file, tmp_path / "github.jsonl")
    shutil.copy(FEED, tmp_path / "statuspage.json")
    (tmp_path / "notes.txt").write_text("not a feed", encoding="utf-8")
    (tmp_path / ".hidden.json").write_text("{}", encoding="utf-8")
    table = history_table(tmp_path)
    expected = combine([history_table(github_file), history_table(FEED)])
    pd.testing.assert_frame_equal(table, expected)
    assert table.attrs == expected.attrs
    assert set(table["source"]) == {"github-status", "statuspage"}


def test_a_file_that_is_no_feed_is_refused_by_name(tmp_path, github_file):
    shutil.copy(github_file, tmp_path / "github.jsonl")
    (tmp_path / "settings.json").write_text('{"theme": "dark"}', encoding="utf-8")
    one_line(run_cli("history", tmp_path), tmp_path / "settings.json")


def test_an_empty_folder_is_refused(tmp_path):
    one_line(run_cli("history", tmp_path), tmp_path, "feed files")


def test_incident_folders_win_over_feed_files_beside_them(tmp_path):
    """The feed an import came from often sits beside the incidents: reading both would count them twice."""
    imported = tmp_path / "incidents"
    done = run_cli("import", "statuspage", FEED, "-o", imported)
    assert done.returncode == 0, done.stderr
    shutil.copy(FEED, imported / "feed.json")
    table = history_table(imported, index=False)
    folders = [p for p in imported.iterdir() if (p / "incident.yaml").is_file()]
    assert len(table) == len(folders) and set(table["source"]) == {"incidents"}
    assert table.attrs["import_report"]["feed_files_not_read"] == 1
    assert "feed_files_not_read" in run_cli("history", imported).stdout
