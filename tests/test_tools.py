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
