"""`mmcorr encode --write-back DATA.h5ad`: a one-modality AnnData gets its modality's latent in
``obsm["X_mmcorr"]``, written atomically (it was refused: only .h5mu files were accepted)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from scverse_data import N_CELLS, N_PROT, anndata, cite  # type: ignore[import-not-found]

from mmcorr.cli import main
from mmcorr.data import OBSM_KEY


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(data folder with rna.h5ad and prot.h5ad; a cca run trained on them)."""
    root = tmp_path_factory.mktemp("h5ad_write_back")
    mdata = cite()
    mdata["rna"].write_h5ad(root / "rna.h5ad")
    mdata["prot"].write_h5ad(root / "prot.h5ad")
    args = ["train", "--modality", f"rna={root / 'rna.h5ad'}", "--modality", f"prot={root / 'prot.h5ad'}"]
    args += ["--layer", "rna=counts", "--model", "cca", "--latent-dim", "2"]
    args += ["--permutations", "0", "--out", str(root / "run")]
    assert main(args) == 0
    return root, root / "run"


def _encode(run_dir: Path, files: dict[str, Path], *extra: str) -> int:
    args = ["encode", "--run", str(run_dir), "--layer", "rna=counts", *extra]
    for name, path in files.items():
        args += ["--modality", f"{name}={path}"]
    return main(args)


def test_write_back_puts_the_files_modality_latent_in_obsm(run: tuple[Path, Path], tmp_path: Path) -> None:
    root, run_dir = run
    rna, prot = tmp_path / "rna.h5ad", tmp_path / "prot.h5ad"
    shutil.copy(root / "rna.h5ad", rna)
    shutil.copy(root / "prot.h5ad", prot)
    assert _encode(run_dir, {"rna": rna, "prot": prot}, "--write-back", str(prot)) == 0
    assert _encode(run_dir, {"rna": rna, "prot": prot}, "--out", str(tmp_path / "enc")) == 0
    back = anndata.read_h5ad(prot)
    expected = np.load(tmp_path / "enc" / "prot.npy")  # rows in the file's order
    assert back.obsm[OBSM_KEY].shape == (N_PROT, 2)
    np.testing.assert_allclose(back.obsm[OBSM_KEY], expected, rtol=1e-5, atol=1e-6)
    assert list(back.obs_names) == list(cite()["prot"].obs_names)
    assert OBSM_KEY not in anndata.read_h5ad(rna).obsm  # only the file named was changed
    assert sorted(p.name for p in tmp_path.iterdir() if "tmp" in p.name) == []


def test_write_back_of_one_encoded_modality_keeps_its_layers(run: tuple[Path, Path], tmp_path: Path) -> None:
    root, run_dir = run
    rna = tmp_path / "cells.h5ad"
    shutil.copy(root / "rna.h5ad", rna)
    assert _encode(run_dir, {"rna": rna}, "--write-back", str(rna)) == 0
    back = anndata.read_h5ad(rna)
    assert back.obsm[OBSM_KEY].shape == (N_CELLS, 2) and np.isfinite(back.obsm[OBSM_KEY]).all()
    assert "counts" in back.layers and back.obs["celltype"].tolist() == cite()["rna"].obs["celltype"].tolist()


def test_write_back_to_an_h5ad_that_is_not_an_input_of_several(
    run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, run_dir = run
    other = tmp_path / "other.h5ad"
    shutil.copy(root / "rna.h5ad", other)
    files = {"rna": root / "rna.h5ad", "prot": root / "prot.h5ad"}
    assert _encode(run_dir, files, "--write-back", str(other)) == 1
    assert "The --write-back file other.h5ad is an .h5ad (one modality)" in capsys.readouterr().err
    assert OBSM_KEY not in anndata.read_h5ad(other).obsm


def test_write_back_to_a_csv_is_refused(
    run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, run_dir = run
    csv = tmp_path / "cells.csv"
    csv.write_text("id,a\ncell0,1\n")
    assert _encode(run_dir, {"rna": root / "rna.h5ad"}, "--write-back", str(csv)) == 1
    assert "The --write-back file must be an existing .h5mu or .h5ad file." in capsys.readouterr().err
