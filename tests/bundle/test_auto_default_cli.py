"""``mmcorr train`` / ``mmcorr jobs submit`` without --model run ``model="auto"``; the run names the
family chosen and keeps the candidate table, which the report shows (issue 15 goal 5)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mmcorr._cli.options import job_spec_from_args
from mmcorr.cli import build_parser, main
from mmcorr.config import AUTO
from mmcorr.estimator._auto import AUTO_CANDIDATES
from mmcorr.runs import BundleFile, read_metrics
from mmcorr.runs.choice import CHOICE_COLUMNS, model_choice
from mmcorr.runs.report import build_report

FAST = ["--latent-dim", "2", "--epochs", "2", "--hidden", "16", "--permutations", "0", "--umap", "off"]


@pytest.mark.parametrize("command", [["train", "--out", "r"], ["jobs", "submit"]])
def test_no_model_flag_means_auto_and_the_budget_flag_reaches_the_spec(command: list[str]) -> None:
    args = build_parser().parse_args([*command, "--dataset", "x"])
    assert job_spec_from_args(args, "x", "r").model.model == AUTO
    args = build_parser().parse_args([*command, "--dataset", "x", "--auto-budget-s", "30"])
    assert job_spec_from_args(args, "x", "r").train.auto_budget_s == 30.0


def test_train_without_model_runs_auto_and_the_run_names_the_choice(
    tmp_path: Path, paired_files: Callable[..., dict[str, Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    files = paired_files(tmp_path / "data")
    out = tmp_path / "run"
    modalities = ["--modality", f"a={files['a']}", "--modality", f"b={files['b']}"]
    assert main(["train", *modalities, *FAST, "--out", str(out)]) == 0
    run = read_metrics(out).run
    printed = capsys.readouterr().out  # the summary names the choice and every candidate's score
    assert f"model: auto chose {run.model} (validation canonical correlation sum: cca " in printed
    assert run.model in AUTO_CANDIDATES  # the family chosen, not "auto"
    assert run.notes["model"].startswith(f"chose {run.model} by the validation canonical correlation sum")
    rows = model_choice(run)
    family, score, chosen = CHOICE_COLUMNS["model"], CHOICE_COLUMNS["val_corr_sum"], CHOICE_COLUMNS["chosen"]
    assert [r[family] for r in rows] == list(AUTO_CANDIDATES)
    assert all(r[score] is not None for r in rows)  # the default budget holds every family here
    assert [r[family] for r in rows if r[chosen]] == [run.model]
    page = build_report(out)
    assert "<h2>Model choice</h2>" in page and f"{run.model} (chosen by model=auto)" in page
    # metrics.json holds the table as data (run.model_choice), not only as the note's text ...
    raw = json.loads((out / BundleFile.METRICS.value).read_text(encoding="utf-8"))["run"]["model_choice"]
    assert [r["model"] for r in raw] == list(AUTO_CANDIDATES) and sum(r["chosen"] for r in raw) == 1
    assert all(isinstance(r["val_corr_sum"], float) and r["note"] == "" for r in raw)
    # ... and a bundle written before that field still shows the table, read from the note.
    metrics = json.loads((out / BundleFile.METRICS.value).read_text(encoding="utf-8"))
    del metrics["run"]["model_choice"]
    (out / BundleFile.METRICS.value).write_text(json.dumps(metrics), encoding="utf-8")
    old = model_choice(read_metrics(out).run)
    assert [r[family] for r in old] == [r[family] for r in rows] and [r[chosen] for r in old] == [
        r[chosen] for r in rows
    ]
    assert [r[score] for r in old] == pytest.approx([r[score] for r in rows], abs=1e-3)  # 3 decimals


def test_a_malformed_choice_table_names_the_file_and_key(tmp_path: Path) -> None:
    from mmcorr._validation import MmcorrError
    from mmcorr.runs.summary import RunDetails

    run = {"name": "r", "dataset_id": "d", "model": "cca", "latent_dim": 2, "n_samples": 9, "n_train": 5,
           "n_val": 2, "n_test": 2, "train_seconds": 0.1, "epochs_run": 1, "seed": 0}  # fmt: skip
    row = {"model": "cca", "val_corr_sum": 1.0, "seconds": 0.1, "chosen": "yes", "note": ""}
    with pytest.raises(MmcorrError, match=r"metrics\.json \(model_choice\).*'chosen' must be true or false"):
        RunDetails.from_json({**run, "model_choice": [row]}, "metrics.json")
    with pytest.raises(MmcorrError, match="'model_choice' must be a list of JSON objects"):
        RunDetails.from_json({**run, "model_choice": "cca"}, "metrics.json")


def test_a_bad_budget_is_one_line_naming_the_parameter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], paired_files: Callable[..., dict[str, Path]]
) -> None:
    files = paired_files(tmp_path / "data")
    args = ["train", "--modality", f"a={files['a']}", "--modality", f"b={files['b']}"]
    assert main([*args, "--auto-budget-s", "-1", "--out", str(tmp_path / "never")]) != 0
    err = capsys.readouterr().err
    assert "auto_budget_s" in err and "-1" in err
    assert not (tmp_path / "never").exists()


def test_a_run_asked_for_by_name_has_no_choice_table(
    tmp_path: Path, paired_files: Callable[..., dict[str, Path]]
) -> None:
    files = paired_files(tmp_path / "data")
    out = tmp_path / "run"
    args = ["train", "--modality", f"a={files['a']}", "--modality", f"b={files['b']}", "--model", "cca"]
    assert main([*args, *FAST, "--out", str(out)]) == 0
    assert model_choice(read_metrics(out).run) == []
    assert "Model choice" not in build_report(out)


def test_train_json_carries_the_candidate_table(
    tmp_path: Path, paired_files: Callable[..., dict[str, Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    files = paired_files(tmp_path / "data")
    args = ["train", "--modality", f"a={files['a']}", "--modality", f"b={files['b']}", "--json"]
    assert main([*args, *FAST, "--out", str(tmp_path / "run")]) == 0
    result = json.loads(capsys.readouterr().out)
    rows = result["model_choice"]
    assert [r[CHOICE_COLUMNS["model"]] for r in rows] == list(AUTO_CANDIDATES)
    assert sum(r[CHOICE_COLUMNS["chosen"]] for r in rows) == 1
