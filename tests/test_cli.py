"""The command line, python -m mlsys_course: chapters and recipes for real (subprocesses), builds mocked."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import mlsys_course.__main__ as cli
from mlsys_course._catalog import chapters, public_modules

ROOT = Path(__file__).resolve().parent.parent


def _run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "mlsys_course", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_chapters_lists_every_notebook_from_below_the_root():
    result = _run("chapters", cwd=ROOT / "notebooks")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "title", "runs", "in", "study", "time"]
    found = chapters(ROOT)
    assert len(lines) == 1 + len(found)
    for line, chapter in zip(lines[1:], found):
        assert line.startswith(chapter["id"] + " ") and chapter["title"] in line
        if chapter["id"] != "00":
            assert re.search(rf"  {re.escape(chapter['runs_in'])} +{re.escape(chapter['study_time'])}$", line), line


def test_recipes_of_a_module_with_their_chapters():
    result = _run("recipes", "--module", "serving")  # one module: the subprocess imports only it
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    serve = [line for line in lines if line.startswith("serving.serve_model — ")]
    assert len(serve) == 1 and "Serve a fitted model" in serve[0] and "7b" in serve[0].rsplit("[", 1)[1]
    assert all(line.startswith("serving.") for line in lines) and len(lines) >= 5


def test_recipes_lists_every_module(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert cli.main(["recipes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("latency.percentiles — Latency percentiles") for line in lines)
    assert {line.split(".", 1)[0] for line in lines} == set(public_modules())


def test_recipes_of_one_module_outside_a_clone(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["recipes", "--module", "latency"]) == 0
    out, err = capsys.readouterr()
    assert [line.split(" — ")[0] for line in out.splitlines()] == ["latency.budget", "latency.measure", "latency.percentiles"]
    assert "[chapter" not in out and "outside a clone" in err


@pytest.mark.parametrize("command", [["chapters"], ["build", "html"]])
def test_chapters_and_build_need_a_clone(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli.subprocess, "Popen", lambda *a, **k: pytest.fail("a build ran outside a clone"))
    assert cli.main(command) == 1
    assert "needs a clone of the course" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [[], ["build"], ["build", "nope"], ["recipes", "--module", "nope"], ["teach"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2
    assert "usage:" in capsys.readouterr().err


class FakeProcess:
    calls = []

    def __init__(self, argv, cwd=None):
        self.calls.append((argv, cwd))
        self.interrupted = False

    def wait(self):
        if FakeProcess.interrupt and not self.interrupted:  # Ctrl-C reaches the build; we wait for its code
            self.interrupted = True
            raise KeyboardInterrupt
        return FakeProcess.code


@pytest.mark.parametrize("target, args", [("outputs", ["tools/notebooks.py", "execute"]),
                                          ("html", ["tools/notebooks.py", "html"]),
                                          ("student", ["tools/notebooks.py", "student"]),
                                          ("lab", ["tools/notebooks.py", "lab"]),
                                          ("test", ["-m", "pytest"])])
@pytest.mark.parametrize("code, interrupt", [(0, False), (3, True)])
def test_build_runs_the_make_targets_command_from_the_root(target, args, code, interrupt, monkeypatch, capsys):
    FakeProcess.calls, FakeProcess.code, FakeProcess.interrupt = [], code, interrupt
    monkeypatch.setattr(cli.subprocess, "Popen", FakeProcess)
    monkeypatch.chdir(ROOT / "notebooks")
    assert cli.main(["build", target]) == code
    assert FakeProcess.calls == [([sys.executable, *args], ROOT)]


def test_makefile_runs_the_same_commands():
    makefile = (ROOT / "Makefile").read_text()
    for target, args in cli.BUILDS.items():
        assert f"\n{target}: $(STAMP)\n\t$(BIN)/python {' '.join(args)}\n" in makefile, target


def test_the_command_line_imports_nothing_heavy():
    code = ("import sys, mlsys_course.__main__; "
            "print(sorted(m for m in ('numpy', 'pandas', 'sklearn', 'scipy', 'matplotlib', 'tools') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr
