"""How much memory a fit will need, how much the machine has, and the clear error when it is short.

``CorrelationModel.fit`` calls :func:`check_fit_memory` before it copies anything, so a dataset
that cannot fit fails at once with a message naming the sizes instead of being killed mid-fit.
No torch here: the estimate is arithmetic on the shapes.

The memory a fit allocates on top of the caller's data (all float32 unless said otherwise):

* the preprocessed data in flight: the trainer reads the caller's rows and preprocesses one batch
  at a time (``mmcorr.estimator._batches``), so this is one validation chunk of ``EVAL_ROWS`` rows
  x ``sum(d_out)`` and two float64 row chunks of ``CHUNK_BYTES``, whatever n is (or, before
  training, the bounded float64 subset dccae's closed-form start is fitted on, ``START_BYTES``);
  a closed-form family (``cca``) instead takes its training rows whole, ``n x sum(d_out)`` float64;
* while fitting PCA on a modality wider than ``pca_dim``: a d x d float64 covariance (d <= 4096)
  or a float32 copy of the standardised rows (wider); with ``gaussianize``, the quantiles' float64
  row subset and numpy's sorted copy of it (each at most ``QUANTILE_BYTES``), freed as well;
* weights, gradients, AdamW's two moments and the best-epoch copy: 5 x the parameters;
* the per-modality float64 latents of every training row and, for models without a
  cross-decoder, the ridge heads' float64 row chunks of a target modality (two of ``CHUNK_BYTES``)
  and the validation pairs that choose its strength (at most one chunk, ~4 copies at once);
* the row indices of the split and of an epoch's order (int64) and the presence masks;
* a fixed allowance for row chunks, batches and the allocator.

What is available comes from psutil (Linux, macOS, Windows), lowered by a Linux cgroup's limit
(a container's memory cap, which the system figure does not show). Operators can cap the figure
with ``MMCORR_MEMORY_LIMIT_BYTES`` (bytes the fit may use).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

from mmcorr._validation import MmcorrError
from mmcorr.data._chunks import CHUNK_BYTES, EVAL_ROWS, PCA_COV_MAX_D, START_BYTES, START_ROWS
from mmcorr.data._fit_steps import QUANTILE_BYTES

__all__ = [
    "ENV_LIMIT",
    "FitMemory",
    "available_bytes",
    "check_fit_memory",
    "estimate_fit_bytes",
]

#: Environment variable: the most bytes a fit may allocate (caps what the system reports).
ENV_LIMIT = "MMCORR_MEMORY_LIMIT_BYTES"
# Row chunks, one training batch, torch's allocator and workspace: measured well under this.
_FIXED_BYTES = 256 * 2**20
_GIB = 2**30


class FitMemory:
    """The estimate's parts in bytes (see the module docstring)."""

    def __init__(self, data: int, pca: int, model: int, heads: int, copies: int = 0, index: int = 0) -> None:
        self.data, self.pca, self.model, self.heads, self.copies = data, pca, model, heads, copies
        self.index = index

    @property
    def total(self) -> int:
        # PCA's transient is freed before the first batch is preprocessed.
        parts = self.copies + max(self.pca, self.data) + self.model + self.heads + self.index
        return parts + _FIXED_BYTES


