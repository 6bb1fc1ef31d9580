"""The analysis option ``umap`` (auto / on / off): tiny runs skip UMAP with a note, and every reader copes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mmcorr._cli.options import job_spec_from_args
from mmcorr._validation import MmcorrError
from mmcorr.cli import build_parser
from mmcorr.config import (
    UMAP_AUTO_MIN_SAMPLES,
    AnalysisConfig,
    JobSpec,
    ModelConfig,
    TrainConfig,
    build_job_spec,
)
from mmcorr.data import load_paired
from mmcorr.runs import bundle as B
from mmcorr.runs import pipeline
from mmcorr.runs.artifacts import umap_wanted
from mmcorr.runs.files import BundleFile
from mmcorr.runs.report import build_report

torch = pytest.importorskip("torch")


def _spec(umap: str) -> JobSpec:
    return JobSpec(
        dataset_id="files",
        model=ModelConfig(model="cca", latent_dim=2),
        train=TrainConfig(device="cpu", threads=1, seed=0),
        analysis=AnalysisConfig(permutations=5, top_features=4, umap_neighbors=5, umap=umap),  # type: ignore[arg-type]
        name="tiny",
    )


def _run(tmp_path: Path, files: Callable[..., dict[str, Path]], n: int, umap: str) -> Path:
    p = files(tmp_path / "data", n=n)
    ds, _ = load_paired({"a": p["a"], "b": p["b"]}, labels=p["labels"], label_column="cls")
    return pipeline.train_and_bundle(ds, _spec(umap), tmp_path / "run")


def test_auto_skips_below_the_threshold_and_embeds_from_it() -> None:
    assert not umap_wanted("auto", UMAP_AUTO_MIN_SAMPLES - 1)
    assert umap_wanted("auto", UMAP_AUTO_MIN_SAMPLES)
    assert umap_wanted("on", 5) and not umap_wanted("off", 10**6)


def test_bad_umap_value_names_the_option() -> None:
    with pytest.raises(MmcorrError, match=r"'umap' parameter must be one of 'auto', 'on', 'off'\. Got 'yes'"):
        build_job_spec("files", umap="yes")


def test_cli_flag_reaches_the_spec() -> None:
    args = build_parser().parse_args(["train", "--dataset", "x", "--out", "r", "--umap", "off"])
    assert job_spec_from_args(args, "x", "r").analysis.umap == "off"
    default = build_parser().parse_args(["train", "--dataset", "x", "--out", "r"])
    assert job_spec_from_args(default, "x", "r").analysis.umap == "auto"


def test_tiny_run_skips_umap_with_a_note_and_the_report_says_why(
    tmp_path: Path, paired_files: Callable[..., dict[str, Path]]
) -> None:
    run = _run(tmp_path, paired_files, n=30, umap="auto")
    assert not (run / BundleFile.UMAP.value).exists()
    note = B.read_metrics(run).run.notes["umap"]
    assert "UMAP skipped: 30 samples" in note and "--umap on" in note
    page = build_report(run)
    assert "UMAP skipped: 30 samples" in page
    assert (run / BundleFile.REPORT.value).is_file()


def test_umap_on_embeds_tiny_data_and_off_skips_large(
    tmp_path: Path, paired_files: Callable[..., dict[str, Path]]
) -> None:
    on = _run(tmp_path / "on", paired_files, n=30, umap="on")
    assert len(B.read_umap(on)) == 2 * 30 and "umap" not in B.read_metrics(on).run.notes
    off = _run(tmp_path / "off", paired_files, n=90, umap="off")
    assert not (off / BundleFile.UMAP.value).exists()
    assert B.read_metrics(off).run.notes["umap"] == "UMAP skipped: the run was trained with umap=off."


def test_old_specs_without_the_option_load_as_auto() -> None:
    spec = JobSpec.from_json(_spec("on").to_json().replace('"umap": "on", ', ""))
    assert '"umap"' not in _spec("on").to_json().replace('"umap": "on", ', "")
    assert spec.analysis.umap == "auto"
