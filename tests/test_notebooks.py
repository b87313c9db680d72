"""Every chapter notebook follows the anatomy of CONVENTIONS §2; the harness compares outputs strictly.

nbval itself executes the notebooks (pytest collects notebooks/ with --nbval); these tests check their shape.
"""

import json
import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]*.ipynb"))
CHAPTERS = [p for p in NOTEBOOKS if not p.name.startswith("00")]


def _load(path):
    nb = json.loads(path.read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    markdown = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    return nb, code, markdown


def test_there_is_an_index_and_chapters():
    assert (ROOT / "notebooks" / "00_index.ipynb").exists()
    assert len(CHAPTERS) >= 2


def test_index_links_every_chapter():
    _, _, markdown = _load(ROOT / "notebooks" / "00_index.ipynb")
    text = "\n".join(markdown)
    for path in CHAPTERS:
        assert f"({path.name})" in text, f"00_index does not link {path.name}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_anatomy(path):
    nb, code, markdown = _load(path)
    header = markdown[0]
    assert re.match(r"#\s+Chapter\s+\d+", header), "first cell must be the header '# Chapter N ...'"
    for word in ("Book sections", "You will learn", "Runs in", "00_index.ipynb"):
        assert word in header, f"header lacks {word!r}"
    setup = code[0]
    assert re.search(r"^from mlsys_course(\.\w+)? import ", setup, re.M), "setup cell imports mlsys_course"
    assert "use_style()" in setup and "SEED" in setup, "setup cell applies the style and sets SEED"
    text = "\n".join(markdown)
    for part in ("Why it matters", "Options", "Takeaway", "Recipe"):
        assert part in text, f"decision sections need a {part!r} part"
    assert re.search(r"^##\s+Exercises", text, re.M), "an Exercises section"
    assert re.search(r"^##\s+Summary", text, re.M), "a Summary section"
    assert "| Decision |" in text, "the summary is a table: Decision | Options | Rule of thumb | Helper"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_star_imports_and_explicit_package_use(path):
    _, code, _ = _load(path)
    source = "\n".join(code)
    assert not re.search(r"^\s*from\s+\S+\s+import\s+\*", source, re.M)
    assert "mlsys_course" in source


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_exercise_has_a_solution_and_a_check(path):
    nb, _, _ = _load(path)
    cells = nb["cells"]
    solutions = [i for i, c in enumerate(cells) if "solution" in c.get("metadata", {}).get("tags", [])]
    assert len(solutions) >= 2, "2-4 exercises, each with a reference solution tagged 'solution'"
    for i in solutions:
        following = "".join(cells[i + 1]["source"]) if i + 1 < len(cells) else ""
        assert "check(" in following, f"cell {i + 1} after a solution must call the checker"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_are_from_a_full_run(path):
    nb, _, _ = _load(path)
    for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        assert cell["execution_count"] == i + 1, "stored outputs come from one top-to-bottom run (make outputs)"
        assert all(o["output_type"] != "error" for o in cell["outputs"])
        assert "execution" not in cell.get("metadata", {}), "timings in metadata make diffs noisy"


def test_harness_is_strict_and_parallel():
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    addopts = options["addopts"]
    assert "--nbval" in addopts and "--nbval-lax" not in addopts
    assert "notebooks" in options["testpaths"]
    assert addopts[addopts.index("--dist") + 1] in ("loadscope", "loadfile")