def estimate_fit_bytes(
    n_samples: int,
    dims: Mapping[str, int],
    *,
    pca_dim: int | None,
    hidden: Sequence[int],
    latent_dim: int,
    ridge_heads: bool,
    copies: int = 0,
    closed_form: bool = False,
    gaussianize: bool = False,
) -> FitMemory:
    """Bytes a fit allocates beyond the caller's data, for ``n_samples`` (train + validation) rows
    and raw feature counts ``dims`` (name -> d); ``copies``: bytes the caller copies first (e.g.
    the job pipeline's split subsets); ``closed_form``: the family fits on its whole training set
    (float64) instead of batches."""
    n = int(n_samples)
    out = {m: (min(d, pca_dim) if pca_dim is not None else d) for m, d in dims.items()}
    width = sum(out.values())
    data = 4 * min(n, EVAL_ROWS) * width + 2 * CHUNK_BYTES
    if closed_form:
        data = max(data, 8 * n * width)
    elif max(out.values(), default=0) <= PCA_COV_MAX_D:
        # Before training, dccae's closed-form start reads a bounded float64 subset (+ its float32 rows).
        data = max(data, 3 * min(START_BYTES, 8 * min(n, START_ROWS) * width) // 2)
    pca = 0
    for d in dims.values():
        if pca_dim is not None and d > pca_dim:
            pca = max(pca, 8 * d * d if d <= PCA_COV_MAX_D else 4 * n * d)
        if gaussianize:  # the quantiles' row subset and its sorted copy, one modality at a time
            pca = max(pca, 2 * min(QUANTILE_BYTES, 8 * n * d))
    params = 0
    for d in out.values():
        sizes = [d, *hidden, 2 * latent_dim]  # 2k: a VAE encoder's mean and log-variance
        params += 2 * sum(a * b + b for a, b in itertools.pairwise(sizes))
    model = 5 * 4 * params
    heads = 8 * n * latent_dim * 2 * len(dims)
    if ridge_heads:
        # fit_ridge reads its target in float64 row chunks (mmcorr.data._chunks), two at a time,
        # and scores its strengths on at most one such chunk of validation pairs (~4 copies).
        heads += 6 * CHUNK_BYTES
    # The split's permutation, the sorted train / validation rows, an epoch's shuffled order (int64
    # each) and the presence masks (one byte per row and modality).
    index = n * (4 * 8 + len(dims))
    return FitMemory(data, pca, model, heads, copies, index)


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _system_available() -> int | None:
    """What the operating system reports as available to new allocations (Linux: MemAvailable)."""
    try:
        return int(psutil.virtual_memory().available)
    except (OSError, RuntimeError):  # a sandbox that hides the figure: fall back to the others
        return None


def _cgroup_headroom() -> int | None:
    """What the cgroup limit still allows (v2, else v1), or None without a limit."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        limit = _read_int(Path(limit_file))  # "max" (no limit) reads as None
        if limit is not None and limit < 2**60:
            usage = _read_int(Path(usage_file)) or 0
            return max(limit - usage, 0)
    return None


def available_bytes() -> int | None:
    """Bytes a new allocation can use now: the least of what the system reports available, the
    cgroup headroom and ``MMCORR_MEMORY_LIMIT_BYTES``; None when none of them is known."""
    figures = [f for f in (_system_available(), _cgroup_headroom()) if f is not None]
    raw = os.environ.get(ENV_LIMIT, "").strip()
    if raw:
        if not raw.isdigit() or int(raw) <= 0:
            raise MmcorrError(
                f"The environment variable {ENV_LIMIT} must be a positive whole number of bytes "
                f"(e.g. 8589934592 for 8 GiB). Got {raw!r} instead."
            )
        figures.append(int(raw))
    return min(figures) if figures else None


def check_fit_memory(
    n_samples: int,
    dims: Mapping[str, int],
    *,
    pca_dim: int | None,
    hidden: Sequence[int],
    latent_dim: int,
    ridge_heads: bool,
    copies: int = 0,
    closed_form: bool = False,
    available: int | None = None,
    gaussianize: bool = False,
) -> FitMemory:
    """Raise a MmcorrError naming the sizes when the fit's estimate exceeds ``available`` bytes
    (default: :func:`available_bytes`); return the estimate otherwise. Arguments as for
    :func:`estimate_fit_bytes`."""
    est = estimate_fit_bytes(
        n_samples,
        dims,
        pca_dim=pca_dim,
        hidden=hidden,
        latent_dim=latent_dim,
        ridge_heads=ridge_heads,
        copies=copies,
        closed_form=closed_form,
        gaussianize=gaussianize,
    )
    avail = available_bytes() if available is None else available
    if avail is None or est.total <= avail:
        return est
    copied = f"split copies {est.copies / _GIB:.1f} GiB, " if est.copies else ""
    shape = " + ".join(f"{m} {d:,}" for m, d in dims.items())
    hint = (
        "set 'pca_dim' (e.g. 100) to project the wide modalities, "
        if pca_dim is None
        else f"lower 'pca_dim' (now {pca_dim}), "
    )
    raise MmcorrError(
        f"Not enough memory to fit: {n_samples:,} samples x ({shape}) features needs about "
        f"{est.total / _GIB:.1f} GiB on top of the loaded data ({copied}preprocessed data "
        f"{est.data / _GIB:.1f} GiB, model and optimizer {est.model / _GIB:.1f} GiB, latents and heads "
        f"{est.heads / _GIB:.1f} GiB), but only {avail / _GIB:.1f} GiB is available. "
        f"To fit, {hint}use fewer samples, or run on a machine with more memory "
        f"(operators can set {ENV_LIMIT} to cap this figure)."
    )
