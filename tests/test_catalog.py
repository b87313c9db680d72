"""The course catalog (mlsys_course._catalog): chapters from the index's table and the headers, recipes from the
package and the notebooks, read from the real repository and from a small course made here."""

import inspect
import json
import re
from pathlib import Path

import pytest

from api_cases import MODULES
from mlsys_course._catalog import chapters, find_root, notebook_id, public_modules, recipes

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def course_recipes():
    return recipes(ROOT)


def test_every_notebook_in_course_order_with_its_table_values():
    found = chapters(ROOT)
    assert [Path(c["path"]).name for c in found] == NOTEBOOKS
    assert found[0]["id"] == "00" and found[0]["path"] == "notebooks/00_index.ipynb"
    assert [c["id"] for c in found[1:3]] == ["1", "2"]
    for chapter in found[1:]:
        assert (ROOT / chapter["path"]).is_file()
        assert chapter["id"] == re.match(r"0?(\d[a-z]?)_", Path(chapter["path"]).name).group(1)
        assert re.fullmatch(r"~\d+ s", chapter["runs_in"]), chapter
        assert re.fullmatch(r"~\d+ min", chapter["study_time"]), chapter
        assert re.fullmatch(r"\d+ [A-Z].+", chapter["book_chapter"]), chapter
        assert chapter["decisions"] and "|" not in chapter["decisions"]
        assert chapter["learn"] and all(item and not item.startswith("- ") for item in chapter["learn"]), chapter
        assert not chapter["title"].startswith("Chapter"), chapter
        header = "".join(json.loads((ROOT / chapter["path"]).read_text())["cells"][0]["source"])
        assert chapter["title"] in header.splitlines()[0]
        assert chapter["runs_in"] and f"| {chapter['id']} | [{chapter['short_title']}]" in _index_text()
    by_id = {c["id"]: c for c in found}
    assert by_id["7b"]["book_chapter"] == "7 Model deployment and prediction service"
    assert by_id["1"]["title"] == "ML in production"
    assert by_id["7b"]["title"].startswith("A real prediction service")
    assert by_id["00"]["learn"] == [] and by_id["00"]["runs_in"] == ""


def _index_text():
    return "".join("".join(c["source"]) for c in json.loads((ROOT / "notebooks/00_index.ipynb").read_text())["cells"])


