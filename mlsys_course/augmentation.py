"""Data augmentation on small images: label-preserving transforms, perturbation and synthesis.

- Label-preserving transforms: :func:`shift`, :func:`rotate` (a digit moved by a pixel or tilted by
  a few degrees is still the same digit), applied at random by :func:`augment`.
- Perturbation: :func:`add_noise`.
- Synthesis: :func:`mixup` (convex combinations of two examples and of their labels, usable by any
  scikit-learn classifier through :func:`soft_label_rows`) and :func:`smote_synthesize` (new
  examples between same-class neighbours, imbalanced-learn's SMOTE).

Images are arrays of shape (n, height, width); :func:`augment` works on flattened rows (the 64 pixels
of a digit, values 0-16) and drops into an imbalanced-learn pipeline as a sampler
(``imblearn.FunctionSampler(func=augment, validate=False, kw_args={...})``), so only training folds
are augmented. Every function refuses missing or infinite values (NaN pixels or labels), and refuses
a result of more than :data:`MAX_VALUES` numbers (``n_copies`` or ``n`` too large for memory).
The chapter's learning curve of each augmentation lives in ``mlsys_course.lab.ch04b``.

Book: Chapter 4, "Data Augmentation".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from imblearn.over_sampling import SMOTE
from scipy import ndimage

from ._validation import (
    check_labels,
    RandomState,
    check_array,
    check_int,
    check_random_state,
    check_real,
    check_same_length,
    check_seed,
    show,
)

__all__ = [
    "MAX_VALUES",
    "add_noise",
    "augment",
    "mixup",
    "rotate",
    "shift",
    "smote_synthesize",
    "soft_label_rows",
]

#: The most numbers a function here returns (10**8 float64 values, 800 MB): a larger request is
#: refused with an error naming the size argument, instead of exhausting memory.
MAX_VALUES = 10**8


def _check_size(name: str, value: Any, n_values: int) -> None:
    if n_values > MAX_VALUES:
        raise ValueError(
            f"{name} would make a result of {n_values:,} values, more than MAX_VALUES = {MAX_VALUES:,} "
            f"(800 MB); got {name}={show(value)}: augment in batches"
        )


# --- Label-preserving transforms -------------------------------------------------------------------


def _check_images(images: Any) -> np.ndarray:
    arr = check_array("images", images, ndim=3)
    if arr.shape[1] < 1 or arr.shape[2] < 1:
        raise ValueError(f"images must have shape (n, height, width) with height, width >= 1; got {arr.shape}")
    return arr.astype(float)


def _per_image(name: str, value: Any, n: int) -> np.ndarray:
    """A scalar or one value per image, as a float array of shape (n,)."""
    if np.ndim(value) == 0 and not isinstance(value, (str, bytes)):
        return np.full(n, check_real(name, value.item() if isinstance(value, np.ndarray) else value))
    arr = check_array(name, value).astype(float)
    if len(arr) != n:
        raise ValueError(f"{name} must be a number or have one value per image ({n}); got length {len(arr)}")
    return arr


def _resample(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear samples of each image at the source coordinates (rows, cols), 0 outside the image.

    One ``scipy.ndimage.map_coordinates`` call for the whole stack: the image index is an exact
    integer coordinate, so images never mix. Same interpolation and border (``order=1``,
    ``mode="constant"``, ``cval=0``) as ``scipy.ndimage.shift`` and ``scipy.ndimage.rotate``.
    """
    # Snap coordinates within 1e-9 of a pixel centre onto it: otherwise cos/sin rounding puts a
    # border pixel 1e-16 outside the image at 90, 180, 270 degrees, and mode="constant" zeroes it.
    rows = np.where(np.abs(rows - np.round(rows)) < 1e-9, np.round(rows), rows)
    cols = np.where(np.abs(cols - np.round(cols)) < 1e-9, np.round(cols), cols)
    index = np.broadcast_to(np.arange(len(images), dtype=float)[:, None, None], rows.shape)
    return ndimage.map_coordinates(images, [index, rows, cols], order=1, mode="constant", cval=0.0)


