"""Statuspage feeds: the two real feeds import into valid incidents; bad feeds fail clearly."""

from __future__ import annotations

import copy
import json
import os
import re
import stat
import time
from datetime import timedelta, timezone

import pytest

import incident
from conftest import ROOT, run_cli
from incident.core.errors import IncidentError
from incident.analysis.timeline import durations
from incident.io.statuspage import (
    feed_frames,
    feed_to_incidents,
    import_statuspage,
    plain_text,
    read_feed,
    read_feed_frames,
)

SAMPLES = ROOT / "data" / "samples" / "statuspage"
GITHUB = SAMPLES / "githubstatus-incidents-2024-09-16.json"
DISCORD = SAMPLES / "discordstatus-incidents-2022-02-15.json"


@pytest.fixture(scope="module")
def github_feed():
    return read_feed(GITHUB)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """Both shipped feeds imported and loaded back: {incident id: Incident}."""
    out = tmp_path_factory.mktemp("imported")
    folders = import_statuspage(GITHUB, out) + import_statuspage(DISCORD, out)
    return {f.name: incident.load(f) for f in folders}


def minutes(inc, start_id, end_id):
    return (inc.when(end_id).earliest - inc.when(start_id).earliest).total_seconds() / 60


def test_shipped_feeds_import_into_valid_incidents(imported):
    assert sorted(imported) == [
        "discord-2022-02-15-n4njzfn1mqy0",
        "github-2024-09-16-69sb0f8lydp4",
        "github-2024-09-16-r3x7x31k7nn1",
    ]
    for inc in imported.values():
        assert inc.status == "resolved"
        assert inc.sources[0].url.startswith("https://")


def test_pages_and_actions_lasts_37_6_minutes(imported):
    inc = imported["github-2024-09-16-69sb0f8lydp4"]
    first = "investigating-9lpqk4965mzb"  # the first update, 21:31:02.798 UTC
    assert inc.milestones_by_id[first].at == "2024-09-16T21:31:02.798Z"
    assert inc.milestones_by_id["resolved-gv96mtfg46fj"].at == "2024-09-16T22:08:39.333Z"
    assert minutes(inc, first, "resolved-gv96mtfg46fj") == pytest.approx(37.609, abs=0.001)
    # durations count from the page's started_at, 85 ms before the first update
    recover = durations(inc).set_index("metric").loc["time_to_recover", "hours"]
    assert round(recover * 60, 1) == 37.6


def test_update_statuses_map_to_milestone_kinds(imported):
    inc = imported["github-2024-09-16-69sb0f8lydp4"]
    kinds = [m.kind for m in inc.milestones]
    # the page's start is its first post (85 ms apart): when the fault was detected is not in the feed,
    # and later "investigating" posts are updates, not detections
    assert kinds == ["impact"] + ["communication"] * 5 + ["recovery"]
    assert "not known from the feed" in inc.milestones[1].title
    assert "time_to_detect" not in durations(inc)["metric"].tolist()
    assert [m.at for m in inc.milestones] == sorted(m.at for m in inc.milestones)  # oldest first


def test_component_transitions_become_phases(imported):
    inc = imported["github-2024-09-16-69sb0f8lydp4"]
    phases = [(p.component, p.impact, p.start, p.end) for p in inc.phases]
    assert phases == [
        ("Actions", "partial_outage", "investigating-9lpqk4965mzb", "investigating-r8yz2fpy4ss8"),
        ("Pages", "partial_outage", "investigating-9lpqk4965mzb", "investigating-x6m13rp5rqzz"),
        ("Actions", "major_outage", "investigating-r8yz2fpy4ss8", "investigating-mfrjlr89z2dk"),
        ("Actions", "partial_outage", "investigating-mfrjlr89z2dk", "resolved-gv96mtfg46fj"),
    ]
    assert imported["github-2024-09-16-r3x7x31k7nn1"].phases == []  # affected_components: null


