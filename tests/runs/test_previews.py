"""A run with raw modalities: previews in the bundle, catalog round trip, neighbours, report gallery."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmcorr._validation import MmcorrError
from mmcorr.data import PairedDataset, make_demo
from mmcorr.runs import (
    PREVIEWS_DIR,
    Direction,
    PreviewFile,
    RunPreviews,
    find_run,
    media,
    open_run,
    preview,
    preview_mime,
)
from mmcorr.runs import previews as P

torch = pytest.importorskip("torch")

HOSTILE = " <img src=x onerror=alert(1)> & more"
LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "bundle_v1"


@pytest.fixture(scope="module")
def media_run(tmp_path_factory: pytest.TempPathFactory, media_run_builder: Any) -> tuple[Path, PairedDataset]:
    run, ds = media_run_builder(tmp_path_factory.mktemp("runs") / "media", HOSTILE, "media")
    return run, ds


def test_the_bundle_holds_every_held_out_samples_previews(media_run: tuple[Path, PairedDataset]) -> None:
    run_dir = media_run[0]
    folder = run_dir / PREVIEWS_DIR
    assert (folder / PreviewFile.INDEX.value).is_file() and (folder / PreviewFile.IDS.value).is_file()
    run = open_run(run_dir)
    held = run.held_out()
    shown = run.previews()
    assert shown is not None and held.split == "test"
    assert sorted(shown.ids.tolist()) == sorted(held.ids.tolist())  # every test sample, no other
    assert shown.index.n_samples == held.ids.size == run.metrics().run.n_test
    assert run.media() == media(run_dir) == {"image": "image", "text": "text", "audio": "audio"}
    assert all(m.n_stored == held.ids.size for m in shown.index.modalities)


def test_catalog_preview_round_trip(media_run: tuple[Path, PairedDataset], mmcorr_home: Path) -> None:
    run_dir, ds = media_run
    shutil.copytree(run_dir, mmcorr_home / "runs" / "media-run")
    run = find_run("media-run")
    row = {sid: i for i, sid in enumerate(ds.ids.astype(str))}
    for sid in run.held_out().ids[:5]:
        for name in ("image", "text", "audio"):
            want = ds.previews[name][row[sid]]
            assert preview("media-run", name, sid) == want == run.preview(name, sid)
            assert preview(run_dir, name, sid) == want  # a folder works as well as an id
    image, audio = run.preview("image", sid), run.preview("audio", sid)
    assert isinstance(image, bytes) and preview_mime("image", image) == "image/png"
    assert isinstance(audio, bytes) and preview_mime("audio", audio) == "audio/wav"
    train_id = str(np.setdiff1d(ds.ids.astype(str), run.held_out().ids)[0])
    assert run.preview("image", train_id) is None  # a training sample has no preview
    with pytest.raises(MmcorrError, match=r"'modality' parameter must be a raw modality of this run"):
        run.preview("nope", sid)


def test_a_tables_only_run_has_no_previews(tmp_path: Path) -> None:
    shutil.copytree(LEGACY, tmp_path / "r1")
    run = open_run(tmp_path / "r1")
    assert run.previews() is None and run.media() == {} and run.preview("a", "s0") is None


def test_held_out_neighbours_agree_with_the_run_recall(media_run: tuple[Path, PairedDataset]) -> None:
    run = open_run(media_run[0])
    held, metrics = run.held_out(), run.metrics()
    assert len(held.directions) == 6
    for direction in held.directions:
        nb = held.neighbours(direction)
        recall = metrics.results.retrieval[direction]
        assert nb.correct[:, 0].mean() == pytest.approx(recall.recall_at_1)
        assert nb.correct.any(axis=1).mean() == pytest.approx(recall.recall_at_5)
    one = held.neighbours(Direction("image", "text"), [held.ids[2]])
    assert one.query_ids.tolist() == [held.ids[2]] and one.ids.shape == (1, 5)
    with pytest.raises(MmcorrError, match=r"not among the run's \d+ held-out \(test\) samples"):
        held.neighbours(Direction("image", "text"), ["not-a-sample"])


def test_report_gallery_is_there_and_self_contained(media_run: tuple[Path, PairedDataset]) -> None:
    text = (media_run[0] / "report.html").read_text(encoding="utf-8")
    assert "Retrieval gallery (held-out samples)" in text
    gallery = text[text.index("Retrieval gallery") :]
    assert gallery.count("<div class='query'>") == 6
    assert gallery.count("<audio controls") == 6  # audio for the queries only
    assert gallery.count("data:image/png;base64,") >= 6 and "data:audio/wav;base64," in gallery
    assert "&#10003; match" in gallery
    for arrow in ("image → text", "text → image", "audio → image", "image → audio"):
        assert html.escape(arrow) in gallery
    # the captions are escaped text, never markup
    assert "<img src=x" not in text and html.escape(HOSTILE.strip()) in gallery
    # nothing outside the inline scripts points at the network (plotly.js's own code holds URLs)
    outside = re.sub(r"<script\b.*?</script>", "", text, flags=re.S | re.I)
    assert re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", outside, flags=re.I) == []
    assert re.findall(r"""<(?:link|iframe|object|embed)\b""", outside, flags=re.I) == []
    assert re.findall(r"""<script[^>]+src\s*=""", text, flags=re.I) == []


def test_previews_are_capped_by_count_and_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ds = make_demo("digits-media", n_samples=40, seed=1)
    rows = np.arange(40)[::-1]
    monkeypatch.setattr(P, "PREVIEW_LIMIT", 25)
    clip = len(ds.previews["audio"][0])
    monkeypatch.setattr(P, "PREVIEW_MAX_BYTES", 10 * clip + clip // 2)  # ten clips fit, not eleven
    index = P.write_run_previews(tmp_path, ds, rows)
    assert index is not None and index.n_samples == 25
    shown = RunPreviews.open(tmp_path)
    assert shown is not None and shown.ids.tolist() == ds.ids[rows[:25]].astype(str).tolist()
    stored = {m.name: m.n_stored for m in shown.index.modalities}
    assert stored["audio"] == 10 and stored["image"] == stored["text"] == 25
    got = shown.get_many("audio", shown.ids)
    assert all(g is not None for g in got[:10]) and all(g is None for g in got[10:])
    assert shown.get("image", str(ds.ids[rows[0]])) == ds.previews["image"][rows[0]]
    assert shown.get("image", str(ds.ids[rows[30]])) is None  # past the count cap


def test_a_tables_only_dataset_writes_no_previews(tmp_path: Path) -> None:
    ds = make_demo("synthetic", n_samples=30)
    assert P.write_run_previews(tmp_path, ds, np.arange(10)) is None
    assert not (tmp_path / PREVIEWS_DIR).exists() and RunPreviews.open(tmp_path) is None


def test_a_damaged_index_fails_loudly(tmp_path: Path) -> None:
    folder = tmp_path / PREVIEWS_DIR
    folder.mkdir()
    (folder / PreviewFile.INDEX.value).write_text('{"format": 99}', encoding="utf-8")
    with pytest.raises(MmcorrError, match=r"previews format 99; this mmcorr reads format 1"):
        RunPreviews.open(tmp_path)
    (folder / PreviewFile.INDEX.value).write_text('{"format": 1}', encoding="utf-8")
    with pytest.raises(MmcorrError, match=r"is malformed: KeyError"):
        RunPreviews.open(tmp_path)
