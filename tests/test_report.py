"""The HTML postmortem: content, offline, deterministic, safe writes, a real browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from incident.report import render as report
from incident.report.postmortem import SECTIONS, has_section

from conftest import ROOT, WEIMOB, run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The default report, rendered twice through the CLI as a user would (the second run again, keeping its notebook)."""
    folder = tmp_path_factory.mktemp("reports")
    first, second = folder / "one.html", folder / "two.html"
    for out, extra in ((first, ()), (second, ("--keep-notebook", "--no-cache"))):
        result = run_cli("report", WEIMOB, "-o", out, *extra, timeout=600)
        assert result.returncode == 0, result.stderr
    return first, second


@pytest.fixture(scope="module")
def html(rendered):
    return rendered[0].read_text(encoding="utf-8")


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls, self.headings, self.scripts, self._h2 = [], [], 0, False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        rel = set((values.get("rel") or "").split())
        followable = tag == "a" and {"noreferrer", "noopener"} <= rel  # a source's link: followed by a reader, never fetched
        self.urls += [v for k, v in attrs if k in ("src", "href", "srcset", "action", "data") and v
                      and not (followable and k == "href" and v.startswith(("http://", "https://")))]
        self.scripts += tag == "script"
        self._h2 = tag == "h2"

    def handle_data(self, data):
        if self._h2:
            self.headings.append(data.strip())
            self._h2 = False


def test_key_figures_are_in_the_report(html):
    for text in ("150,000,000", "35,000,000", "100,000,000", "206 hours", "+12.29%", "6.51", "6.18"):
        assert text in html, text
    assert "mismatch" in html
    text = re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", "", html)
    assert re.search(r"\b182\b", text) is None  # no source states the window's length


def test_planned_quoted_and_unreported_are_shown(html):
    assert html.count('<span class="tag planned">planned</span>') >= 2  # the go-live window's two ends
    assert "(to the planned end of the go-live window)" in html
    assert '<q class="quote" lang="zh-Hant">預計3月2日晚上10點至3月3日上午9點實現數據上線</q>' in html
    assert "No source reports this span" in html


def test_title_block_has_start_to_recovery_and_counts_sources(html):
    head = html[html.index('<header class="title-block">'):html.index("</header>")]
    assert "<dd>~2020-02-23 19:00 → 2020-03-01 20:00 (Asia/Shanghai)</dd>" in head
    assert "<dd>7 sources, numbered at the end</dd>" in head
    assert "Generated" not in head or "SOURCE_DATE_EPOCH" in os.environ


def test_every_section_heading_present(weimob, html):
    parser = Links()
    parser.feed(html)
    expected = [title for key, title in SECTIONS if has_section(weimob, key)]
    assert [h for h in parser.headings if h in dict(SECTIONS).values()] == expected


def test_nothing_remote_and_no_script(html):
    parser = Links()
    parser.feed(html)
    remote = [u for u in parser.urls if u.lower().startswith(("http:", "https:", "//", "javascript:"))]
    assert remote == []
    assert parser.scripts == 0
    assert "require.js" not in html and "mathjax" not in html.lower()
    assert "@import" not in html and "@font-face" not in html


def test_figures_embedded(html):
    assert html.count('src="data:image/svg+xml;base64,') >= 5  # sharp on any screen, a fraction of a PNG


def test_no_code_in_the_report(html):
    assert "incident.load(" not in html and "show(pm." not in html


def test_byte_identical_across_runs(rendered):
    first, second = rendered
    assert first.read_bytes() == second.read_bytes()


def test_report_size(rendered):
    assert rendered[0].stat().st_size < 2_000_000


def _broken_notebook(tmp_path: Path) -> Path:
    nb = nbformat.read(report.NOTEBOOK, as_version=4)
    cell = nbformat.v4.new_code_cell("raise RuntimeError('boom in costs')")
    cell.metadata["section"] = "costs"
    nb.cells.insert(5, cell)
    path = tmp_path / "postmortem.ipynb"
    nbformat.write(nb, path)
    return path


def test_failing_cell_leaves_no_file_and_keeps_the_old_report(tmp_path, monkeypatch):
    out = tmp_path / "weimob-2020.html"
    out.write_text("previous report", encoding="utf-8")
    monkeypatch.setattr(report, "NOTEBOOK", _broken_notebook(tmp_path))
    with pytest.raises(report.ReportError, match="section 'costs' failed: RuntimeError: boom in costs"):
        report.render(WEIMOB, out)
    assert out.read_text(encoding="utf-8") == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["postmortem.ipynb", "weimob-2020.html"]


def test_bad_input_fails_before_anything_runs(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "incident.yaml").write_text("id: x\n", encoding="utf-8")
    result = run_cli("report", folder, "-o", tmp_path / "bad.html")
    assert result.returncode == 2
    assert "missing required field" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "bad.html").exists()


def test_batch_one_failure_does_not_stop_the_others(tmp_path):
    good = tmp_path / "gitlab-copy"
    shutil.copytree(ROOT / "data" / "gitlab-2017", good)
    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "incident.yaml").write_text("id: broken\n", encoding="utf-8")
    result = run_cli("report", bad, good, "-o", tmp_path / "out", timeout=600)
    assert result.returncode == 2
    assert "FAILED" in result.stderr and "1 of 2 reports written" in result.stdout
    assert (tmp_path / "out" / "gitlab-copy.html").exists()
    assert not (tmp_path / "out" / "broken.html").exists()


def test_keep_notebook(rendered):
    nb = nbformat.read(rendered[1].with_suffix(".ipynb"), as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    assert all(o.get("output_type") != "error" for c in nb.cells for o in c.get("outputs", []))


def chromium(*args, timeout=120):
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", *args],
        capture_output=True, text=True, timeout=timeout,
    )


def require_chromium():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed in CI (make test installs it)")
        pytest.skip("chromium not installed")


def test_real_browser_loads_it_without_console_errors(rendered, tmp_path):
    require_chromium()
    shot = tmp_path / "report.png"
    profile = tmp_path / "profile"
    result = chromium(f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1280,2400",
                      rendered[0].as_uri())
    assert shot.exists() and shot.stat().st_size > 10_000, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    assert console == []
    dom = chromium(f"--user-data-dir={profile}", "--dump-dom", rendered[0].as_uri()).stdout
    assert "Postmortem" in dom and "Claims check" in dom


def test_one_kernel_gives_the_same_page_as_two(rendered, tmp_path):
    one = report.render(WEIMOB, tmp_path / "one-kernel.html", kernels=1, cache=False)  # the notebook run whole
    assert one.read_bytes() == rendered[0].read_bytes()


def test_shares_cover_every_cell_and_repeat_only_the_shared_ones():
    from incident.report.kernel import sections, shares

    nb = report.build_notebook(WEIMOB)
    shared, groups = sections(nb)
    parts = shares(nb, 2)
    assert len(parts) == 2 and all(p[: len(shared)] == shared for p in parts)
    covered = sorted(shared + [i for part in parts for i in part[len(shared):]])
    assert covered == list(range(len(nb["cells"])))
    assert all(nb["cells"][i]["metadata"].get("section") in (None, "setup") for i in shared)
