"""The course site (tools/site.py): built once per module, its HTML parsed with the standard library.

Every notebook has a page in the left navigation, every figure and internal link resolves, the recipe index
lists every public recipe with links to the chapters that teach it, and the search index covers every page.
"""

import html
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from mlsys_course._catalog import chapters, recipes
from tools.site import stage

ROOT = Path(__file__).resolve().parent.parent
PLAIN_QUOTES = str.maketrans("\u2018\u2019\u201c\u201d", "''\"\"")  # Sphinx's smart quotes, undone


class Page(HTMLParser):
    """What a test needs from one HTML page: ids, links (with the nav they sit in), images, table rows."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.nav_links: list[str] = []  # the left navigation (sphinx-book-theme's bd-docs-nav)
        self.images: list[str] = []
        self.scripts: list[str] = []
        self.rows: list[list[dict]] = []  # table rows: cells of {"text", "hrefs"}
        self._navs: list[bool] = []  # open <nav> elements: is each the left navigation?
        self._cell = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "nav":
            self._navs.append("bd-docs-nav" in (attrs.get("class") or "").split())
        if tag == "a" and attrs.get("href") is not None:
            self.links.append(attrs["href"])
            if any(self._navs):
                self.nav_links.append(attrs["href"])
            if self._cell is not None:
                self._cell["hrefs"].append(attrs["href"])
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag in ("script", "link") and (attrs.get("src") or attrs.get("href")):
            self.scripts.append(attrs.get("src") or attrs.get("href"))
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th") and self.rows:
            self._cell = {"text": "", "hrefs": []}
            self.rows[-1].append(self._cell)

    def handle_endtag(self, tag):
        if tag == "nav" and self._navs:
            self._navs.pop()
        if tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site built by the command `make site` runs; fails on any Sphinx warning (the build is -W)."""
    for module in ("sphinx", "myst_nb", "sphinx_book_theme"):
        pytest.importorskip(module, reason="the docs extra is not installed (`make site` installs it)")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "site.py"), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == "", f"the build printed warnings:\n{done.stderr}"
    return out / "html"


@pytest.fixture(scope="module")
def pages(site) -> dict[str, Page]:
    return {p.relative_to(site).as_posix(): Page(p.read_text(encoding="utf-8")) for p in site.rglob("*.html")}


@pytest.fixture(scope="module")
def course():
    return chapters(ROOT)


@pytest.fixture(scope="module")
def recipe_list():
    return recipes(ROOT)


def test_staged_sources_list_every_notebook_in_order_and_every_recipe(tmp_path, course, recipe_list):
    """Without Sphinx: the generated home page's table of contents and the recipe index's rows."""
    notebooks = stage(tmp_path)
    assert [p.name for p in notebooks] == [Path(c["path"]).name for c in course]
    assert sorted(p.name for p in tmp_path.glob("*.ipynb")) == sorted(p.name for p in notebooks)
    home = (tmp_path / "index.md").read_text(encoding="utf-8")
    toc = home.split("```{toctree}")[1].split("```")[0]
    assert re.findall(r"<(\w+)>", toc) == [Path(c["path"]).stem for c in course]
    assert toc.strip().endswith("recipes")
    rows = re.findall(r"^\* - ``(?:class )?(\w+)\(", (tmp_path / "recipes.md").read_text(encoding="utf-8"), re.M)
    assert rows == [r["name"] for r in recipe_list]
    (tmp_path / "99_gone.ipynb").write_text("{}")
    stage(tmp_path)
    assert not (tmp_path / "99_gone.ipynb").exists()  # a notebook removed from the course leaves the site


def _page_of(chapter: dict) -> str:
    return Path(chapter["path"]).stem + ".html"


def _internal(href: str) -> bool:
    return not urlsplit(href).scheme and not href.startswith(("//", "mailto:"))


