"""``python -m mlsys_course``: list the chapters and recipes, and run the course's builds without make.

    python -m mlsys_course chapters                  # id, title, run time, study time
    python -m mlsys_course recipes [--module M]      # module.name: summary, and the chapters that teach it
    python -m mlsys_course build {outputs,html,student,lab,test}

``build`` runs what the Makefile target of the same name runs (``tools/notebooks.py ...`` or ``pytest``),
with this Python, from the course clone holding the current directory. Exit codes: 0 on success, 2 on a
usage error, a build's own exit code otherwise, 1 when a command needs a clone and there is none.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from mlsys_course._catalog import chapters, find_root, public_modules, recipes

#: What each build runs, as in the Makefile (arguments after the interpreter, from the course root).
BUILDS = {
    "outputs": ["tools/notebooks.py", "execute"],
    "html": ["tools/notebooks.py", "html"],
    "student": ["tools/notebooks.py", "student"],
    "lab": ["tools/notebooks.py", "lab"],
    "test": ["-m", "pytest"],
}
NO_CLONE = ("python -m mlsys_course {command} needs a clone of the course: run it inside the course repository "
            "(the folder holding its pyproject.toml and notebooks/, or a folder below it). {cwd} is not in one.")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlsys_course",
        description="The runnable companion course to Designing Machine Learning Systems: list its chapters "
                    "and recipes, and run its builds without make.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    commands.add_parser("chapters", help="list the chapters: id, title, run time, study time (needs a clone)")
    listing = commands.add_parser("recipes", help="list the public recipes and the chapters that teach them")
    listing.add_argument("--module", choices=public_modules(), metavar="M",
                         help="only this module's recipes (one of: %(choices)s)")
    build = commands.add_parser("build", help="run a build as its make target does (needs a clone)")
    build.add_argument("target", choices=sorted(BUILDS),
                       help="outputs: re-execute every notebook in place; html: the HTML edition in build/html; "
                            "student: the student edition in build/student; lab: open JupyterLab; test: every test")
    return parser


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _chapters(root: Path) -> int:
    rows = [["id", "title", "runs in", "study time"]]
    rows += [[c["id"], c["title"], c["runs_in"], c["study_time"]] for c in chapters(root)]
    print(_table(rows))
    return 0


def _recipes(root: Path | None, module: str | None) -> int:
    for recipe in recipes(root, module=module):
        line = f"{recipe['module']}.{recipe['name']} — {recipe['summary']}"
        if recipe["chapters"]:
            line += f" [chapter{'s' if len(recipe['chapters']) > 1 else ''} {', '.join(recipe['chapters'])}]"
        print(line)
    if root is None:
        print("(outside a clone of the course: run this inside one to see the chapters that teach each recipe)",
              file=sys.stderr)
    return 0


def _run(argv: list[str], cwd: Path) -> int:
    """Run a build and return its exit code; Ctrl-C goes to the build (JupyterLab asks before it stops)."""
    process = subprocess.Popen(argv, cwd=cwd)
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue


def build(target: str, root: Path) -> int:
    """Run the build ``target`` (a key of :data:`BUILDS`) from ``root`` with this interpreter; its exit code."""
    argv = [sys.executable, *BUILDS[target]]
    print(f"$ {' '.join(argv)}   (in {root})", flush=True)
    return _run(argv, root)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root = find_root()
    if args.command == "recipes":
        return _recipes(root, args.module)
    if root is None:
        print(NO_CLONE.format(command=args.command, cwd=Path.cwd()), file=sys.stderr)
        return 1
    if args.command == "chapters":
        return _chapters(root)
    return build(args.target, root)


if __name__ == "__main__":
    sys.exit(main())