def shift(images: Any, dx: Any, dy: Any) -> np.ndarray:
    """Move images right by ``dx`` and down by ``dy`` pixels; pixels shifted in are 0 (background).

    Integer shifts move pixels exactly; fractional ones interpolate bilinearly. The result equals
    ``scipy.ndimage.shift(images, (0, dy, dx), order=1)`` for scalar shifts, and each image may have
    its own shift.

    Parameters
    ----------
    images : array-like of shape (n, height, width)
        Images (a flattened digit ``x`` is ``x.reshape(-1, 8, 8)``).
    dx, dy : float or array-like of shape (n,)
        Shift to the right (columns) and down (rows), in pixels; one for all images or one per image.

    Returns
    -------
    numpy.ndarray of shape (n, height, width)
        The shifted images (float).

    Book: Chapter 4, "Data Augmentation: Simple Label-Preserving Transformations".

    Example
    -------
    >>> image = np.array([[[0, 1, 0],
    ...                    [0, 2, 0],
    ...                    [0, 0, 0]]])
    >>> shift(image, dx=1, dy=1)
    array([[[0., 0., 0.],
            [0., 0., 1.],
            [0., 0., 2.]]])
    """
    arr = _check_images(images)
    n, h, w = arr.shape
    dx = _per_image("dx", dx, n)
    dy = _per_image("dy", dy, n)
    r, c = np.meshgrid(np.arange(h, dtype=float), np.arange(w, dtype=float), indexing="ij")
    rows = r[None] - dy[:, None, None]
    cols = c[None] - dx[:, None, None]
    return _resample(arr, rows, cols)


def rotate(images: Any, degrees: Any) -> np.ndarray:
    """Rotate images counter-clockwise (as displayed, row 0 on top) about their centre.

    The output keeps the input's shape; corners rotated in from outside are 0. Bilinear
    interpolation, so pixel values stay within the range of the original pixels (and the zero
    background). For a scalar angle the result equals ``scipy.ndimage.rotate(images, degrees,
    axes=(1, 2), reshape=False, order=1)``, except at multiples of 90 degrees, where this function
    is exact (``numpy.rot90``) and scipy may zero a border pixel by rounding; each image may have its
    own angle.

    Parameters
    ----------
    images : array-like of shape (n, height, width)
    degrees : float or array-like of shape (n,)
        Angle in degrees (positive = counter-clockwise); one for all images or one per image.

    Returns
    -------
    numpy.ndarray of shape (n, height, width)
        The rotated images (float).

    Book: Chapter 4, "Data Augmentation: Simple Label-Preserving Transformations".

    Example
    -------
    >>> image = np.array([[[0, 0, 1],
    ...                    [0, 0, 0],
    ...                    [0, 0, 0]]])
    >>> rotate(image, 90).round(6)  # top right -> top left
    array([[[1., 0., 0.],
            [0., 0., 0.],
            [0., 0., 0.]]])
    """
    arr = _check_images(images)
    n, h, w = arr.shape
    theta = np.deg2rad(_per_image("degrees", degrees, n))[:, None, None]
    cos, sin = np.cos(theta), np.sin(theta)
    cr, cc = (h - 1) / 2.0, (w - 1) / 2.0
    r, c = np.meshgrid(np.arange(h, dtype=float) - cr, np.arange(w, dtype=float) - cc, indexing="ij")
    # The source pixel of each output pixel: the inverse rotation, as scipy.ndimage.rotate computes it.
    rows = cos * r[None] + sin * c[None] + cr
    cols = -sin * r[None] + cos * c[None] + cc
    return _resample(arr, rows, cols)