def test_every_notebook_has_a_page_in_the_navigation_in_course_order(site, pages, course):
    expected = [_page_of(c) for c in course] + ["recipes.html"]
    assert len(course) == len(list((ROOT / "notebooks").glob("[0-9][0-9]*.ipynb")))
    for name in expected:
        assert (site / name).is_file(), name
    for name in ["index.html", *expected]:
        nav = [urlsplit(h).path or name for h in pages[name].nav_links if _internal(h)]  # "#": this page
        assert [h for h in nav if h in expected] == expected, name


def test_every_image_resolves_and_every_chapter_with_figures_shows_them(site, pages, course):
    for name, page in pages.items():
        for src in page.images:
            assert _internal(src), f"{name}: image {src} is not part of the site"
            assert (site / name).parent.joinpath(unquote(urlsplit(src).path)).resolve().is_file(), f"{name}: {src}"
    for chapter in course:
        stored = (ROOT / chapter["path"]).read_text(encoding="utf-8").count('"image/png"')
        assert len(pages[_page_of(chapter)].images) >= stored, chapter["path"]


def test_every_internal_link_and_anchor_resolves(site, pages):
    checked = 0
    for name, page in pages.items():
        for href in page.links:
            if not _internal(href):
                continue
            parts = urlsplit(href)
            target = (site / name).parent.joinpath(unquote(parts.path)).resolve() if parts.path else site / name
            assert target.is_file(), f"{name}: link {href} leads nowhere"
            if parts.fragment and target.suffix == ".html":
                ids = pages[target.relative_to(site.resolve()).as_posix()].ids
                assert unquote(parts.fragment) in ids, f"{name}: link {href}: no such anchor"
            checked += 1
    assert checked > 100


def test_no_page_loads_anything_from_the_network(pages):
    for name, page in pages.items():
        remote = [s for s in page.scripts if not _internal(s)]
        assert remote == [], f"{name} loads {remote}: the site must work offline"


def test_home_page_lists_every_chapter_with_what_you_learn_and_its_times(site, pages, course):
    home = pages["index.html"]
    assert "00_index.html" in home.links and "recipes.html" in home.links
    text = html.unescape(re.sub(r"<[^>]+>", " ", (site / "index.html").read_text(encoding="utf-8")))
    text = " ".join(text.translate(PLAIN_QUOTES).split())
    for chapter in course[1:]:
        assert _page_of(chapter) in home.links, chapter["path"]
        assert chapter["runs_in"] and chapter["study_time"] and chapter["learn"], chapter["path"]
        assert f"runs in {chapter['runs_in']} · study time {chapter['study_time']}" in text, chapter["path"]
        first = re.sub(r"<[^>]+>|[`*]", "", chapter["learn"][0])
        assert " ".join(first.split()[:6]) in text, chapter["path"]


def test_recipe_index_lists_every_recipe_with_links_to_the_chapters_that_teach_it(pages, course, recipe_list):
    page_of = {c["id"]: _page_of(c) for c in course}
    rows = [r for r in pages["recipes.html"].rows if len(r) == 3]
    listed = {}
    for row in rows:
        match = re.match(r"\s*(?:class )?(\w+)\(", row[0]["text"])
        if match:
            listed.setdefault(match.group(1), []).append(sorted(h for h in row[2]["hrefs"]))
    for recipe in recipe_list:
        assert recipe["name"] in listed, f"{recipe['module']}.{recipe['name']} is not in the recipe index"
        expected = sorted(page_of[i] for i in recipe["chapters"])
        assert expected in listed[recipe["name"]], f"{recipe['module']}.{recipe['name']}: chapter links"
    taught = [r for r in recipe_list if r["chapters"]]
    assert len(taught) > len(recipe_list) / 2  # the index links chapters, not only dashes


def test_search_index_covers_every_page(site, course):
    index = (site / "searchindex.js").read_text(encoding="utf-8")
    assert (site / "search.html").is_file()
    for name in [Path(c["path"]).stem for c in course] + ["recipes", "index"]:
        assert f'"{name}"' in index, name
