from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mmcorr._validation import MmcorrError
from mmcorr.runs import BundleFile, Direction, Pair, list_runs
from mmcorr.runs import bundle as B


def test_readers_round_trip(fake_run: Path) -> None:
    m = B.read_metrics(fake_run)
    assert m.results.canonical[Pair("a", "b")].total == 1.5
    raw = json.loads((fake_run / BundleFile.METRICS.value).read_text())
    assert raw["prediction_r2"]["b->a"] is None  # NaN is stored as strict-JSON null
    assert m.results.prediction_r2[Direction("b", "a")] is None
    hist = B.read_history(fake_run).to_frame()
    assert list(hist["epoch"]) == [1, 2, 3]
    assert {"train_total", "train_corr", "val_recon", "val_corr", "seconds"} <= set(hist.columns)
    lat = B.read_latents(fake_run)
    assert list(lat.columns[:2]) == ["id", "split"]
    assert B.latents_from_frame(lat, "joint").shape == (30, 3)
    assert B.latents_from_frame(lat, "a").dtype == np.float32
    assert set(B.read_umap(fake_run)["modality"]) == {"a", "b"}
    fc = B.read_feature_corr(fake_run)
    assert len(fc) == 20 and fc.frame["significant"].dtype == bool
    sim = B.read_similarity(fake_run)
    assert sim.matrix is not None and sim.matrix.shape == (5, 5) and sim.pair == Pair("a", "b")
    assert sim.ids_a.dtype.kind == "U"  # ids stored without pickle
    assert B.read_spec(fake_run).dataset_id == "ds1"
    assert B.read_prediction_r2(fake_run)["r2"].iloc[0] == 0.5


def test_metrics_json_is_strict(fake_run: Path) -> None:
    text = (fake_run / BundleFile.METRICS.value).read_text()
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))


def test_bundle_file_names_are_the_agreed_ones() -> None:
    assert BundleFile.SIMILARITY == "similarity.npz"
    assert BundleFile.FEATURE_CORR.value == "feature_correlation.parquet"
    assert f"{BundleFile.LATENTS}" == "latents.parquet"


def test_list_runs_newest_first_skips_partial(tmp_path: Path, make_run: Callable[..., Path]) -> None:
    root = tmp_path / "runs"
    make_run(root / "old", created="2026-01-01T00:00:00+00:00")
    make_run(root / "new", created="2026-02-01T00:00:00+00:00")
    (root / ".new2.tmp").mkdir()  # a bundle being written
    (root / "broken").mkdir()  # no metrics.json
    runs = list_runs(root)
    assert [r.run_id for r in runs] == ["new", "old"]
    assert runs[0].model == "cca" and runs[0].dataset_id == "ds1" and runs[0].summary.recall_at_1 == 0.35


def test_list_runs_default_root_is_home(mmcorr_home: Path, make_run: Callable[..., Path]) -> None:
    make_run(mmcorr_home / "runs" / "r1")
    assert [r.run_id for r in list_runs()] == ["r1"]


def test_list_runs_missing_root(tmp_path: Path) -> None:
    assert list_runs(tmp_path / "nope") == []


def test_missing_file_names_it(fake_run: Path) -> None:
    (fake_run / "umap.parquet").unlink()
    with pytest.raises(MmcorrError, match=r"has no umap\.parquet"):
        B.read_umap(fake_run)


def test_require_run_rejects_non_run(tmp_path: Path) -> None:
    with pytest.raises(MmcorrError, match="does not exist"):
        B.require_run(tmp_path / "nope")
    with pytest.raises(MmcorrError, match="not a finished mmcorr run"):
        B.require_run(tmp_path)


def test_corrupt_metrics(fake_run: Path) -> None:
    (fake_run / "metrics.json").write_text("{not json")
    with pytest.raises(MmcorrError, match="not valid JSON"):
        B.read_metrics(fake_run)


def test_corrupt_history_line(fake_run: Path) -> None:
    first = (fake_run / "history.jsonl").read_text().splitlines()[0]
    (fake_run / "history.jsonl").write_text(first + "\n{oops\n")
    with pytest.raises(MmcorrError, match="line 2 is not valid JSON"):
        B.read_history(fake_run)


def test_history_record_missing_a_key_names_it(fake_run: Path) -> None:
    (fake_run / "history.jsonl").write_text('{"epoch": 1}\n')
    with pytest.raises(MmcorrError, match=r"history\.jsonl line 1 is malformed: 'epochs' must be present"):
        B.read_history(fake_run)


def test_latents_from_frame_unknown_name(fake_run: Path) -> None:
    with pytest.raises(MmcorrError, match="no columns for 'c'"):
        B.latents_from_frame(B.read_latents(fake_run), "c")


def test_similarity_npz_never_needs_pickle(fake_run: Path) -> None:
    with np.load(fake_run / "similarity.npz", allow_pickle=False) as npz:
        assert set(npz.files) == {"pair", "ids_a", "ids_b", "similarity"}
