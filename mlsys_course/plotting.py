"""One house style for every figure in the course.

Book: all chapters (figures are how the course shows a trade-off).

Example
-------
>>> from mlsys_course.plotting import use_style, COLORS
>>> use_style()
>>> COLORS["good"]
'#1b9e77'
"""

from __future__ import annotations

from typing import Any

import matplotlib.colors

from mlsys_course._validation import check_real, show

__all__ = ["COLORS", "STYLE", "use_style", "annotate"]

# Colour-blind-safe (Dark2), named by role so every chapter uses a colour for the same meaning.
COLORS = {
    "good": "#1b9e77",  # the option we recommend / the honest number
    "bad": "#d95f02",  # the option that fails / the inflated number
    "neutral": "#7570b3",  # a baseline or reference
    "accent": "#e7298a",  # a threshold, a budget, a marker
    "other": "#66a61e",
    "muted": "#999999",
}

STYLE: dict[str, Any] = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.autolayout": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "lines.linewidth": 2.0,
    "axes.prop_cycle": None,  # filled in use_style from COLORS
}


def use_style() -> None:
    """Apply the course's matplotlib style (sizes, grid, colour cycle) to every later figure.

    Book: all chapters.

    Example
    -------
    >>> use_style()
    >>> import matplotlib
    >>> matplotlib.rcParams["axes.spines.top"]
    False
    """
    import matplotlib as mpl
    from cycler import cycler

    params = dict(STYLE)
    params["axes.prop_cycle"] = cycler(color=list(COLORS.values()))
    mpl.rcParams.update(params)


def annotate(ax: Any, x: float, y: float, text: str, *, color: str = COLORS["accent"]) -> None:
    """Mark a point on ``ax`` with a dot and a short label (a threshold, a crossover, a budget).

    Book: all chapters.

    Example
    -------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> annotate(ax, 1.0, 2.0, "best")
    >>> [t.get_text() for t in ax.texts]
    ['best']
    >>> plt.close(fig)
    """
    if not hasattr(ax, "annotate") or not hasattr(ax, "plot"):
        raise TypeError(f"ax must be a matplotlib Axes; got {show(ax)}")
    x, y = check_real("x", x), check_real("y", y)
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; got {show(text)} of type {type(text).__name__}")
    if not isinstance(color, str) or not matplotlib.colors.is_color_like(color):
        raise ValueError(f"color must be a matplotlib colour such as '#e7298a' or 'black'; got {show(color)}")
    ax.plot([x], [y], "o", color=color, zorder=5)
    ax.annotate(text, (x, y), xytext=(6, 6), textcoords="offset points", color=color, fontsize=9)
