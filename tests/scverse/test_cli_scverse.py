"""`mmcorr train --layer` on AnnData files and `mmcorr encode` writing latents into .h5mu files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scverse_data import N_CELLS, N_PROT, cite, mudata  # type: ignore[import-not-found]

from mmcorr.cli import main
from mmcorr.data import OBSM_KEY


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(data folder with rna.h5ad, prot.h5ad and cite.h5mu; a cca run trained on the counts layer)."""
    root = tmp_path_factory.mktemp("scverse_cli")
    mdata = cite()
    mdata["rna"].write_h5ad(root / "rna.h5ad")
    mdata["prot"].write_h5ad(root / "prot.h5ad")
    mdata.write(root / "cite.h5mu")
    args = ["train", "--modality", f"rna={root / 'rna.h5ad'}", "--modality", f"prot={root / 'prot.h5ad'}"]
    args += ["--layer", "rna=counts", "--model", "cca", "--latent-dim", "2"]
    args += ["--permutations", "0", "--out", str(root / "run")]
    assert main(args) == 0
    return root, root / "run"


def test_train_reads_the_chosen_layer(run: tuple[Path, Path]) -> None:
    from mmcorr.estimator import CorrelationModel

    _, run_dir = run
    model = CorrelationModel.load(run_dir)
    rna = cite()["rna"]
    # The standardisation means come from the training rows of the counts layer (integers around
    # 3-5), not from the log-normalised X (around 1-2): each is nearer the counts' mean.
    fitted = model.preprocessor_.params_["rna"]["mean"]
    counts_mean = rna.layers["counts"].toarray().mean(axis=0)
    x_mean = rna.X.toarray().mean(axis=0)
    assert (np.abs(fitted - counts_mean) < np.abs(fitted - x_mean)).all()
    assert model.features_["rna"] == [f"gene{j}" for j in range(12)]


def test_encode_out_h5mu_puts_latents_in_obsm(run: tuple[Path, Path]) -> None:
    root, run_dir = run
    out = root / "latents.h5mu"
    args = ["encode", "--run", str(run_dir), "--modality", f"rna={root / 'rna.h5ad'}"]
    args += ["--modality", f"prot={root / 'prot.h5ad'}", "--layer", "rna=counts", "--out", str(out)]
    assert main(args) == 0
    lat = mudata.read_h5mu(out)
    assert lat["rna"].obsm[OBSM_KEY].shape == (N_CELLS, 2) and lat["prot"].obsm[OBSM_KEY].shape == (N_PROT, 2)
    assert lat.obsm[OBSM_KEY].shape == (N_CELLS, 2) and np.isfinite(lat.obsm[OBSM_KEY]).all()
    assert set(lat["prot"].obs_names) == set(cite()["prot"].obs_names)


def test_encode_folder_writes_ids_beside_every_latent(run: tuple[Path, Path]) -> None:
    root, run_dir = run
    out = root / "enc"
    args = ["encode", "--run", str(run_dir), "--modality", f"rna={root / 'rna.h5ad'}"]
    args += ["--modality", f"prot={root / 'prot.h5ad'}", "--layer", "rna=counts", "--out", str(out)]
    assert main(args) == 0
    prot_ids = (out / "prot_ids.txt").read_text().split()
    assert prot_ids == list(cite()["prot"].obs_names) and np.load(out / "prot.npy").shape == (N_PROT, 2)
    assert len((out / "rna_ids.txt").read_text().split()) == N_CELLS
    assert (out / "joint_ids.txt").exists()


def test_encode_write_back_adds_to_the_users_file(run: tuple[Path, Path]) -> None:
    root, run_dir = run
    data = root / "cite.h5mu"
    args = ["encode", "--run", str(run_dir), "--modality", f"rna={data}", "--modality", f"prot={data}"]
    args += ["--layer", "rna=counts", "--write-back", str(data)]
    assert main(args) == 0
    back = mudata.read_h5mu(data)
    assert back["rna"].obsm[OBSM_KEY].shape == (N_CELLS, 2) and back["prot"].obsm[OBSM_KEY].shape == (
        N_PROT,
        2,
    )
    assert back.obsm[OBSM_KEY].shape == (back.n_obs, 2) and "counts" in back["rna"].layers
    assert sorted(p.name for p in root.iterdir() if "tmp" in p.name) == []


def test_train_with_a_missing_layer_names_the_file(
    run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = run
    args = ["train", "--modality", f"rna={root / 'rna.h5ad'}", "--modality", f"prot={root / 'prot.h5ad'}"]
    args += ["--layer", "rna=spliced", "--out", str(root / "never")]
    assert main(args) == 1
    assert "rna.h5ad: has no layer 'spliced'. Allowed: ['X', 'counts']" in capsys.readouterr().err


def test_encode_needs_somewhere_to_write(run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    root, run_dir = run
    assert main(["encode", "--run", str(run_dir), "--modality", f"rna={root / 'rna.h5ad'}"]) == 1
    assert (
        "Give --out (a folder, or a file ending in .h5mu) or --write-back DATA.h5mu."
        in capsys.readouterr().err
    )
