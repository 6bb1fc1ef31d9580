"""A trained run's UMAP, computed from its bundle alone: ``mmcorr umap RUN`` and the second step
of ``mmcorr train``.

The embedding needs only latents.parquet and the run's UMAP options, so it runs without torch.
``mmcorr train`` writes the bundle without it (note :data:`~mmcorr.runs.files.UMAP_PENDING`) and
then replaces its own process with ``mmcorr umap`` (``os.execv``): umap-learn's numba / LLVM
memory (~270 MiB) is then never held at the same time as torch's (issue 15 goal 7;
bench/RESULTS.md, "CLI memory").
Each file is replaced atomically; a run whose embedding fails keeps every other result.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from mmcorr._io import atomic_write_text
from mmcorr._validation import MmcorrError
from mmcorr.data import JOINT
from mmcorr.runs.artifacts import umap_table, umap_wanted
from mmcorr.runs.bundle import (
    read_latents,
    read_metrics,
    read_spec,
    require_run,
    write_frame,
    write_metrics,
)
from mmcorr.runs.files import UMAP_NOTE, BundleFile, latent_columns
from mmcorr.runs.report import write_report
from mmcorr.runs.steps import Notify, Steps

__all__ = ["embed_run"]


def embed_run(
    run_dir: str | Path,
    *,
    neighbors: int | None = None,
    min_dist: float | None = None,
    notify: Notify | None = None,
) -> Path:
    """(Re)compute the UMAP of the run in ``run_dir`` from its latents and write umap.parquet.

    neighbors / min_dist: UMAP's n_neighbors (2-200) and min_dist (0-0.99); None keeps the run's
        own (spec.json ``analysis``). Values given are recorded in spec.json, and ``umap="on"``
        when the run was trained without an embedding. The seed stays the run's analysis seed (it
        also seeded the permutation nulls, which are not recomputed), so the run's own options
        reproduce its embedding.
    notify: told when the embedding starts and ends (:class:`mmcorr.runs.steps.Steps`).
    Rewrites spec.json (new options), metrics.json (the note saying why there was no UMAP is
    dropped) and report.html, each atomically. Returns the path of umap.parquet.
    """
    run = require_run(run_dir)
    spec, metrics, frame = read_spec(run), read_metrics(run), read_latents(run)
    changes: dict[str, Any] = {
        key: value
        for key, value in (("umap_neighbors", neighbors), ("umap_min_dist", min_dist))
        if value is not None
    }
    if not umap_wanted(spec.analysis.umap, metrics.run.n_samples):
        changes["umap"] = "on"  # trained with umap=off (or too few for auto): spec.json says it has one now
    analysis = dataclasses.replace(spec.analysis, **changes)  # bad values: MmcorrError naming them
    names, k = list(metrics.modalities), metrics.run.latent_dim
    latent_cols = [c for name in [*names, JOINT] for c in latent_columns(name, k)]
    missing = [c for c in latent_cols if c not in frame.columns]
    if missing:
        raise MmcorrError(
            f"{run / BundleFile.LATENTS.value} lacks the latent columns {missing[:3]} of this run's "
            f"{len(names)} modalities at k = {k}: the bundle is damaged; train the run again."
        )
    n_meta = frame.shape[1] - 2 - len(latent_cols)  # id, split, latents, then the metadata
    latents = {name: frame[latent_columns(name, k)].to_numpy(dtype=np.float32) for name in names}
    steps = Steps(notify)
    steps.start("analysis UMAP")
    table = umap_table(latents, frame, n_meta, analysis)
    steps.end()
    path = write_frame(run, BundleFile.UMAP, table)
    if changes:
        spec = dataclasses.replace(spec, analysis=analysis)
        atomic_write_text(run / BundleFile.SPEC.value, spec.to_json())
    if UMAP_NOTE in metrics.run.notes:
        notes = {key: text for key, text in metrics.run.notes.items() if key != UMAP_NOTE}
        metrics = dataclasses.replace(metrics, run=dataclasses.replace(metrics.run, notes=notes))
        write_metrics(run, metrics)
    write_report(run)
    return path
