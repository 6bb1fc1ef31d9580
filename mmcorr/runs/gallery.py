"""The report's retrieval gallery: a few held-out samples and what the model matches them with.

For runs with raw modalities (images, text, audio). Each query sample is shown as itself (thumbnail,
text, playable clip) and, for every direction (image -> text, text -> image, ...), its top-5
neighbours in the target modality with their cosine similarity, the true match marked. Everything
is inline (``data:`` URLs, escaped text), so the report stays one self-contained file; audio is
embedded for the queries only, which keeps the file small.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mmcorr.runs.bundle import read_latents
from mmcorr.runs.files import ID_COLUMN
from mmcorr.runs.matches import NEIGHBOURS_K, HeldOutLatents, Neighbours, gallery_queries
from mmcorr.runs.previews import Preview, RunPreviews, preview_mime
from mmcorr.runs.schema import Direction, RunMetrics

__all__ = ["GALLERY_CSS", "GALLERY_QUERIES", "GALLERY_MAX_AUDIO_BYTES", "gallery_section"]

#: Query samples in the gallery.
GALLERY_QUERIES = 6
#: A query's clip larger than this is not embedded (the report would grow by a third more in base64).
GALLERY_MAX_AUDIO_BYTES = 2 * 2**20
#: Text previews longer than this are cut in the neighbour cells (the query shows all of it).
_TEXT_CHARS = 140

GALLERY_CSS = """
.query { border: 1px solid #ddd; border-radius: 6px; padding: 0.6em 1em; margin: 1.2em 0; }
.query-head { display: flex; gap: 1.5em; align-items: center; flex-wrap: wrap; }
.query-head img { width: 96px; height: 96px; image-rendering: pixelated; border: 1px solid #ccc; }
.direction { display: flex; gap: 0.5em; align-items: stretch; margin: 0.5em 0; }
.direction > .label { width: 9em; flex: none; font-size: 0.9em; color: #444; padding-top: 0.4em; }
.nb { width: 9.5em; border: 1px solid #e3e3e3; border-radius: 4px; padding: 3px 5px; font-size: 0.82em; }
.nb.ok { border: 2px solid #2e7d32; background: #f1f8f1; }
.nb img { width: 56px; height: 56px; image-rendering: pixelated; display: block; }
.nb .score { color: #555; } .nb .ok-mark { color: #2e7d32; font-weight: bold; }
.rank { font-size: 0.8em; color: #666; align-self: center; }
"""


def _data_url(kind: str, data: bytes) -> str:
    return f"data:{preview_mime(kind, data)};base64,{base64.b64encode(data).decode('ascii')}"


def _shown(kind: str | None, data: Preview, sample_id: str, *, query: bool) -> str:
    """One preview as HTML: a thumbnail, escaped text, or (queries only) a playable clip."""
    sid = html.escape(sample_id)
    if kind is None:
        return f"<span class='note'>sample {sid}</span>"  # a table modality: no preview
    if data is None:
        return "<span class='note'>no preview stored</span>"
    if kind == "text":
        text = str(data) if query or len(str(data)) <= _TEXT_CHARS else str(data)[:_TEXT_CHARS] + "…"
        return f"<span class='text'>{html.escape(text)}</span>"
    raw = data if isinstance(data, bytes) else str(data).encode("utf-8")
    if kind == "image":
        return f"<img src='{_data_url(kind, raw)}' alt='image of sample {sid}'>"
    if query and len(raw) <= GALLERY_MAX_AUDIO_BYTES:
        return f"<audio controls preload='none' src='{_data_url(kind, raw)}'></audio>"
    return "<span class='note'>&#9835; audio clip</span>"


@dataclass(frozen=True)
class _Shown:
    """What the gallery draws from: raw modality -> kind, modality -> id -> preview, the labels."""

    media: dict[str, str]
    looks: dict[str, dict[str, Preview]]
    labels: pd.Series | None  # named by the label column, indexed by sample id

    def label(self, sample_id: str) -> str:
        if self.labels is None or sample_id not in self.labels.index:
            return ""
        return html.escape(f" · {self.labels.name} {self.labels.loc[sample_id]}")


def _direction_row(direction: Direction, nb: Neighbours, i: int, ctx: _Shown) -> str:
    kind = ctx.media.get(direction.target)
    cells = []
    for sid, score, ok in zip(nb.ids[i], nb.scores[i], nb.correct[i], strict=True):
        if not sid:
            continue
        mark = "<span class='ok-mark'>&#10003; match</span>" if ok else ""
        shown = _shown(kind, ctx.looks.get(direction.target, {}).get(str(sid)), str(sid), query=False)
        cells.append(
            f"<div class='nb{' ok' if ok else ''}'>{shown}<br><span class='score'>{score:.3f}</span> "
            f"{mark}<br><span class='note'>{html.escape(str(sid))}{ctx.label(str(sid))}</span></div>"
        )
    rank = int(nb.match_rank[i])
    note = "" if 0 < rank <= nb.k else (f"true match at rank {rank}" if rank else "no true match here")
    label = html.escape(f"{direction.source} → {direction.target}")
    return (
        f"<div class='direction'><div class='label'>{label}</div>{''.join(cells)}"
        f"<div class='rank'>{html.escape(note)}</div></div>"
    )


def gallery_section(run_dir: Path, metrics: RunMetrics) -> list[str]:
    """The gallery's HTML parts, or [] for a run without previews (tables only, older bundles)."""
    shown = RunPreviews.open(run_dir)
    if shown is None:
        return []
    frame = read_latents(run_dir)
    held = HeldOutLatents.from_frame(frame, metrics.modalities, metrics.run.held_out_split)
    label = metrics.run.label_column
    labels = frame.set_index(ID_COLUMN)[label].rename(label) if label and label in frame.columns else None
    queries = gallery_queries(shown.ids[np.isin(shown.ids, held.ids)], GALLERY_QUERIES)
    out = [
        "<h2>Retrieval gallery (held-out samples)</h2>",
        f"<p>{len(queries)} held-out samples and, for each direction, the {NEIGHBOURS_K} samples of the "
        "other modality closest in the shared space (cosine similarity). The true match is marked "
        "&#10003;.</p>",
    ]
    if not len(queries):
        return [*out, "<p class='note'>No held-out sample has a preview.</p>"]
    media: dict[str, str] = dict(shown.media)
    found = {d: held.neighbours(d, queries) for d in held.directions}
    # each modality's previews needed: the queries', and every neighbour shown in it
    needed: dict[str, set[str]] = {m: set(queries.tolist()) for m in media}
    for d, nb in found.items():
        if d.target in media:
            needed[d.target].update(str(s) for s in nb.ids.ravel() if s)
    looks = {
        m: dict(zip(sorted(ids), shown.get_many(m, sorted(ids)), strict=True)) for m, ids in needed.items()
    }
    ctx = _Shown(media, looks, labels)
    for i, sid in enumerate(queries):
        head = "".join(
            f"<div>{_shown(media.get(m), looks.get(m, {}).get(sid), sid, query=True)}</div>"
            for m in held.names
        )
        rows = "".join(_direction_row(d, nb, i, ctx) for d, nb in found.items())
        out.append(
            f"<div class='query'><h3>Sample {html.escape(sid)}{ctx.label(sid)}</h3>"
            f"<div class='query-head'>{head}</div>{rows}</div>"
        )
    return out