def _notebook(path: Path, *cells: tuple[str, str]) -> None:
    path.write_text(json.dumps({"cells": [{"cell_type": kind, "metadata": {}, "source": source.splitlines(True)}
                                          for kind, source in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


TABLE = """## The chapters

| # | Notebook | Book chapter | Decisions | Runs in | Study time |
|---|---|---|---|---|---|
| 1 | [One](01_one.ipynb) | 1 Overview | a; b | ~5 s | ~30 min |
| 2a | [Two](02a_two.ipynb) | 2 Design | c | ~6 s | ~40 min |

Text after the table.
"""


def _course(root: Path, table: str = TABLE, names=("01_one.ipynb", "02a_two.ipynb")) -> Path:
    (root / "notebooks").mkdir(parents=True)
    _notebook(root / "notebooks/00_index.ipynb", ("markdown", "# The index\n"), ("markdown", table),
              ("code", "from mlsys_course import latency as lat\nlat.percentiles([1, 2])\n"))
    for name in names:
        _notebook(root / "notebooks" / name,
                  ("markdown", f"# Chapter {notebook_id(name)}: Title of {name}\n\n**You will learn** to\n"
                               "- do one thing;\n- do another,\n  over two lines.\n\nMore text.\n- not a bullet\n"),
                  ("code", "%matplotlib inline\nimport mlsys_course.serving as srv\n"
                           "from mlsys_course.sampling import (simple_random_sample,\n    stratified_sample)\n"
                           "# latency.measure is only a comment\nsrv.predict\n"),
                  ("markdown", "**Recipe.**\n```python\nimport mlsys_course\nmlsys_course.latency.budget\n```\n"))
    (root / "pyproject.toml").write_text('[project]\nname = "mlsys-course"\n')
    return root


def test_chapters_of_a_small_course(tmp_path):
    found = chapters(_course(tmp_path))
    assert [c["id"] for c in found] == ["00", "1", "2a"]
    assert found[0] == {"id": "00", "path": "notebooks/00_index.ipynb", "title": "The index", "short_title": "Index",
                        "book_chapter": "", "decisions": "", "runs_in": "", "study_time": "", "learn": []}
    assert found[2] == {"id": "2a", "path": "notebooks/02a_two.ipynb", "title": "Title of 02a_two.ipynb",
                        "short_title": "Two", "book_chapter": "2 Design", "decisions": "c", "runs_in": "~6 s",
                        "study_time": "~40 min", "learn": ["do one thing;", "do another, over two lines."]}


def test_a_notebook_missing_from_the_table_or_a_row_without_notebook_fails(tmp_path):
    with pytest.raises(ValueError, match=r"missing from the chapter table: \['03_three.ipynb'\]"):
        chapters(_course(tmp_path / "extra", names=("01_one.ipynb", "02a_two.ipynb", "03_three.ipynb")))
    with pytest.raises(ValueError, match=r"rows of the chapter table with no notebook: \['02a_two.ipynb'\]"):
        chapters(_course(tmp_path / "missing", names=("01_one.ipynb",)))
    with pytest.raises(ValueError, match="whose id is not '2b'"):
        chapters(_course(tmp_path / "wrong", table=TABLE.replace("| 2a |", "| 2b |")))
    with pytest.raises(ValueError, match="expected one markdown cell with the chapter table"):
        chapters(_course(tmp_path / "none", table="no table"))


def test_find_root(tmp_path):
    assert find_root(ROOT / "notebooks") == ROOT
    assert find_root(tmp_path) is None
    other = tmp_path / "other"
    (other / "notebooks").mkdir(parents=True)
    (other / "pyproject.toml").write_text('[project]\nname = "another-course"\n')
    assert find_root(other / "notebooks") is None
    assert find_root(_course(tmp_path / "course") / "notebooks") == tmp_path / "course"


def test_public_modules_are_the_api_suites_modules():
    assert public_modules() == sorted(MODULES)


@pytest.mark.parametrize("module", ["latency", "serving", "sampling", "comparison"])
def test_every_recipe_of_a_module_with_its_docstring(module, course_recipes):
    namespace = __import__(f"mlsys_course.{module}", fromlist=["__all__"])
    expected = [n for n in namespace.__all__ if inspect.isfunction(getattr(namespace, n)) or inspect.isclass(getattr(namespace, n))]
    found = [r for r in course_recipes if r["module"] == module]
    assert [r["name"] for r in found] == expected
    for recipe in found:
        obj = getattr(namespace, recipe["name"])
        assert recipe["summary"] == inspect.getdoc(obj).splitlines()[0]
        assert recipe["kind"] == ("class" if inspect.isclass(obj) else "function")
        assert recipe["signature"].startswith("(")
        assert list(inspect.signature(obj).parameters)[0] in recipe["signature"] or not inspect.signature(obj).parameters
        assert "'" not in recipe["signature"].split("=")[0], recipe["signature"]  # annotations as written
        assert set(recipe["chapters"]) <= {c["id"] for c in chapters(ROOT)}


def test_recipe_fields_and_teaching_chapters(course_recipes):
    by_name = {f"{r['module']}.{r['name']}": r for r in course_recipes}
    assert set(by_name) >= {"serving.serve_model", "latency.percentiles", "comparison.compare", "exercises.check"}
    serve = by_name["serving.serve_model"]
    assert "7b" in serve["chapters"]  # taught in 07b's Recipe block
    assert serve["book"].startswith("Chapter 7, ") and not serve["book"].startswith("Book")
    assert serve["signature"].startswith("(model: Any, *, feature_names: Sequence[str] | None = None")
    percentiles = by_name["latency.percentiles"]
    assert percentiles["chapters"][0] == "00" and "1" in percentiles["chapters"]  # the index imports latency
    assert "method: str = 'linear'" in percentiles["signature"]
    assert by_name["latency.budget"]["book"].endswith('chapter 1, "Computational priorities" (latency percentiles).')
    order = [c["id"] for c in chapters(ROOT)]
    for recipe in course_recipes:
        assert recipe["chapters"] == sorted(recipe["chapters"], key=order.index)
    assert all(r["summary"] for r in course_recipes)
    assert not any(r["chapters"] for r in recipes(None, module="serving"))


def test_teaching_chapters_of_a_small_course(tmp_path):
    by_name = {f"{r['module']}.{r['name']}": r["chapters"] for r in recipes(_course(tmp_path))}
    assert by_name["latency.percentiles"] == ["00"]  # from mlsys_course import latency as lat; lat.percentiles
    assert by_name["serving.predict"] == ["1", "2a"]  # import mlsys_course.serving as srv; srv.predict
    assert by_name["sampling.simple_random_sample"] == by_name["sampling.stratified_sample"] == ["1", "2a"]
    assert by_name["latency.budget"] == ["1", "2a"]  # mlsys_course.latency.budget in a Recipe block
    assert by_name["latency.measure"] == []  # in a comment only
    assert by_name["serving.serve_model"] == []


def test_recipes_of_an_unknown_module():
    with pytest.raises(ValueError, match="module='nope'"):
        recipes(None, module="nope")
