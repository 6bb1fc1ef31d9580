"""``mmcorr data ...`` through cli.main, and once through a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mmcorr.cli import main
from mmcorr.data import DatasetRegistry, load_paired

ROOT = Path(__file__).resolve().parents[2]


def test_inspect_prints_report(pair_files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "inspect", str(pair_files["rna"]), f"protein={pair_files['prot']}"]) == 0
    out = capsys.readouterr().out
    assert "Paired 2 modalities by sample id (inner join)." in out
    assert "protein: 22 samples x 3 features from prot.csv" in out
    assert "present in every modality: 20" in out


def test_inspect_json_outer(pair_files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "inspect", *map(str, pair_files.values()), "--how", "outer", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_samples"] == 27 and report["how"] == "outer"


def test_inspect_bad_file_exits_1_with_message(
    write_csv: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,a\ns1,1\ns2,zz\ns3,3\n")
    good = tmp_path / "good.csv"
    good.write_text("id,b\ns1,1\ns2,2\ns3,3\n")
    assert main(["data", "inspect", str(bad), str(good)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mmcorr: error: bad.csv: column 'a' row 2 holds 'zz'") and "Traceback" not in err


def test_demo_writes_csvs_that_load_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "demo", "synthetic", "--out", str(tmp_path), "--n-samples", "60"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv", "c.csv", "labels.csv"]
    files = {n: tmp_path / f"{n}.csv" for n in "abc"}
    ds, report = load_paired(files, labels=tmp_path / "labels.csv")
    assert ds.n_samples == 60 and report.by == "id" and ds.label_column == "group"


def test_save_list_delete(
    pair_files: dict[str, Path], mmcorr_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "save", *map(str, pair_files.values()), "--name", "cite"]) == 0
    dataset_id = capsys.readouterr().out.strip().splitlines()[-1]
    assert DatasetRegistry().info(dataset_id).name == "cite"
    assert main(["data", "list"]) == 0
    assert dataset_id in capsys.readouterr().out
    assert main(["data", "demo", "synthetic", "--register"]) == 0
    demo_id = capsys.readouterr().out.strip()
    assert main(["data", "list", "--json"]) == 0
    assert {d["id"] for d in json.loads(capsys.readouterr().out)} == {dataset_id, demo_id}
    assert main(["data", "delete", dataset_id]) == 0
    assert [d.id for d in DatasetRegistry().list()] == [demo_id]


def test_labels_with_column(
    pair_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "lab.csv"
    labels.write_text("id,kind,batch\n" + "".join(f"c{i},{'TB'[i % 2]},{i % 3}\n" for i in range(25)))
    assert main(["data", "inspect", *map(str, pair_files.values()), "--labels", f"{labels}:kind"]) == 0
    assert "Labels: column 'kind', 2 classes" in capsys.readouterr().out


def test_demo_without_destination(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "demo", "synthetic"]) == 1
    assert "Give --out DIR" in capsys.readouterr().err


def test_duplicate_modality_names_on_command_line(
    pair_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "inspect", f"x={pair_files['rna']}", f"x={pair_files['prot']}"]) == 1
    assert "Two files give the modality name 'x'" in capsys.readouterr().err


def test_real_subprocess_inspect(pair_files: dict[str, Path], tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    ok = subprocess.run(
        [sys.executable, "-m", "mmcorr", "data", "inspect", *map(str, pair_files.values())],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert ok.returncode == 0 and "present in every modality: 20" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "mmcorr", "data", "inspect", str(pair_files["rna"]), str(missing)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert (
        bad.returncode == 1
        and "mmcorr: error: " in bad.stderr
        and "missing.csv: file not found" in bad.stderr
    )
    assert "Traceback" not in bad.stderr
