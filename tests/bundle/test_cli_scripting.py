"""A command line that scripts well: ``--json`` (one object on stdout, logs on stderr), ``--quiet``,
plain progress lines when stderr is not a terminal, help on every flag, ``--nan`` on ``train``."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmcorr._cli.common import Output, Progress
from mmcorr.cli import build_parser, main
from mmcorr.runs import read_metrics
from mmcorr.runs.steps import Steps

torch = pytest.importorskip("torch")

DEEP = ["--model", "dccae", "--latent-dim", "2", "--hidden", "8", "--epochs", "2", "--batch-size", "32"]
FAST = ["--permutations", "5", "--device", "cpu", "--threads", "1", "--max-umap-points", "100"]


@dataclass(frozen=True)
class Ran:
    rc: int
    out: str
    err: str


def _run(argv: list[str]) -> Ran:
    """``mmcorr ARGV`` in this process; stdout and stderr as a pipe would see them (not terminals)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    assert "Traceback" not in err.getvalue()
    return Ran(rc, out.getvalue(), err.getvalue())


def _modalities(files: dict[str, Path]) -> list[str]:
    return ["--modality", f"a={files['a']}", "--modality", f"b={files['b']}"]


@pytest.fixture(scope="module")
def json_run(
    tmp_path_factory: pytest.TempPathFactory, paired_files: Callable[..., dict[str, Path]]
) -> Iterator[tuple[Path, dict[str, Path], Ran]]:
    """A two-epoch dccae trained with --json, shared by the tests that read it."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("scripting")
    files = paired_files(root / "data")
    run = root / "run"
    ran = _run(["train", *_modalities(files), *DEEP, *FAST, "--out", str(run), "--json"])
    assert ran.rc == 0, ran.err
    yield run, files, ran


def test_train_json_is_one_object_on_stdout(json_run: tuple[Path, dict[str, Path], Ran]) -> None:
    run, _, ran = json_run
    payload = json.loads(ran.out)  # the whole of stdout is one JSON object
    assert set(payload) == {"run_dir", "summary", "metrics", "model_choice"}
    assert payload["model_choice"] == []  # a family asked for by name: no candidate table
    assert payload["run_dir"] == str(run)
    metrics = read_metrics(run)
    assert payload["summary"]["canonical_total"] == pytest.approx(metrics.results.summary.canonical_total)
    assert payload["metrics"]["run"]["epochs_run"] == 2
    # What a person reads went to stderr instead.
    assert f"Wrote run bundle {run}" in ran.err and "Wrote run bundle" not in ran.out


def test_train_progress_is_plain_lines_on_stderr_when_it_is_not_a_terminal(
    json_run: tuple[Path, dict[str, Path], Ran],
) -> None:
    _, _, ran = json_run
    lines = ran.err.splitlines()
    assert "\r" not in ran.err
    epochs = [line for line in lines if line.startswith("mmcorr: epoch ")]
    assert [line.split()[2] for line in epochs] == ["1/2", "2/2"]
    for line in epochs:
        assert "loss " in line and "val_corr " in line and " s/epoch" in line and "ETA " in line
    assert epochs[-1].endswith("ETA 0:00")
    # Then each analysis as it starts and ends, in order, after the last epoch.
    steps = [line for line in lines if line.endswith(": started") or ": done in " in line]
    started = [line.removeprefix("mmcorr: ").removesuffix(": started") for line in steps[::2]]
    assert started == [
        "encoding every sample",
        "analysis canonical correlations, retrieval and linear probe",
        "analysis cross-modal prediction",
        "analysis feature-by-feature correlations",
        "analysis UMAP",
        "analysis sample similarity",
        "writing the run bundle",
    ]
    assert all(": done in " in line and line.endswith(" s") for line in steps[1::2])
    assert lines.index(epochs[-1]) < lines.index(steps[0])


def test_train_quiet_prints_nothing(tmp_path: Path, paired_files: Callable[..., dict[str, Path]]) -> None:
    files = paired_files(tmp_path / "data")
    ran = _run(["train", *_modalities(files), *DEEP, *FAST, "--out", str(tmp_path / "run"), "--quiet"])
    assert ran.rc == 0
    assert (ran.out, ran.err) == ("", "")
    assert read_metrics(tmp_path / "run").run.epochs_run == 2


def test_encode_json(json_run: tuple[Path, dict[str, Path], Ran], tmp_path: Path) -> None:
    run, files, _ = json_run
    ran = _run(["encode", "--run", str(run), *_modalities(files), "--out", str(tmp_path / "z"), "--json"])
    assert ran.rc == 0
    payload = json.loads(ran.out)
    assert payload == {
        "run": str(run),
        "out": str(tmp_path / "z"),
        "write_back": None,
        "latents": {"a": [90, 2], "b": [90, 2], "joint": [90, 2]},
    }
    assert np.load(tmp_path / "z" / "joint.npy", allow_pickle=False).shape == (90, 2)
    assert "Wrote" in ran.err


def test_evaluate_json(json_run: tuple[Path, dict[str, Path], Ran], tmp_path: Path) -> None:
    run, files, _ = json_run
    out = tmp_path / "eval.json"
    ran = _run(
        [
            "evaluate",
            "--run",
            str(run),
            *_modalities(files),
            "--permutations",
            "5",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert ran.rc == 0
    payload = json.loads(ran.out)
    assert payload["out"] == str(out) and payload["n_samples"] == 90
    assert payload["evaluation"] == json.loads(out.read_text())
    assert payload["summary"]["canonical_total"] == payload["evaluation"]["summary"]["canonical_total"]


def test_evaluate_quiet(json_run: tuple[Path, dict[str, Path], Ran], tmp_path: Path) -> None:
    run, files, _ = json_run
    out = tmp_path / "eval.json"
    ran = _run(
        [
            "evaluate",
            "--run",
            str(run),
            *_modalities(files),
            "--permutations",
            "5",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert (ran.rc, ran.out, ran.err) == (0, "", "")
    assert out.is_file()


def test_a_failing_json_command_leaves_stdout_empty(tmp_path: Path) -> None:
    ran = _run(["encode", "--run", str(tmp_path / "nope"), "--modality", "a=x.csv", "--out", "z", "--json"])
    assert ran.rc == 1 and ran.out == ""
    assert ran.err.startswith("mmcorr: error: ") and len(ran.err.strip().splitlines()) == 1


def _nan_files(folder: Path, paired_files: Callable[..., dict[str, Path]]) -> dict[str, Path]:
    files = paired_files(folder)
    frame = pd.read_csv(files["a"])
    frame.loc[3, "ga1"] = np.nan
    frame.to_csv(files["a"], index=False)
    return files


def test_train_refuses_missing_values_by_default(
    tmp_path: Path, paired_files: Callable[..., dict[str, Path]]
) -> None:
    files = _nan_files(tmp_path / "data", paired_files)
    argv = ["train", *_modalities(files), "--model", "cca", "--latent-dim", "2", *FAST]
    ran = _run([*argv, "--out", str(tmp_path / "run")])
    assert ran.rc == 1
    assert "a.csv" in ran.err and "--nan impute" in ran.err


def test_train_nan_impute(tmp_path: Path, paired_files: Callable[..., dict[str, Path]]) -> None:
    files = _nan_files(tmp_path / "data", paired_files)
    argv = ["train", *_modalities(files), "--model", "cca", "--latent-dim", "2", *FAST, "--nan", "impute"]
    ran = _run([*argv, "--out", str(tmp_path / "run"), "--quiet"])
    assert ran.rc == 0 and read_metrics(tmp_path / "run").run.n_samples == 90


def test_train_nan_takes_only_the_two_policies(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train", "--modality", "a=a.csv", "--nan", "drop", "--out", "r"])
    assert exc.value.code == 2
    assert "argument --nan: invalid choice: 'drop'" in capsys.readouterr().err


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                assert helps.get(name), f"{' '.join((*path, name))} has no help"
                yield from _walk(sub, (*path, name))
        else:
            yield " ".join(path), action


def test_every_flag_of_every_command_has_help() -> None:
    seen = list(_walk(build_parser(), ("mmcorr",)))
    missing = [f"{cmd} {a.option_strings or a.dest}" for cmd, a in seen if not a.help]
    assert missing == []
    # The walk reached the nested commands and the generated option flags.
    commands = {cmd for cmd, _ in seen}
    assert {"mmcorr train", "mmcorr jobs submit", "mmcorr data demo", "mmcorr dashboard"} <= commands
    flags = {s for cmd, a in seen if cmd == "mmcorr train" for s in a.option_strings}
    assert {"--model", "--latent-dim", "--epochs", "--batch-size", "--seed", "--device"} <= flags
    assert {"--log1p", "--pca-dim", "--nan", "--json", "--quiet"} <= flags


# -- the parts, on their own -----------------------------------------------------------------------


def _record(epoch: int, epochs: int = 4, seconds: float = 2.0) -> dict[str, object]:
    return {
        "epoch": epoch,
        "epochs": epochs,
        "train": {"total": 1.5},
        "val": {"total": 2.0},
        "val_corr": 0.5,
        "seconds": seconds,
    }


def test_plain_progress_lines_with_an_eta() -> None:
    stream = io.StringIO()
    progress = Progress(stream)
    for epoch in (1, 2):
        progress.on_epoch_end(_record(epoch, seconds=2.0 * epoch))
    progress.note("analysis UMAP: started")
    progress.close()
    assert stream.getvalue().splitlines() == [
        "mmcorr: epoch 1/4  loss 2.0000  val_corr 0.500  2.00 s/epoch  ETA 0:06",
        "mmcorr: epoch 2/4  loss 2.0000  val_corr 0.500  4.00 s/epoch  ETA 0:06",  # mean 3 s x 2 left
        "mmcorr: analysis UMAP: started",
    ]


def test_terminal_bar_ends_its_line_before_a_note() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    progress = Progress(stream, width=4)
    progress.on_epoch_end(_record(2, seconds=90.0))
    progress.note("analysis UMAP: started")
    text = stream.getvalue()
    assert text.startswith("\r[##..] epoch 2/4  loss 2.0000") and "ETA 3:00 \nmmcorr: analysis UMAP" in text


def test_disabled_progress_prints_nothing() -> None:
    stream = io.StringIO()
    progress = Progress(stream, enabled=False)
    progress.on_epoch_end(_record(1))
    progress.note("analysis UMAP: started")
    progress.close()
    assert stream.getvalue() == ""


def test_json_output_is_strict_json() -> None:
    out = io.StringIO()
    Output(as_json=True, stdout=out).result({"x": float("nan"), "y": np.float32(1.5), "z": [np.inf, 1]})
    assert out.getvalue() == '{"x": null, "y": 1.5, "z": [null, 1]}\n'
    quiet = io.StringIO()
    Output(as_json=False, stdout=quiet).result({"x": 1})
    assert quiet.getvalue() == ""


def test_under_json_stray_prints_go_to_stderr() -> None:
    out, err = io.StringIO(), io.StringIO()
    output = Output(as_json=True, stdout=out, stderr=err)
    with contextlib.redirect_stdout(out), output.stray_prints_to_stderr():
        print("a human line")
        output.result({"ok": True})
    assert (out.getvalue(), err.getvalue()) == ('{"ok": true}\n', "a human line\n")


def test_steps_tell_each_start_and_end() -> None:
    ticks = iter([10.0, 10.5, 10.5, 12.75])
    lines: list[str] = []
    steps = Steps(lines.append, clock=lambda: next(ticks))
    steps.start("analysis UMAP")
    steps.start("writing the run bundle")  # ends the step before
    steps.end()
    steps.end()  # nothing running: nothing to tell
    assert lines == [
        "analysis UMAP: started",
        "analysis UMAP: done in 0.5 s",
        "writing the run bundle: started",
        "writing the run bundle: done in 2.2 s",
    ]
    Steps(None).start("nothing listens")  # no listener: no error
