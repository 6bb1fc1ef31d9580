"""A bundle written by mmcorr at 19e73bb (before the typed run package) still opens, through the types."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mmcorr.data import JOINT, make_demo
from mmcorr.runs import (
    BundleFile,
    Direction,
    Pair,
    RunMetrics,
    SummaryMetric,
    find_run,
    list_runs,
    open_run,
    read_history,
    read_metrics,
)
from mmcorr.runs.bundle import latents_from_frame
from mmcorr.runs.report import build_report

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "bundle_v1"
PAIRS = [Pair("a", "b"), Pair("a", "c"), Pair("b", "c")]


def test_the_fixture_is_complete_and_small() -> None:
    missing = [f.value for f in BundleFile if f is not BundleFile.REPORT and not (LEGACY / f.value).is_file()]
    assert missing == []
    assert sum(p.stat().st_size for p in LEGACY.iterdir()) < 1_000_000


def test_metrics_open_and_round_trip_to_the_same_json() -> None:
    m = read_metrics(LEGACY)
    assert m.bundle_format == 1 and m.modalities == ("a", "b", "c")
    assert m.run.name == "legacy-v1" and m.run.model == "dccae" and m.run.latent_dim == 3
    assert (m.run.n_train, m.run.n_val, m.run.n_test) == (105, 23, 22) and m.run.label_column == "group"
    assert m.pairs == PAIRS
    cc = m.results.canonical[Pair("a", "b")]
    assert len(cc.correlations) == 3 and cc.permutations == 20 and cc.null_band is not None
    assert cc.ceiling is not None and cc.fraction_of_ceiling is not None  # the synthetic demo's ceiling
    assert len(m.results.retrieval) == 6
    assert m.results.retrieval[Direction("c", "b")].class_precision_at_1 is not None
    assert set(m.results.prediction_r2) == {Direction(a, b) for a in "abc" for b in "abc" if a != b}
    assert m.results.summary.get(SummaryMetric.TRAIN_SECONDS) == m.run.train_seconds
    raw = json.loads((LEGACY / BundleFile.METRICS.value).read_text(encoding="utf-8"))
    assert m.to_json() == raw  # nothing lost or renamed on the way through the types
    assert RunMetrics.from_json(m.to_text()) == m


def test_history_has_the_real_trainer_parts() -> None:
    hist = read_history(LEGACY)
    assert [r.epoch for r in hist] == [1, 2] and all(r.epochs == 2 for r in hist)
    assert set(hist.records[0].train) == {"total", "corr", "recon"} == set(hist.records[0].val)
    assert hist.records[0].val_corr is not None
    frame = hist.to_frame()
    assert {"train_total", "train_corr", "train_recon", "val_total", "val_corr", "seconds"} <= set(frame)


def test_tables_and_arrays_open() -> None:
    run = open_run(LEGACY)
    lat = run.latents()
    for name in ("a", "b", "c", JOINT):
        assert latents_from_frame(lat, name).shape == (150, 3)
    assert (lat["split"] == "test").sum() == 22
    umap = run.umap()
    assert len(umap) == 450 and set(umap["modality"]) == {"a", "b", "c"}
    sim = run.similarity()
    assert sim.pair == Pair("a", "b") and sim.matrix is not None and sim.matrix.shape == (22, 22)
    fmap = run.feature_map()
    assert fmap.pairs == PAIRS and len(fmap.strongest(Pair("a", "c"), n=5)) == 5
    assert set(run.prediction_table()["pair"]) == {d.key for d in read_metrics(LEGACY).results.prediction_r2}
    assert run.spec().model.latent_dim == 3
    assert "<html" in build_report(LEGACY)


def test_listed_and_found_by_id(tmp_path: Path) -> None:
    shutil.copytree(LEGACY, tmp_path / "old-run")
    [info] = list_runs(tmp_path)
    assert info.run_id == "old-run" and info.dataset_id == "synthetic-6e0739df"
    assert info.summary.recall_at_1 == pytest.approx(0.030303030303030304)
    assert find_run("old-run", tmp_path).metrics() == read_metrics(LEGACY)


def test_model_loads_and_reproduces_the_stored_latents() -> None:
    torch = pytest.importorskip("torch")
    from mmcorr.estimator import CorrelationModel

    torch.set_num_threads(1)
    model = CorrelationModel.load(LEGACY)
    ds = make_demo("synthetic", seed=0, n_samples=150)  # the data the run was trained on
    latents = model.transform(ds)
    stored = open_run(LEGACY).latents()
    assert list(stored["id"]) == [str(i) for i in ds.ids]
    for name in ("a", "b", "c", JOINT):
        np.testing.assert_allclose(latents[name], latents_from_frame(stored, name), atol=1e-4)
