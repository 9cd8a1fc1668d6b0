"""The market-study and history reports to the postmortem's standard, and what the three reports share.

Each report is rendered once, by the real command: the study over every
incident with a market section, the history over the two real histories (by
provider, component and quarter), and a small history whose page and
component names are markup. The pages are then read as HTML: a title block;
tables with human headers, no pandas index rows, numbers with a real minus
sign and never in scientific notation; no "¶"; a Content-Security-Policy that
forbids script; figures as SVG with their titles as alternative text; names
from the data shown as text. With Chromium, a copy of each page measures its
own layout at 1280 and 400 px (the copy drops the policy so that the
measuring script may run), and the real pages load without a console error.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from conftest import ROOT, WEIMOB, run_cli, without_policy

slow = pytest.mark.slow  # the tests that render a report or start a browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = '<img src=x onerror="document.documentElement.dataset.pwned=1">'


def market_folders() -> list:
    """Every incident folder of data/ whose incident has a market section."""
    import incident

    folders = sorted(p for p in (ROOT / "data").iterdir() if (p / "incident.yaml").exists())
    return [p for p in folders if incident.load(p).market is not None]


def report(tmp_path_factory, name: str, *args) -> str:
    out = tmp_path_factory.mktemp(name) / f"{name}.html"
    result = run_cli("report", *args, "-o", out, timeout=600)
    assert result.returncode == 0, result.stderr
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> str:
    return report(tmp_path_factory, "study", "--study", *market_folders())


@pytest.fixture(scope="module")
def history(tmp_path_factory, issre_dir, github_file) -> str:
    return report(tmp_path_factory, "history", "--history", issre_dir, github_file,
                  "--by", "provider", "--by", "component", "--by", "quarter")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> str:
    """A history of a GitHub status file and a Statuspage feed whose page and component names are markup.

    (A feed's history keeps the page's name as the provider; its components only set the impact level.)
    """
    folder = tmp_path_factory.mktemp("hostile-sources")
    github = folder / "incidents.jsonl"
    github.write_text("".join(json.dumps(github_record(i)) + "\n" for i in range(3)), encoding="utf-8")
    feed = folder / "feed.json"
    feed.write_text(json.dumps(statuspage_feed()), encoding="utf-8")
    return report(tmp_path_factory, "hostile", "--history", github, feed, "--by", "provider", "--by", "component")


def github_record(i: int) -> dict:
    start, end = f"2024-05-0{i + 1}T10:00:00Z", f"2024-05-0{i + 1}T11:3{i}:00Z"
    return {"id": str(1000 + i), "title": f"Incident with {HOSTILE}", "started_at": start, "resolved_at": end,
            "published_at": end, "updated_at": end, "status_sequence": ["Investigating", "Resolved"],
            "duration_minutes": 90 + i, "impact": "minor", "components": [f"Actions {HOSTILE}"],
            "updates": [{"at": start, "status": "Investigating", "message": "We are investigating."},
                        {"at": end, "status": "Resolved", "message": "Resolved."}]}


def statuspage_feed() -> dict:
    component = {"code": "c1", "name": f"API {HOSTILE}", "old_status": "operational", "new_status": "major_outage"}
    return {
        "page": {"id": "p1", "name": f"Status {HOSTILE}", "url": "https://status.example", "time_zone": "Etc/UTC"},
        "incidents": [{
            "id": "s1", "name": "Outage", "status": "resolved", "impact": "major",
            "created_at": "2024-05-01T10:00:00.000Z", "started_at": "2024-05-01T09:55:00.000Z",
            "resolved_at": "2024-05-01T12:00:00.000Z",
            "incident_updates": [
                {"id": "u1", "status": "investigating", "created_at": "2024-05-01T10:00:00.000Z", "body": "Errors.",
                 "affected_components": [component]},
                {"id": "u2", "status": "resolved", "created_at": "2024-05-01T12:00:00.000Z", "body": "Fixed.",
                 "affected_components": [{**component, "old_status": "major_outage", "new_status": "operational"}]},
            ],
        }],
    }


class Page(HTMLParser):
    """What a page holds: its table cells and rows, images, meta tags, links and the text of each dd and heading."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.cells, self.rows, self.images, self.metas, self.links, self.texts = [], [], [], [], [], []
        self._cell = self._row = self._link = self._text = None
        self._in_head = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self._row = []
        elif tag in ("th", "td"):
            self._cell = {"tag": tag, "class": attrs.get("class") or "", "text": ""}
        elif tag == "img":
            self.images.append(attrs)
        elif tag == "meta":
            self.metas.append(attrs)
        elif tag == "a":
            self._link = {"attrs": attrs, "text": ""}
        elif tag in ("dd", "h1", "h2", "h3", "p", "li"):
            self._text = ""

    def handle_data(self, data):
        for part in (self._cell, self._link):
            if part is not None:
                part["text"] += data
        if self._text is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None:
            self.cells.append(self._cell)
            if self._row is not None:
                self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "a" and self._link is not None:
            self.links.append(self._link)
            self._link = None
        elif tag in ("dd", "h1", "h2", "h3", "p", "li") and self._text is not None:
            self.texts.append(self._text)
            self._text = None