def test_discord_offsets_and_time_zone_preserved(imported):
    inc = imported["discord-2022-02-15-n4njzfn1mqy0"]
    assert inc.timezone == "America/Tijuana"
    first = inc.milestones_by_id["investigating-7gv6pn1zyz2n"]
    assert first.at == "2022-02-15T13:14:17.849-08:00"
    moment = inc.when(first.id).earliest
    assert moment.utcoffset() == timedelta(hours=-8)
    assert moment.astimezone(timezone.utc).strftime("%H:%M:%S.%f") == "21:14:17.849000"


def test_discord_record_times_fill_in_missing_updates(imported):
    """Only the first update is kept; monitoring_at and resolved_at still give the end."""
    inc = imported["discord-2022-02-15-n4njzfn1mqy0"]
    assert inc.milestones_by_id["monitoring"].kind == "mitigation"
    assert inc.milestones_by_id["resolved"].at == "2022-02-15T13:37:37.388-08:00"
    (phase,) = inc.phases
    assert (phase.component, phase.impact, phase.end) == ("API", "degraded_performance", "resolved")
    assert minutes(inc, "started", "resolved") == pytest.approx(23.327, abs=0.001)


def test_br_becomes_a_line_break(imported):
    inc = imported["github-2024-09-16-r3x7x31k7nn1"]
    body = inc.milestones_by_id["investigating-6rswdngzbjfg"].description
    assert "<br" not in body
    assert body.startswith("We are seeing up to 2% of Git SSH connections failing.\n\nWe have taken")


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("a<br />b<br/>c", "a\nb\nc"),
        ("<p>One</p><p>Two &amp; three</p>", "One\n\nTwo & three"),
        ("<ul><li>x</li><li>y</li></ul>", "- x\n- y"),
        ("<b>Bold</b> and <a href='https://x'>link</a>", "Bold and link"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert(1)</script>"),
        ("", ""),
    ],
)
def test_plain_text(body, text):
    assert plain_text(body) == text


def test_script_in_a_body_stays_text(github_feed, tmp_path):
    feed = copy.deepcopy(github_feed)
    feed["incidents"][0]["incident_updates"][0]["body"] = "Fixed.<br /><script>alert('x')</script>"
    (data, _) = feed_to_incidents(feed, "feed.json")
    resolved = next(m for m in data["milestones"] if m["kind"] == "recovery")
    assert resolved["description"] == "Fixed.\n<script>alert('x')</script>"  # text, for any report to escape


def test_tolerates_unknown_keys_and_missing_fields(github_feed):
    feed = copy.deepcopy(github_feed)
    inc = feed["incidents"][1]
    inc["brand_new_key"] = {"anything": [1, 2]}
    del inc["monitoring_at"], inc["shortlink"], inc["components"]
    inc["incident_updates"] = inc["incident_updates"][:1]  # a single update
    inc["incident_updates"][0]["unknown"] = True
    data = feed_to_incidents(feed, "feed.json")
    assert len(data) == 2 and len(data[1]["milestones"]) == 2


def bad_feed(tmp_path, content) -> str:
    path = tmp_path / "feed.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    messages = []
    for read in (read_feed, read_feed_frames):
        with pytest.raises(IncidentError) as info:
            read(path)
        messages.append(str(info.value).replace(str(path), "FEED"))
    return messages[0]


def test_not_json(tmp_path):
    assert bad_feed(tmp_path, "{oops").startswith("FEED:1: not JSON")


@pytest.mark.parametrize("content", [[1, 2], {"page": {}}, {"incidents": {}}, "null"])
def test_not_a_feed(tmp_path, content):
    assert "not a Statuspage incidents feed" in bad_feed(tmp_path, content)


def test_bad_updates_named_by_field(tmp_path, github_feed):
    feed = copy.deepcopy(github_feed)
    del feed["incidents"][0]["incident_updates"][2]["status"]
    assert bad_feed(tmp_path, feed) == "FEED: incidents[0].incident_updates[2].status: missing update status"
    feed = copy.deepcopy(github_feed)
    del feed["incidents"][1]["incident_updates"][0]["created_at"]
    assert "incidents[1].incident_updates[0].created_at: missing update created at" in bad_feed(tmp_path, feed)


