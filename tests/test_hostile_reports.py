"""Hostile text in every source of the market-study and the history report: shown as text, never run.

`test_hostile.py` does this for the postmortem. Here the same payloads go
into every text field that reaches the other two reports, from every source
format they read (and two postmortems of the same data are rendered beside
them, so that every kind of page is held to the same checks):

- the history report over incident folders (organisation names), a GitHub
  status history (.jsonl: component names, titles, impact), an ISSRE'22
  folder (root causes, mitigation actions, impact symptoms, detection
  methods, services) and a Statuspage feed (page, component and incident
  names), grouped by provider, component, root cause, impact, detection and
  quarter so that the text reaches group tables and figure labels; then the
  same report over the Parquet history `incident history --save` wrote from
  those sources;
- the study report over copies of Weimob and Fastly whose market sections
  (name, ticker, benchmark) and cited sources (titles, publishers) are hostile;
- the postmortem of that Fastly copy, and of the first incident imported from
  the hostile Statuspage feed (its component names reach only the postmortem).

Even the sources' file names are hostile, as they are listed in the history's
title block. Each report is rendered once, by the real command. Every page is
then read three ways: an HTML parser (nothing that could run, no remote
resource, the payloads present as text, a Content-Security-Policy forbidding
script in <head>), the SVG of each figure (text only), and headless Chromium
(no payload marked the page; its DOM as clean as the file).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest
import yaml

from conftest import ROOT, run_cli
from test_hostile import Audit, chromium, poison, pwn, require_chromium

from incident.io.yamlfile import load_yaml

FASTLY = ROOT / "data" / "fastly-2021"
WEIMOB = ROOT / "data" / "weimob-2020"
BY = ["provider", "component", "root-cause", "impact", "detection", "quarter"]


# -- payloads: each one, if it ever ran, writes data-pwned="<tag>" on <html> --------------------------
def pwn_lower(tag: str) -> str:
    """`pwn` in lower case only: it still runs after an importer lower-cases the text."""
    return f"document.all[0].dataset.pwned='{tag}'"


def img(tag: str) -> str:
    return f'<img src=x onerror="{pwn(tag)}">'


def svg(tag: str) -> str:
    return f'<svg onload="{pwn(tag)}"></svg>'


def table_break(tag: str) -> str:
    return f"</td></tr></table><script>{pwn(tag)}</script>"


def attribute_break(tag: str) -> str:
    """Out of a double- or single-quoted attribute (a figure's alt text), then a script."""
    return f"\"'><script>{pwn(tag)}</script>"


def js_link(tag: str) -> str:
    return f'<a href="javascript:{pwn(tag)}">open</a>'


def md_link(tag: str) -> str:
    return f"[details](javascript:{pwn(tag)})"


def jinja(tag: str) -> str:
    """Template syntax: rendered as a template it would print 49 (or fail on the unclosed raw block)."""
    return f"{{{{7*7}}}} {{{{ {tag.replace('-', '_')}.__class__ }}}} {{% raw %}}"


def file_name(tag: str, suffix: str = "") -> str:
    """A file or folder name (no slash) that is markup, quotes and template syntax."""
    return f"{tag} \"'><img src=x onerror=\"{pwn(tag)}\"> {{{{7*7}}}}{suffix}"


# -- the hostile sources ----------------------------------------------------------------------------
GITHUB_COMPONENTS = [f"Actions {img('gh-component-img')}", f"Pages {table_break('gh-component-table')}",
                     f"API {attribute_break('gh-component-quote')}"]
GITHUB_IMPACTS = [f"major {svg('gh-impact-svg')}", f"minor {jinja('gh-impact-jinja')}"]


def github_lines() -> str:
    """Six GitHub status records (JSON Lines) with hostile components, titles, impacts and messages."""
    records = []
    for i in range(6):
        day = f"2023-{1 + 3 * (i % 4):02d}-{10 + i:02d}"
        start = f"{day}T10:00:00Z"
        records.append({
            "id": str(9_000_000 + i),
            "title": f"Incident {i} {js_link(f'gh-title-{i}')} {table_break(f'gh-title-table-{i}')}",
            "url": f"javascript:{pwn(f'gh-url-{i}')}",
            "started_at": start,
            "resolved_at": f"{day}T{11 + i:02d}:30:00Z",
            "updates": [
                {"at": start, "status": "Investigating", "message": img(f"gh-message-{i}")},
                {"at": f"{day}T10:{10 + i:02d}:00Z", "status": "Monitoring", "message": md_link(f"gh-md-{i}")},
                {"at": f"{day}T{11 + i:02d}:30:00Z", "status": "Resolved", "message": svg(f"gh-resolved-{i}")},
            ],
            "impact": GITHUB_IMPACTS[i % 2],
            "components": GITHUB_COMPONENTS[: 1 + i % 3],
        })
    return "".join(json.dumps(r) + "\n" for r in records)


ISSRE_ROOT_CAUSE = (f"internal causes {img('issre-l1')}", f"config {table_break('issre-l2')}")
ISSRE_SERVICE = f"Azure Storage {svg('issre-service')}"
ISSRE_SYMPTOM = f"latency {attribute_break('issre-symptom')}"
ISSRE_DETECTION = (f"pager <img src=x onerror=\"{pwn_lower('issre-detection')}\"> "  # lower-cased by the importer,
                   f"<a href=\"javascript:{pwn_lower('issre-detection-link')}\">open</a>")  # so written in lower case


def issre_records() -> dict:
    """Four Azure postmortems (ISSRE'22 schema) whose every text field is hostile."""
    records = {}
    for i in range(4):
        records[f"azure-2021-{i}"] = {
            "title": f"RCA {img(f'issre-title-{i}')}",
            "link": [f"javascript:{pwn(f'issre-link-{i}')}"],
            "time": f"0{1 + 2 * i}/1{i}/2021",
            "summary": table_break(f"issre-summary-{i}"),
            "details": jinja(f"issre-details-{i}"),
            "service_name": [ISSRE_SERVICE, f"Compute {md_link(f'issre-service-{i}')}"][: 1 + i % 2],
            "impact symptom": [ISSRE_SYMPTOM],
            "duration": 60 * (i + 1),
            "detection": {"method": ISSRE_DETECTION, "tool": [svg(f"issre-tool-{i}")]},
            "root cause": {"label": [{"layer-1": ISSRE_ROOT_CAUSE[0], "layer-2": ISSRE_ROOT_CAUSE[1]}],
                           "details": attribute_break(f"issre-cause-{i}")},
            "mitigation": {"label": [f"other action {img(f'issre-mitigation-{i}')}"],
                           "details": js_link(f"issre-mitigation-details-{i}")},
            "detection time": 5 + i, "identification time": 20 + i, "fix time": 40 + i,
        }
    return records


STATUSPAGE_PAGE = f"Status {img('sp-page')} {jinja('sp-page-jinja')}"


def sp_name(i: int) -> str:
    return f"Outage {i} {table_break(f'sp-name-{i}')}"


def sp_component(i: int) -> str:
    return f"Component {i} {svg(f'sp-component-{i}')}"


def statuspage_feed() -> dict:
    """Three incidents of a Statuspage feed with a hostile page name, incident names and component names."""
    incidents = []
    for i in range(3):
        day = f"2024-0{2 + i}-1{i}"
        component = {"code": f"c{i}", "name": sp_component(i),
                     "old_status": "operational", "new_status": "major_outage"}
        incidents.append({
            "id": f"hostile{i}", "name": sp_name(i), "status": "resolved",
            "impact": "major", "shortlink": f"javascript:{pwn(f'sp-link-{i}')}",
            "created_at": f"{day}T10:00:00.000Z", "started_at": f"{day}T09:55:00.000Z",
            "resolved_at": f"{day}T12:00:00.000Z",
            "incident_updates": [
                {"id": f"u{i}a", "status": "investigating", "created_at": f"{day}T10:00:00.000Z",
                 "body": img(f"sp-body-{i}"), "affected_components": [component]},
                {"id": f"u{i}b", "status": "monitoring", "created_at": f"{day}T11:00:00.000Z",
                 "body": md_link(f"sp-md-{i}")},
                {"id": f"u{i}c", "status": "resolved", "created_at": f"{day}T12:00:00.000Z",
                 "body": attribute_break(f"sp-resolved-{i}"),
                 "affected_components": [{**component, "old_status": "major_outage", "new_status": "operational"}]},
            ],
        })
    page = {"id": "p1", "name": STATUSPAGE_PAGE, "url": f"javascript:{pwn('sp-page-url')}", "time_zone": "Etc/UTC"}
    return {"page": page, "incidents": incidents}


# The paging tools' service names (components in the history), each source's own
PAGING_SERVICES = {"pagerduty": f"Checkout {img('pd-service')}", "opsgenie": f"svc {table_break('og-service')}",
                   "incidentio": f"Payments {attribute_break('iio-service')}", "csv": f"search {svg('csv-service')}"}
FIXTURES = ROOT / "tests" / "fixtures"


def paging_sources(tmp: Path) -> dict[str, Path]:
    """The PagerDuty, Opsgenie, incident.io and CSV fixtures, each with a hostile service name."""
    out = {}
    body = json.loads((FIXTURES / "pagerduty" / "incidents.json").read_text(encoding="utf-8"))
    body["incidents"][0]["service"]["summary"] = PAGING_SERVICES["pagerduty"]
    out["pagerduty"] = tmp / file_name("pagerduty", ".json")
    out["pagerduty"].write_text(json.dumps(body), encoding="utf-8")
    body = json.loads((FIXTURES / "opsgenie" / "incidents.json").read_text(encoding="utf-8"))
    body["data"][0]["impactedServices"] = [PAGING_SERVICES["opsgenie"]]
    out["opsgenie"] = tmp / file_name("opsgenie", ".json")
    out["opsgenie"].write_text(json.dumps(body), encoding="utf-8")
    body = json.loads((FIXTURES / "incidentio" / "incidents.json").read_text(encoding="utf-8"))
    body["incidents"][0]["custom_field_entries"][0]["values"][0]["value_catalog_entry"]["name"] = \
        PAGING_SERVICES["incidentio"]
    out["incidentio"] = tmp / file_name("incidentio", ".json")
    out["incidentio"].write_text(json.dumps(body), encoding="utf-8")
    lines = (FIXTURES / "csv" / "incidents.csv").read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(",")
    cells[3] = '"' + PAGING_SERVICES["csv"].replace('"', '""') + '"'
    out["csv"] = tmp / file_name("csv", ".csv")
    out["csv"].write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n", encoding="utf-8")
    return out


# The market study's hostile fields, by incident: (market name, ticker, benchmark, cited source title, publisher)
MARKET = {
    "weimob": (f"Weimob {js_link('w-name')}", f"2013.HK {img('w-ticker')}", f"^HSI {table_break('w-benchmark')}",
               f"Announcement {attribute_break('w-source')}", f"Finet {jinja('w-publisher')}"),
    "fastly": (f"Fastly {md_link('f-name')} {jinja('f-name-jinja')}", f"FSLY {svg('f-ticker')}",
               f"SPY {attribute_break('f-benchmark')}", f"Filing {table_break('f-source')}",
               f"SEC {img('f-publisher')}"),
}
ORGANISATION = {"weimob": f"Weimob {attribute_break('w-organisation')}",
                "fastly": f"Fastly {img('f-organisation')}"}


def hostile_incident(source: Path, folder: Path, name: str) -> Path:
    """A copy of `source` with a payload in every free-text field, and chosen ones in the market section."""
    shutil.copytree(source, folder)
    data, _ = load_yaml(folder / "incident.yaml")
    data = poison(data)
    market_name, ticker, benchmark, title, publisher = MARKET[name]
    data["organisation"]["name"] = ORGANISATION[name]
    data["market"].update(name=market_name, ticker=ticker, benchmark=benchmark)
    for sid in data["market"]["sources"]:
        cited = next(s for s in data["sources"] if s["id"] == sid)
        cited.update(title=title, publisher=publisher)
    (folder / "incident.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                                          encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """Every hostile source on disk: two incident folders (in one folder), GitHub, ISSRE, Statuspage."""
    tmp = tmp_path_factory.mktemp("hostile-sources")
    incidents = tmp / file_name("incidents")
    incidents.mkdir()
    out = {"weimob": hostile_incident(WEIMOB, incidents / "weimob-hostile", "weimob"),
           "fastly": hostile_incident(FASTLY, incidents / "fastly-hostile", "fastly"),
           "incidents": incidents}
    out["github"] = tmp / file_name("github", ".jsonl")
    out["github"].write_text(github_lines(), encoding="utf-8")
    out["issre"] = tmp / file_name("issre")
    (out["issre"] / "Azure").mkdir(parents=True)
    (out["issre"] / "Azure" / "azure-hostile.json").write_text(json.dumps(issre_records(), indent=1),
                                                               encoding="utf-8")
    out["statuspage"] = tmp / file_name("statuspage", ".json")
    out["statuspage"].write_text(json.dumps(statuspage_feed()), encoding="utf-8")
    out.update(paging_sources(tmp))
    return out


def history_args(*paths: Path) -> list:
    return ["report", "--history", *paths, *(x for by in BY for x in ("--by", by))]


@pytest.fixture(scope="module")
def pages(sources, tmp_path_factory) -> dict[str, Path]:
    """Every page over the hostile sources, each rendered once by the real command: {name: page}."""
    out = tmp_path_factory.mktemp("hostile-pages")
    saved = out / file_name("saved", ".parquet")
    history = [sources[k] for k in HISTORY_SOURCES]
    done = run_cli("history", *history, "--save", saved)
    assert done.returncode == 0, done.stderr
    commands = {
        "study": ["report", "--study", sources["weimob"], sources["fastly"]],
        "history": history_args(*history),
        "history-parquet": history_args(saved),
    }
    pages = {}
    for name, args in commands.items():
        page = out / f"{name}.html"
        done = run_cli(*args, "-o", page, "--no-cache", timeout=300)
        assert done.returncode == 0, f"{name}: {done.stderr[-3000:]}"
        pages[name] = page
    # the postmortem of the hostile Fastly and of the feed's first incident, in one batch
    done = run_cli("import", "statuspage", sources["statuspage"], "-o", out / "imported")
    assert done.returncode == 0, done.stderr
    imported = sorted((out / "imported").iterdir())[0]
    done = run_cli("report", sources["fastly"], imported, "-o", out / "postmortems", "--no-cache", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    pages["postmortem"] = out / "postmortems" / f"{sources['fastly'].name}.html"
    pages["postmortem-feed"] = out / "postmortems" / f"{imported.name}.html"
    return pages


HISTORY_SOURCES = ("incidents", "github", "issre", "statuspage", *PAGING_SERVICES)
# What must be on each page as text, whole: the hostile names that reach it, after the importers'
# documented normalisation (ISSRE's detection method lower-cased, root cause 'layer 1 / layer 2').
HISTORY_TEXT = [
    *GITHUB_COMPONENTS, *GITHUB_IMPACTS,  # GitHub: component and impact groups
    ISSRE_SERVICE, ISSRE_SYMPTOM, ISSRE_DETECTION, " / ".join(ISSRE_ROOT_CAUSE),  # ISSRE'22
    STATUSPAGE_PAGE,  # Statuspage: the page is the provider
    *ORGANISATION.values(),  # incident folders: the organisation is the provider
    *PAGING_SERVICES.values(),  # PagerDuty, Opsgenie, incident.io, CSV: the services are components
]
EXPECTED_TEXT = {
    "study": [text for fields in MARKET.values() for text in fields[1:]],  # tickers, benchmarks, sources
    "history": HISTORY_TEXT + [file_name("github", ".jsonl"), file_name("issre"), file_name("statuspage", ".json"),
                               file_name("incidents"), file_name("pagerduty", ".json"), file_name("csv", ".csv")],
    "history-parquet": HISTORY_TEXT + [file_name("saved", ".parquet")],
    "postmortem": [*MARKET["fastly"], ORGANISATION["fastly"]],
    "postmortem-feed": [STATUSPAGE_PAGE, sp_name(0), sp_component(0), img("sp-body-0"), md_link("sp-md-0"),
                        attribute_break("sp-resolved-0")],
}
# Group names that must reach a group table of the history
GROUP_TEXT = [GITHUB_COMPONENTS[0], ISSRE_SERVICE, STATUSPAGE_PAGE, " / ".join(ISSRE_ROOT_CAUSE),
              *PAGING_SERVICES.values()]
# Payloads (by their tag) that must be drawn, as text, in a figure of each page
FIGURE_TAGS = {
    "study": ["w-ticker", "f-ticker"],  # the events' labels
    "history": ["gh-component-img", "issre-service", "sp-page", "issre-l1"],  # the group comparisons' labels
    "history-parquet": ["gh-component-img", "issre-service", "sp-page", "issre-l1"],
    "postmortem": ["f-organisation", "f-publisher"],  # the timeline's title and sources line
    "postmortem-feed": ["sp-component-0", "sp-page"],
}
PAGES = list(EXPECTED_TEXT)


# -- reading a page -----------------------------------------------------------------------------------
def followable(tag: str, attrs: dict) -> bool:
    """A source's link a reader may follow (nothing is fetched): an <a> to http(s) that sends no referrer."""
    href = (attrs.get("href") or "").strip().lower()
    rel = set((attrs.get("rel") or "").lower().split())
    return tag == "a" and href.startswith(("http://", "https://")) and {"noreferrer", "noopener"} <= rel


class PageAudit(Audit):
    """`test_hostile.Audit`, plus: remote resources, the CSP meta tag, the text shown, table cells, figures.

    A `<meta http-equiv="Content-Security-Policy">` in <head> is the page's
    own, not a finding; any other http-equiv (a refresh) still is.
    """

    REMOTE = ("http:", "https:", "//", "ftp:", "ws:", "wss:", "file:")

    def __init__(self):
        super().__init__()
        self.csp: list[tuple[str, bool]] = []  # (policy, inside <head>)
        self.text: list[str] = []
        self.cells: list[str] = []
        self.figures: list[bytes] = []
        self._in_head = False
        self._cell: list[str] | None = None
        self._skip = 0  # inside <style>, <script> or <title>: not text shown in the page

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp.append((values.get("content") or "", self._in_head))
            attrs = [(k, v) for k, v in attrs if k != "http-equiv"]
        super().handle_starttag(tag, attrs)
        self._in_head = self._in_head or tag == "head"
        self._skip += tag in ("style", "script", "title")
        if tag in ("td", "th"):
            self._cell = []
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name in self.URL_ATTRS | {"srcset"} and value.startswith(self.REMOTE) and not followable(tag, values):
                self.findings.append(f"remote {tag} {name}={value[:80]!r}")
            if name in self.URL_ATTRS and value.startswith("data:") and tag != "img":
                self.findings.append(f"data: URL in {tag} {name}")
        if tag == "img" and (values.get("src") or "").startswith("data:image/svg+xml"):
            self.figures.append(data_url_bytes(values["src"]))

    def handle_endtag(self, tag):
        if tag == "head":
            self._in_head = False
        if tag in ("style", "script", "title"):
            self._skip = max(0, self._skip - 1)
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        super().handle_data(data)
        if not self._skip:
            self.text.append(data)
            if self._cell is not None:
                self._cell.append(data)


def data_url_bytes(url: str) -> bytes:
    head, _, body = url.partition(",")
    return base64.b64decode(body) if head.endswith(";base64") else unquote_to_bytes(body)


def audit(html: str) -> PageAudit:
    page = PageAudit()
    page.feed(html)
    page.close()
    return page


def shown(page: PageAudit) -> str:
    """The page's visible text, whitespace runs made one space (a cell may wrap a long name)."""
    return " ".join("".join(page.text).split())


class SvgAudit(HTMLParser):
    """What an SVG figure could run or load, and its text."""

    def __init__(self):
        super().__init__()
        self.findings: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "foreignobject", "iframe", "object", "embed", "a", "handler"):
            self.findings.append(f"<{tag}>")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on"):
                self.findings.append(f"{tag} {name}")
            if name in ("href", "xlink:href", "src") and not value.startswith(("#", "data:image/png")):
                self.findings.append(f"{tag} {name}={value[:80]!r}")

    def handle_data(self, data):
        self.text.append(data)


def figure_text(figure: bytes) -> tuple[list[str], str]:
    """(findings, text) of one SVG figure."""
    parser = SvgAudit()
    parser.feed(figure.decode("utf-8"))
    parser.close()
    return parser.findings, " ".join("".join(parser.text).split())


def script_policy(csp: str) -> dict[str, str]:
    """The CSP's directives that govern scripts, as {name: sources}: what a script must pass."""
    directives = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), " ".join(words[1:]).lower())
    governing = ["script-src-elem", "script-src-attr"]
    return {name: directives.get(name, directives.get("script-src", directives.get("default-src")))
            for name in ["script-src", *governing]}