MINUS_AS_HYPHEN = re.compile(r"(?:^|[\s(\[,=≈~<>])-\d")  # '-0.03', '(-1', '[-1,': a number with a hyphen for minus
SCIENTIFIC = re.compile(r"\d[eE][+\-−]?\d")
SNAKE = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")


@pytest.fixture(scope="module", params=["study", "history", "hostile"])
def page(request) -> tuple[str, str]:
    return request.param, request.getfixturevalue(request.param)


@slow
def test_a_title_block_like_the_postmortems(page):
    name, html = page
    head = html[html.index('<header class="title-block">'):html.index("</header>")]
    assert '<p class="kicker">' in head and "<h1>" in head and '<dl class="meta">' in head
    assert '<nav class="toc">' in head
    if name == "study":
        for words in ("EFX", "2013.HK", "SPY, ^HSI", "[−120,−11]", "[0,0], [0,+1], [0,+4], [−1,+1]", "price files"):
            assert words in head, words
    if name == "history":
        for words in ("issre22", "github-status/incidents.jsonl", "1,174", "2011-04-29 →",
                      "provider, component, quarter"):
            assert words in head, words


@slow
def test_tables_have_human_headers_and_no_pandas_index_rows(page):
    _, html = page
    parsed = Page(html)
    headers = [c["text"].strip() for c in parsed.cells if c["tag"] == "th"]
    assert headers and all(headers), "a blank header cell is a pandas index row"
    assert [h for h in headers if SNAKE.search(h)] == []
    assert all(len({c["tag"] for c in row}) == 1 for row in parsed.rows), "a row mixing th and td is an index column"
    assert 'class="dataframe"' not in html and not re.search(r'id="T_[0-9a-f]+', html)


@slow
def test_numbers_as_the_postmortem_writes_them(page):
    _, html = page
    parsed = Page(html)
    cells = [c["text"] for c in parsed.cells]
    assert [t for t in cells if SCIENTIFIC.search(t)] == []
    assert [t for t in cells + parsed.texts if MINUS_AS_HYPHEN.search(t)] == []
    numbers = [c["text"] for c in parsed.cells if c["tag"] == "td" and "num" in c["class"].split()]
    assert numbers and [t for t in numbers if "-" in t or "nan" in t.lower()] == []


@slow
def test_the_numbers_of_the_study(study):
    for text in ("−13.54%", "+11.55%", "−3.19%", "−9.74 (p &lt; 0.001)", "−1.08 (p = 0.322)", "Patell Z"):
        assert text in study, text
    assert "-0.0319" not in study and "1.579e-05" not in study


@slow
def test_the_numbers_of_the_history(history):
    for text in ("Share known", "Median, 95% CI low", "1,282.0", "97%", "By component", "Time to detect (ttd)"):
        assert text in history, text


@slow
def test_no_pilcrow_and_no_empty_links(page):
    _, html = page
    assert "¶" not in html and "anchor-link" not in html
    assert [link["attrs"] for link in Page(html).links if not link["text"].strip()] == []


