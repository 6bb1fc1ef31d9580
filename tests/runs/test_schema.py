"""The typed result schema: round trips, and loud errors that name the file and the key."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from mmcorr._validation import MmcorrError
from mmcorr.runs import (
    BUNDLE_FORMAT,
    CanonicalCorrelations,
    Direction,
    EpochRecord,
    Evaluation,
    HeldOutResults,
    Pair,
    Retrieval,
    RetrievalMetric,
    RunMetrics,
    RunSummary,
    SummaryMetric,
    TrainingHistory,
    read_metrics,
)

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "bundle_v1"


def _raw() -> dict:  # type: ignore[type-arg]
    return json.loads((LEGACY / "metrics.json").read_text(encoding="utf-8"))


def test_pair_and_direction_keys() -> None:
    assert Pair("a", "b").key == "a|b" and Pair.parse("rna|protein") == Pair("rna", "protein")
    assert Direction("a", "b").key == "a->b" and Direction.parse("x->y") == Direction("x", "y")
    with pytest.raises(MmcorrError, match=r"'a-b' is not a modality pair"):
        Pair.parse("a-b")
    with pytest.raises(MmcorrError, match=r"'a\|b' is not a direction"):
        Direction.parse("a|b")


def test_canonical_optional_parts_are_left_out_when_absent() -> None:
    cc = CanonicalCorrelations(correlations=(0.5,), total=0.5, p_values=(0.2,), n_test=10, permutations=0)
    out = cc.to_json()
    assert set(out) == {"correlations", "total", "p_values", "n_test", "permutations"}
    assert cc.null_band is None and CanonicalCorrelations.from_json(out, "x") == cc


def test_retrieval_keys_are_the_analysis_keys() -> None:
    r = Retrieval(recall_at_1=0.1, recall_at_5=0.2, recall_at_10=0.3, mrr=0.4, median_rank=5.0, foscttm=0.2)
    assert set(r.to_json()) == {m.value for m in RetrievalMetric} - {RetrievalMetric.CLASS_PRECISION_1}
    assert r.get(RetrievalMetric.MRR) == 0.4 and Retrieval.from_json(r.to_json(), "x") == r


def test_summary_directions_and_unknown_keys() -> None:
    assert not SummaryMetric.FOSCTTM.higher_is_better and SummaryMetric.RECALL_1.higher_is_better
    s = RunSummary.from_values({SummaryMetric.RECALL_1: 0.5, SummaryMetric.MRR: None})
    assert s.recall_at_1 == 0.5 and s.present() == {SummaryMetric.RECALL_1: 0.5}
    with pytest.raises(MmcorrError, match=r"summary.*unknown summary metric\(s\) \['cc_total'\]"):
        RunSummary.from_json({"cc_total": 1.0}, "run/metrics.json: summary")


def test_nan_is_written_as_null_and_read_back_as_missing() -> None:
    held = HeldOutResults(prediction_r2={Direction("a", "b"): float("nan")})
    assert math.isnan(held.to_json()["prediction_r2"]["a->b"])
    ev = Evaluation(run="r", n_samples=3, modalities=("a", "b"), results=held)
    text = ev.to_text()  # strict JSON: NaN became null
    assert json.loads(text)["prediction_r2"]["a->b"] is None
    assert Evaluation.from_json(text).results.prediction_r2[Direction("a", "b")] is None


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.pop("summary"), r"metrics\.json is malformed: 'summary' must be present"),
        (lambda m: m["run"].pop("n_test"), r"metrics\.json: run is malformed: 'n_test' must be present"),
        (
            lambda m: m["canonical"]["a|b"].update(total="high"),
            r"metrics\.json: canonical\.a\|b is malformed: 'total' must be a number\. Got 'high'",
        ),
        (
            lambda m: m["retrieval"]["a->b"].pop("mrr"),
            r"metrics\.json: retrieval\.a->b is malformed: 'mrr' must be present",
        ),
        (lambda m: m.update(modalities="ab"), r"'modalities' must be a list of names"),
        (lambda m: m["canonical"].update({"ab": {}}), r"'ab' is not a modality pair"),
    ],
)
def test_malformed_metrics_fail_naming_file_and_key(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    run = tmp_path / "run"
    shutil.copytree(LEGACY, run)
    m = _raw()
    edit(m)
    (run / "metrics.json").write_text(json.dumps(m))
    with pytest.raises(MmcorrError, match=message):
        read_metrics(run)


def test_a_newer_bundle_format_is_refused_with_what_to_do() -> None:
    m = _raw()
    m["bundle_format"] = BUNDLE_FORMAT + 1
    with pytest.raises(
        MmcorrError, match=rf"bundle format {BUNDLE_FORMAT + 1}; this mmcorr reads formats 1 to"
    ):
        RunMetrics.from_json(m)


def test_history_round_trip_and_bad_record() -> None:
    rec = EpochRecord(epoch=1, epochs=2, train={"total": 1.0}, val={}, val_corr=None, seconds=0.5)
    hist = TrainingHistory((rec,))
    assert TrainingHistory.from_jsonl(hist.to_jsonl()) == hist
    assert math.isnan(hist.to_frame()["val_corr"].iloc[0])
    with pytest.raises(
        MmcorrError, match=r"history\.jsonl line 1 is malformed: 'train' must be a JSON object"
    ):
        TrainingHistory.from_jsonl('{"epoch": 1, "epochs": 1, "train": 3, "val": {}, "seconds": 1}\n')
    with pytest.raises(MmcorrError, match=r"'loss' must be a number"):
        TrainingHistory.from_records([{**rec.to_json(), "train": {"loss": "x"}}])
