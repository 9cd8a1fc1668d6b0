"""The report's layout in a real browser: nothing overflows the page; wide tables scroll inside their box.

The report has no script and forbids any (its Content-Security-Policy). For
the test, a copy of it without the policy gets one that measures
the laid-out page and writes what it found into the DOM, which headless
Chromium prints (`--dump-dom`) after the page has loaded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import WEIMOB, run_cli, without_policy

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

MEASURE = """<script>
window.addEventListener("load", () => {
  const page = document.documentElement;
  const main = document.querySelector("main").getBoundingClientRect();
  const tables = [...document.querySelectorAll("table")].map(t => {
    const box = t.closest("div.scroll, .jp-OutputArea-output");
    return {table: t.className || t.querySelector("th").textContent, right: t.getBoundingClientRect().right, width: t.scrollWidth,
            box_right: box ? box.getBoundingClientRect().right : null,
            box_scrolls: box ? box.scrollWidth > box.clientWidth : false,
            box_overflow: box ? getComputedStyle(box).overflowX : null};
  });
  const dates = [...document.querySelectorAll("td.when")].map(td => {  // one line box: the date did not wrap
    const range = document.createRange();
    range.selectNodeContents(td);
    return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size === 1;
  });
  const out = document.createElement("pre");
  out.id = "layout";
  out.textContent = JSON.stringify({viewport: window.innerWidth, page_width: page.scrollWidth,
                                    main_right: main.right, tables, dates});
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed in CI (make test installs it)")
        pytest.skip("chromium not installed")
    folder = tmp_path_factory.mktemp("layout")
    out = folder / "weimob.html"
    result = run_cli("report", WEIMOB, "-o", out, timeout=600)
    assert result.returncode == 0, result.stderr
    measured = folder / "measured.html"
    page = without_policy(out.read_text(encoding="utf-8"))  # the page's policy forbids every script, ours too
    measured.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    return measured


def layout(page, width: int) -> dict:
    profile = page.parent / f"profile-{width}"
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", f"--window-size={width},900", "--virtual-time-budget=5000", "--dump-dom",
         page.as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout
    found = re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def test_at_1280_px_no_table_overflows_the_page(page):
    found = layout(page, 1280)
    assert found["page_width"] <= found["viewport"]
    assert found["tables"] and all(t["right"] <= found["main_right"] + 1 for t in found["tables"])
    assert all(found["dates"])  # "2020-02-24" never breaks over two lines


def test_at_400_px_the_page_does_not_scroll_sideways_but_wide_tables_do(page):
    found = layout(page, 400)
    assert found["page_width"] <= found["viewport"] + 1
    wide = [t for t in found["tables"] if t["box_scrolls"]]
    assert wide, "at 400 px some tables are wider than the screen"
    assert all(t["box_overflow"] in ("auto", "scroll") for t in found["tables"])
    assert all(t["box_right"] <= found["viewport"] + 1 for t in found["tables"])
