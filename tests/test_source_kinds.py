"""Sources for teams (issue 22): a kind for each source, tickets and URLs as links, "not sourced" counted."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

import incident
from incident.core.errors import IncidentError
from incident.report.postmortem import section
from incident.report.views import link

from conftest import ROOT

TEAM = """
id: team-case
title: Checkout errors after a config push
organisation: {name: Example}
summary: An internal postmortem citing what a team has.
timezone: Etc/UTC
sources:
  - {id: T1, kind: ticket, title: Checkout errors, publisher: Example SRE, date: 2024-05-01, ticket: INC-4711,
     url: "https://tracker.example.com/browse/INC-4711"}
  - {id: C1, kind: chat, title: "#inc-checkout thread", publisher: Example SRE, date: 2024-05-01,
     locator: "#inc-checkout, 14:02 onwards"}
  - {id: D1, kind: dashboard, title: Checkout error rate, publisher: Example SRE, date: 2024-05-01,
     url: "javascript:alert(1)"}
  - {id: L1, kind: log, title: Error log query, publisher: Example SRE, date: 2024-05-01, ticket: "https://logs.example.com/q/abc"}
  - {id: P1, kind: person, title: Interview with the on-call engineer, publisher: Example SRE, date: 2024-05-02}
milestones:
  - {id: start, at: "2024-05-01 14:00", kind: impact, title: Errors begin, sources: [D1]}
  - {id: end, at: "2024-05-01 14:30", kind: recovery, title: Errors end, ends_impact: true, sources: [T1]}
phases:
  - {name: Checkout failing, start: start, end: end, impact: major_outage}
action_items:
  - {action: Validate config before push, type: prevent, sources: [T1]}
  - {action: Page on checkout errors, type: detect}
"""


class Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.anchors: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.anchors.append(dict(attrs))


@pytest.fixture
def team(write_incident):
    return incident.load(write_incident(TEAM))


def anchors(html) -> list[dict]:
    parser = Anchors()
    parser.feed(str(html))
    return [a for a in parser.anchors if not a.get("href", "").startswith("#")]


def test_a_ticket_source_is_a_link_in_the_postmortem(team):
    html = section("sources", team)
    links = anchors(html)
    ticket = next(a for a in links if a.get("class") == "ticket" and "INC-4711" in a["href"])
    assert ticket["href"] == "https://tracker.example.com/browse/INC-4711"
    assert set(ticket["rel"].split()) == {"noreferrer", "noopener"}
    assert ">INC-4711</a>" in html
    assert any(a["href"] == "https://logs.example.com/q/abc" for a in links)  # a ticket written as a URL
    assert all(a["href"].startswith(("http://", "https://")) for a in links)  # javascript: stays text
    assert "javascript:alert(1)" in html and 'href="javascript' not in html
    for kind in ("ticket", "chat", "dashboard", "log query", "person"):
        assert f'<span class="kind">{kind}</span>' in html


def test_internal_kinds_need_no_url_and_the_default_is_public(team):
    kinds = {s.id: s.kind for s in team.sources}
    assert kinds == {"T1": "ticket", "C1": "chat", "D1": "dashboard", "L1": "log", "P1": "person"}
    assert incident.load(ROOT / "data" / "gitlab-2017").sources[0].kind == "public"


def test_an_unknown_kind_is_refused(write_incident):
    with pytest.raises(IncidentError, match="kind"):
        incident.load(write_incident(TEAM.replace("kind: chat", "kind: slack")))


def test_public_urls_are_links_too():
    html = section("sources", incident.load(ROOT / "data" / "gitlab-2017"))
    assert ('<a class="url" href="https://about.gitlab.com/blog/2017/02/10/postmortem-of-database-outage-of-january-31/" '
            'rel="noreferrer noopener">') in html


def test_not_sourced_is_visible_and_counted(team):
    html = section("sources", team)
    assert "Not sourced: <strong>2</strong> items in this report cite no source" in html
    assert "action item: Page on checkout errors" in html and "phase: Checkout failing" in html
    assert '<span class="unsourced">not sourced</span>' in section("remediation", team)
    gitlab = section("sources", incident.load(ROOT / "data" / "gitlab-2017"))
    assert "Not sourced: <strong>0</strong>" in gitlab


@pytest.mark.parametrize("url, expected", [
    ("https://a.example/x", "https://a.example/x"),
    ("HTTP://a.example", "HTTP://a.example"),
    ("javascript:alert(1)", None),
    ("file:///etc/passwd", None),
    ("//a.example/x", None),
    ("https://a.example/\nx", None),
    ("INC-4711", None),
    (None, None),
])
def test_only_http_and_https_become_links(url, expected):
    assert link(url) == expected
