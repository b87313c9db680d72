"""Tests of chapter 7a's batch-scoring lab code: day partitions, the memory measurement, the feature jobs, exercise 7a.2."""

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from processes import alive, child_pids
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from mlsys_course.batch_prediction import predict_parquet
from mlsys_course.datasets import make_transactions
from mlsys_course.exercises import evaluate
from mlsys_course.features import transaction_features
from mlsys_course.lab.ch07a import (
    RAW_COLUMNS,
    daily_user_features,
    predict_all_at_once,
    scoring_memory,
    user_totals,
    write_day_partitions,
)


@pytest.fixture(scope="module")
def world():
    return make_transactions(6_000, start="2024-07-01", end="2024-07-07", random_state=4)


@pytest.fixture(scope="module")
def model():
    train = make_transactions(5_000, end="2024-07-01", random_state=2)
    return make_pipeline(FunctionTransformer(transaction_features),
                         HistGradientBoostingClassifier(max_iter=20, random_state=0)).fit(train[RAW_COLUMNS], train["is_fraud"])


@pytest.fixture(scope="module")
def days(world, tmp_path_factory):
    root = tmp_path_factory.mktemp("lab") / "days"
    return root, write_day_partitions(world, root, rows_per_group=300)


def test_day_partitions_hold_every_payment_once_without_labels(world, days):
    root, directories = days
    assert [d.rsplit("day=", 1)[1] for d in directories] == sorted(world["timestamp"].dt.strftime("%Y-%m-%d").unique())
    back = pd.read_parquet(root).sort_values("transaction_id", ignore_index=True)
    assert "is_fraud" not in back.columns and "label_known_at" not in back.columns
    np.testing.assert_array_equal(back["transaction_id"], world["transaction_id"])
    np.testing.assert_array_equal(back["amount"], world["amount"])
    np.testing.assert_array_equal(back["day"].astype(str), world["timestamp"].dt.strftime("%Y-%m-%d"))
    for directory in directories:
        for part in pq.ParquetDataset(directory).files:
            meta = pq.ParquetFile(part).metadata
            assert max(meta.row_group(i).num_rows for i in range(meta.num_row_groups)) <= 300
    with pytest.raises(Exception):  # never overwrites a dataset
        write_day_partitions(world, root)


def test_reading_everything_scores_like_the_chunked_recipe(model, days, tmp_path):
    root, _ = days
    predict_all_at_once(model, root, tmp_path / "all.parquet")
    predict_parquet(model, root, tmp_path / "chunks.parquet", keep=["transaction_id"], batch_rows=500)
    everything = pd.read_parquet(tmp_path / "all.parquet").sort_values("transaction_id", ignore_index=True)
    chunks = pd.read_parquet(tmp_path / "chunks.parquet").sort_values("transaction_id", ignore_index=True)
    pd.testing.assert_frame_equal(everything, chunks)


def test_memory_of_chunks_stays_flat_and_of_everything_grows(model, tmp_path):
    import shutil

    world = make_transactions(24_000, start="2024-07-01", end="2024-07-07", random_state=6)
    directories = write_day_partitions(world, tmp_path / "days", rows_per_group=1_024)
    sources = []
    for k in (1, 6):
        sources.append(tmp_path / f"first-{k}")
        for directory in directories[:k]:
            shutil.copytree(directory, sources[-1] / directory.rsplit("/", 1)[1])
    before = child_pids()
    table = scoring_memory(model, sources, batch_rows=1_024)
    assert [p for p in child_pids() - before if alive(p) and "resource_tracker" not in open(f"/proc/{p}/cmdline").read()] == []
    assert list(table.columns) == ["how", "rows", "arrow_mib", "numpy_mib", "peak_mib"]
    assert table["how"].tolist() == ["chunks", "chunks", "all at once", "all at once"]
    chunks, everything = table[table["how"] == "chunks"], table[table["how"] == "all at once"]
    assert chunks["rows"].tolist() == everything["rows"].tolist() and chunks["rows"].iloc[1] == len(world)
    growth = chunks["rows"].iloc[1] / chunks["rows"].iloc[0]
    assert growth > 4
    assert chunks["peak_mib"].iloc[1] <= 1.2 * chunks["peak_mib"].iloc[0]  # flat
    assert everything["peak_mib"].iloc[1] >= 0.5 * growth * everything["peak_mib"].iloc[0]  # grows with the rows
    with pytest.raises(ValueError, match="hows must be one of"):
        scoring_memory(model, sources, hows=["chunks", "streaming"])


