import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from mlsys_course.datasets import make_transactions
from mlsys_course.formats import FORMATS, _read, access_benchmark, format_benchmark, text_vs_binary


@pytest.fixture(scope="module")
def tx():
    return make_transactions(5_000, random_state=0)


@pytest.fixture(scope="module")
def written(tx, tmp_path_factory):
    """Every format written once by format_benchmark, with its result."""
    directory = tmp_path_factory.mktemp("formats")
    result = format_benchmark(tx, directory, formats=FORMATS, columns=["amount", "is_fraud"], repeat=1)
    return directory, result


# --- format_benchmark -------------------------------------------------------------------------------


def test_result_shape_and_sizes_on_the_case_study(written):
    directory, res = written
    assert list(res.columns) == [
        "format", "bytes", "write_s", "read_all_s", "read_columns_s", "dtypes_kept", "values_kept"
    ]
    assert list(res["format"]) == list(FORMATS)
    size = res.set_index("format")["bytes"]
    assert (size > 0).all()
    assert size["parquet"] < size["csv"] < size["jsonl"]
    for fmt in FORMATS:
        assert size[fmt] == os.path.getsize(directory / f"data.{fmt}")
    assert (res[["write_s", "read_all_s", "read_columns_s"]] > 0).all().all()


def reference_read(path, fmt):
    """Readers other than the ones format_benchmark uses: pandas' default JSON parser, pyarrow's own."""
    if fmt == "jsonl":
        return pd.read_json(path, lines=True)
    if fmt == "csv":
        return pd.read_csv(path)
    if fmt == "parquet":
        return pq.read_table(path).to_pandas()
    return feather.read_table(path).to_pandas()


@pytest.mark.parametrize("fmt", FORMATS)
def test_files_round_trip_after_casting_back_to_the_original_dtypes(tx, written, fmt):
    directory, res = written
    path = directory / f"data.{fmt}"
    for back in (reference_read(path, fmt), _read(str(path), fmt)):
        assert list(back.columns) == list(tx.columns)
        pd.testing.assert_frame_equal(back.astype(tx.dtypes.to_dict()), tx)
    assert res.set_index("format").loc[fmt, "values_kept"]


def test_only_binary_columnar_formats_keep_the_dtypes(tx, written):
    directory, res = written
    kept = res.set_index("format")["dtypes_kept"].to_dict()
    assert kept == {"jsonl": False, "csv": False, "parquet": True, "feather": True}
    back = pd.read_parquet(directory / "data.parquet")
    assert isinstance(back["merchant_category"].dtype, pd.CategoricalDtype)
    assert back["timestamp"].dtype == tx["timestamp"].dtype
    assert not pd.api.types.is_datetime64_any_dtype(pd.read_csv(directory / "data.csv")["timestamp"])


def test_values_kept_detects_json_rounding_and_a_non_default_index(tmp_path):
    df = pd.DataFrame({"x": np.arange(1, 6) / 3, "k": np.arange(5)}, index=[10, 11, 12, 13, 14])
    res = format_benchmark(df, tmp_path, formats=("jsonl", "csv", "parquet"), repeat=1).set_index("format")
    assert res["values_kept"].to_dict() == {"jsonl": False, "csv": True, "parquet": True}  # JSON: 10 digits
    assert res["dtypes_kept"].all()  # float64 and int64 survive every format; categories and dates do not


@pytest.mark.parametrize("fmt", FORMATS)
def test_projection_returns_exactly_the_requested_columns_in_order(tx, written, fmt):
    directory, _ = written
    back = _read(str(directory / f"data.{fmt}"), fmt, ["is_fraud", "amount"])
    assert list(back.columns) == ["is_fraud", "amount"]
    pd.testing.assert_frame_equal(back, tx[["is_fraud", "amount"]])


def test_files_are_written_only_in_the_given_directory(tx, tmp_path, monkeypatch):
    cwd, target = tmp_path / "cwd", tmp_path / "target"
    cwd.mkdir()
    target.mkdir()
    monkeypatch.chdir(cwd)
    format_benchmark(tx.head(500), target, repeat=1)
    assert sorted(os.listdir(target)) == ["data.csv", "data.jsonl", "data.parquet"]
    assert os.listdir(cwd) == []
    assert sorted(os.listdir(tmp_path)) == ["cwd", "target"]


