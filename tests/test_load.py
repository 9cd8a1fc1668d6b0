"""Loading the flagship incident: the facts as typed models and tables."""

from datetime import timedelta

import pandas as pd

import incident
from incident.analysis.timeline import milestone_table


def test_weimob_loads_with_every_section(weimob):
    assert weimob.id == "weimob-2020"
    assert weimob.timezone == "Asia/Shanghai"
    assert {s.id for s in weimob.sources} == {f"S{i}" for i in range(1, 8)}
    assert len(weimob.milestones) == 15  # with S3's detection on the Sunday night
    assert len(weimob.phases) == 4
    assert weimob.provision.total == 150_000_000
    assert len(weimob.accountability.people) == 4
    assert len(weimob.remediation) == 10
    assert weimob.market.ticker == "2013.HK"


def test_every_fact_points_at_a_known_source(weimob):
    known = {s.id for s in weimob.sources}
    for m in weimob.milestones:
        assert m.sources and set(m.sources) <= known, m.id
    for f in weimob.financials:
        assert set(f.sources) <= known


def test_day_precision_is_kept_not_invented(weimob):
    w = weimob.when("cause-found")
    assert w.precision == "day"
    assert w.iso() == "2020-02-24"
    assert w.latest - w.earliest == timedelta(days=1)


def test_approximate_time_is_flagged(weimob):
    w = weimob.when("services-fail")
    assert w.approximate and w.precision == "minute"
    assert w.label() == "~2020-02-23 19:00"


def test_times_are_timezone_aware(weimob):
    table = milestone_table(weimob)
    assert str(table["time"].dt.tz) == "Asia/Shanghai"
    # the Finet article's time carries its own +08:00 offset (HKT)
    row = table.set_index("id").loc["s1-published"]
    assert row["time"] == pd.Timestamp("2020-03-03 07:08", tz="UTC")


def test_milestones_sorted_in_time(weimob):
    table = milestone_table(weimob)
    assert table["time"].is_monotonic_increasing
    # a milestone known only to the day sorts at that day's start (its earliest possible time): S3's
    # detection "on Sunday night" has no hour, so it comes first; the first one known to the minute is the deletion
    assert table["id"].iloc[0] == "monitoring-detects" and table["precision"].iloc[0] == "day"
    assert table.loc[table["precision"] != "day", "id"].iloc[0] == "deletion"


def test_load_accepts_file_or_folder(weimob):
    again = incident.load(weimob.folder / "incident.yaml")
    assert again == weimob
