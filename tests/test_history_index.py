"""A folder of incident folders keeps an index of its history rows, and re-reads only what changed."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

import incident.analysis.history as hist
import incident.io.history_index as history_index
from conftest import ROOT
from incident.analysis.history import history_table
from incident.io.history_index import INDEX_FILE
from incident.core.errors import IncidentError
from incident.io.history_parquet import read_history
from incident.io.statuspage import import_statuspage

FEED = ROOT / "data" / "samples" / "statuspage" / "discordstatus-incidents-2022-02-15.json"


@pytest.fixture
def folder(tmp_path):
    import_statuspage(ROOT / "data" / "samples" / "statuspage" / "githubstatus-incidents-2024-09-16.json", tmp_path)
    import_statuspage(FEED, tmp_path)
    for name in ("weimob-2020", "gitlab-2017"):
        shutil.copytree(ROOT / "data" / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def loads(monkeypatch):
    """The incident files `load` reads."""
    seen = []
    real = hist.load

    def counting(path):
        seen.append(os.path.basename(os.path.dirname(path)) if str(path).endswith(".yaml") else os.path.basename(path))
        return real(path)

    monkeypatch.setattr(hist, "load", counting)
    return seen


def test_index_gives_the_same_table_and_reads_only_changes(folder, loads):
    first = history_table(folder)
    assert (folder / INDEX_FILE).is_file() and len(loads) == len(first) == 5
    pd.testing.assert_frame_equal(first, history_table(folder, index=False))
    assert first.attrs == history_table(folder, index=False).attrs
    loads.clear()
    pd.testing.assert_frame_equal(history_table(folder), first)
    assert loads == []  # nothing changed: nothing read

    gitlab = folder / "gitlab-2017" / "incident.yaml"
    gitlab.write_text(gitlab.read_text(encoding="utf-8").replace("title:", "title: Changed —", 1), encoding="utf-8")
    shutil.rmtree(folder / "weimob-2020")
    shutil.copytree(ROOT / "data" / "weimob-2020", folder / "weimob-copy")
    loads.clear()
    table = history_table(folder)
    assert sorted(loads) == ["gitlab-2017", "weimob-copy"]
    assert len(table) == 5 and "weimob-2020" in set(table["id"])  # the copy keeps its id
    assert table.set_index("id").loc["gitlab-2017", "title"].startswith("Changed —")
    pd.testing.assert_frame_equal(table, history_table(folder, index=False))
    index = read_history(folder / INDEX_FILE)
    assert sorted(index["path"]) == sorted(f"{p.name}/incident.yaml" for p in folder.iterdir() if p.is_dir())


def test_every_bad_file_is_reported_every_time(folder, loads):
    history_table(folder)
    (folder / "gitlab-2017" / "incident.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    (folder / "weimob-2020" / "incident.yaml").write_text("title: 3\n", encoding="utf-8")
    for _ in range(2):  # the second time from the index: still both reported
        with pytest.raises(IncidentError) as caught:
            history_table(folder)
        files = {os.path.basename(os.path.dirname(p.file)) for p in caught.value.problems}
        assert files == {"gitlab-2017", "weimob-2020"}
    assert len(read_history(folder / INDEX_FILE)) == 3  # the good rows are kept for the next load


def test_a_damaged_or_older_index_is_rebuilt(folder, loads, monkeypatch):
    first = history_table(folder)
    (folder / INDEX_FILE).write_bytes(b"PAR1 damaged")
    loads.clear()
    pd.testing.assert_frame_equal(history_table(folder), first)
    assert len(loads) == 5
    monkeypatch.setattr(history_index, "INDEX_VERSION", "2")
    loads.clear()
    pd.testing.assert_frame_equal(history_table(folder), first)
    assert len(loads) == 5


def test_a_read_only_folder_still_loads(folder):
    first = history_table(folder, index=False)
    os.chmod(folder, 0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who may write anywhere")
        pd.testing.assert_frame_equal(history_table(folder), first)
        assert not (folder / INDEX_FILE).exists()
    finally:
        os.chmod(folder, 0o755)


def test_a_bad_file_among_many_is_reported_and_the_good_ones_kept(tmp_path):
    import pickle

    import incident.analysis.history as history
    from incident.core.errors import IncidentError, Problem

    error = IncidentError([Problem("a.yaml", "title", "missing", 3)])
    assert pickle.loads(pickle.dumps(error)).problems == error.problems  # a user's process pool gets it whole
    source = ROOT / "data" / "gitlab-2017" / "incident.yaml"
    for k in range(6):
        (tmp_path / f"case-{k}").mkdir()
        (tmp_path / f"case-{k}" / "incident.yaml").write_text(source.read_text(encoding="utf-8").replace(
            "id: gitlab-2017", f"id: case-{k}"), encoding="utf-8")
    (tmp_path / "case-3" / "incident.yaml").write_text("id: broken\n", encoding="utf-8")
    with pytest.raises(IncidentError) as caught:
        history.folder_history(tmp_path, index=False)
    assert {p.file for p in caught.value.problems} == {str(tmp_path / "case-3" / "incident.yaml")}
    (tmp_path / "case-3" / "incident.yaml").unlink()
    (tmp_path / "case-3").rmdir()
    table = history.folder_history(tmp_path, index=False)
    assert sorted(table["id"]) == [f"case-{k}" for k in (0, 1, 2, 4, 5)]


def test_the_index_module_takes_the_row_of_a_file_from_its_caller(tmp_path):
    # incident.io.history_index knows nothing of timelines (a layer below them): any function of a file makes its row
    from incident.io.history_index import indexed_history

    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "incident.yaml").write_text(f"id: {name}\n", encoding="utf-8")
    read = []

    def row_of(file):
        read.append(file.parent.name)
        name = file.read_text(encoding="utf-8").split()[1]
        if name == "bad":
            raise IncidentError.single(str(file), "a bad file")
        return {"id": name, "title": f"incident {name}", "exact": True}

    first = indexed_history(tmp_path, row_of)
    assert list(first["id"]) == ["a", "b", "c"] and read == ["a", "b", "c"]
    assert set(first["source"]) == {"incidents"} and first.attrs["import_report"]["records"] == 3
    read.clear()
    pd.testing.assert_frame_equal(indexed_history(tmp_path, row_of), first)
    assert read == []
    (tmp_path / "b" / "incident.yaml").write_text("id: bad\n", encoding="utf-8")
    for _ in range(2):  # reported each time, never indexed
        read.clear()
        with pytest.raises(IncidentError) as caught:
            indexed_history(tmp_path, row_of)
        assert read == ["b"] and [p.message for p in caught.value.problems] == ["a bad file"]
    assert list(read_history(tmp_path / INDEX_FILE)["id"]) == ["a", "c"]
    (tmp_path / "b" / "incident.yaml").write_text("id: b\n", encoding="utf-8")
    read.clear()
    pd.testing.assert_frame_equal(indexed_history(tmp_path, row_of), first)
    assert read == ["b"]  # fixed: read once more, indexed again
    read.clear()
    pd.testing.assert_frame_equal(indexed_history(tmp_path, row_of, index=False), first)
    assert read == ["a", "b", "c"]
