"""`mmcorr train --label-column COLUMN`: an AnnData / MuData obs column as the labels on the command
line (the API's label_column= and the Data page could; the CLI could not), and one test per bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from scverse_data import cite  # type: ignore[import-not-found]

from mmcorr.cli import main
from mmcorr.runs import read_metrics


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("label_column")
    mdata = cite()
    mdata["rna"].write_h5ad(root / "rna.h5ad")
    mdata["prot"].write_h5ad(root / "prot.h5ad")
    return root


def _train(root: Path, out: Path, *extra: str) -> int:
    args = ["train", "--modality", f"rna={root / 'rna.h5ad'}", "--modality", f"prot={root / 'prot.h5ad'}"]
    args += ["--model", "cca", "--latent-dim", "2", "--permutations", "0", "--out", str(out), *extra]
    return main(args)


def test_label_column_makes_an_obs_column_the_labels(data: Path, tmp_path: Path) -> None:
    from mmcorr.estimator import CorrelationModel

    out = tmp_path / "run"
    assert _train(data, out, "--label-column", "celltype") == 0
    with_labels = read_metrics(out).results.summary.to_json()
    # The label analyses ran on the celltype column: the figures that need labels are there.
    assert with_labels["linear_probe_accuracy"] is not None and with_labels["class_precision@1"] is not None
    without = tmp_path / "plain"
    assert _train(data, without) == 0
    plain = read_metrics(without).results.summary.to_json()
    assert plain.get("linear_probe_accuracy") is None and plain.get("class_precision@1") is None
    assert CorrelationModel.load(out).names_ == ["rna", "prot"]


def test_label_column_absent_names_the_files_and_lists_the_columns(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _train(data, tmp_path / "never", "--label-column", "cell_type") == 1
    err = capsys.readouterr().err
    assert "--label-column 'cell_type' is not an obs column of prot.h5ad, rna.h5ad; the obs columns: " in err
    assert "'celltype'" in err
    assert not (tmp_path / "never").exists()


def test_label_column_with_a_labels_table(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "labels.csv"
    pd.DataFrame({"id": ["cell0"], "kind": ["T"]}).to_csv(table, index=False)
    args = ("--label-column", "celltype", "--labels", f"{table}:kind")
    assert _train(data, tmp_path / "never", *args) == 1
    assert "Give either --labels PATH:COL or --label-column COLUMN, not both." in capsys.readouterr().err


def test_label_column_on_csv_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("a", "b"):
        pd.DataFrame({"id": [f"s{i}" for i in range(30)], "x": range(30), "y": range(30, 0, -1)}).to_csv(
            tmp_path / f"{name}.csv", index=False
        )
    args = ["train", "--modality", f"a={tmp_path / 'a.csv'}", "--modality", f"b={tmp_path / 'b.csv'}"]
    args += ["--label-column", "kind", "--out", str(tmp_path / "never")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "--label-column names an obs column of .h5ad / .h5mu data; the --modality files" in err
    assert "(use --labels PATH:COL for a label table). Got 'kind'." in err


def test_label_column_with_a_registered_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["train", "--dataset", "any", "--label-column", "celltype", "--out", str(tmp_path / "never")]
    assert main(args) == 1
    assert "--label-column goes with --modality files;" in capsys.readouterr().err


def test_evaluate_takes_the_labels_from_an_obs_column(data: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert _train(data, run) == 0
    files = ["--modality", f"rna={data / 'rna.h5ad'}", "--modality", f"prot={data / 'prot.h5ad'}"]
    out = tmp_path / "eval.json"
    args = ["evaluate", "--run", str(run), *files, "--label-column", "celltype", "--permutations", "0"]
    assert main([*args, "--out", str(out)]) == 0
    # Class precision needs labels: with the obs column given, evaluate computed it.
    assert _summary(out)["class_precision@1"] is not None
    plain = tmp_path / "plain.json"
    assert main([*args[:-4], "--permutations", "0", "--out", str(plain)]) == 0
    assert _summary(plain)["class_precision@1"] is None


def _summary(path: Path) -> dict[str, object]:
    """The summary figures of an evaluation file, wherever they sit in it."""
    import json

    found: list[dict[str, object]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "class_precision@1" in node:
                found.append(node)
            for value in node.values():
                walk(value)

    walk(json.loads(path.read_text()))
    assert found, path.read_text()[:500]
    return found[0]
