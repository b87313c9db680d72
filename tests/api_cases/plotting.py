"""Cases of mlsys_course.plotting: the course's figure style."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from api_cases import Case  # noqa: E402


def _annotate(**kwargs):
    from mlsys_course.plotting import annotate

    fig, ax = plt.subplots()
    try:
        return annotate(ax, **kwargs)
    finally:
        plt.close(fig)


CASES = {
    "use_style": Case(call=lambda: {}),
    "annotate": Case(call=lambda: {"x": 1.0, "y": 2.0, "text": "best"}, fn=_annotate,
                     bad={"x": ["one", None, float("nan")], "y": [None], "text": [None, 3], "color": ["notacolour", 3]}),
}
