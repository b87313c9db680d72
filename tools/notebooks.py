"""Execute the course notebooks: in place (the stored outputs) or into a browsable HTML edition.

    python tools/notebooks.py execute [NOTEBOOK ...]   # re-run in place; twice in a row leaves git clean
    python tools/notebooks.py html [--out build/html]   # execute copies and write an HTML edition + index
    python tools/notebooks.py lab                       # JupyterLab on the index (settings: jupyter/), same kernel env
    python tools/notebooks.py student [--out build/student]  # a student edition: solutions as placeholders, no outputs

Cells whose outputs vary between runs (wall-clock timings, marked NBVAL_IGNORE_OUTPUT) are executed but
their outputs are not stored in place: the HTML edition and a reader's own run show them. Both run kernels with KERNEL_ENV, the same environment the tests give nbval's kernels (conftest.py),
so stored outputs are exactly what the strict comparison expects.
"""

from __future__ import annotations

import argparse
import ast
import html
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

# Fixed hash seed (set order), one BLAS/OpenMP thread (bit-identical floats on any core count).
KERNEL_ENV = {
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    # MLflow's usage telemetry would try the network; the course runs offline (the tracking notebook's
    # setup cell sets the same for a reader's own kernel).
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
}


def apply_kernel_env() -> None:
    """Put KERNEL_ENV into this process's environment, which kernels started from it inherit."""
    os.environ.update(KERNEL_ENV)


def notebook_paths(names: list[str] | None = None) -> list[Path]:
    """The course notebooks in order, or the named ones."""
    if names:
        return [Path(n).resolve() for n in names]
    return sorted(NOTEBOOKS.glob("[0-9][0-9]*.ipynb"))


def execute(path: Path, *, timeout: int = 600):
    """Execute one notebook top to bottom in its own folder and return (notebook, seconds)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def varies_between_runs(cell) -> bool:
    """A cell whose outputs nbval does not compare (wall-clock timings): a comment line that is exactly
    ``# NBVAL_IGNORE_OUTPUT`` (as nbval reads markers: ``# NBVAL_IGNORE_OUTPUT (why)`` is no marker), or the tag."""
    source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
    marked = any(line.strip().startswith("#") and line.strip().lstrip("#").strip() == "NBVAL_IGNORE_OUTPUT"
                 for line in source.splitlines())
    return marked or "nbval-ignore-output" in cell.get("metadata", {}).get("tags", [])


def _coalesce_streams(outputs: list) -> list:
    """Join consecutive stream outputs of the same name (stdout, stderr): how a kernel splits printed text
    into messages depends on timing, and the stored file must not."""
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream" and previous.get("name") == output.get("name")):
            previous["text"] = "".join(previous["text"]) + "".join(output["text"])
        else:
            merged.append(output)
    return merged


def _write(nb, path: Path) -> None:
    """Store the notebook; outputs that vary between runs are not stored, so two runs give identical files."""
    import nbformat

    for cell in nb.cells:
        if cell.cell_type == "code" and varies_between_runs(cell):
            cell.outputs = []
        elif cell.cell_type == "code":
            cell.outputs = _coalesce_streams(cell.outputs)
    text = nbformat.writes(nb) + "\n"
    path.write_text(text, encoding="utf-8")


def cmd_execute(names: list[str]) -> None:
    apply_kernel_env()
    for path in notebook_paths(names):
        nb, seconds = execute(path)
        _write(nb, path)
        print(f"{path.relative_to(ROOT)}: executed in {seconds:.1f} s")


def _link_to_html(text: str) -> str:
    """Rewrite markdown links to sibling notebooks (x.ipynb) into links to their HTML pages."""
    return re.sub(r"\(([\w./-]+)\.ipynb(#[^)]*)?\)", lambda m: f"({m.group(1)}.html{m.group(2) or ''})", text)


def cmd_html(out: Path, paths: list[Path] | None = None) -> None:
    from nbconvert import HTMLExporter

    apply_kernel_env()
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter()
    rows = []
    for path in paths or notebook_paths():
        nb, seconds = execute(path)
        title = path.stem
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = _link_to_html(cell.source)
                if title == path.stem:
                    match = re.search(r"^#\s+(.+)$", cell.source, re.M)
                    if match:
                        title = match.group(1).strip()
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
        (out / f"{path.stem}.html").write_text(body, encoding="utf-8")
        rows.append((path.stem, title, seconds))
        print(f"{path.stem}.html: executed in {seconds:.1f} s")
    items = "\n".join(
        f'  <li><a href="{stem}.html">{html.escape(title)}</a></li>' for stem, title, _ in rows
    )
    (out / "index.html").write_text(
        "<!doctype html>\n<html><head><meta charset='utf-8'><title>mlsys-course</title></head>\n"
        "<body>\n<h1>mlsys-course</h1>\n<p>The runnable companion to <em>Designing Machine Learning Systems</em>"
        " (Chip Huyen, O'Reilly 2022). Every chapter below was executed top to bottom to build this page.</p>\n"
        f"<ol>\n{items}\n</ol>\n</body></html>\n",
        encoding="utf-8",
    )
    print(f"wrote {out / 'index.html'} linking {len(rows)} notebooks")


STUB_HEADER = "# Your solution here: replace each placeholder below; the check cell below uses these names.\n"


