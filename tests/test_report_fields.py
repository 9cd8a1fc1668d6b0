"""The standard postmortem fields in the report, a blameless version, and nothing of the machine in a page."""

from __future__ import annotations

import shutil

import pytest

from incident.report import render as report

from conftest import ROOT, WEIMOB

pytestmark = pytest.mark.slow

EXTRA = """
severity: SEV1 (the organisation's own rating)
responders:
  - {name: Database on-call engineer, role: incident commander, sources: [S2]}
  - {name: Jane Roe, role: communications, sources: [S2]}
customer_impact:
  - {metric: projects whose database changes were lost, value: 5000, approximate: true, sources: [S1]}
contributing_factors:
  - {text: Backups had failed silently for months., sources: [S1]}
action_items:
  - {action: Alert when a backup is empty or missing, type: detect, owner: infrastructure team, priority: P1,
     due: 2017-03-01, ticket: INFRA-1094, status: done, sources: [S1]}
  - {action: Rehearse a full restore every quarter, type: prevent, owner: infrastructure team, priority: P2,
     status: open}
"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """GitLab 2017 with the standard fields, and a title long enough to make matplotlib complain."""
    folder = tmp_path_factory.mktemp("fields") / "gitlab-2017"
    shutil.copytree(ROOT / "data" / "gitlab-2017", folder)
    text = (folder / "incident.yaml").read_text(encoding="utf-8")
    long_name = "Pay $5 #1 and $6 " + "x" * 3000
    text = text.replace("  name: GitLab Inc.", f"  name: '{long_name}'", 1)
    (folder / "incident.yaml").write_text(text + EXTRA, encoding="utf-8")
    out = report.render(folder, folder.parent / "out.html")
    return out.read_text(encoding="utf-8"), folder


def test_standard_fields_are_shown(page):
    html, _ = page
    assert "<dt>Severity</dt><dd>SEV1 (the organisation's own rating)</dd>" in html
    assert "Action items: 1 open, 0 in progress, 1 done." in html
    assert "INFRA-1094" in html and "Rehearse a full restore every quarter" in html
    assert "Who responded" in html and "incident commander" in html
    assert "projects whose database changes were lost" in html and "~5,000" in html
    assert "<h3>Contributing factors</h3>" in html
    assert 'id="glossary"' in html


def test_no_stderr_warning_or_machine_path_in_the_page(page):
    html, folder = page
    assert "jp-OutputArea-stderr" not in html and "Warning" not in html and "warnings.warn" not in html
    assert str(folder.parent) not in html and "/site-packages/" not in html and str(ROOT) not in html
    assert "Pay $5 #1 and $6" in html  # drawn and shown as text, not as TeX


def test_blameless_names_roles(tmp_path):
    out = report.render(WEIMOB, tmp_path / "blameless.html", blameless=True)
    html = out.read_text(encoding="utf-8")
    for name in ("Sun Taoyong", "孫濤勇", "Huang Junwei", "Fang Tongshu"):
        assert name not in html
    assert "Chairman and CEO" in html and "Executive director and CTO" in html