def add_noise(
    images: Any, sigma: float, *, random_state: RandomState = None, clip: tuple[float, float] | None = None
) -> np.ndarray:
    """Add independent Gaussian noise ``N(0, sigma**2)`` to every pixel (perturbation).

    Parameters
    ----------
    images : array-like
        Images or flattened rows, any shape; numeric.
    sigma : float
        Noise standard deviation, >= 0 (in pixel units: digits have values 0-16).
    random_state : int, numpy.random.Generator or None
        Seed.
    clip : (low, high) or None, default None
        Clip the result to this range (e.g. ``(0, 16)`` for digits); None to leave it.

    Returns
    -------
    numpy.ndarray
        Noisy copy, same shape, float.

    Book: Chapter 4, "Data Augmentation: Perturbation".

    Example
    -------
    >>> add_noise(np.zeros((1, 2, 2)), sigma=1.0, random_state=0, clip=(0, 16)).round(3)
    array([[[0.126, 0.   ],
            [0.64 , 0.105]]])
    """
    if np.ndim(images) == 0:
        raise TypeError(f"images must be an array of images or rows; got {show(images)}")
    arr = check_array("images", images, ndim=np.ndim(images)).astype(float)
    sigma = check_real("sigma", sigma, low=0.0)
    rng = check_random_state("random_state", random_state)
    out = arr + rng.normal(0.0, sigma, size=arr.shape) if sigma > 0 else arr.copy()
    if clip is not None:
        low, high = _check_clip(clip)
        out = np.clip(out, low, high)
    return out


