"""Peak memory of ``CorrelationModel().fit(mdata)`` when a modality is a sparse (CSR) AnnData matrix.

    .venv/bin/python bench/sparse_memory.py                 # 50,000 cells x 4,000 genes, 2% non-zero
    .venv/bin/python bench/sparse_memory.py --warm          # after a warm-up fit (libraries loaded)
    .venv/bin/python bench/sparse_memory.py --model dccae --warm --epochs 1   # a trained family
    .venv/bin/python bench/sparse_memory.py --smoke         # tiny, for the test suite

Each case runs in a fresh process: the same MuData (rna: CSR float32, prot: dense 50,000 x 20),
once as given ("sparse") and once with rna densified first ("dense"). The child resets the kernel's
high-water mark (``/proc/self/clear_refs``) once the data is built, so the figure is the fit's own
peak above the data already in memory. With ``--warm`` it first fits a tiny dataset, so torch's
and BLAS's one-off buffers (allocated by a process's first fit) are not counted. Model: linear CCA
(``--model``), latent 10, ``pca_dim`` 50 (the usual setting for wide omics); the bound the sparse
path aims at (issue 12) is the CSR arrays (a copy when pairing) + one 32 MiB float64 chunk + the
(d, d) covariance of the PCA + the (n, 50) preprocessed output.

    .venv/bin/python bench/sparse_memory.py --file          # mmcorr train's path from .h5ad files
    .venv/bin/python bench/sparse_memory.py --file --old-tree /tmp/old   # + a `git archive` tree

``--file`` writes rna.h5ad (CSR float32 in X) and prot.h5ad (dense) once, then in fresh processes
runs what ``mmcorr train --modality rna=rna.h5ad --modality prot=prot.h5ad`` runs (``load_paired``
then ``train_and_bundle``: split, fit, every analysis, the bundle; ``--umap off --permutations 0``):
"file-sparse" as the reader gives it now (CSR), "file-densified" with rna densified right after
loading, as the reader did before (every modality of a file was densified). Each child first runs
the same path on tiny files (libraries and their one-off buffers loaded), then resets the mark
before the file is read, so the peak counts the data read, the fit and the analyses.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parents[1]))

from _common import MIB, OUT_DIR, load_average, rss_mib

#: The --file cases: the reader's CSR as is, and densified after loading (the reader's old output).
FILE_MODES = ("file-sparse", "file-densified")


def _hwm_mib() -> float:
    """The kernel's high-water RSS of this process since the last reset (MiB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _data(n: int, d: int, density: float, dense: bool) -> Any:
    import anndata
    import mudata
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    nnz = int(n * d * density)
    rows, cols = rng.integers(0, n, nnz), rng.integers(0, d, nnz)
    counts = sp.csr_matrix((rng.poisson(3.0, nnz).astype(np.float32) + 1, (rows, cols)), shape=(n, d))
    counts.sum_duplicates()
    rna = anndata.AnnData(counts.toarray() if dense else counts)
    rna.obs_names = [f"c{i}" for i in range(n)]
    prot = anndata.AnnData(rng.normal(size=(n, 20)).astype(np.float32))
    prot.obs_names = rna.obs_names
    return mudata.MuData({"rna": rna, "prot": prot}), counts


def child(n: int, d: int, density: float, mode: str, model: str, warm: bool, epochs: int) -> dict[str, Any]:
    import torch

    from mmcorr import CorrelationModel

    torch.set_num_threads(1)

    def estimator() -> Any:
        return CorrelationModel(model, 10, pca_dim=50, device="cpu", epochs=epochs, seed=0)

    if warm:  # load the libraries' lazy parts and buffers with a tiny fit of the same kind
        small, _ = _data(200, 120, 0.1, mode == "dense")
        estimator().fit(small)
        del small
    mdata, counts = _data(n, d, density, mode == "dense")
    csr_mib = (counts.data.nbytes + counts.indices.nbytes + counts.indptr.nbytes) / MIB
    del counts
    base = rss_mib()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    estimator().fit(mdata)
    peak = _hwm_mib()
    return {
        "mode": mode,
        "model": model,
        "warm": warm,
        "n": n,
        "d": d,
        "density": density,
        "csr_mib": round(csr_mib, 1),
        "dense_float32_mib": round(n * d * 4 / MIB, 1),
        "rss_before_fit_mib": round(base, 1),
        "fit_peak_above_data_mib": round(peak - base, 1),
        "bound_mib": round(2 * csr_mib + 32 + min(d, 4096) ** 2 * 8 / MIB + n * 50 * 4 / MIB, 1),
    }


