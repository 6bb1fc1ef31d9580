"""Registry: round trip, same content -> same id, atomic writes, listing, deletion, demos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mmcorr import DataError, MmcorrError
from mmcorr.data import DatasetRegistry, load_paired, make_demo


def test_round_trip_with_mask_metadata_and_report(pair_files: dict[str, Path], mmcorr_home: Path) -> None:
    ds, report = load_paired(pair_files, how="outer")
    ds.info["source"] = "test"
    reg = DatasetRegistry()
    dataset_id = reg.save(ds, "CITE seq #1", report)
    assert dataset_id.startswith("cite-seq-1-") and len(dataset_id) == len("cite-seq-1-") + 8
    folder = mmcorr_home / "datasets" / dataset_id
    assert sorted(p.name for p in folder.iterdir()) == [
        "dataset.json",
        "ids.parquet",
        "prot.parquet",
        "rna.parquet",
    ]
    back = DatasetRegistry().load(dataset_id)  # a fresh registry: nothing cached in memory
    assert back.names == ds.names and back.ids.tolist() == ds.ids.tolist()
    np.testing.assert_array_equal(back.mask, ds.mask)
    for n in ds.names:
        np.testing.assert_array_equal(back.values[n], ds.values[n])
        assert back.features[n] == ds.features[n]
    info = reg.info(dataset_id)
    assert info.n_samples == 27 and info.n_paired == 20 and info.modalities == {"rna": 4, "prot": 3}
    assert info.report is not None and info.report["how"] == "outer" and info.info == {"source": "test"}


def test_demo_round_trip_keeps_labels_and_true_correlations(mmcorr_home: Path) -> None:
    reg = DatasetRegistry()
    dataset_id = reg.ensure_demo("synthetic")
    assert reg.ensure_demo("synthetic") == dataset_id  # generated once
    ds = reg.load(dataset_id)
    assert ds.label_column == "group" and ds.metadata is not None and ds.labels is not None
    assert ds.metadata.index.tolist() == ds.ids.tolist()
    assert ds.info["true_correlations"] == make_demo("synthetic").info["true_correlations"]
    np.testing.assert_array_equal(ds.values["c"], make_demo("synthetic").values["c"])


def test_same_content_same_id_without_rewrite(tmp_path: Path) -> None:
    reg = DatasetRegistry(tmp_path)
    ds = make_demo("synthetic", n_samples=50)
    first = reg.save(ds, "syn")
    stamp = (tmp_path / first / "dataset.json").stat().st_mtime_ns
    assert reg.save(make_demo("synthetic", n_samples=50), "syn") == first
    assert (tmp_path / first / "dataset.json").stat().st_mtime_ns == stamp
    other = reg.save(make_demo("synthetic", n_samples=50, seed=1), "syn")
    assert other != first and [d.id for d in reg.list()] == [other, first]  # newest first


def test_failed_save_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reg = DatasetRegistry(tmp_path)
    keep = reg.save(make_demo("synthetic", n_samples=30), "keep")

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(DatasetRegistry, "_write", staticmethod(boom))
    with pytest.raises(OSError, match="disk full"):
        reg.save(make_demo("synthetic", n_samples=40), "lost")
    assert [p.name for p in tmp_path.iterdir()] == [keep]  # no temp folder, no half dataset
    assert [d.id for d in reg.list()] == [keep]


def test_delete(tmp_path: Path) -> None:
    reg = DatasetRegistry(tmp_path)
    dataset_id = reg.save(make_demo("synthetic", n_samples=30), "x")
    reg.delete(dataset_id)
    assert reg.list() == [] and list(tmp_path.iterdir()) == []


def test_unknown_id(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"No registered dataset has id 'nope-12345678'\. Registered: none"):
        DatasetRegistry(tmp_path).load("nope-12345678")


def test_path_like_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"'\.\./etc' is not a dataset id"):
        DatasetRegistry(tmp_path).info("../etc")


def test_damaged_dataset_is_detected(tmp_path: Path) -> None:
    reg = DatasetRegistry(tmp_path)
    dataset_id = reg.save(make_demo("synthetic", n_samples=30), "x")
    meta_path = tmp_path / dataset_id / "dataset.json"
    meta = json.loads(meta_path.read_text())
    meta["fingerprint"] = "0" * 64
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"does not match its fingerprint"):
        reg.load(dataset_id)


def test_empty_name(tmp_path: Path) -> None:
    with pytest.raises(MmcorrError, match=r"The dataset name must be 1-200 characters\. Got ' '"):
        DatasetRegistry(tmp_path).save(make_demo("synthetic", n_samples=30), " ")


def test_unknown_demo(tmp_path: Path) -> None:
    with pytest.raises(
        MmcorrError, match=r"The 'name' parameter must be one of 'digits-media', 'digits-noisy', 'synthetic'"
    ):
        DatasetRegistry(tmp_path).ensure_demo("mnist")
