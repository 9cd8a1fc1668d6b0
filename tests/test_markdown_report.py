"""`incident report --to markdown`: a page for a repository, its figures as files beside it, written all or none."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from incident.report import render as report
from incident.report.postmortem import HEADINGS, present

from conftest import ROOT, WEIMOB, run_cli

markdown_it = pytest.importorskip("markdown_it")

HOSTILE_TITLE = "<img src=x onerror=alert(1)> *not emphasis* [a link](javascript:alert(2))"
HOSTILE_NAME = "Weimob ](x) <img src=y onerror=alert(3)> [x"  # the organisation: in the figures' alternative text


def as_github(markdown: str) -> str:
    """The Markdown rendered to HTML as GitHub does before sanitising it: CommonMark, raw HTML kept, tables."""
    return markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


class Tags(HTMLParser):
    """Every real tag of a page with its attributes, and its text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def images(self) -> list[dict]:
        return [attrs for tag, attrs in self.tags if tag == "img"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A cache of this module's own, so that its second runs are served from what its first runs made."""
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("cache")
        mp.setenv("INCIDENT_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """Weimob's incident with a hostile title and organisation name."""
    folder = tmp_path_factory.mktemp("incidents") / "weimob-2020"
    shutil.copytree(WEIMOB, folder)
    text = (folder / "incident.yaml").read_text(encoding="utf-8")
    text = text.replace("title: Weimob SaaS production data deleted by an insider", f"title: '{HOSTILE_TITLE}'", 1)
    text = text.replace("  name: Weimob Inc.\n", f"  name: '{HOSTILE_NAME}'\n", 1)
    (folder / "incident.yaml").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def page(cache, hostile, tmp_path_factory) -> Path:
    """The hostile incident's postmortem as Markdown, through the command a user types, into a folder."""
    out = tmp_path_factory.mktemp("reports")
    result = run_cli("report", hostile, "--to", "markdown", "-o", out, timeout=600)
    assert result.returncode == 0, result.stderr
    return out / "weimob-2020.md"


@pytest.mark.slow
def test_the_page_and_its_figure_folder_sit_side_by_side(page):
    assert sorted(p.name for p in page.parent.iterdir()) == ["weimob-2020.md", "weimob-2020_files"]
    figures = sorted(page.with_name("weimob-2020_files").iterdir())
    assert figures and all(re.fullmatch(r"figure-\d+\.svg", f.name) for f in figures)
    assert all(f.read_text(encoding="utf-8").startswith("<svg") for f in figures)


@pytest.mark.slow
def test_every_section_is_on_the_page(page, hostile):
    import incident

    html = as_github(page.read_text(encoding="utf-8"))
    for key, _ in present(incident.load(hostile)):
        assert f'<h2 id="{key}">{HEADINGS[key]}</h2>' in html, key


@pytest.mark.slow
def test_figures_are_files_linked_relatively_with_their_titles(page):
    markdown = page.read_text(encoding="utf-8")
    images = Tags(as_github(markdown)).images()
    files = sorted(page.with_name("weimob-2020_files").iterdir())
    assert [img["src"] for img in images] == [f"weimob-2020_files/figure-{n}.svg" for n in range(1, len(files) + 1)]
    assert all((page.parent / img["src"]).is_file() for img in images)
    assert all(img["alt"] and img["alt"] != "svg" for img in images)
    assert images[0]["alt"] == f"{HOSTILE_NAME}: outage phases and milestones"  # escaped for Markdown, read as written
    assert re.search(r"^!\[.+\]\(weimob-2020_files/figure-1\.svg\)$", markdown, re.MULTILINE)


@pytest.mark.slow
def test_text_from_the_incident_never_becomes_markup(page):
    markdown = page.read_text(encoding="utf-8")
    html = as_github(markdown)
    tags = Tags(html)
    assert not [(tag, name) for tag, attrs in tags.tags for name in attrs if name.startswith("on")]
    assert not [img for img in tags.images() if img["src"] in ("x", "y")]
    assert not [attrs for tag, attrs in tags.tags if tag == "a" and attrs.get("href", "").startswith("javascript")]
    assert HOSTILE_TITLE in "".join(tags.text)  # shown as those characters
    assert "<script" not in markdown and "<style" not in markdown and "<em>not emphasis" not in html


@pytest.mark.slow
def test_blameless_names_roles_on_the_page_and_in_its_figures(cache, tmp_path):
    out = report.render(WEIMOB, tmp_path / "blameless.md", blameless=True, to="markdown")
    texts = [out.read_text(encoding="utf-8")]
    texts += [f.read_text(encoding="utf-8") for f in (tmp_path / "blameless_files").iterdir()]
    for name in ("Sun Taoyong", "孫濤勇", "Huang Junwei", "Fang Tongshu"):
        assert not [t for t in texts if name in t]
    assert "Chairman and CEO" in texts[0] and "Executive director and CTO" in texts[0]


def nothing_may_run(*args, **kwargs):
    raise AssertionError("nothing may run")


@pytest.mark.slow
def test_one_run_serves_both_formats_from_the_cache(page, hostile, tmp_path, monkeypatch):
    monkeypatch.setattr(report, "Engine", nothing_may_run)
    again = report.render(hostile, tmp_path / "weimob-2020.md", to="markdown", keep_notebook=True)
    assert again.read_bytes() == page.read_bytes()
    for new, old in zip(sorted((tmp_path / "weimob-2020_files").iterdir()),
                        sorted(page.with_name("weimob-2020_files").iterdir()), strict=True):
        assert new.read_bytes() == old.read_bytes()
    assert (tmp_path / "weimob-2020.ipynb").is_file()
    renamed = report.render(hostile, tmp_path / "other.md", to="markdown")  # its links name its own folder
    assert "](other_files/figure-1.svg)" in renamed.read_text(encoding="utf-8")
    html = report.render(hostile, tmp_path / "weimob-2020.html")  # the HTML from the same executed notebook
    assert "data:image/svg+xml;base64," in html.read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_failed_write_leaves_the_old_report_as_it_was(page, hostile, tmp_path, monkeypatch):
    out = tmp_path / "weimob-2020.md"
    shutil.copy(page, out)
    shutil.copytree(page.with_name("weimob-2020_files"), tmp_path / "weimob-2020_files")
    (tmp_path / "weimob-2020_files" / "figure-1.svg").write_text("<svg>old</svg>", encoding="utf-8")
    out.write_text("old page", encoding="utf-8")
    before = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    def fails(path, data):
        raise report.ReportError(f"cannot write {path}: disk full")

    monkeypatch.setattr(report, "atomic_write", fails)
    monkeypatch.setattr(report, "Engine", nothing_may_run)  # from the cache: the failure is the write's
    with pytest.raises(report.ReportError, match="disk full"):
        report.render(hostile, out, to="markdown")
    after = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weimob-2020.md", "weimob-2020_files"]
    with pytest.raises(report.ReportError, match="disk full"):  # a new report: nothing at all
        report.render(hostile, tmp_path / "new" / "weimob-2020.md", to="markdown")
    assert list((tmp_path / "new").iterdir()) == []


def test_a_new_report_replaces_the_whole_figure_folder(tmp_path):
    folder = tmp_path / "r_files"
    folder.mkdir()
    (folder / "figure-9.svg").write_text("<svg>stale</svg>", encoding="utf-8")
    report.write_markdown(tmp_path / "r.md", "![a](r_files/figure-1.svg)\n", {"figure-1.svg": b"<svg/>"})
    assert sorted(p.name for p in folder.iterdir()) == ["figure-1.svg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.md", "r_files"]


def test_an_output_named_for_the_other_format_is_refused(tmp_path):
    result = run_cli("report", WEIMOB, "--to", "markdown", "-o", tmp_path / "page.html")
    assert result.returncode == 2 and "--to html" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("kind, args, name", [
    ("study", ["--study", WEIMOB, ROOT / "data" / "fastly-2021"], "market-study"),
    ("history", ["--history", ROOT / "data" / "history" / "issre22"], "history"),
])
def test_study_and_history_as_markdown(cache, tmp_path, kind, args, name):
    result = run_cli("report", *args, "--to", "markdown", "-o", tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    page = tmp_path / f"{name}.md"
    markdown = page.read_text(encoding="utf-8")
    tags = Tags(as_github(markdown))
    names = [tag for tag, _ in tags.tags]
    assert names.count("h2") >= 4 and "table" in names
    images = tags.images()
    assert len(images) >= 2 and all((tmp_path / img["src"]).is_file() for img in images)
    assert all(img["src"].startswith(f"{name}_files/") for img in images)
    assert "<script" not in markdown and "<style" not in markdown
