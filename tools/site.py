"""Build the course site: every notebook with its stored outputs, a home page and a recipe index.

    python tools/site.py [--out build/site]      # make site; then open build/site/html/index.html

Sphinx with myst-nb and sphinx-book-theme, all pure Python (the `docs` extra): the notebooks are rendered
from the outputs stored in git, never executed, so the site shows exactly what `make test` checked. Nothing
is fetched at build time (no intersphinx, no remote themes or templates). Sphinx writes the left
navigation (every notebook, in course order), the client-side search index and a page per notebook with
its figures; this tool writes the home page (each chapter's "You will learn", run time and study time) and
the recipe index (every public recipe: summary, signature, the chapters that teach it), both from
`mlsys_course._catalog`, the same source as `python -m mlsys_course`.

Everything goes under `--out`: the site in `html/` (publish that folder as it is: it needs no server), the
staged sources in `src/` (copies of the notebooks, the generated pages and `conf.py`, rewritten only when
they change, so a second build redoes only what changed), Sphinx's and myst-nb's caches beside them. The
build is strict: any Sphinx warning fails it, after all of them have been printed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python tools/site.py` from a clone that is not installed
    sys.path.insert(0, str(ROOT))

from mlsys_course._catalog import chapters, recipes  # noqa: E402

RECIPES_PAGE = "recipes"

CONF = '''\
# Written by tools/site.py on every build: edit it there.
project = "mlsys-course"
author = "mlsys-course"
copyright = "mlsys-course contributors, MIT licence"
html_title = "mlsys-course: Designing Machine Learning Systems, runnable"
extensions = ["myst_nb"]
# Render the outputs stored in git; never execute (the tests and `make outputs` do that).
nb_execution_mode = "off"
# No "$" math: the notebooks write dollar amounts. No extensions that reach the network (intersphinx).
myst_enable_extensions = []
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
html_theme = "sphinx_book_theme"
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
}
html_last_updated_fmt = None
html_show_sphinx = False
'''


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _label(chapter: dict) -> str:
    """'3a Data formats and models': the id and the short title of the index's chapter table."""
    if chapter["id"] == "00":
        return "How to use the course"
    return f"{chapter['id']} {chapter['short_title']}"


def home_page(chapter_list: list[dict]) -> str:
    """The home page: what the course is, then every chapter with what you learn and how long it takes.

    Its hidden table of contents is the left navigation: every notebook in course order, then the recipes.
    """
    lines = [
        "# mlsys-course: Designing Machine Learning Systems, runnable",
        "",
        "The runnable companion to *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022). Each",
        "chapter is a sequence of design decisions; each decision is a small seeded experiment with a figure,",
        "the numbers, a rule of thumb backed by what was measured, and a recipe (one call into the",
        "`mlsys_course` package) to copy into a real project. Every page shows the outputs stored in the",
        "course repository, the ones its tests reproduce exactly.",
        "",
        f"Start with [how to use the course](00_index.ipynb); the [recipe index]({RECIPES_PAGE}.md) lists",
        "every helper and the chapters that teach it. *Runs in* is the time a notebook takes top to bottom on",
        "a laptop; *study time* is the time to work through it, exercises included.",
        "",
        "## The chapters",
        "",
    ]
    for chapter in chapter_list:
        if chapter["id"] == "00":
            continue
        lines += [f"### [{chapter['id']} {chapter['title']}]({Path(chapter['path']).name})", ""]
        facts = [f"Book chapter {chapter['book_chapter']}"] if chapter["book_chapter"] else []
        facts += [f"runs in {chapter['runs_in']}"] if chapter["runs_in"] else []
        facts += [f"study time {chapter['study_time']}"] if chapter["study_time"] else []
        if facts:
            lines += [" · ".join(facts), ""]
        if chapter["learn"]:
            lines += ["**You will learn** to", "", *[f"- {item}" for item in chapter["learn"]], ""]
    lines += ["```{toctree}", ":hidden:", ":maxdepth: 1", ""]
    lines += [f"{_label(c)} <{Path(c['path']).stem}>" for c in chapter_list]
    lines += [RECIPES_PAGE, "```", ""]
    return "\n".join(lines)


def recipe_page(recipe_list: list[dict], chapter_list: list[dict]) -> str:
    """The recipe index: per module, every public recipe with its summary, signature and chapters."""
    by_id = {c["id"]: c for c in chapter_list}
    lines = [
        "# Recipe index",
        "",
        "Every public recipe of the `mlsys_course` package: what it does, how to call it, and the chapters",
        "whose code calls it (a dash: no notebook calls it directly). `help(name)` in a notebook shows the full",
        "docstring with the book section and a runnable example.",
        "",
    ]
    modules: dict[str, list[dict]] = {}
    for recipe in recipe_list:
        modules.setdefault(recipe["module"], []).append(recipe)
    for module, items in modules.items():
        lines += [f"## `mlsys_course.{module}`", "", "```{list-table}", ":header-rows: 1", ":widths: 45 40 15", ""]
        lines += ["* - Recipe", "  - What it does", "  - Taught in"]
        for recipe in items:
            taught = [f"[{_label(by_id[i])}]({Path(by_id[i]['path']).name})" for i in recipe["chapters"]]
            kind = "class " if recipe.get("kind") == "class" else ""
            summary = recipe["summary"] + (f" *Book*: {recipe['book']}" if recipe["book"] else "")
            lines += [
                f"* - ``{kind}{recipe['name']}{recipe['signature']}``",
                f"  - {summary}",
                f"  - {', '.join(taught) if taught else '—'}",
            ]
        lines += ["```", ""]
    return "\n".join(lines)


def stage(src: Path, root: Path = ROOT) -> list[Path]:
    """Write the Sphinx sources into src: copies of the notebooks, the home page, the recipe index, conf.py.

    Returns the notebooks, in course order.
    """
    src.mkdir(parents=True, exist_ok=True)
    chapter_list = chapters(root)
    notebooks = [root / c["path"] for c in chapter_list]
    wanted = {p.name for p in notebooks}
    for stale in src.glob("*.ipynb"):
        if stale.name not in wanted:
            stale.unlink()
    for path in notebooks:
        target = src / path.name
        if not target.exists() or target.read_bytes() != path.read_bytes():
            shutil.copy2(path, target)
    _write_if_changed(src / "index.md", home_page(chapter_list))
    _write_if_changed(src / f"{RECIPES_PAGE}.md", recipe_page(recipes(root), chapter_list))
    _write_if_changed(src / "conf.py", CONF)
    return notebooks


def build(out: Path, *, quiet: bool = True) -> tuple[int, float]:
    """Build the site into out/html; return how many notebooks it holds and the seconds it took.

    Raises SystemExit when Sphinx warns (after printing every warning).
    """
    from sphinx.cmd.build import build_main

    start = time.perf_counter()
    out = out.resolve()
    notebooks = stage(out / "src")
    # myst-nb keeps the images it extracts in the html folder's parent (out/jupyter_execute).
    args = ["-b", "html", "-W", "--keep-going", "-d", str(out / "doctrees"), str(out / "src"), str(out / "html")]
    status = build_main((["-q"] if quiet else []) + args)
    if status:
        raise SystemExit(f"site build failed (exit {status}): every warning above is an error")
    return len(notebooks), time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    parser.add_argument("--verbose", action="store_true", help="print Sphinx's progress, not only warnings")
    args = parser.parse_args(argv)
    count, seconds = build(args.out, quiet=not args.verbose)
    print(f"wrote {args.out / 'html' / 'index.html'}: {count} notebooks and the recipe index, in {seconds:.1f} s")


if __name__ == "__main__":
    main()