def _pair(name: str, value: Any, what: str) -> tuple[Any, Any]:
    """Two values from a tuple, list or 1-d array of length 2."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list, np.ndarray, pd.Series)) or np.ndim(value) != 1 or len(value) != 2:
        raise TypeError(f"{name} must be a {what} pair; got {show(value)}")
    first, second = (v.item() if isinstance(v, np.generic) else v for v in value)
    return first, second


def _check_clip(clip: Any) -> tuple[float, float]:
    low, high = _pair("clip", clip, "(low, high)")
    low, high = check_real("clip[0]", low), check_real("clip[1]", high)
    if low > high:
        raise ValueError(f"clip must have low <= high; got {clip}")
    return low, high


def _check_rows(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = check_array("X", X, ndim=2).astype(float)
    y = check_labels("y", y)
    check_same_length(X=X, y=y)
    return X, y


def _check_image_shape(image_shape: Any, n_features: int) -> tuple[int, int]:
    h, w = _pair("image_shape", image_shape, "(height, width)")
    h = check_int("image_shape[0]", h, minimum=1)
    w = check_int("image_shape[1]", w, minimum=1)
    if h * w != n_features:
        raise ValueError(f"X must have image_shape[0] * image_shape[1] = {h * w} columns; got {n_features}")
    return h, w


def augment(
    X: Any,
    y: Any,
    *,
    n_copies: int = 1,
    max_shift: int = 0,
    max_degrees: float = 10.0,
    noise_sigma: float = 0.0,
    image_shape: tuple[int, int] = (8, 8),
    clip: tuple[float, float] | None = (0.0, 16.0),
    random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Add ``n_copies`` randomly transformed copies of every image, with the same labels.

    Each copy of each image is rotated by an angle drawn uniformly from ``[-max_degrees,
    max_degrees]``, then shifted by whole pixels ``dx, dy`` drawn uniformly from ``{-max_shift, ...,
    max_shift}``, then perturbed by Gaussian noise of ``noise_sigma`` and clipped to ``clip``. Set
    ``max_degrees=0``, ``max_shift=0`` or ``noise_sigma=0`` to leave a transform out. The
    transforms must preserve the label: a 6 rotated by 180 degrees is a 9, so keep angles small.

    To augment only the training folds of a cross-validation, wrap it as an imbalanced-learn
    sampler: ``imblearn.FunctionSampler(func=augment, validate=False, kw_args={...})`` in an
    ``imblearn.pipeline.Pipeline``.

    Parameters
    ----------
    X : array-like of shape (n, height * width)
        Flattened images (rows of ``sklearn.datasets.load_digits().data``).
    y : array-like of shape (n,)
        Labels.
    n_copies : int, default 1
        Transformed copies per image, >= 0 (0 returns the originals); the result may hold at most
        :data:`MAX_VALUES` numbers.
    max_shift : int, default 0
        Largest shift in pixels, in [0, max(height, width)]. Off by default: on centred images (the
        8x8 digits) shifted copies look like no test image and lowered accuracy in chapter 4b; turn it on
        only where test images are not centred.
    max_degrees : float, default 10.0
        Largest rotation in degrees, in [0, 180].
    noise_sigma : float, default 0.0
        Noise standard deviation, >= 0.
    image_shape : (int, int), default (8, 8)
        Height and width of an image.
    clip : (low, high) or None, default (0.0, 16.0)
        Pixel range of the output copies (the digits' range); None to leave values unclipped.
    random_state : int, numpy.random.Generator or None
        Seed.

    Returns
    -------
    X_aug : numpy.ndarray of shape (n * (1 + n_copies), height * width)
        The originals first (unchanged), then copy 1 of every image, copy 2, ...
    y_aug : numpy.ndarray of shape (n * (1 + n_copies),)
        Their labels: ``y`` repeated ``1 + n_copies`` times.

    Book: Chapter 4, "Data Augmentation: Simple Label-Preserving Transformations" and
    "Perturbation".

    Example
    -------
    >>> X = np.zeros((2, 9)); X[:, 4] = 16.0  # two 3x3 images with one bright centre pixel
    >>> X_aug, y_aug = augment(X, [3, 7], n_copies=2, max_shift=1, max_degrees=0, image_shape=(3, 3), random_state=0)
    >>> X_aug.shape, y_aug
    ((6, 9), array([3, 7, 3, 7, 3, 7]))
    >>> X_aug.sum(axis=1)  # the pixel moved, or stayed: a shift by at most 1 keeps it inside
    array([16., 16., 16., 16., 16., 16.])
    """
    X, y = _check_rows(X, y)
    n_copies = check_int("n_copies", n_copies, minimum=0)
    h, w = _check_image_shape(image_shape, X.shape[1])
    max_shift = check_int("max_shift", max_shift, minimum=0, maximum=max(h, w))  # further out, nothing is left
    max_degrees = check_real("max_degrees", max_degrees, low=0.0, high=180.0)
    noise_sigma = check_real("noise_sigma", noise_sigma, low=0.0)
    _check_size("n_copies", n_copies, len(X) * (1 + n_copies) * X.shape[1])
    bounds = None if clip is None else _check_clip(clip)
    rng = check_random_state("random_state", random_state)

    n = len(X)
    images = np.tile(X.reshape(n, h, w), (n_copies, 1, 1))  # copy 1 of every image, copy 2, ...
    m = len(images)
    if m:
        if max_degrees > 0:
            images = rotate(images, rng.uniform(-max_degrees, max_degrees, size=m))
        if max_shift > 0:
            dx, dy = rng.integers(-max_shift, max_shift + 1, size=(2, m))
            images = shift(images, dx, dy)
        images = add_noise(images, noise_sigma, random_state=rng, clip=bounds)
    X_aug = np.concatenate([X, images.reshape(m, h * w)])
    return X_aug, np.tile(y, 1 + n_copies)


# --- Synthesis ----------------------------------------------------------------------------------------


