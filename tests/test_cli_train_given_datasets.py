"""``mmcorr train --dataset ID --val-dataset ID --test-dataset ID``: the registered given sets of
``mmcorr jobs submit`` in the foreground command too (before, train --dataset could only split)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmcorr.cli import main
from mmcorr.data import DatasetRegistry, make_demo


def _register() -> tuple[str, str, str]:
    ds = make_demo("synthetic", n_samples=240, seed=0).select(["a", "b"])
    parts = (ds.subset(np.arange(160)), ds.subset(np.arange(160, 200)), ds.subset(np.arange(200, 240)))
    reg = DatasetRegistry()
    train, val, test = (reg.save(p, name) for p, name in zip(parts, ("train", "val", "test"), strict=True))
    return train, val, test


def test_train_uses_the_given_registered_validation_and_test_sets(mmcorr_home: Path) -> None:
    from mmcorr.runs import read_metrics
    from mmcorr.runs.bundle import read_latents

    train, val, test = _register()
    out = mmcorr_home / "run"
    args = ["train", "--dataset", train, "--val-dataset", val, "--test-dataset", test]
    assert main([*args, "--model", "cca", "--latent-dim", "2", "--permutations", "0", "--out", str(out)]) == 0
    run = read_metrics(out).run
    assert (run.n_train, run.n_val, run.n_test) == (160, 40, 40) and run.held_out_split == "test"
    latents = read_latents(out)
    held_out = sorted(latents.loc[latents["split"] == "test", "id"].astype(str))
    assert held_out == sorted(map(str, DatasetRegistry().load(test).ids))


def test_given_datasets_need_a_registered_training_dataset(
    mmcorr_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["train", "--modality", f"a={tmp_path / 'a.csv'}", "--modality", f"b={tmp_path / 'b.csv'}"]
    assert main([*args, "--test-dataset", "some-id", "--out", str(tmp_path / "never")]) == 1
    assert "--val-dataset / --test-dataset go with a registered --dataset" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_submit_refuses_a_given_set_with_other_feature_names(mmcorr_home: Path) -> None:
    import dataclasses

    from mmcorr import DataError
    from mmcorr.config import build_job_spec
    from mmcorr.jobs import list_jobs, submit

    train, _, _ = _register()
    ds = make_demo("synthetic", n_samples=60, seed=1).select(["a", "b"])
    ds.features["b"] = [f"other_{f}" for f in ds.features["b"]]
    other = DatasetRegistry().save(ds, "renamed")
    spec = dataclasses.replace(build_job_spec(train, model="cca", latent_dim=2), test_dataset_id=other)
    with pytest.raises(
        DataError, match=r"The test_dataset_id '.*' modality 'b' must have the training features"
    ):
        submit(spec, autostart=False)
    assert list_jobs() == []  # refused before anything was queued


def test_a_given_text_set_is_checked_by_its_featuriser_not_its_words(mmcorr_home: Path) -> None:
    """Hashed text features are named after each file's own words: two caption files of the same
    featuriser are alike although their names differ; a different featuriser is refused."""
    import dataclasses

    from mmcorr import DataError
    from mmcorr.config import build_job_spec
    from mmcorr.jobs import submit

    full = make_demo("digits-media", n_samples=80, seed=0).select(["image", "text"])
    reg = DatasetRegistry()
    train, test = reg.save(full.subset(np.arange(60)), "tr"), None
    part = full.subset(np.arange(60, 80))
    part.features["text"] = [f"w:{i}" for i in range(len(part.features["text"]))]
    test = reg.save(part, "te")
    spec = dataclasses.replace(build_job_spec(train, model="cca", latent_dim=2), test_dataset_id=test)
    assert submit(spec, autostart=False)
    part.media["text"] = dataclasses.replace(part.media["text"], params={**part.media["text"].params, "x": 1})
    odd = reg.save(part, "odd")
    with pytest.raises(DataError, match=r"modality 'text' must be text featurised as 2048"):
        submit(dataclasses.replace(spec, test_dataset_id=odd), autostart=False)
