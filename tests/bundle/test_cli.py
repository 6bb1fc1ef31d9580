"""`mmcorr train | encode | evaluate | predict | report` end to end on tiny csv files."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmcorr._cli.common import Progress
from mmcorr.cli import main
from mmcorr.runs import BundleFile, Evaluation, Pair
from mmcorr.runs import bundle as B

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, paired_files: Callable[..., dict[str, Path]]
) -> Iterator[tuple[Path, dict[str, Path]]]:
    """One cca run trained through the CLI, shared by the read-only commands below."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("cli")
    files = paired_files(root / "data")
    run = root / "run"
    rc = main(
        [
            "train",
            "--modality",
            f"a={files['a']}",
            "--modality",
            f"b={files['b']}",
            "--labels",
            f"{files['labels']}:cls",
            "--model",
            "cca",
            "--latent-dim",
            "2",
            "--permutations",
            "10",
            "--device",
            "cpu",
            "--out",
            str(run),
        ]
    )
    assert rc == 0
    yield run, files


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_train_writes_a_complete_bundle(trained: tuple[Path, dict[str, Path]]) -> None:
    run, _ = trained
    assert all((run / f.value).is_file() for f in BundleFile)
    m = B.read_metrics(run)
    assert m.run.sources["a"].endswith("a.csv") and m.run.label_column == "cls"
    assert m.results.linear_probe_accuracy is not None


