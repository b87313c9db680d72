"""The notebook tools: stored outputs are reproducible, and the HTML edition links every chapter."""

import nbformat

from tools.notebooks import _link_to_html, _write, cmd_html, varies_between_runs


def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i}"
        nb.cells.append(cell)
    return nb


def test_links_to_sibling_notebooks_become_links_to_pages():
    text = "[next](02_ml_systems_design.ipynb) and [a part](01_x.ipynb#decision-2), not [site](https://a.org/x)"
    assert _link_to_html(text) == "[next](02_ml_systems_design.html) and [a part](01_x.html#decision-2), not [site](https://a.org/x)"


def test_outputs_that_vary_between_runs_are_not_stored(tmp_path):
    timed = nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\nprint(time.time())", execution_count=1)
    timed.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1700000000.1\n")]
    tagged = nbformat.v4.new_code_cell("1", execution_count=2, metadata={"tags": ["nbval-ignore-output"]})
    tagged.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=2)]
    kept = nbformat.v4.new_code_cell("2", execution_count=3)
    kept.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=3)]
    nb = _notebook(timed, tagged, kept)
    assert [varies_between_runs(c) for c in nb.cells] == [True, True, False]
    _write(nb, tmp_path / "n.ipynb")
    stored = nbformat.read(tmp_path / "n.ipynb", as_version=4)
    assert [len(c.outputs) for c in stored.cells] == [0, 0, 1]
    assert [c.execution_count for c in stored.cells] == [1, 2, 3]


def test_html_edition_has_an_index_linking_every_notebook(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    first = _notebook(nbformat.v4.new_markdown_cell("# Chapter 1: One\n[next](02_two.ipynb)"),
                      nbformat.v4.new_code_cell("print(6 * 7)"))
    second = _notebook(nbformat.v4.new_markdown_cell("# Chapter 2: Two"), nbformat.v4.new_code_cell("1 + 1"))
    nbformat.write(first, src / "01_one.ipynb")
    nbformat.write(second, src / "02_two.ipynb")
    out = tmp_path / "html"
    cmd_html(out, [src / "01_one.ipynb", src / "02_two.ipynb"])
    index = (out / "index.html").read_text()
    assert 'href="01_one.html">Chapter 1: One<' in index and 'href="02_two.html">Chapter 2: Two<' in index
    page = (out / "01_one.html").read_text()
    assert "42" in page, "the page shows the executed output"
    assert 'href="02_two.html"' in page and "02_two.ipynb" not in page


def test_student_edition_blanks_solutions_and_keeps_checks(tmp_path):
    from tools.notebooks import cmd_student

    solution = nbformat.v4.new_code_cell("answer = 42", execution_count=1, metadata={"tags": ["solution"]})
    solution.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=1)]
    checker = nbformat.v4.new_code_cell('check("1.1", answer)', execution_count=2)
    nb = _notebook(nbformat.v4.new_markdown_cell("# Chapter 1: One"), solution, checker)
    nbformat.write(nb, tmp_path / "01_one.ipynb")
    cmd_student(tmp_path / "student", [tmp_path / "01_one.ipynb"])
    student = nbformat.read(tmp_path / "student" / "01_one.ipynb", as_version=4)
    code = [c for c in student.cells if c.cell_type == "code"]
    assert "42" not in code[0].source and code[0].source.startswith("# Your solution here")
    assert code[1].source == 'check("1.1", answer)'
    assert all(not c.outputs and c.execution_count is None for c in code)


def test_printed_text_is_stored_as_one_stream_however_the_kernel_split_it(tmp_path):
    cell = nbformat.v4.new_code_cell("print('a'); print('b')")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="a\n"),
        nbformat.v4.new_output("stream", name="stdout", text="b\n"),
        nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
        nbformat.v4.new_output("stream", name="stdout", text="c\n"),
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    _write(nb, tmp_path / "x.ipynb")
    stored = nbformat.read(tmp_path / "x.ipynb", as_version=4).cells[0].outputs
    assert [(o.name, o.text) for o in stored] == [("stdout", "a\nb\n"), ("stderr", "warning\n"), ("stdout", "c\n")]


def test_only_a_bare_marker_line_counts_as_nbval_does():
    bare = nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\n# wall-clock timings\nprint(1)")
    annotated = nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT (wall-clock timings)\nprint(1)")
    mentioned = nbformat.v4.new_code_cell("print('NBVAL_IGNORE_OUTPUT')")
    assert [varies_between_runs(c) for c in (bare, annotated, mentioned)] == [True, False, False]


def test_student_stub_defines_each_name_the_check_uses_as_a_placeholder():
    from tools.notebooks import student_stub

    assert student_stub("x = 1 + 1\nanswer_1_1 = x * 21\nanswer_1_1", 'check("1.1", answer_1_1)').endswith(
        "\nanswer_1_1 = NOT_ANSWERED  # your answer here")
    functions = student_stub("def save(df, path):\n    df.to_parquet(path)\n\n\ndef load(path, columns=None):\n"
                             "    return 1\n\n\nanswer = (save, load)", 'check("3.4", answer)')
    assert "def save(df, path):\n    return NOT_ANSWERED" in functions and "def load(path, columns=None):" in functions
    assert "to_parquet" not in functions and "answer = (save, load)" in functions
    # a name the check passes as context is stubbed only when no earlier cell binds it
    context = 'check("2.1", answer, scores=scores, y=y)'
    stub = student_stub("scores = [1]\ny = [2]\nanswer = 3", context, bound_before={"scores"})
    assert "y = NOT_ANSWERED" in stub and "scores" not in stub and "answer = NOT_ANSWERED" in stub
    namespace = {}
    exec(stub, namespace)  # the stub runs on its own
    assert namespace["answer"] is namespace["NOT_ANSWERED"]


