"""The course catalog: its chapters and its public recipes, read from the notebooks and the package.

Course plumbing, not a recipe: the command line (``python -m mlsys_course``) and the course site build on
it. Everything is read from the sources in git, so the catalog never drifts from them: a chapter's run and
study times come from the chapter table of ``notebooks/00_index.ipynb``, its title and what it teaches from
its header cell, a recipe's summary and signature from the package itself, and the chapters that teach a
recipe from the notebooks' code cells.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import typing
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
INDEX = "00_index.ipynb"
#: The chapter table's header row in the index notebook.
TABLE_HEADER = ("#", "Notebook", "Book chapter", "Decisions", "Runs in", "Study time")
_NOTEBOOK = re.compile(r"^(\d\d)([a-z]?)_\w+\.ipynb$")
_LINK = re.compile(r"^\[(?P<text>[^\]]+)\]\((?P<target>[^)]+)\)$")
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+mlsys_course[\w.]*[ \t]+import[ \t]+(?:\([^)]*\)|[^\n]*)"
                     r"|import[ \t]+mlsys_course[^\n]*)", re.MULTILINE)
_FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
_PYPROJECT_NAME = re.compile(r'^name\s*=\s*"mlsys-course"\s*$', re.MULTILINE)


def find_root(start: Path | None = None) -> Path | None:
    """The course clone holding ``start`` (default: the current directory), or None outside a clone.

    A clone is the first folder, from ``start`` upward, holding a ``pyproject.toml`` whose project is
    ``mlsys-course`` and a ``notebooks`` folder.
    """
    here = Path.cwd() if start is None else Path(start)
    for folder in (here.resolve(), *here.resolve().parents):
        pyproject = folder / "pyproject.toml"
        if (folder / "notebooks").is_dir() and pyproject.is_file():
            if _PYPROJECT_NAME.search(pyproject.read_text(encoding="utf-8")):
                return folder
    return None


def notebook_id(path: Path | str) -> str:
    """A notebook's id from its file name: ``"00"`` for the index, ``"1"``, ``"3a"``, ``"7c"``, ..."""
    match = _NOTEBOOK.match(Path(path).name)
    if match is None:
        raise ValueError(f"notebook file name {Path(path).name!r}: expected NN_name.ipynb or NNx_name.ipynb")
    number, part = match.groups()
    return "00" if Path(path).name == INDEX else f"{int(number)}{part}"


def _notebooks(root: Path) -> list[Path]:
    folder = Path(root) / "notebooks"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} does not exist: root must be a clone of the course")
    paths = sorted(p for p in folder.glob("*.ipynb") if _NOTEBOOK.match(p.name))
    if not paths or paths[0].name != INDEX:
        raise FileNotFoundError(f"{folder / INDEX} does not exist: the course starts with its index")
    return paths


def _cells(path: Path, kind: str) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == kind]


def _table(index: Path) -> dict[str, dict]:
    """The chapter table of the index: one row per chapter, keyed by the notebook's file name."""
    header = "| " + " | ".join(TABLE_HEADER) + " |"
    cells = [c for c in _cells(index, "markdown") if header in c]
    if len(cells) != 1:
        raise ValueError(f"{index}: expected one markdown cell with the chapter table {header!r}, found {len(cells)}")
    lines = cells[0].splitlines()
    start = lines.index(header) + 2  # skip the |---| line
    rows = {}
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        fields = [f.strip() for f in line.strip().strip("|").split("|")]
        if len(fields) != len(TABLE_HEADER):
            raise ValueError(f"{index}: chapter table row {line!r} has {len(fields)} columns, expected {len(TABLE_HEADER)}")
        number, notebook, book_chapter, decisions, runs_in, study_time = fields
        link = _LINK.match(notebook)
        if link is None:
            raise ValueError(f"{index}: chapter table row {number!r}: the Notebook column {notebook!r} is not a [title](file) link")
        name = Path(link["target"]).name
        if name in rows:
            raise ValueError(f"{index}: chapter table lists {name} twice")
        if _NOTEBOOK.match(name) is None or notebook_id(name) != number:
            raise ValueError(f"{index}: chapter table row {number!r} links to {name}, whose id is not {number!r}")
        rows[name] = {"short_title": link["text"], "book_chapter": book_chapter, "decisions": decisions,
                      "runs_in": runs_in, "study_time": study_time}
    return rows


def _header(path: Path) -> tuple[str, list[str]]:
    """A notebook's title (without "Chapter N: ") and its "You will learn" bullets."""
    markdown = _cells(path, "markdown")
    if not markdown:
        raise ValueError(f"{path}: no header cell")
    lines = markdown[0].splitlines()
    titles = [line[2:].strip() for line in lines if line.startswith("# ")]
    if not titles:
        raise ValueError(f"{path}: the header cell has no '# ' title line")
    title = re.sub(r"^Chapter\s+\w+:\s*", "", titles[0])
    learn: list[str] = []
    starts = [i for i, line in enumerate(lines) if "**You will learn**" in line]
    for line in lines[starts[0] + 1:] if starts else []:
        if line.startswith("- "):
            learn.append(line[2:].strip())
        elif line.startswith(" ") and line.strip() and learn:
            learn[-1] += " " + line.strip()
        elif not line.strip() and learn:
            break
        elif line.strip():
            break
    return title, learn


def chapters(root: Path) -> list[dict]:
    """Every notebook of the course, in course order (the index first), with what the course says of it.

    Parameters
    ----------
    root : Path
        A clone of the course (the folder holding ``notebooks/``).

    Returns
    -------
    list of dict
        One dict per notebook with ``id`` (``"00"`` for the index, ``"1"``, ``"3a"``, ...), ``path`` (str,
        relative to ``root``, with ``/``), ``title`` (the header's first ``# `` line without "Chapter N: "),
        ``short_title`` (the link text of the index's chapter table; ``"Index"`` for the index),
        ``book_chapter``, ``decisions``, ``runs_in`` and ``study_time`` (the index's chapter table, as
        written there; ``""`` for the index) and ``learn`` (the header's "You will learn" bullets, markdown,
        one str per bullet; ``[]`` for the index).

    Raises
    ------
    ValueError
        When a notebook is missing from the index's chapter table, or the table lists one that does not
        exist, or the table or a header cannot be read.
    """
    root = Path(root)
    paths = _notebooks(root)
    table = _table(paths[0])
    names = [p.name for p in paths[1:]]
    missing = [n for n in names if n not in table]
    extra = [n for n in table if n not in names]
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"notebooks missing from the chapter table: {missing}")
        if extra:
            problems.append(f"rows of the chapter table with no notebook: {extra}")
        raise ValueError(f"{paths[0]}: the chapter table does not match notebooks/: " + "; ".join(problems))
    found = []
    for path in paths:
        title, learn = _header(path)
        row = table.get(path.name, {"short_title": "Index", "book_chapter": "", "decisions": "", "runs_in": "",
                                    "study_time": ""})
        found.append({"id": notebook_id(path), "path": path.relative_to(root).as_posix(), "title": title,
                      "short_title": row["short_title"], "book_chapter": row["book_chapter"],
                      "decisions": row["decisions"], "runs_in": row["runs_in"], "study_time": row["study_time"],
                      "learn": learn})
    return found


def public_modules() -> list[str]:
    """The package's public modules: ``mlsys_course/<name>.py``, not private, not ``lab``, with an ``__all__``.

    Read from the source files, without importing them."""
    names = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem.startswith("_") or path.stem == "lab":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if any(isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
               for node in tree.body):
            names.append(path.stem)
    return names


class _Annotation:
    """An annotation kept as its source text, so a signature prints ``x: pd.DataFrame``, not ``x: 'pd.DataFrame'``."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _signature(obj) -> str:
    try:
        signature = inspect.signature(obj)  # a class: its __init__ without self
    except (TypeError, ValueError):
        return "(...)"
    parameters = [p.replace(annotation=_as_written(p.annotation)) for p in signature.parameters.values()]
    returns = _as_written(signature.return_annotation)
    return str(signature.replace(parameters=parameters, return_annotation=returns))


def _as_written(annotation):
    if isinstance(annotation, typing.ForwardRef):  # a NamedTuple's fields under postponed annotations
        annotation = annotation.__forward_arg__
    return _Annotation(annotation) if isinstance(annotation, str) else annotation


def _book(doc: str) -> str:
    """The text of the docstring's "Book: ..." paragraph (continuation lines joined), or ""."""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("Book:"):
            text = [line.strip()[len("Book:"):].strip()]
            for more in lines[i + 1:]:
                if not more.strip() or set(more.strip()) == {"-"}:
                    break
                text.append(more.strip())
            return " ".join(text)
    return ""


