"""Finding and opening finished runs: :func:`list_runs`, :func:`open_run`, :func:`find_run`.

A :class:`RunBundle` is a handle on one finished run folder; its methods return the run's typed
results and the bytes of its downloadable artifacts, so callers (the dashboard pages, the CLI)
never build a path into a bundle themselves.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mmcorr._validation import MmcorrError
from mmcorr.config import JobSpec
from mmcorr.runs import bundle as _b
from mmcorr.runs.files import BundleFile
from mmcorr.runs.history import TrainingHistory
from mmcorr.runs.matches import HeldOutLatents
from mmcorr.runs.previews import Preview, RunPreviews
from mmcorr.runs.schema import RunMetrics
from mmcorr.runs.summary import RunSummary
from mmcorr.runs.tables import FeatureMapTable, SimilarityData

__all__ = [
    "RunBundle",
    "RunInfo",
    "open_run",
    "find_run",
    "list_runs",
    "runs_root",
    "media",
    "preview",
    "RUN_ID_RE",
]

#: What a run id (a run folder's name under the runs root) may look like.
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,127}$")


def runs_root(root: str | Path | None = None) -> Path:
    """``root``, or the runs folder under MMCORR_HOME (mmcorr.paths.runs_dir())."""
    if root is not None:
        return Path(root)
    from mmcorr.paths import runs_dir

    return runs_dir()


@dataclass(frozen=True)
class RunBundle:
    """A finished run folder. Construction does no I/O; each method reads one file afresh."""

    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name

    def has(self, file: BundleFile) -> bool:
        return (self.path / file.value).is_file()

    def metrics(self) -> RunMetrics:
        return _b.read_metrics(self.path)

    def spec(self) -> JobSpec:
        return _b.read_spec(self.path)

    def history(self) -> TrainingHistory:
        return _b.read_history(self.path)

    def latents(self) -> pd.DataFrame:
        return _b.read_latents(self.path)

    def umap(self) -> pd.DataFrame:
        return _b.read_umap(self.path)

    def feature_map(self) -> FeatureMapTable:
        return _b.read_feature_corr(self.path)

    def prediction_table(self) -> pd.DataFrame:
        return _b.read_prediction_r2(self.path)

    def similarity(self) -> SimilarityData:
        return _b.read_similarity(self.path)

    def held_out(self) -> HeldOutLatents:
        """The held-out samples' per-modality latents (latents.parquet rows of the held-out split)."""
        metrics = self.metrics()
        return HeldOutLatents.from_frame(self.latents(), metrics.modalities, metrics.run.held_out_split)

    def previews(self) -> RunPreviews | None:
        """The held-out samples' previews (images, text, audio), or None for a tables-only run."""
        return RunPreviews.open(self.path)

    def media(self) -> dict[str, str]:
        """Raw modality name -> kind ("image", "text" or "audio"); {} for a tables-only run."""
        shown = self.previews()
        return {} if shown is None else dict(shown.media)

    def preview(self, modality: str, sample_id: str) -> Preview:
        """What a person looks at for one held-out sample: PNG or JPEG bytes (image), str (text), the clip's
        bytes (audio); None when the run has no preview of it."""
        shown = self.previews()
        return None if shown is None else shown.get(modality, str(sample_id))

    def file_bytes(self, file: BundleFile) -> bytes:
        """The raw bytes of one artifact (for a download); MmcorrError when the run lacks it."""
        return _b.bundle_file(self.path, file).read_bytes()

    def zip_bytes(self) -> bytes:
        """The whole run folder as a zip archive (entries under ``<run_id>/``)."""
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for file in sorted(self.path.rglob("*")):
                if file.is_file():
                    zf.write(file, f"{self.run_id}/{file.relative_to(self.path)}")
        return buf.getvalue()


def open_run(run_dir: str | Path) -> RunBundle:
    """The finished run in folder ``run_dir`` (MmcorrError if it is not one)."""
    return RunBundle(_b.require_run(run_dir))


def _bundle(run: RunBundle | str | Path) -> RunBundle:
    """A run given as a handle, a folder, or a run id under the runs root."""
    if isinstance(run, RunBundle):
        return run
    if isinstance(run, str) and RUN_ID_RE.match(run) and not Path(run).is_dir():
        return find_run(run)
    return open_run(run)


def preview(run: RunBundle | str | Path, modality: str, sample_id: str) -> Preview:
    """The preview of held-out ``sample_id`` in raw ``modality`` of ``run`` (a handle, folder or id);
    see :meth:`RunBundle.preview`."""
    return _bundle(run).preview(modality, sample_id)


def media(run: RunBundle | str | Path) -> dict[str, str]:
    """Raw modality name -> kind of ``run`` (a handle, folder or id); {} for a tables-only run."""
    return _bundle(run).media()


def find_run(run_id: str, root: str | Path | None = None) -> RunBundle:
    """The finished run with id ``run_id`` under ``root`` (default: the runs folder of MMCORR_HOME)."""
    if not isinstance(run_id, str) or not RUN_ID_RE.match(run_id):
        raise MmcorrError(
            f"The 'run_id' parameter must be a run id (letters, digits, '_' and '-'). Got {run_id!r} instead."
        )
    path = runs_root(root) / run_id
    if not (path / BundleFile.METRICS.value).is_file():
        raise MmcorrError(f"There is no finished run with id {run_id!r}.")
    return RunBundle(path)


@dataclass(frozen=True)
class RunInfo:
    """One finished run, as listed by :func:`list_runs` (summary: its leaderboard numbers)."""

    run_id: str
    path: Path
    name: str
    dataset_id: str
    model: str
    created: str
    summary: RunSummary
    #: Where the held-out figures come from: "test", or "val" for a run without a test set.
    held_out_split: str = "test"

    def open(self) -> RunBundle:
        return RunBundle(self.path)


def _run_info(path: Path) -> RunInfo | None:
    try:
        metrics = _b.read_metrics(path)
    except MmcorrError:
        return None  # a half-written, damaged or foreign folder is not a run
    return RunInfo(
        run_id=path.name,
        path=path,
        name=metrics.run.name or path.name,
        dataset_id=metrics.run.dataset_id,
        model=metrics.run.model,
        created=metrics.created,
        summary=metrics.results.summary,
        held_out_split=metrics.run.held_out_split,
    )


def list_runs(root: str | Path | None = None) -> list[RunInfo]:
    """Finished runs under ``root`` (default: mmcorr.paths.runs_dir()), newest first.

    Hidden folders (temporary bundles being written) and folders without a readable metrics.json
    are skipped.
    """
    base = runs_root(root)
    if not base.is_dir():
        return []
    infos = [
        info
        for p in base.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (info := _run_info(p)) is not None
    ]
    infos.sort(key=lambda r: (r.created, r.run_id), reverse=True)
    return infos
