"""Every notebook "Recipe" block runs as written: as a standalone script, with its own imports and data.

A recipe is what a practitioner copies into a project, so it must not lean on the notebook's variables.
Each fenced ``python`` block in a markdown cell that contains ``**Recipe.**`` is executed in a fresh
namespace, in a temporary working directory (recipes that write files write there), with no network.
"""

import json
import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]*.ipynb"))
FENCE = re.compile(r"```python\n(.*?)```", re.S)


def recipes(path: Path) -> list[tuple[str, str]]:
    """(id, code) for every recipe block of a notebook, numbered in order."""
    cells = json.loads(path.read_text())["cells"]
    found = []
    for cell in cells:
        text = "".join(cell["source"])
        if cell["cell_type"] != "markdown" or "**Recipe.**" not in text:
            continue
        for code in FENCE.findall(text.split("**Recipe.**", 1)[1]):
            found.append((f"{path.stem}-recipe{len(found) + 1}", code))
    return found


CASES = [case for path in NOTEBOOKS for case in recipes(path)]


def test_every_chapter_has_recipes():
    chapters = [p for p in NOTEBOOKS if not p.name.startswith("00")]
    for path in chapters:
        assert recipes(path), f"{path.name} has no **Recipe.** block with a ```python fence"


@pytest.mark.parametrize("code", [c for _, c in CASES], ids=[i for i, _ in CASES])
def test_recipe_runs_as_written(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__recipe__"}
    exec(compile(code, "<recipe>", "exec"), namespace)  # noqa: S102 - the recipe is this repository's own text
    import matplotlib.pyplot as plt

    plt.close("all")
