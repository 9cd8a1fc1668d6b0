"""Hostile text in every free-text field: the report shows it as text and runs none of it.

A copy of the Weimob incident gets markup, script, event handlers,
`javascript:` links, template and math syntax in every field a person writes;
a Statuspage feed gets them in its incident name and update bodies. Both are
rendered once (one kernel), then the HTML is parsed, and loaded in headless
Chromium: no script or handler from the data may run, and the payloads must be
on the page as visible text.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from incident.report import render as report
from incident.io.statuspage import import_statuspage
from incident.io.yamlfile import load_yaml

from conftest import WEIMOB

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def pwn(tag: str) -> str:
    """Script that marks the page if it ever runs."""
    return f"document.documentElement.setAttribute('data-pwned','{tag}')"


PAYLOADS = [
    f"<script>{pwn('script')}</script>",
    f'<img src=x onerror="{pwn("img")}">',
    f'<a href="javascript:{pwn("link")}">click</a>',
    f"[md link](javascript:{pwn('markdown')})",
    "<style>body{display:none}</style>",
    "</td></tr></table><h2>fake heading</h2>",
    "{{ 7*7 }} {% raw %}",
    f'<svg onload="{pwn("svg")}"></svg>',
    f"\"><script>{pwn('attribute')}</script>",
    f"<iframe srcdoc=\"<script>parent.{pwn('iframe')}</script>\"></iframe>",
    f'<meta http-equiv="refresh" content="0;url=javascript:{pwn("meta")}">',
    r"$\frac{1}{2}$ costs $5 and ${x}^$",
    "<!-- an open comment",
]
URL = f"javascript:{pwn('url')}"

# Fields that are not free text: ids, references, times, choices, codes, paths;
# and a figure's metric and period, which the financials chart matches by name.
STRUCTURAL = {
    "id", "at", "precision", "kind", "start", "end", "window_start", "window_end", "event_start", "date",
    "timezone", "status", "impact", "currency", "exchange", "prices", "benchmark_prices", "listing_date",
    "sources", "remainder_sources", "current", "prior", "minuend", "subtrahend", "part", "field", "series", "unit",
    "metric", "period",
}


def poison(value, key=None, counter=None):
    """`value` with a payload after every free-text string (a `url` becomes a javascript: link)."""
    counter = counter if counter is not None else [0]
    if isinstance(value, dict):
        return {k: poison(v, k, counter) for k, v in value.items()}
    if isinstance(value, list):
        return value if key in STRUCTURAL else [poison(v, key, counter) for v in value]
    if isinstance(value, str) and key not in STRUCTURAL:
        if key == "url":
            return URL
        payload = PAYLOADS[counter[0] % len(PAYLOADS)]
        counter[0] += 1
        return f"{value} {payload}"
    return value


def hostile_feed() -> dict:
    """A small Statuspage feed whose name and update bodies are hostile."""
    update = {"status": "investigating", "affected_components": [
        {"code": "c1", "name": f"API <img src=x onerror=\"{pwn('feed-component')}\">",
         "old_status": "operational", "new_status": "major_outage"}]}
    return {
        "page": {"id": "p1", "name": "Hostile <b>Status</b>", "url": URL, "time_zone": "Etc/UTC"},
        "incidents": [{
            "id": "hostile1", "name": f"Outage <script>{pwn('feed-name')}</script>", "status": "resolved",
            "impact": "major", "created_at": "2024-05-01T10:00:00.000Z", "started_at": "2024-05-01T09:55:00.000Z",
            "resolved_at": "2024-05-01T12:00:00.000Z", "shortlink": URL,
            "incident_updates": [
                {**update, "id": "u1", "created_at": "2024-05-01T10:00:00.000Z",
                 "body": f"We see errors &lt;script&gt;{pwn('feed-entity')}&lt;/script&gt;<br />"
                         f"<script>{pwn('feed-body')}</script> <a href=\"javascript:{pwn('feed-link')}\">status</a>"},
                {"id": "u2", "status": "resolved", "created_at": "2024-05-01T12:00:00.000Z",
                 "body": f"Fixed. <img src=x onerror=\"{pwn('feed-img')}\"> </td></table><h2>fake heading</h2>",
                 "affected_components": [{"code": "c1", "name": "API", "old_status": "major_outage",
                                          "new_status": "operational"}]},
            ],
        }],
    }


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Both hostile incidents rendered in one batch: {name: HTML file}."""
    tmp = tmp_path_factory.mktemp("hostile")
    folder = tmp / "weimob-hostile"
    shutil.copytree(WEIMOB, folder)
    data, _ = load_yaml(folder / "incident.yaml")
    (folder / "incident.yaml").write_text(
        yaml.safe_dump(poison(data), allow_unicode=True, sort_keys=False), encoding="utf-8")
    feed = tmp / "incidents.json"
    feed.write_text(json.dumps(hostile_feed()), encoding="utf-8")
    (imported,) = import_statuspage(feed, tmp / "imported")
    results = report.render_many([folder, imported], tmp / "out")
    assert [r.error for r in results] == [None, None]
    return {"weimob": results[0].output, "feed": results[1].output}


