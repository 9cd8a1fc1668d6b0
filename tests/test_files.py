"""The one checked read and the one atomic write: special files, byte caps, umask, leftovers."""

from __future__ import annotations

import os
import stat
import time

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from incident.core.errors import IncidentError
from incident.io.files import (
    TEMP_PREFIX, TEMP_SUFFIX, atomic_write, open_regular, output_folder, read_bytes, read_text, remove_stale,
)
from incident.io.yamlfile import dump_plain


# -- reading ---------------------------------------------------------------------------
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "incident.yaml"
    os.mkfifo(fifo)
    started = time.perf_counter()
    with pytest.raises(IncidentError, match="not a regular file"):
        read_bytes(fifo, 1000)
    assert time.perf_counter() - started < 1


def test_a_link_to_dev_zero_is_refused(tmp_path):
    link = tmp_path / "feed.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(IncidentError, match="not a regular file"):
        read_bytes(link, 1000, "feed")


def test_a_folder_is_named_as_one(tmp_path):
    with pytest.raises(IncidentError, match="is a folder; expected the incident file"):
        read_text(tmp_path, 1000, "incident file")


def test_the_cap_holds_whatever_the_size_says(tmp_path):
    file = tmp_path / "big"
    file.write_bytes(b"x" * 1001)
    with pytest.raises(IncidentError, match="larger than the limit of 1,000 bytes"):
        read_bytes(file, 1000)
    assert read_bytes(file, 1001) == b"x" * 1001
    with open_regular(file, 2000) as fh:  # a file that grows after the check is still cut off
        with open(file, "ab") as grow:
            grow.write(b"y" * 5000)
        with pytest.raises(IncidentError, match="larger than the limit of 2,000 bytes"):
            while fh.read(300):
                pass


def test_missing_file(tmp_path):
    with pytest.raises(IncidentError, match="no such feed"):
        read_bytes(tmp_path / "nope.json", 10, "feed")


# -- writing ---------------------------------------------------------------------------
@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_file_respects_the_umask(tmp_path, umask_022):
    path = atomic_write(tmp_path / "a.yaml", "x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_replaced_file_keeps_its_mode(tmp_path, umask_022):
    path = tmp_path / "a.yaml"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_exclusive_never_replaces_not_even_through_a_dangling_link(tmp_path):
    (tmp_path / "a").write_text("mine")
    with pytest.raises(FileExistsError):
        atomic_write(tmp_path / "a", "theirs", exclusive=True)
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(FileExistsError):
        atomic_write(tmp_path / "link", "x", exclusive=True)
    assert not (tmp_path / "elsewhere").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)] == []


def test_output_folder_says_what_is_in_the_way(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(IncidentError, match="is a file, not a folder"):
        output_folder(tmp_path / "file")
    with pytest.raises(IncidentError, match="part of the path is a file"):
        output_folder(tmp_path / "file" / "sub")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(IncidentError, match="symbolic link to nothing"):
        output_folder(tmp_path / "dangling")
    assert output_folder(tmp_path / "new" / "deeper").is_dir()


def test_remove_stale_takes_only_old_temporaries_of_this_tool(tmp_path):
    old_file = tmp_path / f"{TEMP_PREFIX}x.yaml.abc{TEMP_SUFFIX}"
    old_dir = tmp_path / f"{TEMP_PREFIX}staging.abc{TEMP_SUFFIX}"
    fresh = tmp_path / f"{TEMP_PREFIX}y.yaml.def{TEMP_SUFFIX}"
    other = tmp_path / f".X.report{TEMP_SUFFIX}"
    old_file.write_text("x")
    old_dir.mkdir()
    (old_dir / "inside").write_text("x")
    fresh.write_text("x")
    other.write_text("x")
    hour_ago = time.time() - 7200
    for p in (old_file, old_dir, other):
        os.utime(p, (hour_ago, hour_ago))
    assert sorted(p.name for p in remove_stale(tmp_path)) == sorted([old_file.name, old_dir.name])
    assert fresh.exists() and other.exists()


# -- plain YAML, written fast, read back the same -----------------------------------------
text = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["yes", "No", "null", "~", "2024-01-01", "1e3", "0x1F", "- item", "a: b", "#x", " lead", "trail ", "'", '"',
     "\x85", "\u2028", "\ufeff", "\x1b[31m", "a\tb", "", ".inf", "<<", "&a", "*a", "!tag", "%x", "@", "`"])
keys = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)
plain = st.recursive(
    text | st.booleans() | st.none(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, plain, max_size=5))
def test_dump_plain_reads_back_the_same(data):
    assert yaml.safe_load(dump_plain(data)) == data