def _write_files(folder: Path, n: int, d: int, density: float) -> dict[str, Path]:
    """rna.h5ad (X: CSR float32 counts) and prot.h5ad (dense n x 20), paired by obs name."""
    mdata, _ = _data(n, d, density, dense=False)
    paths = {key: folder / f"{key}.h5ad" for key in ("rna", "prot")}
    for key, path in paths.items():
        mdata[key].write_h5ad(path)
    return paths


def file_child(folder: Path, n: int, d: int, mode: str, model: str, epochs: int) -> dict[str, Any]:
    """Peak RSS of mmcorr train's path (load the .h5ad files, split, fit, analyses, bundle)."""
    import tempfile

    import torch

    from mmcorr.config import build_job_spec
    from mmcorr.data import load_paired
    from mmcorr.runs.pipeline import train_and_bundle

    torch.set_num_threads(1)
    options = {"model": model, "latent_dim": 10, "pca_dim": 50, "epochs": epochs, "device": "cpu"}
    spec = build_job_spec("files", **options, permutations=0, umap="off")

    stages: dict[str, float] = {}
    step = ["read + pair"]
    base = 0.0

    def mark(text: str) -> None:  # each step's peak: record it, reset the mark, name the next one
        stages[step[0]] = max(stages.get(step[0], 0.0), round(_hwm_mib() - base, 1))
        Path("/proc/self/clear_refs").write_text("5")
        name, _, state = text.rpartition(": ")
        step[0] = name if state == "started" else "between steps"

    def run(where: Path, densify: bool) -> float:
        ds, _ = load_paired({key: where / f"{key}.h5ad" for key in ("rna", "prot")})
        rna = ds.values["rna"]
        csr = (rna.data.nbytes + rna.indices.nbytes + rna.indptr.nbytes) / MIB if hasattr(rna, "tocsr") else 0
        if densify:  # what the reader did before: every modality of a file dense
            ds.values["rna"] = rna.toarray()
        del rna
        mark("split + fit: started")
        with tempfile.TemporaryDirectory() as out:
            train_and_bundle(ds, spec, Path(out) / "run", notify=mark)
        return csr

    run(folder / "small", mode == "file-densified")  # libraries and their one-off buffers loaded
    stages.clear()
    step[0] = "read + pair"
    base = rss_mib()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM: the peak counts the read too
    csr_mib = run(folder, mode == "file-densified")
    mark("end: started")
    stages.pop("between steps", None)
    return {
        "mode": mode,
        "model": model,
        "n": n,
        "d": d,
        "csr_mib": round(csr_mib, 1),
        "dense_float32_mib": round(n * d * 4 / MIB, 1),
        "peak_above_baseline_mib": max(stages.values()),
        "stage_peaks_mib": stages,
        "batch_mib": 32,
        "bound_mib": round(2 * csr_mib + 32 + min(d, 4096) ** 2 * 8 / MIB + n * 50 * 4 / MIB, 1),
    }


