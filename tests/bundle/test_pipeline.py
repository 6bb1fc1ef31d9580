"""The pipeline end to end on tiny data: bundle contents, atomicity, and the shuffled-pairs null."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mmcorr._validation import MmcorrError
from mmcorr.config import AnalysisConfig, JobSpec, ModelConfig, TrainConfig
from mmcorr.data import load_paired
from mmcorr.runs import Direction, Pair, RetrievalMetric, SummaryMetric, artifacts, pipeline
from mmcorr.runs import bundle as B
from mmcorr.runs import catalog as C
from mmcorr.runs.files import BundleFile

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _spec(model: str = "cca", epochs: int = 2) -> JobSpec:
    return JobSpec(
        dataset_id="files",
        model=ModelConfig(model=model, latent_dim=2, hidden=(16,)),
        train=TrainConfig(epochs=epochs, batch_size=32, device="cpu", threads=1, seed=0),
        analysis=AnalysisConfig(permutations=20, top_features=4, umap_neighbors=5),
        name="tiny",
    )


def _dataset(folder: Path, files: Callable[..., dict[str, Path]], **kw: object):  # type: ignore[no-untyped-def]
    p = files(folder, **kw)
    ds, _ = load_paired({"a": p["a"], "b": p["b"]}, labels=p["labels"], label_column="cls")
    return ds


def test_bundle_has_every_file_and_held_out_metrics(
    tmp_path: Path, paired_files: Callable[..., dict[str, Path]]
) -> None:
    ds = _dataset(tmp_path / "data", paired_files)
    run = pipeline.train_and_bundle(ds, _spec(), tmp_path / "run")
    for f in BundleFile:
        assert (run / f.value).is_file(), f
    m = B.read_metrics(run)
    r = m.run
    assert r.n_train + r.n_val + r.n_test == 90 and r.model == "cca" and r.epochs_run == 1
    canon = m.results.canonical[Pair("a", "b")]
    assert len(canon.correlations) == 2 and len(canon.p_values) == 2 and canon.permutations == 20
    # a shared 2-d signal: the first held-out canonical correlation is strong and beats the null
    assert canon.correlations[0] > 0.7 and canon.p_values[0] <= 0.1
    assert canon.null_high is not None and canon.correlations[0] > canon.null_high[0]
    assert set(m.results.retrieval) == {Direction("a", "b"), Direction("b", "a")}
    assert m.results.retrieval[Direction("a", "b")].class_precision_at_1 is not None
    acc = m.results.linear_probe_accuracy
    assert acc is not None and acc > 0.5
    assert set(m.results.prediction_r2) == {Direction("a", "b"), Direction("b", "a")}
    assert m.results.summary.get(SummaryMetric.RECALL_1) is not None
    lat = B.read_latents(run)
    assert len(lat) == 90 and set(lat["split"]) == {"train", "val", "test"}
    assert {"a_0", "a_1", "b_0", "b_1", "joint_0", "joint_1", "cls"} <= set(lat.columns)
    assert (lat["split"] == "test").sum() == r.n_test
    um = B.read_umap(run)
    assert len(um) == 180 and {"id", "modality", "x", "y", "split", "cls"} <= set(um.columns)
    fc = B.read_feature_corr(run)
    assert len(fc) == 4 * 4 and fc.pairs == [Pair("a", "b")]  # top_features=4 per modality
    sim = B.read_similarity(run)
    assert sim.matrix is not None and sim.matrix.shape == (r.n_test, r.n_test)
    assert list(sim.ids_a) == list(lat.loc[lat["split"] == "test", "id"])
    # true pairs are more similar than random pairs in the aligned space
    s = sim.matrix
    assert np.diag(s).mean() > s.mean() + 0.2
    assert set(B.read_prediction_r2(run)["pair"]) == {"a->b", "b->a"}
    assert B.read_spec(run) == _spec()
    assert [i.run_id for i in C.list_runs(tmp_path)] == ["run"]


def test_deep_model_two_epochs(tmp_path: Path, paired_files: Callable[..., dict[str, Path]]) -> None:
    ds = _dataset(tmp_path / "data", paired_files)
    records: list[dict[str, object]] = []

    class Rec:
        def on_epoch_end(self, record: dict[str, object]) -> None:
            records.append(record)

    run = pipeline.train_and_bundle(ds, _spec("dccae", epochs=2), tmp_path / "run", callbacks=[Rec()])
    hist = B.read_history(run)
    assert len(hist) == len(records) == 2 and [e.epoch for e in hist] == [1, 2]
    assert {"total", "corr", "recon"} <= set(hist.records[0].train)  # the parts dccae's loss logs
    assert list(hist.to_frame()["epoch"]) == [1, 2]
    assert B.read_metrics(run).run.epochs_run == 2
    assert np.isfinite(B.latents_from_frame(B.read_latents(run), "joint")).all()


def test_failure_mid_write_leaves_no_run_dir(
    tmp_path: Path, paired_files: Callable[..., dict[str, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = _dataset(tmp_path / "data", paired_files)

    def boom(_: Path) -> Path:
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline, "write_report", boom)
    runs = tmp_path / "runs"
    with pytest.raises(RuntimeError, match="disk full"):
        pipeline.train_and_bundle(ds, _spec(), runs / "r1")
    assert not (runs / "r1").exists()
    assert list(runs.iterdir()) == []  # the temporary folder is gone too


def test_shuffled_pairs_score_near_the_null(
    tmp_path: Path, paired_files: Callable[..., dict[str, Path]]
) -> None:
    ds = _dataset(tmp_path / "data", paired_files, shuffle_b=True)
    m = B.read_metrics(pipeline.train_and_bundle(ds, _spec(), tmp_path / "run"))
    canon = m.results.canonical[Pair("a", "b")]
    assert canon.correlations[0] < 0.5
    assert canon.p_values[0] > 0.05
    assert m.results.retrieval[Direction("a", "b")].get(RetrievalMetric.FOSCTTM) > 0.3  # random: ~0.5


def test_existing_run_dir_is_refused(tmp_path: Path, paired_files: Callable[..., dict[str, Path]]) -> None:
    ds = _dataset(tmp_path / "data", paired_files)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "x").write_text("keep me")
    with pytest.raises(MmcorrError, match="already exists"):
        pipeline.train_and_bundle(ds, _spec(), tmp_path / "run")
    assert (tmp_path / "run" / "x").read_text() == "keep me"


def test_single_modality_is_refused(tmp_path: Path, paired_files: Callable[..., dict[str, Path]]) -> None:
    ds = _dataset(tmp_path / "data", paired_files).select(["a"])
    with pytest.raises(MmcorrError, match="at least two modalities"):
        pipeline.train_and_bundle(ds, _spec(), tmp_path / "run")


def test_top_k_neighbours_beyond_the_full_matrix_limit(
    tmp_path: Path, paired_files: Callable[..., dict[str, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = _dataset(tmp_path / "data", paired_files)
    monkeypatch.setattr(artifacts, "SIMILARITY_FULL_LIMIT", 5)
    run = pipeline.train_and_bundle(ds, _spec(), tmp_path / "run")
    sim = B.read_similarity(run)
    n_test = B.read_metrics(run).run.n_test
    assert sim.matrix is None and sim.indices is not None and sim.scores is not None
    assert sim.indices.shape == (n_test, artifacts.SIMILARITY_TOP_K) == sim.scores.shape
    # scores are sorted best first
    assert (np.diff(sim.scores, axis=1) <= 1e-6).all()
    assert "top-k neighbours instead" in (run / "report.html").read_text()


def test_run_spec_from_the_registry(
    mmcorr_home: Path, tmp_path: Path, paired_files: Callable[..., dict[str, Path]]
) -> None:
    from dataclasses import replace

    from mmcorr.data import DatasetRegistry

    dataset_id = DatasetRegistry().save(_dataset(tmp_path / "data", paired_files), "tiny")
    spec = replace(_spec(), dataset_id=dataset_id)
    out = pipeline.run_spec(spec, mmcorr_home / "runs" / "job1")
    runs = C.list_runs()
    assert [r.run_id for r in runs] == ["job1"] and runs[0].dataset_id == dataset_id
    assert B.read_spec(out).dataset_id == dataset_id
    assert B.read_latents(out)["cls"].notna().all()  # labels travel through the registry


def test_run_spec_unknown_dataset(mmcorr_home: Path) -> None:
    from dataclasses import replace

    with pytest.raises(MmcorrError, match="nope"):
        pipeline.run_spec(replace(_spec(), dataset_id="nope"), mmcorr_home / "runs" / "j")
    assert not (mmcorr_home / "runs" / "j").exists()


@pytest.mark.parametrize("model", ["cca", "mvae"])
def test_partially_paired_outer_join(
    tmp_path: Path, paired_files: Callable[..., dict[str, Path]], model: str
) -> None:
    import pandas as pd

    p = paired_files(tmp_path / "data")
    b = pd.read_csv(p["b"])
    b.iloc[15:].to_csv(p["b"], index=False)  # 15 samples lack modality b
    ds, _ = load_paired({"a": p["a"], "b": p["b"]}, how="outer")
    assert ds.n_samples == 90 and not ds.mask.all()
    run = pipeline.train_and_bundle(ds, _spec(model), tmp_path / "run")
    lat = B.read_latents(run)
    missing_b = ~lat["id"].isin(b["id"].iloc[15:])
    assert missing_b.sum() == 15
    assert lat.loc[missing_b, "b_0"].isna().all() and lat.loc[~missing_b, "b_0"].notna().all()
    assert lat["joint_0"].notna().all()  # the joint latent comes from whatever a sample has
    um = B.read_umap(run)
    assert len(um) == 90 + 75
    m = B.read_metrics(run)
    assert m.results.canonical[Pair("a", "b")].n_test == int((~missing_b & (lat["split"] == "test")).sum())