@slow
def test_a_content_security_policy_forbids_script(page):
    _, html = page
    policies = [m["content"] for m in Page(html).metas
                if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    assert len(policies) == 1
    policy = policies[0]
    assert "default-src 'none'" in policy and "script-src" not in policy and "unsafe-eval" not in policy
    assert "img-src data:" in policy
    assert html.index("Content-Security-Policy") < html.index("</head>")


@slow
def test_figures_are_svg_with_their_titles_as_alternative_text(page):
    name, html = page
    images = Page(html).images
    assert len(images) >= {"study": 2, "history": 4, "hostile": 2}[name]
    assert all(i["src"].startswith("data:image/svg+xml;base64,") for i in images)
    alts = [i.get("alt") or "" for i in images]
    assert all(len(alt) > 10 and alt != "Figure" for alt in alts), alts


@slow
def test_names_from_the_data_are_text(hostile):
    parsed = Page(hostile)
    assert all(set(i) <= {"src", "alt"} and i["src"].startswith("data:") for i in parsed.images)
    shown = {c["text"] for c in parsed.cells if HOSTILE in c["text"]}
    assert shown == {f"Status {HOSTILE}", f"Actions {HOSTILE}"}  # the Statuspage page (a provider), a GitHub component
    assert "&lt;img src=x onerror=" in hostile
    assert any(HOSTILE in t for t in parsed.texts)  # the provider named in the title block


# -- a real browser --------------------------------------------------------------------------------------
MEASURE = """<script>
window.addEventListener("load", () => {
  const box = el => el.getBoundingClientRect();
  const out = document.createElement("pre");
  out.id = "layout";
  out.textContent = JSON.stringify({
    viewport: window.innerWidth, page_width: document.documentElement.scrollWidth,
    boxes: [...document.querySelectorAll("div.scroll")].map(b => ({
      wide: b.classList.contains("wide"), scrolls: b.scrollWidth > b.clientWidth + 1,
      left: box(b).left, right: box(b).right, overflow: getComputedStyle(b).overflowX})),
    figures: [...document.querySelectorAll(".jp-RenderedImage img")].map(i => box(i).width),
    timeline: [...document.querySelectorAll("table.timeline tbody tr")].map(tr => getComputedStyle(tr).display),
  });
  document.body.appendChild(out);
});
</script>"""


def chromium(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", *args],
        capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed in CI (make test installs it)")
        pytest.skip("chromium not installed")


@pytest.fixture(scope="module")
def postmortem(tmp_path_factory) -> str:
    return report(tmp_path_factory, "postmortem", WEIMOB)


@pytest.fixture(scope="module")
def pages(study, history, postmortem, tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("pages")
    out = {}
    for name, html in (("study", study), ("history", history), ("postmortem", postmortem)):
        out[name] = folder / f"{name}.html"
        out[name].write_text(html, encoding="utf-8")
    return out


def layout(path, width: int) -> dict:
    """The page's layout at `width` px, measured by a script in a copy of the page without its policy."""
    measured = path.with_name(f"{path.stem}-measured.html")
    html = without_policy(path.read_text(encoding="utf-8"))
    measured.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = chromium(f"--user-data-dir={path.parent / f'profile-{width}'}", f"--window-size={width},900",
                   "--virtual-time-budget=5000", "--dump-dom", measured.as_uri()).stdout
    found = re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@slow
@pytest.mark.parametrize("name", ["study", "history"])
def test_at_1280_px_wide_tables_fit_in_their_box(browser, pages, name):
    found = layout(pages[name], 1280)
    assert found["page_width"] <= found["viewport"]
    assert any(b["wide"] for b in found["boxes"])
    assert [b for b in found["boxes"] if b["scrolls"] or b["left"] < 0 or b["right"] > found["viewport"]] == []


@slow
@pytest.mark.parametrize("name", ["study", "history", "postmortem"])
def test_at_400_px_tables_scroll_in_their_box_and_figures_keep_their_size(browser, pages, name):
    found = layout(pages[name], 400)
    assert found["page_width"] <= found["viewport"] + 1  # the page itself never scrolls sideways
    assert all(b["overflow"] in ("auto", "scroll") and b["right"] <= found["viewport"] + 1 for b in found["boxes"])
    if name != "postmortem":
        assert any(b["scrolls"] for b in found["boxes"] if b["wide"])
    assert found["figures"] and min(found["figures"]) >= 640  # 40rem: scrolled sideways, never a thumbnail


@slow
def test_at_400_px_the_timeline_is_stacked_rows(browser, pages):
    assert set(layout(pages["postmortem"], 1280)["timeline"]) == {"table-row"}
    assert set(layout(pages["postmortem"], 400)["timeline"]) == {"flex"}  # each milestone a block: when, then what


@slow
@pytest.mark.parametrize("name", ["study", "history", "postmortem"])
def test_the_real_page_loads_without_a_console_error(browser, pages, name, tmp_path):
    shot = tmp_path / f"{name}.png"
    result = chromium(f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
                      f"--screenshot={shot}", "--window-size=400,1600", pages[name].as_uri())
    assert shot.exists() and shot.stat().st_size > 10_000, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    assert console == []  # among others: the policy blocked nothing of ours


# -- the pieces, without a kernel ------------------------------------------------------------------------
def test_p_values_counts_and_missing_values():
    from incident.core.text import count, is_missing, p_value

    assert [p_value(p) for p in (2.05e-22, 0.000999, 0.00514, 0.074, 0.322, 1.0)] == [
        "< 0.001", "< 0.001", "0.00514", "0.0740", "0.322", "1.00"]
    assert count(1175) == "1,175" and count(-3) == "−3"
    assert all(map(is_missing, (None, float("nan"), __import__("pandas").NaT)))
    assert not any(map(is_missing, (0, "", "x")))


def test_a_table_has_labels_formatted_numbers_and_escaped_text():
    import pandas as pd

    from incident.report.fragments import table

    frame = pd.DataFrame({"group": [HOSTILE, "b"], "share_known": [0.9736, float("nan")],
                          "median_ci_low": [-1289.26, 3.0], "p": [2.05e-22, 0.0967], "n": [1175, 2]},
                         index=pd.Index(["x", "y"], name="stage"))
    html = table(frame, {"group": ("Group", "text"), "share_known": ("Share known", "share"),
                         "median_ci_low": ("Median, 95% CI low", "minutes"), "p": ("p", "p"), "n": ("Known", "count")})
    assert "<th scope=\"col\">Group</th>" in html and "share_known" not in html and "stage" not in html
    for cell in ("97%", "—", "−1,289.3", "&lt; 0.001", "0.0967", "1,175", "&lt;img src=x onerror="):
        assert cell in html, cell
    assert "<img" not in html and 'class="scroll"' in html


def test_a_table_refuses_a_column_it_does_not_have():
    import pandas as pd

    from incident.report.fragments import table

    with pytest.raises(KeyError, match="no column 'median'"):
        table(pd.DataFrame({"n": [1]}), {"median": ("Median", "minutes")})


def test_alternative_text_is_never_the_bare_word_figure():
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from incident.report.postmortem import figure_bundle, figure_title

    fig, ax = plt.subplots()
    assert figure_title(fig) == "Chart without a title or axis labels"
    ax.set_xlabel("minutes")
    ax.set_ylabel("share")
    assert figure_title(fig) == "Chart of share against minutes"
    ax.set_title("Each stage")
    fig.suptitle("How long stages take")
    assert figure_title(fig) == "How long stages take"
    assert figure_bundle(fig, alt="Given")[1] == {"image/svg+xml": {"alt": "Given"}}
    plt.close(fig)


def test_a_figure_whose_title_reaches_past_its_edge_is_saved_whole():
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from incident.report.postmortem import figure_bundle

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_title("A title far longer than the three inches this figure is wide", loc="left")
    svg = figure_bundle(fig)[0]["image/svg+xml"]
    plt.close(fig)
    width = float(re.search(r'width="([\d.]+)pt"', svg).group(1))
    assert width > 3 * 72


@pytest.mark.parametrize("name", ["postmortem", "study", "history"])
def test_the_notebooks_only_call_the_library(name):
    import nbformat

    nb = nbformat.read(ROOT / "incident" / "report" / f"{name}.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert not [s for s in code if re.search(r"^\s*(def|class|lambda)\b|\blambda\b", s, re.M)]
    assert any("from incident.report.cells import" in s for s in code)
    assert not any(re.search(r"\bdisplay\(|to_html|\.style\b|HTML\(", s) for s in code)
