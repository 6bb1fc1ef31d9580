"""The command line on raw modalities: ``mmcorr data demo digits-media --out DIR`` writes the raw
files and prints the train command, which trains; ``mmcorr encode`` then reads the image zip; the
FILE arguments of ``mmcorr data`` name zips, folders and ``TABLE:COLUMN`` text columns."""

from __future__ import annotations

import shlex
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mmcorr._cli.data import files_from_args
from mmcorr.cli import main
from mmcorr.data import DatasetRegistry

N = 60


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("digits media")  # a space in the path: the printed command quotes it
    assert main(["data", "demo", "digits-media", "--out", str(out), "--n-samples", str(N)]) == 0
    return out


def test_demo_writes_the_raw_files_and_prints_the_train_command(
    tmp_path: Path, mmcorr_home: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo dir"
    assert main(["data", "demo", "digits-media", "--out", str(out), "--n-samples", "20"]) == 0
    captured = capfd.readouterr()
    names = ["images.zip", "captions.csv", "clips.zip", "labels.csv"]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    assert captured.out.splitlines() == [str(out / n) for n in names]  # stdout: one path a line
    command = shlex.split(captured.err.strip().splitlines()[-1])
    assert command[:2] == ["mmcorr", "train"]
    assert [command[i + 1] for i, a in enumerate(command) if a == "--modality"] == [
        f"image={out / 'images.zip'}",
        f"text={out / 'captions.csv'}:caption",
        f"audio={out / 'clips.zip'}",
    ]
    assert command[command.index("--labels") + 1] == f"{out / 'labels.csv'}:digit"
    assert command[-4:] == ["--model", "dccae", "--out", "RUN"]


def test_the_printed_command_trains_and_encode_reads_the_image_zip(
    demo_dir: Path, tmp_path: Path, mmcorr_home: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run, out = tmp_path / "run", tmp_path / "enc"
    args = [
        "train",
        "--modality",
        f"image={demo_dir / 'images.zip'}",
        "--modality",
        f"text={demo_dir / 'captions.csv'}:caption",
        "--modality",
        f"audio={demo_dir / 'clips.zip'}",
        "--labels",
        f"{demo_dir / 'labels.csv'}:digit",
        "--model",
        "dccae",
        "--out",
        str(run),
        "--epochs",
        "1",
        "--permutations",
        "0",
    ]
    assert main(args) == 0, capfd.readouterr().err
    capfd.readouterr()
    encode = [
        "encode",
        "--run",
        str(run),
        "--modality",
        f"image={demo_dir / 'images.zip'}",
        "--out",
        str(out),
    ]
    assert main(encode) == 0, capfd.readouterr().err
    with zipfile.ZipFile(demo_dir / "images.zip") as zf:
        stems = sorted(Path(n).stem for n in zf.namelist())
    assert (out / "image_ids.txt").read_text().splitlines() == stems
    z = np.load(out / "image.npy")
    assert z.shape[0] == len(stems) == N and np.isfinite(z).all()


def test_files_from_args_names_zips_folders_and_text_columns(demo_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    captions = demo_dir / "captions.csv"
    files = files_from_args(
        [
            f"image={demo_dir / 'images.zip'}",
            str(demo_dir / "clips.zip"),
            f"{captions}:caption",
            str(folder),
            f"words={captions}:caption",
        ]
    )
    assert files == {
        "image": str(demo_dir / "images.zip"),
        "clips": str(demo_dir / "clips.zip"),
        "caption": f"{captions}:caption",
        "photos": str(folder),
        "words": f"{captions}:caption",
    }


def test_data_save_pairs_a_zip_and_a_text_column(
    demo_dir: Path, mmcorr_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [f"image={demo_dir / 'images.zip'}", f"{demo_dir / 'captions.csv'}:caption"]
    assert main(["data", "save", *files, "--labels", f"{demo_dir / 'labels.csv'}:digit", "--name", "dm"]) == 0
    dataset_id = capsys.readouterr().out.strip().splitlines()[-1]
    reg = DatasetRegistry()
    assert reg.info(dataset_id).modalities == {"image": 1024, "caption": 2048}
    assert {m: s.kind for m, s in reg.media(dataset_id).items()} == {"image": "image", "caption": "text"}


def test_a_missing_text_column_is_one_error_line(demo_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    captions = demo_dir / "captions.csv"
    assert main(["data", "inspect", str(demo_dir / "images.zip"), f"{captions}:title"]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("mmcorr: error: captions.csv: there is no text column 'title'")
        and "Traceback" not in err
    )
