"""Issue 16 end to end on tiny data: a real run records the three canonical sums, the protocol of
its alignment and the prediction baseline, and ``mmcorr train`` prints them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mmcorr.cli import main
from mmcorr.runs import Direction, Pair, SummaryMetric, fit_gap, read_metrics
from mmcorr.runs.files import BundleFile

torch = pytest.importorskip("torch")

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "bundle_v1"


def _train(files: dict[str, Path], out: Path) -> int:
    torch.set_num_threads(1)
    return main(
        [
            "train",
            "--modality",
            f"a={files['a']}",
            "--modality",
            f"b={files['b']}",
            "--model",
            "cca",
            "--latent-dim",
            "2",
            "--permutations",
            "10",
            "--device",
            "cpu",
            "--out",
            str(out),
        ]
    )


def test_a_run_records_train_validation_and_held_out_sums_and_the_r2_baseline(
    tmp_path: Path, paired_files: Callable[..., dict[str, Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _train(paired_files(tmp_path / "data"), tmp_path / "run") == 0
    out = capsys.readouterr().out
    m = read_metrics(tmp_path / "run")
    cc = m.results.canonical[Pair("a", "b")]
    assert cc.ordered_by == "validation" and cc.fit_on in ("train", "validation")
    assert cc.train_total is not None and cc.val_total is not None
    assert cc.cc1 is not None and cc.cc1 > max(cc.correlations) - 0.05  # the best, up to noise
    s = m.results.summary
    assert s.canonical_train_total == pytest.approx(cc.train_total)
    assert s.canonical_val_total == pytest.approx(cc.val_total)
    base = m.results.prediction_baseline_r2
    assert set(base) == {Direction("a", "b"), Direction("b", "a")}
    assert all(v is not None and -0.3 < v <= 0.0 for v in base.values())  # the mean scores about 0
    r2 = [v for v in m.results.prediction_r2.values() if v is not None]
    assert s.prediction_r2_best == pytest.approx(max(r2)) and s.prediction_r2 is None
    gap = fit_gap(m)
    assert gap is not None and not gap.flagged  # linear CCA on a shared signal does not memorise
    # the CLI summary: labels, not keys, and the three sums side by side
    assert SummaryMetric.PREDICTION_R2_BEST.label in out and SummaryMetric.RECALL_1.label in out
    assert f"canonical correlation sum (of 2): training {gap.train:.2f}" in out
    assert f"held-out {gap.held_out:.2f}" in out
    report = (tmp_path / "run" / BundleFile.REPORT.value).read_text(encoding="utf-8")
    assert gap.summary() in report and "prediction R², training mean" in report


def test_a_legacy_run_opens_without_the_new_figures() -> None:
    m = read_metrics(LEGACY)
    cc = next(iter(m.results.canonical.values()))
    assert cc.train_correlations is None and cc.fit_on is None and cc.ordered_by is None
    assert m.results.prediction_baseline_r2 == {}
    assert m.results.summary.prediction_r2 is not None  # its averaged R^2, under its own label
    assert fit_gap(m) is None