def test_daily_user_features_match_a_direct_count(world):
    daily = daily_user_features(world)
    hour = world["timestamp"].dt.hour
    for (user, day), row in daily.sample(40, random_state=0).set_index(["user_id", "day"]).iterrows():
        mine = world[(world["user_id"] == user) & (world["timestamp"].dt.normalize() == day)]
        assert row["payments"] == len(mine)
        assert row["total_amount"] == pytest.approx(mine["amount"].sum())
        assert row["max_amount"] == mine["amount"].max()
        assert row["night_share"] == pytest.approx((hour[mine.index] < 6).mean())
        assert row["foreign_share"] == pytest.approx(mine["is_foreign"].mean())
    assert daily["payments"].sum() == len(world)
    assert not daily.duplicated(["user_id", "day"]).any()


def test_one_pandas_function_per_day_partition_equals_the_whole_frame(world, days):
    root, _ = days
    meta = daily_user_features(world.head(0))
    per_partition = dd.read_parquet(root).map_partitions(daily_user_features, meta=meta)
    with dask.config.set(scheduler="sync"):
        got = per_partition.compute().sort_values(["user_id", "day"], ignore_index=True)
    pd.testing.assert_frame_equal(got, daily_user_features(world))


def test_per_partition_is_wrong_when_partitions_split_a_day(world, tmp_path):
    # the same rows as 5 files of equal size: days straddle files, so one user-day can be aggregated twice
    for i, part in enumerate(np.array_split(np.arange(len(world)), 5)):
        world.iloc[part].drop(columns=["label_known_at"]).to_parquet(tmp_path / f"part-{i}.parquet")
    per_partition = dd.read_parquet(tmp_path, blocksize=None).map_partitions(
        daily_user_features, meta=daily_user_features(world.head(0)))
    with dask.config.set(scheduler="sync"):
        got = per_partition.compute()
    assert got.duplicated(["user_id", "day"]).any()
    assert len(got) > len(daily_user_features(world))


def test_user_totals_match_a_direct_count(world):
    totals = user_totals(world).set_index("user_id")
    user = world["user_id"].value_counts().index[0]
    mine = world[world["user_id"] == user]
    assert totals.loc[user, "payments"] == len(mine)
    assert totals.loc[user, "mean_amount"] == pytest.approx(mine["amount"].mean())
    assert totals.loc[user, "median_amount"] == pytest.approx(mine["amount"].median())
    assert totals.loc[user, "foreign_share"] == pytest.approx(mine["is_foreign"].mean())
    assert totals["payments"].sum() == len(world)


# --- exercise 7a.2 -------------------------------------------------------------------------------------------
def _shuffle_job(days):
    return days.shuffle("user_id").map_partitions(user_totals)


def _groupby_job(days):
    return days.groupby("user_id").agg(payments=("amount", "size"), mean_amount=("amount", "mean"),
                                       median_amount=("amount", "median"), foreign_share=("is_foreign", "mean"))


@pytest.mark.parametrize("job", [_shuffle_job, _groupby_job])
def test_exact_jobs_pass(job):
    verdict = evaluate("7a.2", job)
    assert verdict.passed, verdict.message


@pytest.mark.parametrize("answer, hint", [
    (lambda days: days.map_partitions(user_totals), "span partitions"),
    (lambda days: user_totals(days.compute()), "not a lazy dask DataFrame"),
    (lambda days: days.shuffle("user_id").map_partitions(lambda p: user_totals(p).drop(columns="median_amount")),
     "lacks the column(s) ['median_amount']"),
    (lambda days: days.shuffle("user_id").map_partitions(lambda p: user_totals(p).assign(mean_amount=lambda t: t["mean_amount"].round())),
     "mean_amount differs"),
    (lambda days: days.shuffle("user_id").map_partitions(lambda p: user_totals(p[p["amount"] > 1])),
     "payments differs"),
    (lambda days: 1 / 0, "raised ZeroDivisionError"),
    ("job", "must be a function"),
])
def test_wrong_jobs_get_a_verdict_not_an_exception(answer, hint):
    verdict = evaluate("7a.2", answer)
    assert not verdict.passed and hint in verdict.message, verdict.message
