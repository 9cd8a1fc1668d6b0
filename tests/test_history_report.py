"""The history report notebook runs from any folder with the two real histories as parameters."""

from __future__ import annotations

import nbformat
import pytest

from conftest import ROOT, run_cli

NOTEBOOK = ROOT / "incident" / "report" / "history.ipynb"


def test_parameters_cell_is_tagged():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1 and "history_sources = [" in cells[0].source and "group_by = [" in cells[0].source


@pytest.mark.slow
def test_report_runs_from_a_temporary_folder(tmp_path, issre_dir, github_file):
    """`incident report --history` on the two real histories, run from an empty folder."""
    work = tmp_path / "work"
    work.mkdir()
    result = run_cli("report", "--history", issre_dir, github_file, "--by", "provider", "--by", "component",
                     "--by", "quarter", "-o", tmp_path / "history.html", cwd=work, timeout=600)
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "history.html").read_text(encoding="utf-8")
    assert "time to detect" in html and "By component" in html and "<table" in html
    assert html.count('src="data:image/svg+xml;base64,') >= 4  # ECDF, 2 comparisons, the trend
    assert "<script" not in html and "https://" not in html.split("<body")[1]  # offline: nothing fetched
    assert list(work.iterdir()) == []  # wrote nothing where it ran


@pytest.mark.slow
def test_study_report_of_the_seven_events(tmp_path):
    events = [ROOT / "data" / name for name in ("equifax-2017", "crowdstrike-2024", "okta-2022", "atlassian-2022",
                                                 "facebook-2021", "fastly-2021", "weimob-2020")]
    result = run_cli("report", "--study", *events, "-o", tmp_path / "study.html", timeout=600)
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "study.html").read_text(encoding="utf-8")
    assert "Patell" in html and "equifax-2017" in html and "weimob-2020" in html
    assert html.count("data:image/") >= 2 and "<script" not in html


def test_study_report_refuses_an_incident_without_a_market(tmp_path):
    result = run_cli("report", "--study", ROOT / "data" / "gitlab-2017", "-o", tmp_path / "s.html")
    assert result.returncode == 2 and "has no market section" in result.stderr
    assert not (tmp_path / "s.html").exists()


@pytest.mark.slow
def test_report_leaves_maintenance_out_when_asked(tmp_path, github_file):
    """`--exclude-maintenance` reaches the notebook: the page says how many windows were set aside."""
    from incident.analysis.history import history_table
    from incident.analysis.history_coverage import exclude_maintenance, maintenance_note
    from incident.report.history import maintenance_text

    page = tmp_path / "h.html"
    result = run_cli("report", "--history", github_file, "--exclude-maintenance", "-o", page, timeout=600)
    assert result.returncode == 0, result.stderr
    expected = maintenance_text(maintenance_note(exclude_maintenance(history_table(github_file))))
    assert expected.endswith("left out of every statistic")
    assert expected in page.read_text(encoding="utf-8")