def test_bad_times_named_by_field(tmp_path, github_feed):
    feed = copy.deepcopy(github_feed)
    feed["incidents"][0]["incident_updates"][2]["created_at"] = "2024-02-30T10:00:00.000Z"
    feed["incidents"][1]["incident_updates"][1]["created_at"] = "2024-09-16 13:30"  # no offset
    feed["incidents"][1]["resolved_at"] = "soon"
    lines = bad_feed(tmp_path, feed).splitlines()
    assert lines == [
        "FEED: incidents[0].incident_updates[2].created_at: '2024-02-30T10:00:00.000Z' is not a real date and time",
        "FEED: incidents[1].incident_updates[1].created_at: '2024-09-16 13:30': "
        "expected a time with its offset, such as 2024-09-16T21:31:02.798Z",
        "FEED: incidents[1].resolved_at: 'soon': expected a time with its offset, such as 2024-09-16T21:31:02.798Z",
    ]


def test_bad_component_status_and_time_zone(tmp_path, github_feed):
    feed = copy.deepcopy(github_feed)
    feed["incidents"][0]["incident_updates"][1]["affected_components"][1]["new_status"] = "on_fire"
    feed["page"]["time_zone"] = "Mars/Olympus"
    text = bad_feed(tmp_path, feed)
    assert "page.time_zone: unknown time zone 'Mars/Olympus'" in text
    assert "incidents[0].incident_updates[1].affected_components[1]: a component needs a name and a status" in text


