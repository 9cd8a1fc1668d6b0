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
import stat
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from incident.report import render as report
from incident.io.statuspage import import_statuspage
from incident.io.yamlfile import load_yaml

from conftest import ROOT, WEIMOB, run_cli

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
        if tag == "meta" and any(k == "http-equiv" and (v or "").lower() != "content-security-policy"
                                  for k, v in attrs):
            self.findings.append(f"<meta {attrs}>")  # only the page's own policy may speak for the server
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
    assert "Postmortem: Weimob SaaS production data deleted by an insider &lt;" in html  # <title>


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


# -- figures: user text is drawn as text, never as mathtext --------------------------
MATH_NAMES = ["Pay $5 #1 and $6", r"A $\badcmd$ B", r"$\frac{1}{0}$ ^_{}", "100% $ of $$ {x}"]


def math_incident(tmp_path):
    """The Weimob incident with every organisation, phase, party and milestone name made of dollar signs."""
    folder = tmp_path / "weimob-math"
    shutil.copytree(WEIMOB, folder)
    data, _ = load_yaml(folder / "incident.yaml")
    data["organisation"]["name"] = MATH_NAMES[0]
    data["title"] = MATH_NAMES[1]
    for i, phase in enumerate(data.get("phases", [])):
        phase["name"] = MATH_NAMES[i % len(MATH_NAMES)]
        if phase.get("component"):
            phase["component"] = MATH_NAMES[(i + 1) % len(MATH_NAMES)]
    for i, m in enumerate(data.get("milestones", [])):
        m["title"] = MATH_NAMES[i % len(MATH_NAMES)]
    for i, party in enumerate((data.get("provision") or {}).get("parties", [])):
        party["party"] = MATH_NAMES[i % len(MATH_NAMES)]
    if data.get("provision"):
        data["provision"]["remainder_party"] = MATH_NAMES[2]
    for s in data["sources"]:
        s["publisher"] = MATH_NAMES[3]
    (folder / "incident.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


@pytest.mark.parametrize("name", ["plot_timeline", "plot_provision", "plot_compensation", "plot_financials",
                                  "plot_market", "plot_compare"])
def test_dollar_signs_in_names_draw_literally(name, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import incident
    from incident import plots

    inc = incident.load(math_incident(tmp_path))
    plot = getattr(plots, name)
    ax = plot(inc, inc) if name == "plot_compare" else plot(inc)
    for fmt in ("png", "svg"):  # drawn outside the house style's rc_context, as a notebook does
        ax.figure.savefig(tmp_path / f"figure.{fmt}")
    shown = [t.get_text() for t in ax.figure.findobj(matplotlib.text.Text) if "$" in t.get_text()]
    assert shown, "no name with a dollar sign reached the figure"
    ticks = [t for a in ax.figure.axes for t in a.get_xticklabels() + a.get_yticklabels() if "$" in t.get_text()]
    assert all(not t.get_parse_math() for t in ticks)
    plt.close(ax.figure)


def test_dollar_signs_survive_a_user_axes_made_outside_the_style(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import incident
    from incident.plots import plot_timeline

    inc = incident.load(math_incident(tmp_path))
    fig, axes = plt.subplots(1, 2)  # the user's grid, made with the user's rcParams
    plot_timeline(inc, ax=axes[1])
    axes[0].set_title("the user's own $x^2$ still renders as math")
    fig.savefig(tmp_path / "grid.png")
    assert axes[0].title.get_parse_math()  # the user's text keeps the user's rcParams
    plt.close(fig)


# -- the real command on hostile files and paths: one line, exit 2, never a traceback ------------
CORPUS_VALID = ROOT / "tests" / "corpus" / "incident" / "_valid.yaml"
DISCORD = ROOT / "data" / "samples" / "statuspage" / "discordstatus-incidents-2022-02-15.json"


def refused(done, *words):
    """Exit 2, no traceback, one error line (or the given number) saying `words`."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), lines
    assert all(w in done.stderr for w in words), done.stderr
    return lines


def test_validate_a_fifo_does_not_hang(tmp_path):
    (tmp_path / "case").mkdir()
    os.mkfifo(tmp_path / "case" / "incident.yaml")
    refused(run_cli("validate", tmp_path / "case", timeout=30), "not a regular file")


def test_validate_a_folder_named_incident_yaml(tmp_path):
    (tmp_path / "case" / "incident.yaml").mkdir(parents=True)
    refused(run_cli("validate", tmp_path / "case"), "is a folder")


def test_import_a_link_to_dev_zero(tmp_path):
    (tmp_path / "feed.json").symlink_to("/dev/zero")
    refused(run_cli("import", "statuspage", tmp_path / "feed.json", "-o", tmp_path / "out", timeout=30),
            "not a regular file")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("make,says", [
    (lambda p: p.write_text("x"), "is a file, not a folder"),
    (lambda p: p.symlink_to(p.parent / "nowhere"), "symbolic link to nothing"),
])
def test_import_output_in_the_way(tmp_path, make, says):
    make(tmp_path / "out")
    refused(run_cli("import", "statuspage", DISCORD, "-o", tmp_path / "out"), says)


def test_import_output_under_a_file_or_an_unwritable_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    refused(run_cli("import", "statuspage", DISCORD, "-o", tmp_path / "file" / "out"), "cannot make the output folder")
    if os.geteuid() == 0:  # root writes anywhere; /sys refuses even root
        refused(run_cli("import", "statuspage", DISCORD, "-o", "/sys/incident-test-out"), "/sys: cannot")
    else:
        (tmp_path / "locked").mkdir(mode=0o555)
        refused(run_cli("import", "statuspage", DISCORD, "-o", tmp_path / "locked" / "out"), "cannot make")


def test_import_twice_is_refused_then_forced(tmp_path):
    assert run_cli("import", "statuspage", DISCORD, "-o", tmp_path / "out").returncode == 0
    refused(run_cli("import", "statuspage", DISCORD, "-o", tmp_path / "out"), "already exists", "--force")
    done = run_cli("import", "statuspage", DISCORD, "-o", tmp_path / "out", "--force")
    assert done.returncode == 0, done.stderr


def run_with_umask(*args, mask=0o022):
    return subprocess.run([sys.executable, "-m", "incident.cli", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, preexec_fn=lambda: os.umask(mask))


def test_written_files_follow_the_umask(tmp_path):
    assert run_with_umask("import", "statuspage", DISCORD, "-o", tmp_path / "out").returncode == 0
    assert run_with_umask("new", "acme-2024", "--data-dir", tmp_path / "data").returncode == 0
    for file in (*(tmp_path / "out").glob("*/incident.yaml"), tmp_path / "data" / "acme-2024" / "incident.yaml"):
        assert stat.S_IMODE(file.stat().st_mode) == 0o644, file


@pytest.mark.parametrize("incident_id", ["abc\n", "abc\nid: x", "ABC", "_abc", "a" * 81, "../up", "a\x1b[31m"])
def test_new_refuses_ids_that_are_not_ids(tmp_path, incident_id):
    refused(run_cli("new", incident_id, "--data-dir", tmp_path), "is not an incident id")
    assert list(tmp_path.iterdir()) == []


def test_new_in_the_way(tmp_path):
    (tmp_path / "file").write_text("x")
    refused(run_cli("new", "acme", "--data-dir", tmp_path / "file"), "is a file, not a folder")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "acme").symlink_to(tmp_path / "nowhere")  # a dangling link where the folder goes
    refused(run_cli("new", "acme", "--data-dir", tmp_path / "data"), "symbolic link to nothing")
    (tmp_path / "data" / "beta").mkdir()
    (tmp_path / "data" / "beta" / "incident.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    refused(run_cli("new", "beta", "--data-dir", tmp_path / "data"), "already exists")
    assert not (tmp_path / "elsewhere.yaml").exists() and not (tmp_path / "nowhere").exists()


def test_new_removes_a_killed_runs_temporaries(tmp_path):
    folder = tmp_path / "data" / "acme"
    folder.mkdir(parents=True)
    stale = folder / ".incident-incident.yaml.x1y2.tmp"
    stale.write_text("half")
    os.utime(stale, (0, 0))
    assert run_cli("new", "acme", "--data-dir", tmp_path / "data").returncode == 0
    assert sorted(p.name for p in folder.iterdir()) == ["incident.yaml"]


@pytest.mark.parametrize("name,says", [
    ("x.txt", "unsupported figure format '.txt'"),
    ("noext", "unsupported figure format"),
])
def test_compare_output_format(tmp_path, name, says):
    refused(run_cli("compare", WEIMOB, WEIMOB, "-o", tmp_path / name), says)
    assert list(tmp_path.iterdir()) == []


def test_compare_output_in_the_way(tmp_path):
    (tmp_path / "dir.png").mkdir()
    done = run_cli("compare", WEIMOB, WEIMOB, "-o", tmp_path / "dir.png")
    refused(done, "is a folder")
    assert "wrote" not in done.stdout and list(tmp_path.iterdir()) == [tmp_path / "dir.png"]
    (tmp_path / "file").write_text("x")
    refused(run_cli("compare", WEIMOB, WEIMOB, "-o", tmp_path / "file" / "c.png"), "is a file, not a folder")


def test_compare_writes_svg_and_pdf(tmp_path):
    for name in ("c.svg", "c.pdf"):
        done = run_cli("compare", WEIMOB, WEIMOB, "-o", tmp_path / name)
        assert done.returncode == 0, done.stderr
        assert f"wrote {tmp_path / name}" in done.stdout
    assert (tmp_path / "c.svg").read_bytes().startswith(b"<?xml") and (tmp_path / "c.pdf").read_bytes()[:4] == b"%PDF"


@pytest.mark.parametrize("command", [["summary"], ["history", "--by", "provider"]])
def test_commands_escape_terminal_control_sequences(tmp_path, command):
    """A title (summary) or an organisation's name (history groups) cannot drive the user's terminal."""
    import pty

    folder = tmp_path / "case"
    folder.mkdir()
    text = CORPUS_VALID.read_text(encoding="utf-8").replace(
        "title: Database failover left the shop read-only",
        'title: "Shop \\e[31mRED\\e]0;pwned\\a \\x9b2J read-only"').replace(
        "  name: Example Shop Ltd.", '  name: "\\e[31mRED Shop \\x9b2J Ltd."')
    (folder / "incident.yaml").write_text(text, encoding="utf-8")
    target = folder if command[0] == "summary" else tmp_path
    main, secondary = pty.openpty()
    done = subprocess.run([sys.executable, "-m", "incident.cli", command[0], str(target), *command[1:]], cwd=ROOT,
                          stdout=secondary, stderr=subprocess.PIPE, timeout=120)
    os.close(secondary)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(main)
    assert done.returncode == 0, done.stderr
    assert b"\x1b" not in out and "\x9b" not in out.decode("utf-8", "replace")
    assert b"\\x1b[31mRED" in out


def test_a_huge_value_is_not_echoed_whole(tmp_path):
    folder = tmp_path / "case"
    folder.mkdir()
    text = CORPUS_VALID.read_text(encoding="utf-8").replace("    start: read-only\n", "    start: " + "x" * 4_900_000 + "\n")
    text = text.replace("  - id: failover\n", "  - id: " + "y" * 100_000 + "\n")
    (folder / "incident.yaml").write_text(text, encoding="utf-8")
    lines = refused(run_cli("validate", folder))
    assert all(len(line) < 600 for line in lines), [len(line) for line in lines]