def _student_course(tmp_path):
    from tools.notebooks import cmd_student, notebook_paths

    cmd_student(tmp_path, notebook_paths())
    return [(path, nbformat.read(path, as_version=4), nbformat.read(tmp_path / path.name, as_version=4))
            for path in notebook_paths()]


def test_student_edition_of_every_notebook_says_not_answered_yet_for_every_exercise(tmp_path):
    """Every stub defines every name its check cell uses, and each check on the stub is "not answered yet";
    every other cell (headers, setup, prose, checks) is the teacher's, and no output is kept."""
    import ast

    from mlsys_course.exercises import NOT_ANSWERED, evaluate

    exercises, solutions = 0, 0
    course = _student_course(tmp_path)
    for path, teacher, student in course:
        assert len(teacher.cells) == len(student.cells)
        for i, (ours, theirs) in enumerate(zip(teacher.cells, student.cells)):
            if theirs.cell_type == "code":
                assert not theirs.outputs and theirs.execution_count is None
            if "solution" not in ours.get("metadata", {}).get("tags", []):
                assert theirs.source == ours.source, f"{path.name} cell {i} changed"
                continue
            solutions += 1
            namespace = {}
            exec(theirs.source, namespace)  # the stub runs on its own: it only imports NOT_ANSWERED and defines
            check_cell = next(c.source for c in student.cells[i + 1:] if c.cell_type == "code")
            calls = [n for n in ast.walk(ast.parse(check_cell)) if isinstance(n, ast.Call)
                     and getattr(n.func, "id", None) == "check"]
            assert calls, f"{path.name} cell {i + 1} does not call check"
            for call in calls:
                names = {n.id for n in ast.walk(call.args[1]) if isinstance(n, ast.Name)}
                assert names <= set(namespace), f"{path.name}: the stub lacks {names - set(namespace)}"
                answer = eval(compile(ast.Expression(call.args[1]), "check", "eval"), namespace)
                verdict = evaluate(call.args[0].value, answer)
                assert not verdict and not verdict.answered
                assert str(verdict).startswith(f"Exercise {call.args[0].value} not answered yet: replace the placeholder")
                assert "\n" not in str(verdict)
                assert not evaluate(call.args[0].value, NOT_ANSWERED).answered
                exercises += 1
    assert exercises == solutions >= 2 * (len(course) - 1), "one check per exercise, 2-4 exercises per chapter"


def test_one_student_notebook_runs_end_to_end_with_a_verdict_per_check(tmp_path):
    """The student edition of the shortest chapter runs top to bottom: no error, nothing on stderr, and
    every check cell prints one "not answered yet" line (the other chapters' stubs are checked statically above)."""
    from tools.notebooks import ROOT, apply_kernel_env, cmd_student, execute

    source = ROOT / "notebooks" / "09a_continual_learning.ipynb"
    cmd_student(tmp_path, [source])
    apply_kernel_env()
    nb, _ = execute(tmp_path / source.name)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"]
    checks = [c for c in nb.cells if c.cell_type == "code" and 'check("' in c.source]
    assert len(checks) >= 2
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert text.count("\n") == 1 and " not answered yet: replace the placeholder " in text, text


def test_lab_opens_the_index_with_the_course_settings_and_kernel_environment():
    import os

    from tools.notebooks import KERNEL_ENV, LAB_SETTINGS, NOTEBOOKS, lab_command

    argv, env = lab_command({"PATH": "/bin", "JUPYTER_CONFIG_PATH": "/elsewhere"})
    assert argv[1] == "lab" and argv[-1] == str(NOTEBOOKS / "00_index.ipynb")
    assert all(env[k] == v for k, v in KERNEL_ENV.items()) and env["PATH"] == "/bin"
    assert env["JUPYTER_CONFIG_PATH"] == os.pathsep.join([str(LAB_SETTINGS), "/elsewhere"])
    assert lab_command({})[1]["JUPYTER_CONFIG_PATH"] == str(LAB_SETTINGS)


def test_lab_settings_turn_off_the_news_pop_up(monkeypatch, tmp_path):
    """The shipped file is what JupyterLab's settings server reads as new defaults (jupyterlab_server's own
    override loader, as the running server calls it), and the user's settings folder stays theirs."""
    import json

    from jupyterlab_server.settings_utils import _get_overrides

    from tools.notebooks import LAB_SETTINGS, lab_command

    overrides = json.loads((LAB_SETTINGS / "labconfig" / "default_setting_overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"] == {"fetchNews": "false", "checkForUpdates": False}
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", lab_command({})[1]["JUPYTER_CONFIG_PATH"])
    loaded, error = _get_overrides(str(tmp_path))
    assert not error and loaded["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(tmp_path))
    assert "@jupyterlab/apputils-extension:notification" not in _get_overrides(str(tmp_path))[0]