# -- the tests: the data reached the pages, nothing in them can run -----------------------------------
def test_report_sources_are_valid_and_read(sources):
    """The hostile incidents pass `incident validate`; each hostile source reads as its own format."""
    done = run_cli("validate", sources["weimob"], sources["fastly"])
    assert done.returncode == 0, done.stdout + done.stderr
    from incident.analysis.history import detect_format, history_table

    for key in HISTORY_SOURCES:
        assert detect_format(sources[key]) == key
        assert len(history_table(sources[key], index=False)) >= 2, key


@pytest.mark.parametrize("name", PAGES)
def test_report_has_nothing_that_could_run(pages, name):
    page = audit(pages[name].read_text(encoding="utf-8"))
    assert page.findings == []
    assert page.styles == 1  # the report's own style sheet, no <style> from the data
    assert "fake heading" not in page.h2


@pytest.mark.parametrize("name", PAGES)
def test_report_forbids_script_by_content_security_policy(pages, name):
    page = audit(pages[name].read_text(encoding="utf-8"))
    assert page.csp, "no <meta http-equiv=\"Content-Security-Policy\"> on the page"
    assert all(in_head for _, in_head in page.csp), "a CSP meta tag outside <head> is ignored by browsers"
    for policy, _ in page.csp:
        governing = script_policy(policy)
        assert all(sources == "'none'" for sources in governing.values()), (policy, governing)


@pytest.mark.parametrize("name", PAGES)
def test_report_shows_every_payload_as_text(pages, name):
    html = pages[name].read_text(encoding="utf-8")
    text = shown(audit(html))
    missing = [s for s in EXPECTED_TEXT[name] if " ".join(s.split()) not in text]
    assert missing == []
    assert "&lt;img src=x onerror=" in html  # escaped in the file, not merely dropped
    assert "{{7*7}}" in text  # no template ran it


@pytest.mark.parametrize("name", ["history", "history-parquet"])
def test_history_report_groups_hostile_names_in_tables(pages, name):
    cells = audit(pages[name].read_text(encoding="utf-8")).cells
    assert [g for g in GROUP_TEXT if " ".join(g.split()) not in cells] == []


@pytest.mark.parametrize("name", PAGES)
def test_report_figures_draw_hostile_names_as_text_only(pages, name):
    page = audit(pages[name].read_text(encoding="utf-8"))
    assert page.figures, "no SVG figure on the page"
    findings = [(i, f) for i, figure in enumerate(page.figures) for f in figure_text(figure)[0]]
    assert findings == []
    drawn = "".join("".join(figure_text(f)[1].split()) for f in page.figures)  # a long label may be wrapped
    assert [t for t in FIGURE_TAGS[name] if f"'data-pwned','{t}'" not in drawn] == []