def _strip_magics(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _uses(sources: list[str], exports: dict[str, set[str]]) -> set[tuple[str, str]]:
    """The (module, name) pairs of public recipes a notebook's code cells import or use as ``module.name``."""
    trees = []
    for source in sources:
        try:
            trees.append(ast.parse(_strip_magics(source)))
        except SyntaxError:  # not all Python: read its mlsys_course imports alone
            for statement in _IMPORT.finditer(source):
                try:
                    trees.append(ast.parse(statement.group(0).strip()))
                except SyntaxError:
                    continue
    used, modules = set(), {}  # modules: a local name bound to a public module
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                if node.module == "mlsys_course":
                    modules.update({a.asname or a.name: a.name for a in node.names if a.name in exports})
                elif node.module.startswith("mlsys_course."):
                    module = node.module.split(".", 1)[1]
                    used.update((module, a.name) for a in node.names if a.name in exports.get(module, ()))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if alias.asname and len(parts) == 2 and parts[0] == "mlsys_course" and parts[1] in exports:
                        modules[alias.asname] = parts[1]
    for tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            value = node.value
            if isinstance(value, ast.Name) and value.id in modules:
                module = modules[value.id]
            elif (isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name)
                  and value.value.id == "mlsys_course"):
                module = value.attr  # mlsys_course.<module>.<name>
            else:
                continue
            if node.attr in exports.get(module, ()):
                used.add((module, node.attr))
    return used


def recipes(root: Path | None = None, *, module: str | None = None) -> list[dict]:
    """Every public recipe of the package: each function or class in a public module's ``__all__``.

    Parameters
    ----------
    root : Path or None
        A clone of the course, to find the chapters that teach each recipe; None to skip that.
    module : str or None
        Only this public module's recipes (imports only it); None for every public module.

    Returns
    -------
    list of dict
        One dict per recipe, by module (alphabetical) and then in ``__all__`` order, with ``module``
        (``"serving"``), ``name`` (``"serve_model"``), ``kind`` (``"function"`` or ``"class"``), ``summary``
        (the docstring's first line), ``signature`` (str, ``"(model, ...) -> ..."``: for a class its
        ``__init__`` without ``self``; annotations as written in the source), ``book`` (the docstring's
        "Book: ..." paragraph without "Book: ", or ``""``) and ``chapters`` (the ids of the notebooks whose
        code cells or fenced ``python`` blocks (the "Recipe" blocks) import it or use it as ``module.name``,
        in course order; ``[]`` when ``root`` is None).
    """
    found = []
    exports: dict[str, set[str]] = {}
    modules = public_modules()
    if module is not None and module not in modules:
        raise ValueError(f"module={module!r}: not a public module of mlsys_course; one of {modules}")
    for module_name in modules if module is None else [module]:
        namespace = importlib.import_module(f"mlsys_course.{module_name}")
        exports[module_name] = set()
        for name in namespace.__all__:
            obj = getattr(namespace, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            exports[module_name].add(name)
            doc = inspect.getdoc(obj) or ""
            found.append({"module": module_name, "name": name, "kind": "class" if inspect.isclass(obj) else "function",
                          "summary": doc.strip().splitlines()[0].strip() if doc.strip() else "",
                          "signature": _signature(obj), "book": _book(doc), "chapters": []})
    if root is not None:
        teaching: dict[tuple[str, str], list[str]] = {}
        for path in _notebooks(Path(root)):
            code = _cells(path, "code") + [block for text in _cells(path, "markdown") for block in _FENCE.findall(text)]
            for key in _uses(code, exports):
                teaching.setdefault(key, []).append(notebook_id(path))
        for recipe in found:
            recipe["chapters"] = teaching.get((recipe["module"], recipe["name"]), [])
    return found