def mixup(
    X: Any, y: Any, *, alpha: float = 0.2, n: int | None = None, random_state: RandomState = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mixup (Zhang et al. 2018): new examples that are convex combinations of two training examples.

    For each new example, two rows ``i`` and ``j`` are drawn uniformly with replacement and a weight
    ``lam ~ Beta(alpha, alpha)``; the example is ``lam x_i + (1 - lam) x_j`` and its label is
    ``y_i`` with weight ``lam`` and ``y_j`` with weight ``1 - lam`` (a soft label). Small
    ``alpha`` puts ``lam`` near 0 or 1 (mostly one of the two images); ``alpha = 1`` draws it
    uniformly.

    A scikit-learn classifier takes hard labels, so :func:`soft_label_rows` turns the result into
    two weighted rows per example (``(x, y_a)`` with weight ``lam`` and ``(x, y_b)`` with weight
    ``1 - lam``). For a classifier trained on log-loss (``LogisticRegression``) this is *exactly*
    training on the soft label; for others (an SVM) it is an approximation.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features)
    y : array-like of shape (n_rows,)
        Labels.
    alpha : float, default 0.2
        Beta distribution parameter, in (0, 1e6] (the paper uses 0.1-0.4; a large alpha puts ``lam``
        at 0.5).
    n : int or None
        Number of new examples, >= 0 (at most :data:`MAX_VALUES` numbers in ``X_mix``); None for
        ``n_rows``.
    random_state : int, numpy.random.Generator or None
        Seed.

    Returns
    -------
    X_mix : numpy.ndarray of shape (n, n_features)
    y_a, y_b : numpy.ndarray of shape (n,)
        The labels of the two mixed rows.
    lam : numpy.ndarray of shape (n,)
        The weight of ``y_a``, in [0, 1].

    Book: Chapter 4, "Data Augmentation: Data Synthesis" (mixup).

    Example
    -------
    >>> X, y = np.array([[0.0, 0.0], [10.0, 20.0], [30.0, 0.0]]), np.array([0, 1, 2])  # row k has label k
    >>> X_mix, y_a, y_b, lam = mixup(X, y, alpha=1.0, n=4, random_state=0)
    >>> y_a, y_b, lam.round(3)
    (array([2, 1, 1, 0]), array([0, 0, 0, 0]), array([0.997, 0.962, 0.806, 0.415]))
    >>> np.allclose(X_mix, lam[:, None] * X[y_a] + (1 - lam[:, None]) * X[y_b])
    True
    """
    X, y = _check_rows(X, y)
    alpha = check_real("alpha", alpha, low=0.0, high=1e6, low_open=True)  # near the float limit numpy draws lam = 0
    n = len(X) if n is None else check_int("n", n, minimum=0)
    _check_size("n", n, n * X.shape[1])
    rng = check_random_state("random_state", random_state)
    i = rng.integers(0, len(X), size=n)
    j = rng.integers(0, len(X), size=n)
    lam = rng.beta(alpha, alpha, size=n)
    X_mix = lam[:, None] * X[i] + (1.0 - lam[:, None]) * X[j]
    return X_mix, y[i], y[j], lam


def soft_label_rows(X_mix: Any, y_a: Any, y_b: Any, lam: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Soft labels as weighted hard-labelled rows, for any classifier that takes ``sample_weight``.

    Each example becomes two rows with the same features: label ``y_a`` with weight ``lam`` and label
    ``y_b`` with weight ``1 - lam``. For log-loss, ``lam * loss(x, y_a) + (1 - lam) * loss(x, y_b)``
    is the cross-entropy against the soft label, so a ``LogisticRegression`` fitted with these
    weights is fitted on the mixup soft labels.

    Parameters
    ----------
    X_mix : array-like of shape (n, n_features)
    y_a, y_b : array-like of shape (n,)
    lam : array-like of shape (n,)
        Weights of ``y_a``, in [0, 1].

    Returns
    -------
    X_rows : numpy.ndarray of shape (2n, n_features)
        ``X_mix`` twice.
    y_rows : numpy.ndarray of shape (2n,)
        ``y_a`` then ``y_b``.
    sample_weight : numpy.ndarray of shape (2n,)
        ``lam`` then ``1 - lam`` (each example's two weights sum to 1).

    Book: Chapter 4, "Data Augmentation: Data Synthesis" (mixup).

    Example
    -------
    >>> soft_label_rows([[5.0]], [1], [0], [0.7])
    (array([[5.],
           [5.]]), array([1, 0]), array([0.7, 0.3]))
    """
    X_mix = check_array("X_mix", X_mix, ndim=2).astype(float)
    y_a = check_labels("y_a", y_a, min_len=0)
    y_b = check_labels("y_b", y_b, min_len=0)
    lam = check_array("lam", lam, min_len=0).astype(float)
    check_same_length(X_mix=X_mix, y_a=y_a, y_b=y_b, lam=lam)
    if np.any((lam < 0) | (lam > 1)):
        raise ValueError(f"lam must be in [0, 1]; got values in [{lam.min()}, {lam.max()}]")
    return np.concatenate([X_mix, X_mix]), np.concatenate([y_a, y_b]), np.concatenate([lam, 1.0 - lam])