def test_bad_feed_writes_nothing(tmp_path):
    (tmp_path / "feed.json").write_text('{"incidents": [{"id": "a", "incident_updates": [{"status": "x"}]}]}')
    with pytest.raises(IncidentError):
        import_statuspage(tmp_path / "feed.json", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_existing_incidents_kept_unless_overwrite(tmp_path):
    import_statuspage(DISCORD, tmp_path)
    target = tmp_path / "discord-2022-02-15-n4njzfn1mqy0" / "incident.yaml"
    target.write_text("# edited by hand\n", encoding="utf-8")
    with pytest.raises(IncidentError, match="already exists"):
        import_statuspage(DISCORD, tmp_path)
    assert target.read_text(encoding="utf-8") == "# edited by hand\n"
    import_statuspage(DISCORD, tmp_path, overwrite=True)
    assert incident.load(target).id == "discord-2022-02-15-n4njzfn1mqy0"
    assert not list(tmp_path.rglob("*.tmp"))


def test_bulk_frames_match_the_feed(github_feed):
    incidents, updates = feed_frames(github_feed)
    streamed = read_feed_frames(GITHUB)
    assert incidents.equals(streamed[0]) and updates.equals(streamed[1])
    assert list(incidents["id"]) == ["github-2024-09-16-69sb0f8lydp4", "github-2024-09-16-r3x7x31k7nn1"]
    assert list(incidents["impact"].fillna("-")) == ["major_outage", "-"]
    assert list(incidents["page_impact"]) == ["major", "minor"]
    assert len(updates) == 12 and str(updates["created_at"].dt.tz) == "UTC"
    assert updates["kind"].value_counts().to_dict() == {"detection": 10, "recovery": 2}


def test_cli_import(tmp_path):
    done = run_cli("import", "statuspage", DISCORD, "-o", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "1 incident imported" in done.stdout
    assert run_cli("validate", tmp_path / "out" / "discord-2022-02-15-n4njzfn1mqy0").returncode == 0
    (tmp_path / "bad.json").write_text("[]")
    done = run_cli("import", "statuspage", tmp_path / "bad.json", "-o", tmp_path / "out2")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "not a Statuspage incidents feed" in done.stderr
    assert not (tmp_path / "out2").exists()


# -- issue #12: nothing lost, all or nothing, the umask, leftovers -----------------------
def feed_with_ids(*ids, page="Example") -> dict:
    def incident(i, iid):
        at = f"2024-05-01T1{i}:00:00.000Z"
        return {"id": iid, "name": f"Incident {iid}", "status": "resolved", "impact": "minor", "created_at": at,
                "incident_updates": [{"id": f"u{i}", "status": "resolved", "body": "Fixed.", "created_at": at}]}

    return {"page": {"name": page, "time_zone": "Etc/UTC"}, "incidents": [incident(i, iid) for i, iid in enumerate(ids)]}


def write_feed(tmp_path, feed, name="feed.json"):
    path = tmp_path / name
    path.write_text(json.dumps(feed), encoding="utf-8")
    return path


@pytest.mark.parametrize("ids", [
    ("AbCdEf", "abcdef"),
    ("a.b", "a-b", "a_b"),
    ("事故一", "事故二", "ошибка"),
    ("x" * 30 + "first", "x" * 30 + "second"),
])
def test_ids_that_slug_alike_get_folders_of_their_own(tmp_path, ids):
    folders = import_statuspage(write_feed(tmp_path, feed_with_ids(*ids)), tmp_path / "out")
    assert len({f.name for f in folders}) == len(ids) == len(list((tmp_path / "out").iterdir()))
    for folder, raw in zip(folders, ids):
        inc = incident.load(folder)
        assert inc.id == folder.name and f"(id {raw})" in inc.sources[0].locator
    again = import_statuspage(write_feed(tmp_path, feed_with_ids(*reversed(ids)), "again.json"), tmp_path / "again")
    assert sorted(f.name for f in again) == sorted(f.name for f in folders)  # the same names, in any order


def test_frames_name_incidents_as_the_import_does(tmp_path):
    feed = feed_with_ids("AbCdEf", "abcdef")
    incidents, _ = feed_frames(feed)
    folders = import_statuspage(write_feed(tmp_path, feed), tmp_path / "out")
    assert list(incidents["id"]) == [f.name for f in folders]


def test_anything_in_the_way_stops_the_import_before_a_byte_is_written(tmp_path):
    feed = write_feed(tmp_path, feed_with_ids("aaa", "bbb", "ccc"))
    names = [f.name for f in import_statuspage(feed, tmp_path / "probe")]
    out = tmp_path / "out"
    out.mkdir()
    (out / names[1]).write_text("a file where a folder goes")
    (out / names[2]).mkdir()
    (out / names[2] / "incident.yaml").mkdir()  # a folder where the file goes
    with pytest.raises(IncidentError) as info:
        import_statuspage(feed, out, overwrite=True)
    assert len(info.value.problems) == 2
    assert sorted(p.name for p in out.iterdir()) == sorted(names[1:])  # the first incident was not written either


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    from incident.io.statuspage import importer

    feed = write_feed(tmp_path, feed_with_ids("aaa", "bbb", "ccc"))
    calls = []
    real_rename = importer.os.rename

    def rename_then_fail(src, dst):
        calls.append(dst)
        if len(calls) == 1:  # the one rename that publishes the import
            raise OSError(28, "No space left on device", str(dst))
        real_rename(src, dst)

    monkeypatch.setattr(importer.os, "rename", rename_then_fail)
    with pytest.raises(IncidentError, match="No space left on device; nothing was imported"):
        import_statuspage(feed, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".incident-")] == []


def test_force_keeps_the_users_mode_and_new_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        (folder,) = import_statuspage(DISCORD, tmp_path)
        file = folder / "incident.yaml"
        assert stat.S_IMODE(file.stat().st_mode) == 0o644
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755
        file.chmod(0o664)
        import_statuspage(DISCORD, tmp_path, overwrite=True)
        assert stat.S_IMODE(file.stat().st_mode) == 0o664
    finally:
        os.umask(old)


def test_temporaries_of_a_killed_import_are_removed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".incident-staging.abc123.tmp"
    stale.mkdir()
    (stale / "half-written").write_text("x")
    hour_ago = time.time() - 7200
    os.utime(stale, (hour_ago, hour_ago))
    import_statuspage(DISCORD, out)
    assert not stale.exists()
    assert [p.name for p in out.iterdir()] == ["discord-2022-02-15-n4njzfn1mqy0"]


# -- the streaming reader (ijson) says what the whole-file reader says ---------------------
def test_streamed_syntax_error_names_its_line(tmp_path):
    text = json.dumps(read_feed(GITHUB), indent=1).splitlines()
    text[40] = text[40] + " oops"
    path = tmp_path / "feed.json"
    path.write_text("\n".join(text), encoding="utf-8")
    with pytest.raises(IncidentError) as info:
        read_feed_frames(path)
    (problem,) = info.value.problems
    assert problem.line == 41 and problem.message.startswith("not JSON")


def test_streamed_feed_refuses_deep_nesting_fast_and_small(tmp_path):
    import tracemalloc

    path = tmp_path / "deep.json"
    path.write_text('{"incidents": [' + "[" * 200_000 + "]" * 200_000 + "]}", encoding="utf-8")
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(IncidentError, match="nested too deeply"):
            read_feed_frames(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2 and peak < 20_000_000


def test_streamed_feed_with_brackets_and_escapes_in_strings_across_chunks(tmp_path):
    feed = read_feed(GITHUB)
    body = '[[[{{{ \\" \\\\' * 20_000  # brackets inside strings never count as nesting
    feed["incidents"][0]["incident_updates"][0]["body"] = body
    path = tmp_path / "feed.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(feed).encode("utf-8"))  # and a byte-order mark
    incidents, updates = read_feed_frames(path)
    assert body in set(updates["body"])


@pytest.mark.parametrize("content,says", [
    ('{"incidents": "nope"}', "got 'incidents' as text 'nope'"),
    ('{"incidents": {"a": 1}}', "got 'incidents' as an object"),
    ("[1, 2]", "got a list"),
    ('{"page": {}}', "no 'incidents' key"),
])
def test_not_a_feed_says_what_it_is(tmp_path, content, says):
    path = tmp_path / "feed.json"
    path.write_text(content, encoding="utf-8")
    for read in (read_feed, read_feed_frames):
        with pytest.raises(IncidentError, match=re.escape(says)):
            read(path)


def test_special_files_are_refused(tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    for path in (fifo, zero):
        for read in (read_feed, read_feed_frames):
            with pytest.raises(IncidentError, match="not a regular file"):
                read(path)


def big_feed(incidents: int, updates: int) -> dict:
    def update(i, j):
        return {"id": f"u{i}x{j}", "status": "investigating" if j < updates - 1 else "resolved",
                "body": f"Update {j} of incident {i}: still looking <br /> at it.",
                "created_at": f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}T{10 + j // 60:02d}:{j % 60:02d}:05.123Z",
                "affected_components": [{"code": "c1", "name": "API", "new_status": "major_outage"}]}

    return {"page": {"name": "Example Cloud", "time_zone": "Etc/UTC"},
            "incidents": [{"id": f"inc{i:07d}", "name": f"Incident {i}", "status": "resolved", "impact": "major",
                           "created_at": f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}T09:00:00.000Z",
                           "incident_updates": [update(i, j) for j in range(updates)]}
                          for i in range(incidents)]}


def test_streamed_frames_do_not_hold_the_parsed_feed(tmp_path):
    import tracemalloc

    path = write_feed(tmp_path, big_feed(150, 100))  # 15,000 updates
    peaks = {}
    for name, read in (("whole", lambda: feed_frames(read_feed(path))), ("streamed", lambda: read_feed_frames(path))):
        tracemalloc.start()
        try:
            frames = read()
            _, peaks[name] = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(frames[1]) == 15_000
    assert peaks["streamed"] < 0.5 * peaks["whole"], peaks


@pytest.mark.slow
def test_import_of_ten_thousand_incidents_writes_each_once(tmp_path):
    """Every incident of a large feed gets its own folder (the time it takes: benchmarks/history.py --import)."""
    path = write_feed(tmp_path, big_feed(10_000, 4))
    folders = import_statuspage(path, tmp_path / "out")
    assert len(folders) == len(set(folders)) == 10_000
    assert sum(1 for p in (tmp_path / "out").iterdir() if p.is_dir()) == 10_000