def _check_calls(source: str) -> list[ast.Call]:
    """The ``check("id", answer, ...)`` / ``evaluate(...)`` calls of a cell (none if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) in ("check", "evaluate")
            and len(node.args) >= 2 and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)]


def _bound_names(source: str) -> set[str]:
    """Every name a cell binds at any depth (assignments, defs, classes, imports, loop and with targets)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def student_stub(solution: str, check_cell: str, bound_before: set[str] = frozenset()) -> str:
    """The stub that replaces a solution cell: each name the check cell needs from it, as a placeholder.

    The needed names are those in the answer argument of the check cell's ``check("id", answer, ...)`` calls,
    and any other name the check cell uses that only the solution cell binds (not a cell before it). A name the
    solution binds with ``def`` becomes a function of the same signature returning NOT_ANSWERED; a name bound to
    such functions (``answer = (save, load)``) keeps that line and its functions become stubs; any other name
    becomes ``name = NOT_ANSWERED``. ``check`` says "not answered yet" for all of them.
    """
    calls = _check_calls(check_cell)
    try:
        top = ast.parse(solution).body
        check_tree = ast.parse(check_cell)
    except SyntaxError:
        return STUB_HEADER
    answer_names = [n.id for call in calls for n in ast.walk(call.args[1]) if isinstance(n, ast.Name)]
    used = [n.id for n in ast.walk(check_tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    binds = _bound_names(solution)
    needed = list(dict.fromkeys(answer_names + [n for n in used if n in binds and n not in bound_before]))
    defs = {node.name: node for node in top if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    assigns = {node.targets[0].id: node for node in top if isinstance(node, ast.Assign)
               and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)}

    def of_functions(node: ast.Assign) -> list[str] | None:
        value = node.value
        items = value.elts if isinstance(value, (ast.Tuple, ast.List)) else [value]
        names = [item.id for item in items if isinstance(item, ast.Name) and item.id in defs]
        return names if names and len(names) == len(items) else None

    functions, lines = [], []
    for name in needed:
        if name in defs and name not in assigns:
            functions.append(name)
        elif name in assigns and of_functions(assigns[name]):
            functions.extend(of_functions(assigns[name]))
            lines.append(ast.unparse(assigns[name]))
        else:
            lines.append(f"{name} = NOT_ANSWERED  # your answer here")
    text = STUB_HEADER + "from mlsys_course.exercises import NOT_ANSWERED\n"
    for name in dict.fromkeys(functions):
        node = defs[name]
        returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
        prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
        text += (f"\n\n{prefix} {name}({ast.unparse(node.args)}){returns}:\n"
                 "    return NOT_ANSWERED  # your answer here: replace this line with your code\n")
    if lines:
        text += ("\n\n" if functions else "\n") + "\n".join(lines) + "\n"
    return text.rstrip("\n")


def student_notebook(nb):
    """The student edition of a notebook (changed in place and returned): each ``solution``-tagged cell becomes
    the stub of :func:`student_stub` for the check cell that follows it; every output is cleared."""
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    bound: set[str] = set()
    for i, cell in enumerate(code):
        if "solution" in cell.get("metadata", {}).get("tags", []):
            following = next((c.source for c in code[i + 1:] if _check_calls(c.source)), "")
            cell.source = student_stub(cell.source, following, bound)
        else:
            bound |= _bound_names(cell.source)
        cell.outputs, cell.execution_count = [], None
    return nb


def cmd_student(out: Path, paths: list[Path] | None = None) -> None:
    """Write a student edition: every cell tagged ``solution`` replaced by placeholders, all outputs cleared."""
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    for path in paths or notebook_paths():
        nb = student_notebook(nbformat.read(path, as_version=4))
        nbformat.write(nb, out / path.name)
    print(f"wrote the student edition of {len(paths or notebook_paths())} notebooks to {out}")


LAB_SETTINGS = ROOT / "jupyter"  # labconfig/default_setting_overrides.json: no news pop-up, no update check


def lab_command(environ: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The argv and environment of ``lab``: JupyterLab opening the index, reading the course's settings
    (``jupyter/`` put first on JUPYTER_CONFIG_PATH), its kernels in KERNEL_ENV so a reader sees the stored numbers."""
    env = dict(os.environ if environ is None else environ)
    env.update(KERNEL_ENV)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in (str(LAB_SETTINGS), env.get("JUPYTER_CONFIG_PATH")) if p)
    jupyter = str(Path(sys.executable).with_name("jupyter"))
    root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []  # containers often run as root
    return [jupyter, "lab", *root, str(NOTEBOOKS / "00_index.ipynb")], env


def cmd_lab() -> None:
    """Open JupyterLab on the index (see :func:`lab_command`)."""
    argv, env = lab_command()
    os.execve(argv[0], argv, env)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="re-execute notebooks in place")
    ex.add_argument("notebooks", nargs="*", help="notebook paths (default: every course notebook)")
    ht = sub.add_parser("html", help="build the HTML edition")
    ht.add_argument("--out", type=Path, default=ROOT / "build" / "html")
    sub.add_parser("lab", help="open the course in JupyterLab")
    st = sub.add_parser("student", help="write a student edition (solutions replaced by placeholders)")
    st.add_argument("--out", type=Path, default=ROOT / "build" / "student")
    args = parser.parse_args(argv)
    if args.command == "execute":
        cmd_execute(args.notebooks)
    elif args.command == "html":
        cmd_html(args.out)
    elif args.command == "student":
        cmd_student(args.out)
    else:
        cmd_lab()


if __name__ == "__main__":
    sys.exit(main())
