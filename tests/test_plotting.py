import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from mlsys_course.plotting import COLORS, annotate, use_style  # noqa: E402


def test_use_style_sets_the_house_colour_cycle():
    matplotlib.rcdefaults()
    use_style()
    cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    assert cycle == list(COLORS.values())
    assert matplotlib.rcParams["axes.spines.right"] is False
    matplotlib.rcdefaults()


def test_annotate_marks_the_point():
    fig, ax = plt.subplots()
    annotate(ax, 0.3, 0.7, "best")
    (line,) = ax.lines
    assert line.get_xdata().tolist() == [0.3] and line.get_ydata().tolist() == [0.7]
    assert ax.texts[0].get_text() == "best"
    plt.close(fig)