class Audit(HTMLParser):
    """What a page could run: scripts, handlers, javascript: URLs, frames, refreshes."""

    URL_ATTRS = {"href", "src", "action", "formaction", "data", "srcdoc", "xlink:href", "poster", "background"}

    def __init__(self):
        super().__init__()
        self.findings: list[str] = []
        self.styles = 0
        self.h2: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "base", "svg", "math", "form"):
            self.findings.append(f"<{tag}>")
        if tag == "meta" and any(k == "http-equiv" for k, _ in attrs):
            self.findings.append(f"<meta {attrs}>")
        self.styles += tag == "style"
        for name, value in attrs:
            if name.startswith("on"):
                self.findings.append(f"{tag} {name}={value!r}")
            if name in self.URL_ATTRS and value and value.strip().lower().startswith(("javascript:", "vbscript:")):
                self.findings.append(f"{tag} {name}={value!r}")
        self._in_h2 = tag == "h2"

    def handle_data(self, data):
        if self._in_h2:
            self.h2.append(data.strip())
            self._in_h2 = False


@pytest.mark.parametrize("name", ["weimob", "feed"])
def test_nothing_from_the_data_can_run(rendered, name):
    html = rendered[name].read_text(encoding="utf-8")
    audit = Audit()
    audit.feed(html)
    assert audit.findings == []
    assert audit.styles == 1  # the report's own style sheet
    assert "fake heading" not in audit.h2
    assert html.rstrip().endswith("</html>")


def test_payloads_are_in_the_page_as_escaped_text(rendered):
    html = rendered["weimob"].read_text(encoding="utf-8")
    assert "&lt;script&gt;document.documentElement.setAttribute(" in html
    assert "&lt;img src=x onerror=" in html
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;h2&gt;fake heading&lt;/h2&gt;" in html
    assert "{{ 7*7 }} {% raw %}" in html and "49" not in html.split("{{ 7*7 }}")[0][-20:]
    assert "[md link](javascript:" in html  # shown as written: no markdown is rendered
    assert "javascript:document.documentElement" in html  # the source URL, as text
    assert "Postmortem: Weimob SaaS production data destroyed by an insider &lt;" in html  # <title>


def test_feed_text_is_plain_text_in_the_report(rendered):
    html = rendered["feed"].read_text(encoding="utf-8")
    assert "Outage &lt;script&gt;" in html
    assert "We see errors &lt;script&gt;document.documentElement" in html  # an entity in the feed stays text
    assert "&lt;img src=x onerror=" in html


# -- a real browser ------------------------------------------------------------------
def require_chromium():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed in CI (make test installs it)")
        pytest.skip("chromium not installed (apt-get install chromium, or `make browser`)")


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--virtual-time-budget=3000", *args],
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize("name", ["weimob", "feed"])
def test_browser_runs_nothing_and_shows_the_text(rendered, name, tmp_path):
    require_chromium()
    dom = chromium(tmp_path / "profile", "--dump-dom", rendered[name].as_uri()).stdout
    assert "<main" in dom, dom[-2000:]  # the page loaded
    # run, any payload would have set the attribute on <html>; as text it is only ever in quotes
    assert re.search(r"<html[^>]*data-pwned", dom) is None and 'data-pwned="' not in dom
    assert "&lt;script&gt;" in dom and "&lt;img src=x onerror=" in dom
    assert "<h2>fake heading</h2>" not in dom


def test_browser_screenshot_shows_the_page(rendered, tmp_path):
    require_chromium()
    import matplotlib.image

    shot = tmp_path / "hostile.png"
    result = chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,1600",
                      rendered["weimob"].as_uri())
    assert shot.exists(), result.stderr[-2000:]
    pixels = matplotlib.image.imread(shot)
    assert pixels[:800].std() > 0.05  # text on the page: no injected style hid the body