def test_default_columns_are_the_first_two(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": [3.0, 4.0], "c": ["x", "y"]})
    assert len(format_benchmark(df, tmp_path, repeat=1)) == 3


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"formats": ("jsonl", "xml")}, ValueError, r"formats must be one of .*'parquet'.*got 'xml'"),
        ({"formats": "csv"}, TypeError, "formats must be a non-empty sequence"),
        ({"formats": ()}, TypeError, "formats must be a non-empty sequence"),
        ({"formats": ("csv", "csv")}, ValueError, "formats must be distinct"),
        ({"columns": ["amount", "nope"]}, ValueError, r"columns must name columns of df .*got unknown \['nope'\]"),
        ({"columns": "amount"}, TypeError, "columns must be a list of column names"),
        ({"columns": []}, ValueError, "columns must be a non-empty list"),
        ({"repeat": 0}, ValueError, "repeat must be >= 1; got 0"),
        ({"repeat": 1.5}, TypeError, "repeat must be an integer"),
    ],
)
def test_bad_arguments(tx, tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        format_benchmark(tx.head(10), tmp_path, **kwargs)
    assert os.listdir(tmp_path) == []


def test_bad_frame_and_directory(tx, tmp_path):
    with pytest.raises(ValueError, match="directory must be an existing directory; got .*missing"):
        format_benchmark(tx.head(10), tmp_path / "missing")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="directory must be an existing directory"):
        format_benchmark(tx.head(10), tmp_path / "file.txt")
    with pytest.raises(TypeError, match="directory must be a path"):
        format_benchmark(tx.head(10), 3)
    with pytest.raises(TypeError, match="df must be a pandas DataFrame; got dict"):
        format_benchmark({"a": [1]}, tmp_path)
    with pytest.raises(ValueError, match="df must have at least 1 row"):
        format_benchmark(tx.head(0), tmp_path)
    with pytest.raises(ValueError, match="unique string column names"):
        format_benchmark(pd.DataFrame({0: [1], 1: [2]}), tmp_path)


# --- text_vs_binary ----------------------------------------------------------------------------------


def test_text_vs_binary_book_example():
    res = text_vs_binary([1_000_000]).set_index("encoding")
    assert list(res.index) == ["text (CSV)", "int32", "int64", "float32", "float64", "parquet"]
    assert res.loc["text (CSV)", "bytes"] == len("1000000\n")
    assert res.loc["int32", "bytes"] == 4 and res.loc["int64", "bytes"] == 8
    assert res["exact"].all()


def test_text_vs_binary_sizes_and_exactness():
    values = np.arange(100_000) % 7  # small, repetitive integers: text is 2 bytes each, Parquet compresses
    res = text_vs_binary(values).set_index("encoding")
    assert res.loc["text (CSV)", "bytes"] == 2 * len(values)
    assert res.loc["float64", "bytes"] == 8 * len(values)
    assert res.loc["parquet", "bytes"] < res.loc["int32", "bytes"]
    np.testing.assert_allclose(res["bytes_per_value"], res["bytes"] / len(values))
    exact = lambda v: text_vs_binary(v).set_index("encoding")["exact"].to_dict()  # noqa: E731
    assert exact([0.1]) == {
        "text (CSV)": True, "int32": False, "int64": False, "float32": False, "float64": True, "parquet": True
    }
    assert exact([2**31])["int32"] is False and exact([2**31])["int64"] is True
    assert exact([2**24 + 1])["float32"] is False and exact([2**24])["float32"] is True


def test_text_vs_binary_bad_input():
    with pytest.raises(ValueError, match="values must have at least 1 element"):
        text_vs_binary([])
    with pytest.raises(TypeError, match="values must be numeric"):
        text_vs_binary(["1", "2"])
    with pytest.raises(ValueError, match="values must be finite"):
        text_vs_binary([1.0, np.nan])


# --- access_benchmark ---------------------------------------------------------------------------------


def test_access_benchmark_shape(tx):
    res = access_benchmark(tx, n_rows=300, array_size=50, repeat=1)
    assert list(res.columns) == ["library", "layout", "access", "values", "seconds", "slowdown"]
    assert list(res["library"]) == ["pandas"] * 3 + ["numpy"] * 4
    assert list(res["values"]) == [300] * 3 + [2500] * 4
    assert (res["seconds"] > 0).all()
    assert (res["slowdown"] >= 1).all()
    assert res.groupby("library")["slowdown"].min().tolist() == [1.0, 1.0]
    np.testing.assert_allclose(res["slowdown"], res["seconds"] / res.groupby("library")["seconds"].transform("min"))
    assert access_benchmark(tx.head(40), column="user_age", n_rows=100, array_size=2, repeat=1)["values"].iloc[0] == 40


def test_access_benchmark_bad_input(tx):
    with pytest.raises(ValueError, match="column must be a column of df"):
        access_benchmark(tx, column="price")
    with pytest.raises(TypeError, match="column must name a numeric column; got 'country'"):
        access_benchmark(tx, column="country")
    with pytest.raises(TypeError, match="column must name a numeric column; got 'is_foreign'"):
        access_benchmark(tx, column="is_foreign")
    with pytest.raises(ValueError, match="n_rows must be >= 1; got 0"):
        access_benchmark(tx, n_rows=0)
    with pytest.raises(ValueError, match="array_size must be >= 1"):
        access_benchmark(tx, array_size=0)
    with pytest.raises(ValueError, match="repeat must be >= 1"):
        access_benchmark(tx, repeat=0)


def test_import_is_cheap():
    heavy = "('pyarrow.parquet', 'duckdb', 'sqlite3')"
    code = f"import sys, mlsys_course.formats; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
