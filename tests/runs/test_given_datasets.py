"""A registered dataset as the run's own validation / test set: JobSpec.val_dataset_id /
test_dataset_id, the worker's pipeline (run_spec) and ``mmcorr jobs submit --val-dataset /
--test-dataset``. Before, a job could only split its one dataset by fractions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from mmcorr import DataError
from mmcorr._validation import MmcorrError
from mmcorr.cli import main
from mmcorr.config import JobSpec, build_job_spec
from mmcorr.data import DatasetRegistry, make_demo


def _register(reg: DatasetRegistry) -> tuple[str, str, str]:
    """(train, val, test) ids: three disjoint row ranges of one demo dataset."""
    ds = make_demo("synthetic", n_samples=240, seed=0).select(["a", "b"])
    parts = (ds.subset(np.arange(160)), ds.subset(np.arange(160, 200)), ds.subset(np.arange(200, 240)))
    train, val, test = (reg.save(p, name) for p, name in zip(parts, ("train", "val", "test"), strict=True))
    return train, val, test


def test_run_spec_uses_the_given_validation_and_test_datasets(mmcorr_home: Path) -> None:
    pytest.importorskip("torch")
    from mmcorr.runs import read_metrics
    from mmcorr.runs.bundle import read_latents, read_spec
    from mmcorr.runs.pipeline import run_spec

    reg = DatasetRegistry()
    train, val, test = _register(reg)
    spec = build_job_spec(train, model="cca", latent_dim=2, permutations=0)
    spec = dataclasses.replace(spec, val_dataset_id=val, test_dataset_id=test)
    out = run_spec(spec, mmcorr_home / "runs" / "given", registry=reg)
    run = read_metrics(out).run
    assert (run.n_train, run.n_val, run.n_test) == (160, 40, 40) and run.held_out_split == "test"
    latents = read_latents(out)
    test_ids = sorted(map(str, reg.load(test).ids))
    assert sorted(latents.loc[latents["split"] == "test", "id"].astype(str)) == test_ids
    assert read_spec(out).val_dataset_id == val and read_spec(out).test_dataset_id == test


def test_run_spec_with_only_a_test_dataset_splits_the_training_one(mmcorr_home: Path) -> None:
    pytest.importorskip("torch")
    from mmcorr.runs import read_metrics
    from mmcorr.runs.pipeline import run_spec

    reg = DatasetRegistry()
    train, _, test = _register(reg)
    spec = build_job_spec(train, model="cca", latent_dim=2, permutations=0, val_fraction=0.25)
    out = run_spec(dataclasses.replace(spec, test_dataset_id=test), mmcorr_home / "runs" / "t", registry=reg)
    run = read_metrics(out).run
    assert (run.n_train, run.n_val, run.n_test) == (120, 40, 40)


def test_a_validation_dataset_with_other_features_is_named(mmcorr_home: Path) -> None:
    from mmcorr.runs.pipeline import run_spec

    reg = DatasetRegistry()
    train, _, _ = _register(reg)
    other = make_demo("synthetic", n_samples=60, seed=1).select(["a", "c"])
    other_id = reg.save(other, "o")
    spec = dataclasses.replace(build_job_spec(train, model="cca", latent_dim=2), val_dataset_id=other_id)
    with pytest.raises(
        DataError, match=rf"The validation dataset '{other_id}' data must have the training modalities"
    ):
        run_spec(spec, mmcorr_home / "runs" / "bad", registry=reg)
    assert not (mmcorr_home / "runs" / "bad").exists()


def test_old_spec_json_without_the_new_fields_still_loads() -> None:
    old = JobSpec(dataset_id="ds").to_dict()
    del old["val_dataset_id"], old["test_dataset_id"]
    spec = JobSpec.from_dict(old)
    assert spec.val_dataset_id is None and spec.test_dataset_id is None and spec == JobSpec(dataset_id="ds")


def test_an_empty_val_dataset_id_is_refused() -> None:
    with pytest.raises(
        MmcorrError, match=r"The 'val_dataset_id' parameter must be a registered dataset id or None\. Got ''"
    ):
        JobSpec(dataset_id="ds", val_dataset_id="")


def test_a_test_dataset_id_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(
        MmcorrError, match=r"The 'test_dataset_id' parameter must be a registered dataset id or None\. Got 3"
    ):
        JobSpec.from_dict({"dataset_id": "ds", "test_dataset_id": 3})


def test_the_training_dataset_as_its_own_validation_set_is_refused() -> None:
    with pytest.raises(
        MmcorrError, match=r"'val_dataset_id' parameter must name a dataset other than the training"
    ):
        JobSpec(dataset_id="ds", val_dataset_id="ds")


def test_the_validation_dataset_as_the_test_set_is_refused() -> None:
    with pytest.raises(
        MmcorrError,
        match=r"'test_dataset_id' parameter must name a dataset other than the training \(and validation\) dataset\. Got 'v'",
    ):
        JobSpec(dataset_id="ds", val_dataset_id="v", test_dataset_id="v")


def test_jobs_submit_carries_the_given_datasets(
    mmcorr_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mmcorr.jobs import get_job
    from mmcorr.jobs.queue import reset_queues

    reset_queues()
    try:
        train, val, test = _register(DatasetRegistry())
        args = [
            "jobs",
            "submit",
            "--dataset",
            train,
            "--val-dataset",
            val,
            "--test-dataset",
            test,
            "--no-worker",
        ]
        assert main(args) == 0
        spec = get_job(capsys.readouterr().out.strip()).spec
        assert (spec.dataset_id, spec.val_dataset_id, spec.test_dataset_id) == (train, val, test)
    finally:
        reset_queues()


def test_jobs_submit_with_an_unknown_test_dataset_names_it(
    mmcorr_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mmcorr.jobs import list_jobs
    from mmcorr.jobs.queue import reset_queues

    reset_queues()
    try:
        train, _, _ = _register(DatasetRegistry())
        args = ["jobs", "submit", "--dataset", train, "--test-dataset", "ghost", "--no-worker"]
        assert main(args) == 1
        assert "No registered dataset has id 'ghost'." in capsys.readouterr().err
        assert list_jobs() == []
    finally:
        reset_queues()
