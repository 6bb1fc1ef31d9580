"""Splits the user controls: their own validation / test sets (API and `mmcorr train
--val-modality / --test-modality`) and a test fraction of 0 (validation figures, labelled so)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmcorr import DataError
from mmcorr.config import DataConfig, build_job_spec
from mmcorr.data import PairedDataset, make_demo
from mmcorr.data.split import stack_given_splits


def _demo(n: int = 240) -> PairedDataset:
    return make_demo("synthetic", n_samples=n, seed=0).select(["a", "b"])


def _parts() -> tuple[PairedDataset, PairedDataset, PairedDataset]:
    ds = _demo()
    return ds.subset(np.arange(160)), ds.subset(np.arange(160, 200)), ds.subset(np.arange(200, 240))


def test_given_validation_and_test_sets_are_used_as_given() -> None:
    train, val, test = _parts()
    ds, split = stack_given_splits(train, val, test, DataConfig())
    assert ds.n_samples == 240 and list(ds.ids[split.val]) == list(val.ids)
    assert list(ds.ids[split.test]) == list(test.ids)
    assert split.train.tolist() == list(range(160))  # every training sample trains
    np.testing.assert_array_equal(ds.values["a"][split.test], test.values["a"])


def test_a_given_test_set_leaves_the_training_files_to_train_and_validation() -> None:
    train, _, test = _parts()
    ds, split = stack_given_splits(train, None, test, DataConfig(val_fraction=0.25))
    assert ds.n_samples == 200
    assert split.test.tolist() == list(range(160, 200))
    assert split.train.max() < 160 and split.val.max() < 160 and len(split.val) == 40


def test_test_fraction_zero_is_allowed() -> None:
    assert DataConfig(test_fraction=0.0).test_fraction == 0.0
    assert build_job_spec("d", test_fraction=0.0).data.test_fraction == 0.0


def test_a_run_without_test_set_reports_labelled_validation_figures(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from mmcorr.runs import read_metrics
    from mmcorr.runs.pipeline import train_and_bundle

    spec = build_job_spec("demo", model="cca", latent_dim=2, test_fraction=0.0, permutations=0)
    train_and_bundle(_demo(), spec, tmp_path / "run")
    run = read_metrics(tmp_path / "run").run
    assert run.n_test == 0 and run.held_out_split == "val" and run.n_val > 0
    assert run.held_out_note is not None and "validation figures" in run.held_out_note
    assert dataclasses.replace(run, held_out_split="test").held_out_note is None
    from mmcorr.runs import list_runs
    from mmcorr.runs.report import build_report

    assert "the held-out figures are validation figures" in build_report(tmp_path / "run")
    assert [r.held_out_split for r in list_runs(tmp_path)] == ["val"]  # what Compare shows


def test_a_run_on_given_sets_reports_on_the_given_test_set(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from mmcorr.runs import read_metrics
    from mmcorr.runs.pipeline import train_and_bundle

    train, val, test = _parts()
    ds, split = stack_given_splits(train, val, test, DataConfig())
    spec = build_job_spec("demo", model="cca", latent_dim=2, permutations=0)
    train_and_bundle(ds, spec, tmp_path / "run", split=split)
    run = read_metrics(tmp_path / "run").run
    assert (run.n_train, run.n_val, run.n_test, run.held_out_split) == (160, 40, 40, "test")


def _write(folder: Path, ds: PairedDataset, stem: str) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for n in ds.names:
        frame = pd.DataFrame(ds.values[n], columns=ds.features[n])
        frame.insert(0, "id", ds.ids)
        out[n] = folder / f"{stem}_{n}.csv"
        frame.to_csv(out[n], index=False)
    return out


def test_cli_train_with_test_modality_files(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from mmcorr.cli import main
    from mmcorr.runs import read_metrics

    train, _, test = _parts()
    tr, te = _write(tmp_path, train, "train"), _write(tmp_path, test, "test")
    args = ["train", "--modality", f"a={tr['a']}", "--modality", f"b={tr['b']}"]
    args += ["--test-modality", f"a={te['a']}", "--test-modality", f"b={te['b']}"]
    args += ["--model", "cca", "--latent-dim", "2", "--permutations", "0", "--out", str(tmp_path / "run")]
    assert main(args) == 0
    run = read_metrics(tmp_path / "run").run
    assert run.n_test == 40 and run.n_train + run.n_val == 160


# ---- bad input: one test each ---------------------------------------------------------------------


def test_test_set_with_other_features() -> None:
    train, _, test = _parts()
    test.features["b"] = [f"x{i}" for i in range(len(test.features["b"]))]
    with pytest.raises(DataError, match=r"--test-modality modality 'b' must have the training features"):
        stack_given_splits(train, None, test, DataConfig())


def test_test_set_holding_training_samples() -> None:
    train, _, _ = _parts()
    with pytest.raises(DataError, match=r"--test-modality data must hold samples not used elsewhere; 10 "):
        stack_given_splits(train, None, train.subset(np.arange(10)), DataConfig())


def test_validation_set_missing_a_modality() -> None:
    train, val, _ = _parts()
    with pytest.raises(
        DataError, match=r"--val-modality data must have the training modalities \['a', 'b'\]"
    ):
        stack_given_splits(train, val.select(["a"]), None, DataConfig())


def test_cli_test_modality_with_a_registered_dataset(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from mmcorr.cli import main

    args = ["train", "--dataset", "x", "--test-modality", "a=a.csv", "--out", str(tmp_path / "r")]
    assert main(args) == 1
    assert "--val-modality / --test-modality go with --modality files" in capsys.readouterr().err