def test_train_deep_model_two_epochs(tmp_path: Path, paired_files: Callable[..., dict[str, Path]]) -> None:
    torch.set_num_threads(1)
    files = paired_files(tmp_path / "data")
    rc = main(
        [
            "train",
            "--modality",
            f"a={files['a']}",
            "--modality",
            f"b={files['b']}",
            "--model",
            "corrae",
            "--latent-dim",
            "2",
            "--hidden",
            "16,8",
            "--epochs",
            "2",
            "--batch-size",
            "32",
            "--permutations",
            "5",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--seed",
            "7",
            # options `mmcorr train` gained from the shared surface (as `mmcorr jobs submit` has them)
            "--dropout",
            "0.1",
            "--weight-decay",
            "0",
            "--no-standardize",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    assert rc == 0
    assert len(B.read_history(tmp_path / "run")) == 2
    spec = B.read_spec(tmp_path / "run")
    assert spec.train.lr == 1e-3  # no --lr: corrae's tuned rate
    # one seed: the split, the weights and the analyses
    assert (spec.train.seed, spec.data.split_seed, spec.analysis.seed) == (7, 7, 7)
    assert spec.model.hidden == (16, 8) and spec.model.dropout == 0.1
    assert spec.train.weight_decay == 0.0 and spec.data.standardize is False


def test_encode_matches_the_bundle_latents(trained: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    run, files = trained
    out = tmp_path / "enc"
    assert (
        main(
            [
                "encode",
                "--run",
                str(run),
                "--modality",
                f"a={files['a']}",
                "--modality",
                f"b={files['b']}",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    za, zj = np.load(out / "a.npy", allow_pickle=False), np.load(out / "joint.npy", allow_pickle=False)
    assert za.shape == (90, 2) and zj.shape == (90, 2) and za.dtype == np.float32
    lat = B.read_latents(run).set_index("id")
    ids = pd.read_csv(files["a"])["id"].astype(str)
    assert np.allclose(za, lat.loc[ids, ["a_0", "a_1"]].to_numpy(), atol=1e-4)
    joint_ids = (out / "joint_ids.txt").read_text().split()
    assert np.allclose(zj, lat.loc[joint_ids, ["joint_0", "joint_1"]].to_numpy(), atol=1e-4)


def test_encode_one_modality_alone(trained: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    run, files = trained
    assert main(["encode", "--run", str(run), "--modality", f"b={files['b']}", "--out", str(tmp_path)]) == 0
    assert np.load(tmp_path / "b.npy").shape == (90, 2)
    assert np.allclose(np.load(tmp_path / "joint.npy"), np.load(tmp_path / "b.npy"), atol=1e-5)


def test_evaluate_prints_and_writes_metrics(
    trained: tuple[Path, dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    paired_files: Callable[..., dict[str, Path]],
) -> None:
    run, _ = trained
    new = paired_files(tmp_path / "new", seed=0)  # same generator: the relation must hold
    out = tmp_path / "eval.json"
    assert (
        main(
            [
                "evaluate",
                "--run",
                str(run),
                "--modality",
                f"a={new['a']}",
                "--modality",
                f"b={new['b']}",
                "--labels",
                f"{new['labels']}:cls",
                "--permutations",
                "10",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    m = json.loads(out.read_text())
    assert m["n_samples"] == 90 and m["canonical"]["a|b"]["correlations"][0] > 0.7
    assert set(m["retrieval"]) == {"a->b", "b->a"} and m["linear_probe_accuracy"] is not None
    ev = Evaluation.from_json(out.read_text(), str(out))  # the same file through the typed reader
    assert ev.n_samples == 90 and ev.results.canonical[Pair("a", "b")].correlations[0] > 0.7
    shown = capsys.readouterr().out  # the same labels as every page and the report
    assert "Recall@1 (mean of directions)" in shown and "recall@1 " not in shown


def test_predict_writes_target_table(trained: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    run, files = trained
    for ext in ("csv", "npy", "parquet"):
        out = tmp_path / f"pred.{ext}"
        assert (
            main(["predict", "--run", str(run), "--from", f"a={files['a']}", "--to", "b", "--out", str(out)])
            == 0
        )
    frame = pd.read_csv(tmp_path / "pred.csv")
    assert list(frame.columns) == ["id", "pb0", "pb1", "pb2", "pb3", "pb4"] and len(frame) == 90
    truth = pd.read_csv(files["b"]).drop(columns="id").to_numpy()
    pred = np.load(tmp_path / "pred.npy")
    assert np.allclose(pred, frame.drop(columns="id").to_numpy(), atol=1e-4)
    r2 = 1 - ((truth - pred) ** 2).sum() / ((truth - truth.mean(0)) ** 2).sum()
    assert r2 > 0.2  # b is predictable from a through the shared latent
    assert len(pd.read_parquet(tmp_path / "pred.parquet")) == 90


def test_report_command(trained: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    run, _ = trained
    assert main(["report", "--run", str(run), "--out", str(tmp_path / "r.html")]) == 0
    assert "Plotly.newPlot" in (tmp_path / "r.html").read_text()


def test_progress_bar_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    bar = Progress(stream, width=10)
    bar.on_epoch_end(
        {
            "epoch": 5,
            "epochs": 10,
            "train": {"total": 1.5},
            "val": {"corr": 0.1, "total": 2.0},
            "val_corr": 0.5,
            "seconds": 0.25,
        }
    )
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\r[#####.....] epoch 5/10") and "loss 2.0000" in text and "val_corr 0.500" in text
    assert text.endswith("\n")
    quiet = io.StringIO()  # --quiet (a stream that is not a terminal gets plain lines instead of a bar)
    Progress(quiet, enabled=False).on_epoch_end({"epoch": 1, "epochs": 2})
    assert quiet.getvalue() == ""


# -- bad input: one line, exit 1 (bad values / files) or 2 (usage), never a traceback ------------------


def test_train_without_out_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train", "--modality", "a=x.csv"])
    assert exc.value.code == 2 and "--out" in _err(capsys)


def test_malformed_modality_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train", "--modality", "a.csv", "--out", "o"])
    assert exc.value.code == 2 and "NAME=PATH" in _err(capsys)


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "train",
            "--modality",
            f"a={tmp_path / 'no.csv'}",
            "--modality",
            f"b={tmp_path / 'no2.csv'}",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    err = _err(capsys)
    assert rc == 1 and "no.csv" in err and len(err.strip().splitlines()) == 1


def test_bad_latent_dim(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], paired_files: Callable[..., dict[str, Path]]
) -> None:
    files = paired_files(tmp_path)
    rc = main(
        [
            "train",
            "--modality",
            f"a={files['a']}",
            "--modality",
            f"b={files['b']}",
            "--latent-dim",
            "0",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert rc == 1 and "'latent_dim' parameter must be an int in [1, 512]" in _err(capsys)


def test_no_data_given(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--out", str(tmp_path / "r")]) == 1
    assert "--modality NAME=PATH" in _err(capsys)


def test_duplicate_modality_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], paired_files: Callable[..., dict[str, Path]]
) -> None:
    files = paired_files(tmp_path)
    rc = main(
        [
            "train",
            "--modality",
            f"a={files['a']}",
            "--modality",
            f"a={files['b']}",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert rc == 1 and "given twice" in _err(capsys)


def test_bad_modality_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["train", "--modality", "1a=x.csv", "--modality", "b=y.csv", "--out", str(tmp_path / "r")])
    assert rc == 1 and "must start with a letter" in _err(capsys)


def test_out_exists(trained: tuple[Path, dict[str, Path]], capsys: pytest.CaptureFixture[str]) -> None:
    run, files = trained
    rc = main(
        [
            "train",
            "--modality",
            f"a={files['a']}",
            "--modality",
            f"b={files['b']}",
            "--model",
            "cca",
            "--out",
            str(run),
        ]
    )
    assert rc == 1 and "already exists" in _err(capsys)


def test_run_that_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["encode", "--run", str(tmp_path), "--modality", "a=x.csv", "--out", str(tmp_path / "o")])
    assert rc == 1 and "not a finished mmcorr run" in _err(capsys)


def test_encode_unknown_modality(
    trained: tuple[Path, dict[str, Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, files = trained
    rc = main(["encode", "--run", str(run), "--modality", f"c={files['a']}", "--out", str(tmp_path)])
    assert rc == 1 and "no ['c']" in _err(capsys)


def test_encode_wrong_feature_count(
    trained: tuple[Path, dict[str, Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, files = trained
    rc = main(["encode", "--run", str(run), "--modality", f"a={files['b']}", "--out", str(tmp_path)])
    assert rc == 1 and "5 features here but the run was trained on 6" in _err(capsys)


def test_predict_unknown_target(
    trained: tuple[Path, dict[str, Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, files = trained
    rc = main(
        [
            "predict",
            "--run",
            str(run),
            "--from",
            f"a={files['a']}",
            "--to",
            "zz",
            "--out",
            str(tmp_path / "p.csv"),
        ]
    )
    assert rc == 1 and "--to modality must be one of" in _err(capsys)


def test_predict_bad_extension(
    trained: tuple[Path, dict[str, Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, files = trained
    rc = main(
        [
            "predict",
            "--run",
            str(run),
            "--from",
            f"a={files['a']}",
            "--to",
            "b",
            "--out",
            str(tmp_path / "p.xlsx"),
        ]
    )
    assert rc == 1 and "must end in one of .npy" in _err(capsys)


def test_predict_same_modality(
    trained: tuple[Path, dict[str, Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, files = trained
    rc = main(
        [
            "predict",
            "--run",
            str(run),
            "--from",
            f"a={files['a']}",
            "--to",
            "a",
            "--out",
            str(tmp_path / "p.csv"),
        ]
    )
    assert rc == 1 and "must differ" in _err(capsys)


def test_report_of_missing_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--run", str(tmp_path / "nope")]) == 1
    assert "does not exist" in _err(capsys)


def test_real_process_exit_code_and_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mmcorr",
            "train",
            "--modality",
            f"a={tmp_path / 'x.csv'}",
            "--modality",
            f"b={tmp_path / 'y.csv'}",
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("mmcorr: error:") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_train_registered_dataset(
    mmcorr_home: Path, tmp_path: Path, paired_files: Callable[..., dict[str, Path]]
) -> None:
    from mmcorr.data import DatasetRegistry, load_paired

    files = paired_files(tmp_path)
    ds, _ = load_paired({"a": files["a"], "b": files["b"]})
    dataset_id = DatasetRegistry().save(ds, "tiny")
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--dataset",
                dataset_id,
                "--model",
                "cca",
                "--latent-dim",
                "2",
                "--permutations",
                "5",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert B.read_metrics(out).run.dataset_id == dataset_id


def test_train_unknown_dataset(mmcorr_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--dataset", "nope", "--model", "cca", "--out", str(tmp_path / "r")]) == 1
    assert "nope" in _err(capsys)


def test_train_dataset_and_files_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["train", "--dataset", "x", "--modality", "a=a.csv", "--out", str(tmp_path / "r")])
    assert rc == 1 and "not both" in _err(capsys)


def test_damaged_weights_file(
    trained: tuple[Path, dict[str, Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    run, files = trained
    broken = tmp_path / "broken"
    shutil.copytree(run, broken)
    (broken / "model.pt").write_bytes(b"not a torch file")
    rc = main(["encode", "--run", str(broken), "--modality", f"a={files['a']}", "--out", str(tmp_path / "o")])
    err = _err(capsys)
    assert rc == 1 and "cannot be read" in err and len(err.strip().splitlines()) == 1


def test_incompatible_bundle_version(
    trained: tuple[Path, dict[str, Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    run, files = trained
    old = tmp_path / "old"
    shutil.copytree(run, old)
    config = json.loads((old / "config.json").read_text())
    config["bundle_format"] = 999
    (old / "config.json").write_text(json.dumps(config))
    rc = main(
        [
            "predict",
            "--run",
            str(old),
            "--from",
            f"a={files['a']}",
            "--to",
            "b",
            "--out",
            str(tmp_path / "p.npy"),
        ]
    )
    err = _err(capsys)
    assert rc == 1 and "999" in err and "bundle format version 1" in err