def test_report_from_parquet_shows_the_same_tables(pages):
    """The Parquet round trip neither drops nor alters a hostile name: every table cell is the same."""
    cells = [audit(pages[name].read_text(encoding="utf-8")).cells for name in ("history", "history-parquet")]
    assert cells[0] == cells[1]


# -- a real browser -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def doms(pages, tmp_path_factory) -> dict[str, str]:
    """Each page as headless Chromium left it after its scripts (if any) ran."""
    require_chromium()
    profile = tmp_path_factory.mktemp("chromium-profile")
    return {name: chromium(profile, "--dump-dom", page.as_uri()).stdout for name, page in pages.items()}


@pytest.mark.parametrize("name", PAGES)
def test_browser_report_runs_no_payload(doms, name):
    dom = doms[name]
    assert "<main" in dom, dom[-2000:]  # the page loaded
    ran = re.findall(r"data-pwned=\"([^\"]*)\"", dom)
    assert ran == []  # the tags name the fields whose payload ran
    page = audit(dom)
    assert page.findings == []  # nor did the browser's parse build anything that could run
    assert [s for s in EXPECTED_TEXT[name] if " ".join(s.split()) not in shown(page)] == []


def test_browser_marks_a_page_whose_payload_runs(tmp_path):
    """The check above can fail: the same payloads, unescaped and without a CSP, mark the page."""
    require_chromium()
    page = tmp_path / "unsafe.html"
    page.write_text(f"<!DOCTYPE html><html><body><main><table><tr><td>{img('control-img')}"
                    f"{table_break('control-script')}</main></body></html>", encoding="utf-8")
    dom = chromium(tmp_path / "profile", "--dump-dom", page.as_uri()).stdout
    assert re.findall(r"data-pwned=\"([^\"]*)\"", dom) in (["control-img"], ["control-script"])


def test_browser_report_policy_blocks_a_payload_that_escaped(pages, tmp_path):
    """Were a payload ever written unescaped, the history page's own CSP would still stop it in Chromium."""
    require_chromium()
    policies = audit(pages["history"].read_text(encoding="utf-8")).csp
    assert policies, "the page has no Content-Security-Policy"
    page = tmp_path / "escaped.html"
    meta = "".join(f'<meta http-equiv="Content-Security-Policy" content="{p}">' for p, _ in policies)
    page.write_text(f"<!DOCTYPE html><html><head>{meta}</head><body><main><table><tr><td>{img('policy-img')}"
                    f"{svg('policy-svg')}{table_break('policy-script')}</main></body></html>", encoding="utf-8")
    dom = chromium(tmp_path / "profile", "--dump-dom", page.as_uri()).stdout
    assert "<main" in dom and re.findall(r"data-pwned=\"([^\"]*)\"", dom) == []