def smote_synthesize(
    X: Any,
    y: Any,
    *,
    n_copies: int = 1,
    classes: Any = None,
    k_neighbors: int = 5,
    random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Synthesise ``n_copies`` new examples per real one of each class with imbalanced-learn's SMOTE.

    SMOTE draws a point on the segment between an example and one of its ``k_neighbors`` nearest
    neighbours of the same class. Used here for augmentation, not only for balancing: each class in
    ``classes`` grows from ``n_c`` to ``(1 + n_copies) n_c`` examples (the other classes are left
    as they are). For the usual use, balancing a rare class, use ``imblearn.over_sampling.SMOTE``
    directly, inside an ``imblearn.pipeline.Pipeline``.

    Parameters
    ----------
    X : array-like of shape (n, n_features)
    y : array-like of shape (n,)
        Labels.
    n_copies : int, default 1
        New examples per real example of each class, >= 0 (at most :data:`MAX_VALUES` numbers in the
        result).
    classes : list, array or Series of labels, or None
        The classes to grow, each present in ``y`` and named once; None for all.
    k_neighbors : int, default 5
        Neighbours SMOTE interpolates towards, >= 1 and smaller than the smallest grown class.
    random_state : int, numpy.random.Generator or None
        Seed of SMOTE (an int is handed to ``SMOTE(random_state=...)`` unchanged).

    Returns
    -------
    X_aug : numpy.ndarray of shape (n + n_copies * n_grown, n_features)
        The real rows first, unchanged, then the synthetic ones.
    y_aug : numpy.ndarray
        Their labels.

    Book: Chapter 4, "Data Augmentation: Data Synthesis" and "Class Imbalance: Resampling" (SMOTE).

    Example
    -------
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0], [6.0, 5.0], [5.0, 6.0]])
    >>> y = np.array([0, 0, 0, 1, 1, 1])
    >>> X_aug, y_aug = smote_synthesize(X, y, n_copies=1, k_neighbors=2, random_state=0)
    >>> X_aug.shape, np.bincount(y_aug)
    ((12, 2), array([6, 6]))
    """
    X, y = _check_rows(X, y)
    n_copies = check_int("n_copies", n_copies, minimum=0)
    k_neighbors = check_int("k_neighbors", k_neighbors, minimum=1)
    seed = check_seed("random_state", random_state)
    labels, counts = np.unique(y, return_counts=True)
    count = dict(zip(labels.tolist(), counts.tolist()))
    if classes is None:
        grown = labels.tolist()
    else:
        if isinstance(classes, (str, bytes, dict)) or np.ndim(classes) != 1:
            raise TypeError(f"classes must be a list of labels or None; got {show(classes)}")
        grown = [c.item() if isinstance(c, np.generic) else c for c in classes]
        unknown = [c for c in grown if c not in count]
        if unknown:
            raise ValueError(
                f"classes must be labels present in y ({show(labels.tolist())}); got unknown {show(unknown)}"
            )
        if len(set(grown)) != len(grown):
            raise ValueError(f"classes must name each class once; got {show(grown)}")
    _check_size("n_copies", n_copies, (len(X) + n_copies * sum(count[c] for c in grown)) * X.shape[1])
    if n_copies == 0 or not grown:
        return X.copy(), y.copy()
    smallest = min(count[c] for c in grown)
    if k_neighbors >= smallest:
        raise ValueError(
            f"k_neighbors must be smaller than the smallest grown class ({smallest} examples); got {k_neighbors}"
        )
    target = {c: (1 + n_copies) * count[c] if c in grown else count[c] for c in count}
    sampler = SMOTE(sampling_strategy=target, k_neighbors=k_neighbors, random_state=seed)
    X_aug, y_aug = sampler.fit_resample(X, y)
    return np.asarray(X_aug), np.asarray(y_aug)