def _run_file_cases(args: argparse.Namespace) -> list[dict[str, Any]]:
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        _write_files(Path(tmp), args.n, args.d, args.density)
        (Path(tmp) / "small").mkdir()
        _write_files(Path(tmp) / "small", 200, 120, 0.1)
        trees = [(mode, None) for mode in FILE_MODES] + [("file-sparse", t) for t in args.old_tree]
        for mode, tree in trees:
            cmd = [sys.executable, __file__, "--child", mode, "--folder", tmp, "--n", str(args.n)]
            cmd += ["--d", str(args.d), "--model", args.model, "--epochs", str(args.epochs)]
            env = {**os.environ, "PYTHONPATH": tree} if tree else None
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            if tree:  # mmcorr imported from an older tree (git archive): its reader densified rna,
                # so its CSR size and bound are those the current reader measured
                rows[-1].update(mode=f"file, tree {Path(tree).name}", csr_mib=rows[0]["csr_mib"])
                rows[-1]["bound_mib"] = rows[0]["bound_mib"]
    return rows


def _print_file_rows(rows: list[dict[str, Any]]) -> None:
    print("| input | n x d | CSR MiB | dense float32 MiB | peak above baseline MiB | bound MiB |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['mode']} | {r['n']:,} x {r['d']:,} | {r['csr_mib']} | {r['dense_float32_mib']} | "
            f"{r['peak_above_baseline_mib']} | {r['bound_mib']} |"
        )
    steps = list(dict.fromkeys(k for r in rows for k in r["stage_peaks_mib"]))
    print("\n| step: peak above baseline MiB | " + " | ".join(r["mode"] for r in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for name in steps:
        print(f"| {name} | " + " | ".join(str(r["stage_peaks_mib"].get(name, "")) for r in rows) + " |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=50_000)
    p.add_argument("--d", type=int, default=4_000)
    p.add_argument("--density", type=float, default=0.02)
    p.add_argument("--model", default="cca", help="model family (default cca)")
    p.add_argument("--epochs", type=int, default=2, help="epochs of a trained family")
    p.add_argument("--warm", action="store_true", help="fit a tiny dataset first (libraries loaded)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (a few seconds)")
    p.add_argument("--file", action="store_true", help="mmcorr train's path from .h5ad files")
    p.add_argument(
        "--old-tree",
        action="append",
        default=[],
        metavar="DIR",
        help="with --file: also run the file case importing mmcorr from DIR (e.g. a git archive)",
    )
    p.add_argument("--child", choices=("sparse", "dense", *FILE_MODES), help=argparse.SUPPRESS)
    p.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.smoke:
        args.n, args.d = 600, 300
    if args.child in FILE_MODES:
        print(json.dumps(file_child(args.folder, args.n, args.d, args.child, args.model, args.epochs)))
        return
    if args.child:
        print(json.dumps(child(args.n, args.d, args.density, args.child, args.model, args.warm, args.epochs)))
        return
    if args.file:
        result = {"load_average": load_average(), "rows": _run_file_cases(args)}
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        variant = ("" if args.model == "cca" else f"_{args.model}") + ("_smoke" if args.smoke else "")
        (OUT_DIR / f"sparse_memory_file{variant}.json").write_text(json.dumps(result, indent=2))
        _print_file_rows(result["rows"])
        print(f"load average {result['load_average']}")
        return
    rows = []
    for mode in ("sparse", "dense"):
        cmd = [sys.executable, __file__, "--child", mode, "--n", str(args.n), "--d", str(args.d)]
        cmd += ["--density", str(args.density), "--model", args.model, "--epochs", str(args.epochs)]
        out = subprocess.run(cmd + ["--warm"] * args.warm, capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    result = {"load_average": load_average(), "rows": rows}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    variant = ("" if args.model == "cca" else f"_{args.model}") + ("_warm" if args.warm else "")
    name = "sparse_memory_smoke.json" if args.smoke else f"sparse_memory{variant}.json"
    (OUT_DIR / name).write_text(json.dumps(result, indent=2))
    print("| input | n x d | CSR MiB | dense float32 MiB | fit's peak above the data MiB | bound MiB |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['mode']} | {r['n']:,} x {r['d']:,} | {r['csr_mib']} | {r['dense_float32_mib']} | "
            f"{r['fit_peak_above_data_mib']} | {r['bound_mib']} |"
        )
    print(f"load average {result['load_average']}")


if __name__ == "__main__":
    main()
